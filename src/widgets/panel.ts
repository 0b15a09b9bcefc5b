/**
 * The pipeline side panel: for the current notebook, the step graph with the variables on each edge,
 * its parameters and hidden-state warnings (from the server's analysis, worded by the server), the
 * verify job and verdict with the server's fixes, the report of an applied fix, and the run history
 * from the ledger. Nothing here re-derives what the server computed; only the step colours come from
 * the same placement as the badges.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Panel, Widget } from '@lumino/widgets';

import { Notification } from '@jupyterlab/apputils';
import { IChangedArgs } from '@jupyterlab/coreutils';

import { ICellResult, IRunSummary, IStepsInfo, IVersionInfo } from '../core/api';
import { IFix } from '../core/fixes';
import { itemAt } from '../core/util';
import { applyFixToNotebook, IAppliedFixInfo } from '../fixflow';
import { IFixesState, IJobRun, IRunsState, IStepsState, messageOf, ReproModel } from '../model';
import { cellIdsOf, pipelineViewOf, refreshAnalysis, savedCells } from '../notebook';
import { CommandIDs } from '../tokens';
import { DagView } from './dag';
import { showComparison } from './diffview';
import { fixReport } from './fixes';
import { HistoryView } from './history';
import { VerdictView } from './verdict';
import { element } from './dom';

const PIPELINE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<g class="jp-icon3" fill="#616161"><circle cx="3" cy="3" r="2"/><circle cx="13" cy="8" r="2"/>' +
  '<circle cx="3" cy="13" r="2"/><path d="M4.5 3.8l7 3.4-.4.8-7-3.4zM4.1 12.2l7-3.4.4.8-7 3.4z"/></g></svg>';

export const pipelineIcon = new LabIcon({ name: 'jupyter-repro:pipeline', svgstr: PIPELINE_SVG });

/** A server sentence as a list item: capitalised, with a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export interface IPipelinePanelOptions {
  model: ReproModel;
  tracker: INotebookTracker;
  commands: CommandRegistry;
  /** Report a failure to the user (a notification). */
  notify: (message: string) => void;
}

export class PipelinePanel extends Panel {
  constructor(options: IPipelinePanelOptions) {
    super();
    this.id = 'jupyter-repro-panel';
    this.addClass('jp-repro-panel');
    this.title.icon = pipelineIcon;
    this.title.caption = 'Reproducible pipeline';
    this._model = options.model;
    this._tracker = options.tracker;
    this._commands = options.commands;
    this._notify = options.notify;

    this._header = new Widget();
    this._header.addClass('jp-repro-panel-header');
    this._verdict = new VerdictView();
    this._fixReport = new Widget();
    this._fixReport.addClass('jp-repro-fix-report-holder');
    this._stepsSection = new Widget();
    this._stepsSection.addClass('jp-repro-steps-section');
    this._dag = new DagView();
    this._dag.id = 'jupyter-repro-dag';
    this._analysis = new Widget();
    this._analysis.addClass('jp-repro-analysis');
    this._historyHeading = new Widget({ node: element('h3', undefined, 'Run history') });
    this._history = new HistoryView();
    this._footer = new Widget();
    this._footer.addClass('jp-repro-panel-footer');
    this._status = element(
      'p',
      'jp-repro-panel-status',
      'Connecting to the jupyter-repro server extension…'
    );
    this._footer.node.append(this._status);

    for (const widget of [
      this._header,
      this._fixReport,
      this._verdict,
      this._stepsSection,
      this._dag,
      this._analysis,
      this._historyHeading,
      this._history,
      this._footer
    ]) {
      this.addWidget(widget);
    }

    this._model.stepsChanged.connect(this._onSteps, this);
    this._model.runsChanged.connect(this._onRuns, this);
    this._model.jobChanged.connect(this._onJob, this);
    this._model.fixesChanged.connect(this._onFixes, this);
    this._verdict.fixClicked.connect(this._onFixClicked, this);
    this._history.fixClicked.connect(this._onFixClicked, this);
    this._dag.stepClicked.connect(this._onStepClicked, this);
    this._verdict.cellClicked.connect(this._onCellClicked, this);
    this._history.runClicked.connect(this._onRunClicked, this);
    this._tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged();
  }

  /** The notebook the panel shows (the current one in the tracker). */
  get notebook(): NotebookPanel | null {
    return this._notebook;
  }

  /** Show the version of the server extension that answered, or why none did. */
  showServer(info: IVersionInfo | null, problem?: string): void {
    this._status.textContent =
      info === null
        ? `Server extension unavailable: ${problem ?? 'no answer'}`
        : `Server extension ${info.name} ${info.version} is active.`;
    this._status.dataset.state = info === null ? 'error' : 'ok';
  }

  /**
   * Fetch the analysis and the history of the current notebook again. With `notify`, a failure that
   * was not reported yet becomes a notification too (it is always shown in the panel).
   */
  refresh(notify = true): void {
    const notebook = this._notebook;
    if (notebook === null) {
      return;
    }
    const path = notebook.context.path;
    refreshAnalysis(notebook, this._model).catch((reason: unknown) => {
      const message = messageOf(reason);
      if (notify && this._lastAnalysisError !== message) {
        this._notify(`Pipeline analysis of ${path} failed: ${message}`);
      }
      this._lastAnalysisError = message;
    });
    this._model.refreshRuns(path).catch((reason: unknown) => {
      if (notify) {
        this._notify(`Cannot read the run history of ${path}: ${messageOf(reason)}`);
      }
    });
  }

  /**
   * Ask for the fixes of the verification that just ended (a failure is shown with the verdict).
   * Only then: listing the fixes of a notebook changed since its last verification verifies it
   * first, which must never happen behind the user's back (on open, on save).
   */
  private _refreshFixes(notebook: NotebookPanel): void {
    void this._model.refreshFixes(notebook.context.path, savedCells(notebook));
  }

  private _onCurrentChanged = (): void => {
    const current = this._tracker.currentWidget;
    if (current === this._notebook) {
      return;
    }
    if (this._notebook !== null) {
      this._notebook.context.fileChanged.disconnect(this._onSaved, this);
      this._notebook.context.pathChanged.disconnect(this._onPathChanged, this);
    }
    this._notebook = current;
    this._lastAnalysisError = null;
    this._history.showDetails(null);
    if (current !== null) {
      current.context.fileChanged.connect(this._onSaved, this);
      current.context.pathChanged.connect(this._onPathChanged, this);
      void current.context.ready.then(() => {
        if (this._notebook === current) {
          this._renderAll();
          this.refresh(false);
        }
      });
    }
    this._renderAll();
  };

  private _onSaved = (): void => {
    this.refresh();
  };

  private _onPathChanged = (): void => {
    this._lastAnalysisError = null;
    this._renderAll();
    this.refresh(false);
  };

  private _path(): string | null {
    return this._notebook?.context.path ?? null;
  }

  private _renderAll(): void {
    this._renderHeader();
    const path = this._path();
    const fixes = path === null ? null : this._model.fixes(path);
    this._verdict.setFixes(fixes);
    this._history.setFixes(fixes);
    this._renderFixReport();
    this._verdict.render(path === null ? null : this._model.lastJob(path));
    this._renderSteps(path === null ? null : this._model.steps(path));
    const runs = path === null ? null : this._model.runs(path);
    this._history.render(runs?.runs ?? [], runs?.error ?? null);
    this._historyHeading.setHidden(path === null);
    this._history.setHidden(path === null);
  }

  private _renderHeader(): void {
    const node = this._header.node;
    node.replaceChildren();
    node.append(element('h2', undefined, 'Pipeline'));
    const path = this._path();
    if (path === null) {
      node.append(element('p', 'jp-repro-hint', 'Open a notebook to see its pipeline.'));
      return;
    }
    node.append(element('p', 'jp-repro-notebook-name', path));
    const buttons = element('div', 'jp-repro-panel-buttons');
    const busy = this._model.isBusy(path);
    for (const [command, label] of [
      [CommandIDs.verify, busy ? 'Verifying…' : 'Verify'],
      [CommandIDs.exportJob, 'Export…']
    ] as const) {
      const button = element(
        'button',
        'jp-Button jp-mod-styled jp-mod-accept jp-repro-button',
        label
      );
      button.dataset.command = command;
      button.disabled = command === CommandIDs.verify && busy;
      button.addEventListener('click', () => {
        void this._commands.execute(command);
      });
      buttons.append(button);
    }
    const refresh = element(
      'button',
      'jp-Button jp-mod-styled jp-mod-reject jp-repro-button',
      'Refresh'
    );
    refresh.title = 'Analyse the saved notebook again and reload the run history';
    refresh.addEventListener('click', () => {
      this._lastAnalysisError = null;
      this.refresh();
    });
    buttons.append(refresh);
    node.append(buttons);
  }

  private _renderSteps(state: IStepsState | null): void {
    const section = this._stepsSection.node;
    const analysis = this._analysis.node;
    section.replaceChildren();
    analysis.replaceChildren();
    if (state === null) {
      this._dag.render([], []);
      return;
    }
    section.append(element('h3', undefined, 'Steps'));
    if (state.steps === null) {
      section.append(element('p', 'jp-repro-problem', state.error ?? 'No analysis yet.'));
      this._dag.render([], []);
      return;
    }
    const info = state.steps;
    // the badges' colours: the same placement (server's when current), else the server's steps
    const placed = this._notebook !== null ? pipelineViewOf(this._notebook, this._model).order : [];
    const order = placed.length > 0 ? placed : info.steps.map(s => s.name);
    const job = this._model.lastJob(state.path);
    this._dag.render(info.steps, order, job?.result?.steps ?? []);
    if (info.steps.length === 1 && info.steps[0].name === 'main') {
      section.append(
        element(
          'p',
          'jp-repro-hint',
          'No step tags yet: the whole notebook is one step, "main". Use the "Pipeline step" ' +
            'button of the cell toolbar to split it.'
        )
      );
    }
    this._renderAnalysis(info);
  }

  private _renderAnalysis(info: IStepsInfo): void {
    const node = this._analysis.node;
    const parameters = Object.entries(info.parameters);
    if (parameters.length > 0) {
      node.append(element('h4', undefined, 'Parameters'));
      const table = element('table', 'jp-repro-parameters');
      const body = table.createTBody();
      for (const [name, value] of parameters) {
        const row = body.insertRow();
        row.insertCell().textContent = name;
        row.insertCell().textContent = JSON.stringify(value);
      }
      node.append(table);
    }
    const warnings: string[] = [
      ...(info.hidden_state ?? []).map(read => sentence(read.description)),
      ...info.steps
        .filter(s => typeof s.imprecise === 'string' && s.imprecise.length > 0)
        .map(s => `Step ${s.name}: ${String(s.imprecise)}; its inputs are found conservatively.`),
      ...(info.notes ?? [])
    ];
    const unique = [...new Set(warnings)];
    if (unique.length > 0) {
      node.append(element('h4', undefined, 'Warnings'));
      const list = element('ul', 'jp-repro-warnings');
      for (const warning of unique) {
        list.append(element('li', undefined, warning));
      }
      node.append(list);
    }
  }

  private _onSteps = (_: ReproModel, state: IStepsState): void => {
    if (state.path === this._path()) {
      if (state.error === null) {
        this._lastAnalysisError = null;
      }
      this._renderSteps(state);
    }
  };

  private _onRuns = (_: ReproModel, state: IRunsState): void => {
    if (state.path === this._path()) {
      this._history.render(state.runs, state.error);
    }
  };

  private _onJob = (_: ReproModel, job: IJobRun): void => {
    if (job.path === this._path()) {
      this._renderHeader();
      this._verdict.render(job);
      if (job.state === 'done' || job.state === 'error') {
        this._renderSteps(this._model.steps(job.path));
        if (this._notebook !== null && job.kind === 'verify' && job.result !== null) {
          this._refreshFixes(this._notebook);
        }
      }
    }
  };

  private _onFixes = (_: ReproModel, state: IFixesState): void => {
    if (state.path === this._path()) {
      this._verdict.setFixes(state);
      this._history.setFixes(state);
    }
  };

  private _onFixClicked = (_: unknown, fix: IFix): void => {
    const notebook = this._notebook;
    if (notebook === null) {
      return;
    }
    void applyFixToNotebook(notebook, this._model, fix).then(applied => {
      if (applied !== null) {
        this._appliedFixes.set(applied.path, applied);
        this._renderFixReport();
        this._forgetWhenClean(notebook, applied);
      }
    });
  };

  /**
   * Drop the report of `applied` once the notebook has no unsaved changes (saved, or reloaded from
   * disk): it said "modified, not saved", and its "Undo fix" would undo what is now the file.
   */
  private _forgetWhenClean(notebook: NotebookPanel, applied: IAppliedFixInfo): void {
    const model = notebook.context.model;
    const onState = (_: unknown, change: IChangedArgs<unknown>): void => {
      if (change.name !== 'dirty' || change.newValue !== false) {
        return;
      }
      model.stateChanged.disconnect(onState);
      if (this._appliedFixes.get(applied.path) === applied) {
        this._appliedFixes.delete(applied.path);
        this._renderFixReport();
      }
    };
    model.stateChanged.connect(onState);
  }

  /** The report of the fix applied last to the current notebook, while it is not saved. */
  private _renderFixReport(): void {
    const node = this._fixReport.node;
    node.replaceChildren();
    const path = this._path();
    const applied = path === null ? undefined : this._appliedFixes.get(path);
    this._fixReport.setHidden(applied === undefined);
    if (applied !== undefined) {
      node.append(
        fixReport(applied.report, {
          onUndo: () => {
            this._undoFix(applied);
          },
          onVerify: () => {
            void this._commands.execute(CommandIDs.verify);
          }
        })
      );
    }
  }

  private _undoFix(applied: IAppliedFixInfo): void {
    if (!applied.revert()) {
      Notification.warning(
        'The notebook changed since the fix was applied: undo step by step with Edit → Undo.',
        { autoClose: 10000 }
      );
      return;
    }
    this._model.setFixApplied(applied.path, applied.report.fix.id, false);
    this._appliedFixes.delete(applied.path);
    this._renderFixReport();
  }

  private _onStepClicked = (_: DagView, name: string): void => {
    const info = this._model.steps(this._path() ?? '')?.steps;
    const first = info?.steps.find(s => s.name === name)?.cells[0];
    if (first !== undefined) {
      void this._scrollTo(first);
    }
  };

  private async _scrollTo(index: number): Promise<void> {
    const notebook = this._notebook;
    if (notebook === null) {
      return;
    }
    const cell = itemAt(notebook.content.widgets, index);
    if (cell === undefined) {
      return;
    }
    notebook.content.activeCellIndex = index;
    await notebook.content.scrollToCell(cell, 'center');
  }

  private _onCellClicked = (_: VerdictView, result: ICellResult): void => {
    void this._showCell(result);
  };

  /** Scroll to a differing cell and show its saved and new outputs side by side under it. */
  private async _showCell(result: ICellResult): Promise<void> {
    const notebook = this._notebook;
    const job = this._model.lastJob(this._path() ?? '');
    if (notebook === null || job === null) {
      return;
    }
    const id = itemAt(job.cellIds, result.index);
    const index = id === undefined ? result.index : cellIdsOf(notebook).indexOf(id);
    const cell = index < 0 ? undefined : itemAt(notebook.content.widgets, index);
    if (cell === undefined) {
      this._notify(`Cell ${result.index} is no longer in the notebook.`);
      return;
    }
    notebook.content.activeCellIndex = index;
    await notebook.content.scrollToCell(cell, 'start');
    const box = await showComparison(cell, result);
    box.scrollIntoView({ block: 'nearest' });
  }

  private _onRunClicked = (history: HistoryView, run: IRunSummary): void => {
    if (history.selected === null) {
      history.showDetails(null);
      return;
    }
    const path = this._path() ?? undefined;
    this._model.runDetail(run.run_id, path).then(
      detail => {
        if (history.selected === run.run_id) {
          history.showDetails(detail);
        }
      },
      (reason: unknown) => {
        const message = messageOf(reason);
        history.showDetails(null, `Cannot read run ${run.run_id}: ${message}`);
        this._notify(`Cannot read run ${run.run_id}: ${message}`);
      }
    );
  };

  private _model: ReproModel;
  private _tracker: INotebookTracker;
  private _commands: CommandRegistry;
  private _notify: (message: string) => void;
  private _notebook: NotebookPanel | null = null;
  private _lastAnalysisError: string | null = null;
  private _header: Widget;
  private _verdict: VerdictView;
  private _fixReport: Widget;
  private _appliedFixes = new Map<string, IAppliedFixInfo>();
  private _stepsSection: Widget;
  private _dag: DagView;
  private _analysis: Widget;
  private _historyHeading: Widget;
  private _history: HistoryView;
  private _footer: Widget;
  private _status: HTMLParagraphElement;
}
