/**
 * Applying a fix's edits (core/fixes.ts, computed by the server) to an open notebook through its
 * shared model: the change is the notebook's own (JupyterLab marks it modified, collaborators see
 * it) and the notebook's undo reverts its cell edits in one step.
 *
 * One step: every edit but the outputs runs inside one `sharedModel.transact`, whose changes the
 * notebook's undo history records as one item, and the history is told to stop merging before and
 * after, so the fix is merged neither into the user's last edit nor into the next one.
 *
 * Outside JupyterLab's undo, as in JupyterLab itself: outputs and notebook metadata (only the cells
 * are in the undo scope, and JupyterLab never undoes outputs). Outputs are written after the
 * transaction through an `OutputsWriter` (in JupyterLab, the cell's output model, the way a kernel's
 * outputs arrive): replacing stream outputs inside the shared model's transaction reaches
 * JupyterLab's output model as "insert, then delete", which it merges into the old stream and then
 * drops. `revert` restores outputs and notebook metadata too.
 *
 * Inside one transaction `sharedModel.cells` is only updated when the transaction ends (YNotebook
 * updates it from an observer), so cells are addressed through a list kept here, and a move is a
 * delete and an insert of the cell's copy (what `YNotebook.moveCells` does, without its stale read).
 */
import type { ISharedCell, ISharedCodeCell, ISharedNotebook, SharedCell } from '@jupyter/ydoc';

import { editsProblem, FixEdit, IJsonObject, INewCell, JsonValue } from './core/fixes';

/** Edits that do not fit the notebook: nothing was applied. */
export class EditsNotApplicable extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = 'EditsNotApplicable';
  }
}

/** Writes a code cell's outputs and execution count, outside the undo history. */
export type OutputsWriter = (
  cellId: string,
  outputs: readonly IJsonObject[],
  executionCount: number | null
) => void;

/** The writer for a shared notebook on its own (no JupyterLab output model listens to it). */
export function sharedOutputsWriter(notebook: ISharedNotebook): OutputsWriter {
  return (cellId, outputs, executionCount) => {
    const cell = notebook.cells.find(candidate => candidate.id === cellId);
    if (cell?.cell_type === 'code') {
      const code = cell as ISharedCodeCell;
      notebook.transact(() => {
        code.setOutputs(outputs as unknown as ISharedCodeCell['outputs']);
        code.execution_count = executionCount;
      }, false);
    }
  };
}

/** What applying a fix did, and how to take it back. */
export interface IAppliedEdits {
  /** Whether the fix changed cells in a way the notebook's undo reverts (in one step). */
  oneUndoStep: boolean;
  /** The notebook metadata keys the edits set or deleted (outside JupyterLab's undo). */
  notebookMetadataKeys: string[];
  /** The ids of the cells whose outputs the fix wrote (outside JupyterLab's undo). */
  outputCells: string[];
  /**
   * Undo the whole fix (cells and notebook metadata) if the notebook's last undoable change is still
   * the fix; `false` (and nothing changed) otherwise.
   */
  revert(): boolean;
}

/** The part of Yjs' UndoManager used here (YNotebook has one; the interface does not say so). */
interface IUndoHistory {
  undoStack: readonly unknown[];
  stopCapturing(): void;
}

function undoHistoryOf(notebook: ISharedNotebook): IUndoHistory | null {
  const manager: unknown = (notebook as { undoManager?: unknown }).undoManager;
  if (typeof manager !== 'object' || manager === null) {
    return null;
  }
  const candidate = manager as Partial<IUndoHistory>;
  return Array.isArray(candidate.undoStack) && typeof candidate.stopCapturing === 'function'
    ? (candidate as IUndoHistory)
    : null;
}

function topOf(history: IUndoHistory | null): unknown {
  return history === null ? undefined : history.undoStack[history.undoStack.length - 1];
}

/**
 * A new cell as the shared model takes it: a code cell always has outputs and a count; the server's
 * id is kept unless a cell of the notebook has it already (then the model makes one up).
 */
function sharedCell(cell: INewCell, cells: readonly ISharedCell[]): SharedCell.Cell {
  const id =
    cell.id !== undefined && !cells.some(other => other.id === cell.id) ? cell.id : undefined;
  const base = {
    ...(id === undefined ? {} : { id }),
    cell_type: cell.cell_type,
    source: cell.source,
    metadata: cell.metadata
  };
  if (cell.cell_type !== 'code') {
    return base;
  }
  return {
    ...base,
    outputs: (cell.outputs ?? []) as unknown as ISharedCodeCell['outputs'],
    execution_count: cell.execution_count ?? null
  };
}

interface ICellOutputs {
  outputs: IJsonObject[];
  executionCount: number | null;
}

function outputsOf(cell: ISharedCell): ICellOutputs {
  const code = cell as ISharedCodeCell;
  return {
    outputs: code.getOutputs() as unknown as IJsonObject[],
    executionCount: code.execution_count
  };
}

/** The edits' work in progress: the cells as the edits so far left them, the outputs to write. */
interface IWork {
  cells: ISharedCell[];
  /** Per cell id, in the order written: the outputs to write after the transaction. */
  outputs: Map<string, ICellOutputs>;
  /** Per cell id: its outputs before the fix. */
  outputsBefore: Map<string, ICellOutputs>;
}

function setNotebookMetadata(notebook: ISharedNotebook, key: string, value: JsonValue): void {
  if (value === null) {
    notebook.deleteMetadata(key);
  } else {
    notebook.setMetadata(key, value);
  }
}

/** Move a cell so that it ends at index `to` (as `moveCell(from, to)` does). */
function moveCell(notebook: ISharedNotebook, cells: ISharedCell[], from: number, to: number): void {
  if (from === to) {
    return;
  }
  const copy = cells[from].toJSON() as SharedCell.Cell; // keeps the cell's id
  notebook.deleteCell(from);
  cells.splice(from, 1);
  cells.splice(to, 0, notebook.insertCell(to, copy));
}

/** Apply one edit to the notebook (outputs: to `work`, written after the transaction). */
function applyEdit(notebook: ISharedNotebook, work: IWork, edit: FixEdit): void {
  const cells = work.cells;
  switch (edit.op) {
    case 'insert_cell':
      cells.splice(edit.index, 0, notebook.insertCell(edit.index, sharedCell(edit.cell, cells)));
      return;
    case 'move_cell':
      moveCell(notebook, cells, edit.from, edit.to);
      return;
    case 'set_source':
      cells[edit.cell].setSource(edit.source);
      return;
    case 'set_cell_metadata':
      if (edit.value === null) {
        cells[edit.cell].deleteMetadata(edit.key);
      } else {
        cells[edit.cell].setMetadata(edit.key, edit.value);
      }
      return;
    case 'set_outputs': {
      const cell = cells[edit.cell]; // a code cell: editsProblem checked it
      if (!work.outputsBefore.has(cell.id)) {
        work.outputsBefore.set(cell.id, outputsOf(cell));
      }
      work.outputs.set(cell.id, { outputs: edit.outputs, executionCount: edit.execution_count });
      return;
    }
    case 'set_notebook_metadata':
      setNotebookMetadata(notebook, edit.key, edit.value);
      return;
  }
}

/** The notebook metadata keys `edits` change, each with its value before (`undefined`: absent). */
function metadataBefore(
  notebook: ISharedNotebook,
  edits: readonly FixEdit[]
): Map<string, unknown> {
  const before = new Map<string, unknown>();
  for (const edit of edits) {
    if (edit.op === 'set_notebook_metadata' && !before.has(edit.key)) {
      const value: unknown = notebook.getMetadata(edit.key);
      // a copy: the live value is the model's own
      before.set(edit.key, value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
    }
  }
  return before;
}

/**
 * Apply `edits` to `notebook`, whole or not at all: they are checked against the notebook first
 * (indices, cell types), and `EditsNotApplicable` is thrown before anything changes. Outputs are
 * written with `writeOutputs` once the cell edits are done.
 */
export function applyEdits(
  notebook: ISharedNotebook,
  edits: readonly FixEdit[],
  writeOutputs: OutputsWriter
): IAppliedEdits {
  const problem = editsProblem(
    edits,
    notebook.cells.map(cell => cell.cell_type)
  );
  if (problem !== null) {
    throw new EditsNotApplicable(problem);
  }
  const metadata = metadataBefore(notebook, edits);
  const history = undoHistoryOf(notebook);
  history?.stopCapturing();
  const depth = history?.undoStack.length ?? 0;
  const work: IWork = { cells: [...notebook.cells], outputs: new Map(), outputsBefore: new Map() };
  notebook.transact(() => {
    for (const edit of edits) {
      applyEdit(notebook, work, edit);
    }
  });
  history?.stopCapturing();
  const step = history !== null && history.undoStack.length > depth ? topOf(history) : undefined;
  for (const [id, { outputs, executionCount }] of work.outputs) {
    writeOutputs(id, outputs, executionCount);
  }

  const restore = (): void => {
    for (const [id, { outputs, executionCount }] of work.outputsBefore) {
      writeOutputs(id, outputs, executionCount); // a cell the fix inserted is gone: nothing written
    }
    notebook.transact(() => {
      for (const [key, value] of metadata) {
        if (value === undefined) {
          notebook.deleteMetadata(key);
        } else {
          notebook.setMetadata(key, value as JsonValue);
        }
      }
    });
  };
  return {
    oneUndoStep: step !== undefined,
    notebookMetadataKeys: [...metadata.keys()],
    outputCells: [...work.outputs.keys()],
    revert: () => {
      if (step !== undefined) {
        if (topOf(history) !== step) {
          return false;
        }
        notebook.undo();
      }
      restore();
      return true;
    }
  };
}
