/**
 * The commands of jupyter-repro (ids in tokens.ts, listed in docs/frontend.md): tag a cell as a step,
 * rename a step, verify the notebook, export it as a scheduled job, open the pipeline panel.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { IExportTarget } from './core/api';
import { renameInTags, suggestForCell, withStep } from './core/tagedit';
import { afterSteps, KALE_METRICS_STEP, MAIN_STEP, startedStep } from './core/tags';
import { itemAt } from './core/util';
import { exportIcon, stepIcon, verifyIcon } from './icons';
import { IJobRun, messageOf, ReproModel } from './model';
import {
  cellIdsOf,
  cellInputsOf,
  cellModels,
  cellSourcesOf,
  pipelineViewOf,
  refreshAnalysis,
  setTags,
  tagsOf
} from './notebook';
import { CommandIDs } from './tokens';
import { askExport, showExportResult } from './widgets/exportdialog';
import { pipelineIcon } from './widgets/panel';
import { askStepName } from './widgets/stepdialog';

export interface ICommandsContext {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  model: ReproModel;
  /** Show the pipeline panel in the right sidebar. */
  openPanel: () => void;
}

/** A readable, never silent, error notification. */
export function notifyError(message: string): void {
  Notification.error(message, { autoClose: 10000 });
}

function stringArg(args: ReadonlyPartialJSONObject, name: string): string | null {
  const value = args[name];
  return typeof value === 'string' ? value : null;
}

/** The names of the steps other cells start (names a new or renamed step may not take). */
function otherSteps(panel: NotebookPanel, exceptIndex: number): string[] {
  return cellInputsOf(panel)
    .filter((cell, i) => i !== exceptIndex && cell.type === 'code')
    .map(cell => startedStep(cell.tags))
    .filter((name): name is string => name !== null);
}

/**
 * The step the active cell belongs to, if it is one that a rename can change: `main` and Kale's
 * `pipeline-metrics` are named by the grammar, not by a `step:` tag.
 */
function renamableStep(panel: NotebookPanel, model: ReproModel): string | null {
  const place = itemAt(pipelineViewOf(panel, model).places, panel.content.activeCellIndex);
  const step = place !== undefined && (place.role === 'step' || place.starts) ? place.step : null;
  return step === MAIN_STEP || step === KALE_METRICS_STEP ? null : step;
}

/** Rename step `from` to `to` in every cell: its `step:` tag and the `after:` tags pointing at it. */
export function renameStep(panel: NotebookPanel, from: string, to: string): number {
  let changed = 0;
  for (const cell of cellModels(panel)) {
    const tags = tagsOf(cell);
    const next = renameInTags(tags, from, to);
    if (next.join('\n') !== tags.join('\n')) {
      setTags(cell, next);
      changed += 1;
    }
  }
  return changed;
}

export function addCommands(context: ICommandsContext): void {
  const { app, tracker, model } = context;
  const { commands } = app;

  const current = (): NotebookPanel | null => tracker.currentWidget;

  // --- tagging -------------------------------------------------------------------------------------

  commands.addCommand(CommandIDs.toggleStep, {
    label: args => (args.toolbar === true ? '' : 'Pipeline Step'),
    caption: 'Pipeline step: start a step of the pipeline at this cell, or stop it',
    icon: stepIcon,
    isEnabled: () => tracker.activeCell?.model.type === 'code',
    isToggled: () => {
      const cell = tracker.activeCell;
      return cell !== null && startedStep(tagsOf(cell.model)) !== null;
    },
    execute: async args => {
      const panel = current();
      const cell = tracker.activeCell;
      if (panel === null || cell === null || cell.model.type !== 'code') {
        return;
      }
      const index = panel.content.activeCellIndex;
      const tags = tagsOf(cell.model);
      const existing = startedStep(tags);
      if (existing !== null) {
        setTags(cell.model, withStep(tags, null));
        const dependants = cellInputsOf(panel).filter(c => afterSteps(c.tags).includes(existing));
        if (dependants.length > 0) {
          Notification.warning(
            `Step "${existing}" was removed, but ${dependants.length} cell(s) still run after it ` +
              `(after:${existing}); remove those tags or tag another cell "${existing}".`,
            { autoClose: 10000 }
          );
        }
        return;
      }
      const taken = otherSteps(panel, index);
      const given = stringArg(args, 'name');
      const name =
        given ??
        (await askStepName({
          title: 'Pipeline step',
          prompt: 'This cell starts the step named',
          initial: suggestForCell(cellSourcesOf(panel), index),
          taken,
          okLabel: 'Tag cell'
        }));
      if (name === null) {
        return;
      }
      setTags(cell.model, withStep(tagsOf(cell.model), name));
      commands.notifyCommandChanged(CommandIDs.toggleStep);
    }
  });

  commands.addCommand(CommandIDs.renameStep, {
    label: 'Rename Pipeline Step…',
    caption: 'Rename the step of this cell, and every after: tag that points at it',
    isEnabled: () => {
      const panel = current();
      return panel !== null && renamableStep(panel, model) !== null;
    },
    execute: async args => {
      const panel = current();
      if (panel === null) {
        return;
      }
      const cells = cellInputsOf(panel);
      const from = stringArg(args, 'from') ?? renamableStep(panel, model);
      if (from === null || from === MAIN_STEP || from === KALE_METRICS_STEP) {
        Notification.info('This cell is not part of a step named by a step: tag.', {
          autoClose: 5000
        });
        return;
      }
      const startIndex = cells.findIndex(c => startedStep(c.tags) === from);
      const taken = otherSteps(panel, startIndex);
      const to =
        stringArg(args, 'to') ??
        (await askStepName({
          title: `Rename step "${from}"`,
          prompt: 'New name',
          initial: from,
          taken,
          okLabel: 'Rename'
        }));
      if (to === null || to === from) {
        return;
      }
      const changed = renameStep(panel, from, to);
      Notification.success(`Renamed step "${from}" to "${to}" in ${changed} cell(s).`, {
        autoClose: 4000
      });
    }
  });

  tracker.activeCellChanged.connect(() => {
    commands.notifyCommandChanged(CommandIDs.toggleStep);
    commands.notifyCommandChanged(CommandIDs.renameStep);
  });

  // --- verify --------------------------------------------------------------------------------------

  commands.addCommand(CommandIDs.verify, {
    label: args => (args.toolbar === true ? 'Verify' : 'Verify Reproducible'),
    caption:
      'Save the notebook, re-run it headlessly in a fresh seeded kernel and check that every saved ' +
      'output reproduces',
    icon: verifyIcon,
    isEnabled: () => {
      const panel = current();
      return panel !== null && !model.isBusy(panel.context.path);
    },
    execute: async () => {
      const panel = current();
      if (panel === null) {
        Notification.info('Open a notebook to verify it.', { autoClose: 5000 });
        return;
      }
      await verify(panel, context);
    }
  });

  model.jobChanged.connect(() => {
    commands.notifyCommandChanged(CommandIDs.verify);
  });

  // --- export --------------------------------------------------------------------------------------

  commands.addCommand(CommandIDs.exportJob, {
    label: args => (args.toolbar === true ? 'Export' : 'Export as Scheduled Job…'),
    caption: 'Export the pipeline as an Airflow DAG, a cron entry or a plain script',
    icon: exportIcon,
    isEnabled: () => current() !== null,
    execute: async () => {
      const panel = current();
      if (panel === null) {
        Notification.info('Open a notebook to export it.', { autoClose: 5000 });
        return;
      }
      await exportNotebook(panel, context);
    }
  });

  // --- panel ---------------------------------------------------------------------------------------

  commands.addCommand(CommandIDs.openPanel, {
    label: 'Open Pipeline Panel',
    caption: 'Show the reproducible pipeline side panel',
    icon: pipelineIcon,
    execute: () => {
      context.openPanel();
    }
  });
}

/** Save, start a verify job, follow it, and tell the user the verdict. */
async function verify(panel: NotebookPanel, context: ICommandsContext): Promise<void> {
  const { model } = context;
  const path = panel.context.path;
  const name = PathExt.basename(path);
  try {
    await panel.context.save();
  } catch (reason) {
    notifyError(`Cannot save ${name} before verifying: ${messageOf(reason)}`);
    return;
  }
  context.openPanel();
  const kernel = panel.sessionContext.session?.kernel ?? null;
  const kernelId = kernel !== null && kernel.status !== 'dead' ? kernel.id : null;
  const progress = Notification.emit(`Verifying ${name} in a fresh kernel…`, 'in-progress', {
    autoClose: false
  });
  let job: IJobRun;
  try {
    job = await model.verify({ path, kind: 'verify', cellIds: cellIdsOf(panel), kernelId });
  } catch (reason) {
    Notification.update({
      id: progress,
      message: `Cannot verify ${name}: ${messageOf(reason)}`,
      type: 'error',
      autoClose: 10000
    });
    return;
  }
  const show = { label: 'Show', callback: context.openPanel };
  if (job.state === 'error' || job.result === null) {
    Notification.update({
      id: progress,
      message: `Verifying ${name} failed: ${job.error ?? 'no result'}`,
      type: 'error',
      autoClose: 10000,
      actions: [show]
    });
    return;
  }
  const verdict = job.result.verdict;
  const differing = job.result.cells.filter(c => c.status === 'differ').length;
  if (verdict === 'reproducible') {
    Notification.update({
      id: progress,
      message: `${name} is reproducible.`,
      type: 'success',
      autoClose: 5000,
      actions: [show]
    });
  } else if (verdict === 'diverged') {
    Notification.update({
      id: progress,
      message: `${name} diverged: ${differing} cell(s) differ from their saved outputs.`,
      type: 'warning',
      autoClose: 10000,
      actions: [show]
    });
  } else {
    const cause = itemAt(job.result.causes, 0)?.detail ?? job.result.error ?? '';
    Notification.update({
      id: progress,
      message: `Verifying ${name} failed${cause ? `: ${cause}` : '.'}`,
      type: 'error',
      autoClose: 10000,
      actions: [show]
    });
  }
}

/** Ask for the export settings, export, and list the files produced. */
async function exportNotebook(panel: NotebookPanel, context: ICommandsContext): Promise<void> {
  const { model, app } = context;
  const path = panel.context.path;
  if (panel.context.model.dirty) {
    try {
      await panel.context.save();
    } catch (reason) {
      notifyError(`Cannot save ${path} before exporting: ${messageOf(reason)}`);
      return;
    }
  }
  let targets: readonly IExportTarget[];
  try {
    targets = await model.exportTargets();
  } catch (reason) {
    notifyError(`Cannot list the export targets of the server: ${messageOf(reason)}`);
    return;
  }
  if (targets.length === 0) {
    notifyError('The server has no export target.');
    return;
  }
  let parameters: Record<string, unknown> = {};
  let parametersProblem: string | null = null;
  try {
    parameters = (await refreshAnalysis(panel, model)).parameters;
  } catch (reason) {
    parametersProblem = messageOf(reason);
  }
  const request = await askExport({ path, targets, parameters, parametersProblem });
  if (request === null) {
    return;
  }
  let result;
  try {
    result = await model.exportJob(request);
  } catch (reason) {
    notifyError(`Export of ${path} failed: ${messageOf(reason)}`);
    return;
  }
  await showExportResult(request, result, file => {
    void app.commands.execute('docmanager:open', { path: file });
  });
}
