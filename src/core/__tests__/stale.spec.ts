/**
 * The execution marks' rules: the recorded hash in cell metadata, "edited since run", which of the
 * server's names describe the source that ran, and "out of order".
 */
import { IPipelineCell } from '../api';
import {
  analysedCells,
  describeRedefinitions,
  editedSinceRun,
  ICellNames,
  IOrderCell,
  IRunState,
  namesOfRun,
  outOfOrder,
  recordedHash,
  withRecordedHash
} from '../stale';

const H1 = '0123456789abcdef';
const H2 = 'fedcba9876543210';

describe('the recorded hash in metadata.jupyter_repro', () => {
  it('reads a 16-hex-digit source_sha256 and nothing else', () => {
    expect(recordedHash({ source_sha256: H1 })).toBe(H1);
    expect(recordedHash({ source_sha256: 'sha256:0123' })).toBeNull();
    expect(recordedHash({ source_sha256: 12 })).toBeNull();
    expect(recordedHash(['source_sha256'])).toBeNull();
    expect(recordedHash(undefined)).toBeNull();
  });

  it('records into the existing dict, keeping its other keys', () => {
    expect(withRecordedHash({ note: 'kept', source_sha256: H2 }, H1)).toEqual({
      note: 'kept',
      source_sha256: H1
    });
    expect(withRecordedHash(undefined, H1)).toEqual({ source_sha256: H1 });
    expect(withRecordedHash('junk', H1)).toEqual({ source_sha256: H1 });
  });
});

describe('edited since run', () => {
  const ran: IRunState = {
    type: 'code',
    executionCount: 3,
    hasOutputs: true,
    recorded: H1,
    current: H1
  };

  it('is a run cell whose source no longer hashes to the recorded hash', () => {
    expect(editedSinceRun(ran)).toBe(false);
    expect(editedSinceRun({ ...ran, current: H2 })).toBe(true);
    // outputs saved without an execution count still come from a run
    expect(editedSinceRun({ ...ran, current: H2, executionCount: null })).toBe(true);
  });

  it('claims nothing without a recorded hash, a run, a known current hash, or for markdown', () => {
    expect(editedSinceRun({ ...ran, current: H2, recorded: null })).toBe(false);
    expect(editedSinceRun({ ...ran, current: H2, executionCount: null, hasOutputs: false })).toBe(
      false
    );
    expect(editedSinceRun({ ...ran, current: null })).toBe(false);
    expect(editedSinceRun({ ...ran, current: H2, type: 'markdown' })).toBe(false);
  });
});

describe("the server's names for the source that ran", () => {
  const cells: IPipelineCell[] = [
    { index: 0, role: 'step', step: 'main', reads: [], defines: ['x'] },
    { index: 1, role: 'text', step: null, reads: [], defines: [] },
    { index: 2, role: 'step', step: 'main', reads: ['x'], defines: ['y'] }
  ];
  const saved = [
    { id: 'a', source: 'x = 1' },
    { id: 'md', source: '# notes' },
    { id: 'b', source: 'y = x' }
  ];
  const hashOf = (source: string): string | null => ({ 'x = 1': H1, 'y = x': H2 })[source] ?? null;

  it('are keyed by cell id, with the source they describe', () => {
    const analysed = analysedCells(cells, saved);
    expect(analysed.get('b')).toEqual({ source: 'y = x', names: { reads: ['x'], defines: ['y'] } });
    expect([...analysed.keys()]).toEqual(['a', 'md', 'b']);
  });

  it('are not used when the answer does not fit the saved cells or has no names', () => {
    expect(analysedCells(cells, saved.slice(1)).size).toBe(0);
    expect(analysedCells(cells, null).size).toBe(0);
    expect(analysedCells(undefined, saved).size).toBe(0);
    const older = cells.map(({ index, role, step }) => ({ index, role, step }));
    expect(analysedCells(older, saved).size).toBe(0);
  });

  it('describe a run only when the analysed source is the one that ran', () => {
    const b = analysedCells(cells, saved).get('b');
    const names = { reads: ['x'], defines: ['y'] };
    expect(namesOfRun(b, { recorded: H2, current: 'edited-since' }, hashOf)).toEqual(names);
    expect(namesOfRun(b, { recorded: H1, current: H2 }, hashOf)).toBeNull();
    // nothing recorded: the cell is taken to have run as it is now
    expect(namesOfRun(b, { recorded: null, current: H2 }, hashOf)).toEqual(names);
    expect(namesOfRun(b, { recorded: null, current: null }, hashOf)).toBeNull();
    expect(namesOfRun(undefined, { recorded: H2, current: H2 }, hashOf)).toBeNull();
    expect(namesOfRun(b, { recorded: H2, current: H2 }, () => null)).toBeNull();
  });
});

function cell(count: number | null, reads: string[], defines: string[]): IOrderCell {
  const names: ICellNames = { reads, defines };
  return { executionCount: count, names };
}

describe('out of order', () => {
  it('is a cell whose input a cell above redefined after it ran', () => {
    const marks = outOfOrder([
      cell(5, [], ['x', 'z']), // re-run after the cells below read x
      cell(2, ['x'], ['y']),
      cell(3, ['y', 'x', 'z'], ['w'])
    ]);
    expect(marks[0]).toEqual([]);
    expect(marks[1]).toEqual([{ cell: 0, executionCount: 5, names: ['x'] }]);
    expect(marks[2]).toEqual([{ cell: 0, executionCount: 5, names: ['x', 'z'] }]);
  });

  it('is not a top-down run, even when a cell below redefines a name later', () => {
    const marks = outOfOrder([
      cell(1, [], ['x']),
      cell(2, ['x'], ['y']),
      cell(3, ['y'], ['x']) // x redefined below, later: ordinary
    ]);
    expect(marks).toEqual([[], [], []]);
  });

  it('names every redefining cell above, in notebook order', () => {
    const marks = outOfOrder([cell(7, [], ['a']), cell(6, [], ['b']), cell(4, ['b', 'a'], [])]);
    expect(marks[2]).toEqual([
      { cell: 0, executionCount: 7, names: ['a'] },
      { cell: 1, executionCount: 6, names: ['b'] }
    ]);
  });

  it('leaves out cells that have not run or whose names are not known', () => {
    expect(outOfOrder([cell(5, [], ['x']), cell(null, ['x'], [])])[1]).toEqual([]);
    expect(outOfOrder([cell(null, [], ['x']), cell(2, ['x'], [])])[1]).toEqual([]);
    expect(outOfOrder([{ executionCount: 5, names: null }, cell(2, ['x'], [])])[1]).toEqual([]);
    expect(outOfOrder([cell(5, [], ['x']), { executionCount: 2, names: null }])[1]).toEqual([]);
  });

  it('is described with the cells, their execution counts and the names', () => {
    expect(
      describeRedefinitions(
        [
          { cell: 0, executionCount: 7, names: ['a'] },
          { cell: 1, executionCount: 6, names: ['b', 'c'] }
        ],
        4
      )
    ).toBe(
      "This cell ran at [4], then cell 0 ran later ([7]) and redefined 'a'; " +
        "cell 1 ran later ([6]) and redefined 'b', 'c': its outputs come from the earlier " +
        'value; run it again to bring them up to date'
    );
  });
});
