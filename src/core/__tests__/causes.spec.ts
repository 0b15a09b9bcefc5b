import { ICause, ICellResult } from '../api';
import { causeLine, differingCells, groupCauses } from '../causes';

function cell(index: number, status = 'differ', step = 'main'): ICellResult {
  return { index, step, status, diff: null };
}

function cause(
  kind: string,
  detail: string,
  at: number | null,
  hint: string | null = null
): ICause {
  return { kind, step: 'main', cell: at, detail, hint };
}

describe('differingCells', () => {
  it('keeps the cells that differ or failed', () => {
    const cells = [cell(1, 'match'), cell(2, 'differ'), cell(3, 'error'), cell(4, 'ignored')];
    expect(differingCells(cells).map(c => c.index)).toEqual([2, 3]);
  });
});

describe('causeLine', () => {
  it('turns the hint into "What to do"', () => {
    expect(causeLine(cause('code', 'code changed', 3, 're-execute and save'))).toEqual({
      kind: 'code',
      detail: 'code changed',
      todo: 'What to do: re-execute and save',
      cell: 3
    });
  });

  it.each([null, undefined, '', '   '])('gives no "What to do" for the hint %p', hint => {
    const line = causeLine({ kind: 'data', step: null, cell: null, detail: 'x', hint });
    expect(line.todo).toBeNull();
  });

  it('reads a cause of an older server (no cell, no hint) as a cause of the run', () => {
    expect(causeLine({ kind: 'code', step: 'report', detail: 'code changed' })).toEqual({
      kind: 'code',
      detail: 'code changed',
      todo: null,
      cell: null
    });
  });
});

describe('groupCauses', () => {
  it('gives each listed cell its own causes, in the order of the cells', () => {
    const causes = [
      cause('code', 'step changed', 7, 're-execute and save'),
      cause('nondeterminism', 'random', 2, 'seed it'),
      cause('data', 'file changed', 7)
    ];
    const groups = groupCauses(causes, [cell(7), cell(2)]);
    expect(groups.run).toEqual([]);
    expect(groups.cells.map(c => c.cell.index)).toEqual([2, 7]);
    expect(groups.cells[0].causes.map(c => c.detail)).toEqual(['random']);
    expect(groups.cells[1].causes.map(c => [c.detail, c.todo])).toEqual([
      ['step changed', 'What to do: re-execute and save'],
      ['file changed', null]
    ]);
  });

  it('keeps the causes of the whole run at run level, in the order the server gave them', () => {
    const causes = [
      cause('error', 'the run failed', null, 'fix it'),
      cause('code', 'step changed', 4),
      cause('environment', 'pandas 2.1 -> 2.2', null)
    ];
    const groups = groupCauses(causes, [cell(4)]);
    expect(groups.run.map(c => c.detail)).toEqual(['the run failed', 'pandas 2.1 -> 2.2']);
    expect(groups.run.map(c => c.todo)).toEqual(['What to do: fix it', null]);
    expect(groups.cells[0].causes.map(c => c.detail)).toEqual(['step changed']);
  });

  it('shows the causes of cells that are not listed at run level', () => {
    const causes = [
      cause('hidden-state', 'cell 1 reads df, defined later', 1, 'move it up'),
      cause('code', 'step changed', 4)
    ];
    const groups = groupCauses(causes, [cell(4)]);
    expect(groups.run).toEqual([
      {
        kind: 'hidden-state',
        detail: 'cell 1 reads df, defined later',
        todo: 'What to do: move it up',
        cell: 1
      }
    ]);
    expect(groups.cells.map(c => c.causes.length)).toEqual([1]);
  });

  it('lists a cell without causes with an empty list, and each cell once', () => {
    const groups = groupCauses([], [cell(3), cell(3), cell(1)]);
    expect(groups.cells.map(c => [c.cell.index, c.causes])).toEqual([
      [1, []],
      [3, []]
    ]);
  });

  it('puts every cause at run level when no cell is listed', () => {
    const causes = [cause('code', 'a', 2), cause('data', 'b', null)];
    expect(groupCauses(causes, []).run.map(c => c.detail)).toEqual(['a', 'b']);
    expect(groupCauses(causes, []).cells).toEqual([]);
  });
});
