import { closestMatch, similarity } from '../similarity';
import {
  nearestHeading,
  newStepNameProblem,
  renameInTags,
  suggestForCell,
  uniqueStepName,
  withAfter,
  withFlag,
  withStep
} from '../tagedit';
import {
  afterSteps,
  hasPipelineTags,
  layoutCells,
  nbvalMarkers,
  startedStep,
  stepNamesOf,
  stepOrder,
  TagError
} from '../tags';

// The grammar itself (which cell is in which step, every error) is checked against the golden corpus
// shared with pytest: tag_layouts.spec.ts. These are the helpers around it.

const code = (...tags: string[]) => ({ type: 'code', tags });
const md = () => ({ type: 'markdown', tags: [] as string[] });

describe('reading tags', () => {
  it('finds the step a cell starts, also in Kale spelling', () => {
    expect(startedStep(['x', 'step:load'])).toBe('load');
    expect(startedStep(['block:train'])).toBe('train');
    expect(startedStep(['block:'])).toBeNull();
    expect(startedStep(['setup'])).toBeNull();
  });

  it('lists after: and prev: dependencies once', () => {
    expect(afterSteps(['after:load', 'prev:clean', 'after:load'])).toEqual(['load', 'clean']);
  });

  it('tells pipelines (ours or Kale) from plain and papermill notebooks', () => {
    expect(hasPipelineTags([code(), md()])).toBe(false);
    expect(hasPipelineTags([code('parameters')])).toBe(false);
    expect(hasPipelineTags([code('injected-parameters'), code('nbval-skip')])).toBe(false);
    expect(hasPipelineTags([code('step:a')])).toBe(true);
    expect(hasPipelineTags([code('no-cache')])).toBe(true);
    expect(hasPipelineTags([code('imports')])).toBe(true);
    expect(hasPipelineTags([code('pipeline-metrics')])).toBe(true);
    expect(hasPipelineTags([code(' prev:a')])).toBe(true);
    expect(hasPipelineTags([{ type: 'markdown', tags: ['step:a'] }])).toBe(false);
  });

  it("finds nbval's marker comments on lines of their own", () => {
    expect([...nbvalMarkers('x = 1\r\n  ## NBVAL_SKIP')]).toEqual(['NBVAL_SKIP']);
    expect([...nbvalMarkers('# PYTEST_VALIDATE_IGNORE_OUTPUT')]).toEqual(['NBVAL_IGNORE_OUTPUT']);
    expect(nbvalMarkers('x = 1  # NBVAL_SKIP').size).toBe(0);
  });
});

describe('the layout', () => {
  it('marks where each step starts and orders steps by first appearance', () => {
    const { cells } = layoutCells([code('setup'), code(), code('step:b'), code(), md()]);
    expect(cells.map(p => [p.role, p.step, p.starts])).toEqual([
      ['setup', null, false],
      ['step', 'main', true],
      ['step', 'b', true],
      ['step', 'b', false],
      ['text', null, false]
    ]);
    expect(stepOrder(cells)).toEqual(['main', 'b']);
  });

  it('throws located errors that read like the CLI', () => {
    let error: unknown = null;
    try {
      layoutCells([code(), code('step:Load')]);
    } catch (reason) {
      error = reason;
    }
    expect(error).toBeInstanceOf(TagError);
    expect((error as TagError).describe()).toBe(
      "cell 1: tag 'step:Load': invalid step name 'Load': use lowercase letters, digits, '_' and " +
        "'-', starting with a letter or '_' (e.g. 'step:load')"
    );
  });

  it('lists step names for editing, even while the tags are unusable', () => {
    expect(stepNamesOf([code(), code('step:a'), code('step:b')])).toEqual(['main', 'a', 'b']);
    expect(stepNamesOf([code('step:a'), code('step:b', 'after:nowhere')])).toEqual(['a', 'b']);
  });
});

describe("difflib's get_close_matches", () => {
  it('computes the same ratios as Python', () => {
    // difflib.SequenceMatcher(None, a, b).ratio() in CPython
    expect(similarity('setup', 'set-up')).toBeCloseTo(0.909090909, 8);
    expect(similarity('step', 'stpe')).toBeCloseTo(0.75, 8);
    expect(similarity('no-cache', 'nocache')).toBeCloseTo(0.933333333, 8);
    expect(similarity('abcd', 'bcda')).toBeCloseTo(0.75, 8);
    expect(similarity('', '')).toBe(1);
  });

  it('picks the closest possibility above the cutoff', () => {
    expect(closestMatch('parameter', ['parameters', 'pipeline-parameters'], 0.85)).toBe(
      'parameters'
    );
    expect(closestMatch('stage', ['step', 'block', 'after', 'prev'], 0.75)).toBeNull();
  });
});

describe('writing tags', () => {
  it('sets, replaces and removes the step tag, keeping other tags', () => {
    expect(withStep(['setup'], 'load')).toEqual(['step:load', 'setup']);
    expect(withStep(['step:old', 'x'], 'new')).toEqual(['step:new', 'x']);
    expect(withStep(['block:old', 'x'], null)).toEqual(['x']);
  });

  it('replaces after: dependencies', () => {
    expect(withAfter(['step:c', 'after:a', 'prev:b'], ['b'])).toEqual(['step:c', 'after:b']);
    expect(withAfter(['after:a'], [])).toEqual([]);
  });

  it('toggles flags', () => {
    expect(withFlag(['a'], 'skip', true)).toEqual(['a', 'skip']);
    expect(withFlag(['skip', 'a'], 'skip', false)).toEqual(['a']);
    expect(withFlag(['skip'], 'skip', true)).toEqual(['skip']);
  });

  it('renames a step and the dependencies on it', () => {
    expect(renameInTags(['step:load', 'after:x'], 'load', 'read')).toEqual([
      'step:read',
      'after:x'
    ]);
    expect(renameInTags(['after:load', 'prev:load', 'after:loader'], 'load', 'read')).toEqual([
      'after:read',
      'prev:read',
      'after:loader'
    ]);
    expect(renameInTags(['after:load', 'after:read'], 'load', 'read')).toEqual(['after:read']);
  });
});

describe('suggesting names', () => {
  const cells = [
    { type: 'markdown', source: '# Title\n\n## 1. Load the data\ntext', tags: [] },
    { type: 'code', source: 'x = 1', tags: ['step:load_the_data'] },
    { type: 'markdown', source: 'no heading here', tags: [] },
    { type: 'code', source: 'y = 2', tags: [] }
  ];

  it('uses the nearest heading above', () => {
    expect(nearestHeading(cells, 3)).toBe('## 1. Load the data');
    expect(nearestHeading(cells, 0)).toBeNull();
  });

  it('never suggests a name another cell uses', () => {
    expect(suggestForCell(cells, 3)).toBe('load_the_data_2');
    expect(suggestForCell(cells, 1)).toBe('load_the_data');
    expect(suggestForCell([{ type: 'code', source: '', tags: [] }], 0)).toBe('step');
  });

  it('makes names unique', () => {
    expect(uniqueStepName('a', ['a', 'a_2'])).toBe('a_3');
    expect(uniqueStepName('Bad Name', [])).toBe('bad_name');
  });

  it('validates new names', () => {
    expect(newStepNameProblem('clean', ['load'])).toBeNull();
    expect(newStepNameProblem('load', ['load'])).toMatch(/already/);
    expect(newStepNameProblem('setup', [])).toMatch(/reserved/);
    expect(newStepNameProblem('Load', [])).toMatch(/not a valid step name/);
  });
});
