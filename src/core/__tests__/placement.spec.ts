import { IStepsInfo } from '../api';
import { pipelineView, serverPlaces, tagBasis } from '../placement';
import { ICellInput } from '../tags';

const cells: ICellInput[] = [
  { type: 'markdown', tags: [], source: '# Title' },
  { type: 'code', tags: ['imports'], source: 'import os' },
  { type: 'code', tags: [], source: 'import sys' },
  { type: 'code', tags: ['block:load'], source: 'x = 1' },
  { type: 'code', tags: [], source: '# NBVAL_IGNORE_OUTPUT\nprint(x)' }
];

/** What the server answers for `cells` (here deliberately different from the offline grammar). */
function answer(): IStepsInfo {
  return {
    notebook: 'nb.ipynb',
    steps: [],
    parameters: {},
    setup_cells: [1],
    ignore_output_cells: [4],
    cells: [
      { index: 0, role: 'text', step: null },
      { index: 1, role: 'setup', step: null },
      { index: 2, role: 'step', step: 'server-says' },
      { index: 3, role: 'step', step: 'load' },
      { index: 4, role: 'step', step: 'load' }
    ]
  };
}

describe('tagBasis', () => {
  it('changes with tags, cell types and nbval markers, not with other source edits', () => {
    const basis = tagBasis(cells);
    const edited = cells.map(cell => ({ ...cell }));
    edited[3] = { ...edited[3], source: 'x = 2' };
    edited[0] = { ...edited[0], tags: ['ignored-on-markdown'] };
    expect(tagBasis(edited)).toBe(basis);
    edited[2] = { ...edited[2], tags: ['skip'] };
    expect(tagBasis(edited)).not.toBe(basis);
    const marker = cells.map(cell => ({ ...cell }));
    marker[2] = { ...marker[2], source: '# NBVAL_SKIP\nimport sys' };
    expect(tagBasis(marker)).not.toBe(basis);
  });
});

describe('pipelineView', () => {
  it("shows the server's placement while it describes the current tags", () => {
    const view = pipelineView(cells, { steps: answer(), basis: tagBasis(cells) });
    expect(view.source).toBe('server');
    expect(view.places.map(p => p.step)).toEqual([null, null, 'server-says', 'load', 'load']);
    expect(view.places.map(p => p.starts)).toEqual([false, false, true, true, false]);
    expect(view.places[4].ignoreOutput).toBe(true);
    expect(view.order).toEqual(['server-says', 'load']);
  });

  it('falls back to the offline grammar without an answer, or after tag edits', () => {
    const offline = [null, null, null, 'load', 'load'];
    expect(pipelineView(cells, null).places.map(p => p.step)).toEqual(offline);
    const loading = { steps: null, basis: tagBasis(cells) };
    expect(pipelineView(cells, loading).source).toBe('offline');
    const unknownBasis = { steps: answer(), basis: null };
    expect(pipelineView(cells, unknownBasis).source).toBe('offline');
    const stale = { steps: answer(), basis: tagBasis(cells) };
    const edited = cells.map((cell, i) => (i === 2 ? { ...cell, tags: ['skip'] } : cell));
    const view = pipelineView(edited, stale);
    expect(view.source).toBe('offline');
    expect(view.places[2].role).toBe('skip');
  });

  it('falls back offline when the answer has no cells[] (older server) or does not fit', () => {
    const old = { ...answer(), cells: undefined };
    expect(pipelineView(cells, { steps: old, basis: tagBasis(cells) }).source).toBe('offline');
    expect(serverPlaces(answer(), 4)).toBeNull();
    const odd = answer();
    odd.cells = odd.cells?.map(cell => ({ ...cell, role: 'mystery' }));
    expect(serverPlaces(odd, 5)).toBeNull();
  });

  it('reports unusable tags offline instead of placing cells', () => {
    const view = pipelineView([{ type: 'code', tags: ['step:a', 'after:nowhere'] }], null);
    expect(view.places).toEqual([]);
    expect(view.error?.message).toBe("no step named 'nowhere'");
    expect(view.error?.cell).toBe(0);
  });
});
