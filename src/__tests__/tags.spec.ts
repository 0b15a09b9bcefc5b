import {
  afterSteps,
  hasPipelineTags,
  nearestHeading,
  newStepNameProblem,
  placeCells,
  renameInTags,
  startedStep,
  stepOrder,
  suggestForCell,
  uniqueStepName,
  withAfter,
  withFlag,
  withStep
} from '../tags';

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

  it('tells pipelines from plain and papermill notebooks', () => {
    expect(hasPipelineTags([code(), md()])).toBe(false);
    expect(hasPipelineTags([code('parameters')])).toBe(false);
    expect(hasPipelineTags([code('step:a')])).toBe(true);
    expect(hasPipelineTags([code('no-cache')])).toBe(true);
    expect(hasPipelineTags([{ type: 'markdown', tags: ['step:a'] }])).toBe(false);
  });
});

describe('placeCells', () => {
  it('assigns following cells to the step, earlier ones to main', () => {
    const places = placeCells([
      code(),
      code('parameters'),
      code('setup'),
      md(),
      code('step:load'),
      code(),
      code('skip'),
      code(),
      code('step:clean'),
      code('setup')
    ]);
    expect(places.map(p => [p.role, p.step, p.starts])).toEqual([
      ['step', 'main', false],
      ['parameters', null, false],
      ['setup', null, false],
      ['other', null, false],
      ['step', 'load', true],
      ['step', 'load', false],
      ['skip', null, false],
      ['step', 'load', false],
      ['step', 'clean', true],
      ['setup', null, false]
    ]);
  });

  it('lets a skipped step: cell start its step', () => {
    const places = placeCells([code('step:a', 'skip'), code()]);
    expect(places[0]).toEqual({ role: 'skip', step: null, starts: false });
    expect(places[1].step).toBe('a');
  });

  it('orders steps by first appearance', () => {
    expect(
      stepOrder([code('setup'), code('step:b'), code(), code('step:a'), code('step:b')])
    ).toEqual(['b', 'a']);
    expect(stepOrder([code(), code('step:x')])).toEqual(['main', 'x']);
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
