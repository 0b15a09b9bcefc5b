/**
 * The execution marks of a notebook's cells, "edited since run" and "out of order", read from the
 * notebook model and the server's analysis; the rules themselves are pure (core/stale.ts). The badges
 * draw them (widgets/badges.ts).
 */
import { ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { SourceHashes } from './core/sourcehash';
import {
  analysedCells,
  CELL_METADATA_KEY,
  describeRedefinitions,
  editedSinceRun,
  IRunState,
  namesOfRun,
  outOfOrder,
  recordedHash
} from './core/stale';
import { ReproModel } from './model';
import { cellModels } from './notebook';

/** One execution mark of a cell. */
export interface IMark {
  kind: 'edited' | 'out-of-order';
  label: string;
  title: string;
}

const EDITED_TITLE =
  'Edited since it ran: the outputs come from the source the cell had then ' +
  '(recorded in its metadata when it ran)';

/** The execution count a cell shows (`null`: none, or not a code cell). */
export function executionCountOf(cell: ICellModel): number | null {
  const count = cell.type === 'code' ? (cell as ICodeCellModel).executionCount : null;
  return typeof count === 'number' ? count : null;
}

/** Whether any code cell shows a run: then the out-of-order marks need the server's analysis. */
export function hasRunCells(panel: NotebookPanel): boolean {
  return cellModels(panel).some(cell => executionCountOf(cell) !== null);
}

/**
 * What the rules need of one cell. With recording off, recorded hashes are ignored: a cell run since
 * then keeps an older hash, which would call it edited.
 */
function runState(cell: ICellModel, hashes: SourceHashes, recording: boolean): IRunState {
  const code = cell.type === 'code';
  return {
    type: cell.type,
    executionCount: executionCountOf(cell),
    hasOutputs: code && (cell as ICodeCellModel).outputs.length > 0,
    recorded: code && recording ? recordedHash(cell.getMetadata(CELL_METADATA_KEY)) : null,
    current: code ? hashes.get(cell.sharedModel.getSource()) : null
  };
}

/**
 * Every cell's marks. `hashes` answers synchronously and calls back when it learns a hash it did not
 * know, so a mark may appear one redraw later. `recording` is the `recordExecutedSource` setting.
 */
export function executionMarks(
  panel: NotebookPanel,
  model: ReproModel,
  hashes: SourceHashes,
  recording: boolean
): IMark[][] {
  const cells = cellModels(panel);
  const states = cells.map(cell => runState(cell, hashes, recording));
  const analysis = model.steps(panel.context.path);
  const analysed = analysedCells(analysis?.steps?.cells, analysis?.cells ?? null);
  const hashOf = (source: string): string | null => hashes.get(source);
  const redefined = outOfOrder(
    cells.map((cell, i) => ({
      executionCount: states[i].executionCount,
      names: states[i].type === 'code' ? namesOfRun(analysed.get(cell.id), states[i], hashOf) : null
    }))
  );
  return states.map((state, i) => {
    const marks: IMark[] = [];
    if (editedSinceRun(state)) {
      marks.push({ kind: 'edited', label: 'edited since run', title: EDITED_TITLE });
    }
    if (redefined[i].length > 0 && state.executionCount !== null) {
      marks.push({
        kind: 'out-of-order',
        label: 'out of order',
        title: describeRedefinitions(redefined[i], state.executionCount)
      });
    }
    return marks;
  });
}
