/**
 * Applying a one-click fix to the open notebook, never behind the user's back:
 *
 * 1. refuse when the open notebook is not the one the server computed the fix for (unsaved
 *    changes, or saved changes the fix list does not know): the fix's cell indices would be wrong;
 * 2. show the server's preview and wait for the user's yes;
 * 3. ask the server for the fix (`POST fixes`, `target: "model"`): it writes the side files only and
 *    answers with the notebook's edits, computed from the saved file;
 * 4. refuse again if the notebook changed meanwhile, else apply the edits to the notebook model in
 *    one undo step (fixapply.ts) and report what changed: the notebook is modified, not saved.
 */
import { Notification } from '@jupyterlab/apputils';
import { ICodeCellModel } from '@jupyterlab/cells';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';

import { IFix, IFixOutcome, outcomeLines, sameCells, undoNote } from './core/fixes';
import { ISavedCell } from './core/stale';
import { applyEdits, IAppliedEdits, OutputsWriter } from './fixapply';
import { IFixesState, messageOf, ReproModel } from './model';
import { savedCells } from './notebook';
import { confirmFix, IFixReport } from './widgets/fixes';

/** A fix applied to the open notebook: its report, and how to take it back. */
export interface IAppliedFixInfo {
  path: string;
  report: IFixReport;
  revert: () => boolean;
}

function refuse(message: string): null {
  Notification.warning(message, { autoClose: 10000 });
  return null;
}

/** Why a fix computed for `state` cannot be applied to the notebook as it is now (`null`: it can). */
export function refusalFor(panel: NotebookPanel, state: IFixesState | null): string | null {
  if (panel.context.model.dirty) {
    return 'Save the notebook first: the fix was computed from the saved file.';
  }
  const current = savedCells(panel);
  if (
    state === null ||
    state.cells === null ||
    current === null ||
    !sameCells(current, state.cells)
  ) {
    return 'The notebook changed since its fixes were computed: Verify again.';
  }
  return null;
}

/** Is the notebook still the saved file the edits were asked for (`snapshot`)? */
function unchangedSince(panel: NotebookPanel, snapshot: readonly ISavedCell[]): boolean {
  const current = savedCells(panel); // null: unsaved changes
  return current !== null && sameCells(current, snapshot);
}

/** The side files the server wrote although the notebook's edits were not applied. */
function filesNote(outcome: IFixOutcome): string {
  return outcome.files.length === 0
    ? ''
    : ` (the server did write ${outcome.files.map(f => f.path).join(', ')})`;
}

/** Ask the server for the fix's edits; `null` after telling the user why there are none. */
async function requestEdits(
  panel: NotebookPanel,
  model: ReproModel,
  fix: IFix
): Promise<IFixOutcome | null> {
  // a fix that re-executes the notebook takes a while: say that something is going on
  const progress = Notification.emit(
    `Preparing the fix of ${PathExt.basename(panel.context.path)}…`,
    'in-progress',
    { autoClose: false }
  );
  try {
    return await model.requestFix({ path: panel.context.path, id: fix.id, target: 'model' });
  } catch (reason) {
    Notification.error(`Cannot apply the fix: ${messageOf(reason)}`, { autoClose: 10000 });
    return null;
  } finally {
    Notification.dismiss(progress);
  }
}

/**
 * Outputs through each cell's output model, the way a kernel's outputs arrive: JupyterLab's output
 * model then writes them to the shared model itself (outside the undo history, as always).
 */
function outputModelWriter(model: INotebookModel): OutputsWriter {
  return (cellId, outputs, executionCount) => {
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      if (cell.id === cellId && cell.type === 'code') {
        const code = cell as ICodeCellModel;
        code.outputs.clear();
        code.outputs.fromJSON(outputs as unknown as Parameters<typeof code.outputs.fromJSON>[0]);
        code.executionCount = executionCount;
      }
    }
  };
}

function applyOutcome(panel: NotebookPanel, outcome: IFixOutcome): IAppliedEdits | null {
  const notebook = panel.content.model;
  if (notebook === null) {
    return refuse('The notebook is closed: nothing was applied.');
  }
  try {
    return applyEdits(notebook.sharedModel, outcome.edits, outputModelWriter(notebook));
  } catch (reason) {
    Notification.error(`Cannot apply the fix: ${messageOf(reason)}${filesNote(outcome)}`, {
      autoClose: 10000
    });
    return null;
  }
}

/**
 * Show `fix`'s preview and, if the user confirms, apply it to the open notebook. Resolves with what
 * was applied, or `null` (refused, cancelled, or failed: the user was told why).
 */
export async function applyFixToNotebook(
  panel: NotebookPanel,
  model: ReproModel,
  fix: IFix
): Promise<IAppliedFixInfo | null> {
  const path = panel.context.path;
  const before = refusalFor(panel, model.fixes(path));
  if (before !== null) {
    return refuse(before);
  }
  if (!(await confirmFix(fix, PathExt.basename(path)))) {
    return null;
  }
  // the user may have typed while the dialog was open
  const snapshot = savedCells(panel);
  const afterDialog = refusalFor(panel, model.fixes(path));
  if (afterDialog !== null || snapshot === null) {
    return refuse(
      afterDialog ?? 'Save the notebook first: the fix was computed from the saved file.'
    );
  }
  const outcome = await requestEdits(panel, model, fix);
  if (outcome === null) {
    return null;
  }
  if (!unchangedSince(panel, snapshot)) {
    return refuse(
      `The notebook changed while the fix was prepared: nothing was applied to it${filesNote(outcome)}.`
    );
  }
  const applied = applyOutcome(panel, outcome);
  if (applied === null) {
    return null;
  }
  model.setFixApplied(path, fix.id, true);
  Notification.success(`Fix applied to ${PathExt.basename(path)}: modified, not saved yet.`, {
    autoClose: 5000
  });
  return {
    path,
    report: {
      fix,
      lines: outcomeLines(outcome),
      undo: undoNote({
        cellEdits: applied.oneUndoStep,
        outputs: applied.outputCells.length,
        metadataKeys: applied.notebookMetadataKeys
      })
    },
    revert: () => applied.revert()
  };
}
