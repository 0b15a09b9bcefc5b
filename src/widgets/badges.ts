/**
 * Step badges: every code cell of a pipeline step shows a small label in its step's colour in the
 * cell header; after a run or verify, the cell's status (cached / executed / matches / differs /
 * failed) next to it, and while a job runs, its step's progress. In every notebook, tagged or not,
 * the execution marks follow: "edited since run" and "out of order" (marks.ts).
 *
 * Where a cell sits is the server's answer (`GET steps`, `cells[]`), the one source of truth; the
 * TypeScript grammar only stands in while no answer describes the current tags (core/placement.ts).
 * The badge holder says which one it shows in `data-source` (`server` / `offline`).
 */
import { Cell, ICellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';

import { badgeStatus, stepColour, textColourOn } from '../core/format';
import { IPipelineView } from '../core/placement';
import { SourceHashes } from '../core/sourcehash';
import { hasPipelineTags, ICellPlace } from '../core/tags';
import { executionMarks, hasRunCells, IMark } from '../marks';
import { IJobRun, IStepsState, ReproModel } from '../model';
import { cellInputsOf, cellModels, pipelineViewOf, refreshAnalysis } from '../notebook';

const BADGES_CLASS = 'jp-repro-badges';
const HEADER_WITH_BADGES_CLASS = 'jp-repro-has-badges';
const MARK_CLASS = 'jp-repro-mark';
/** Milliseconds without typing before the "edited since run" marks are checked again. */
const TYPING_DELAY = 300;
/** Mark colours, theme variables with fallbacks (the status colours of style/base.css). */
const MARK_COLOURS: Readonly<Record<IMark['kind'], readonly [string, string]>> = {
  edited: ['var(--jp-warn-color2, #ffb74d)', 'var(--jp-ui-inverse-font-color0, #000)'],
  'out-of-order': ['var(--jp-warn-color1, #f57c00)', '#fff']
};

export interface IBadgeOptions {
  /** Called after each redraw (tags may have changed: commands update their state). */
  onRender?: () => void;
  /** Whether the executed source is recorded (`recordExecutedSource`); read at every redraw. */
  recording?: () => boolean;
}

/** What one cell's badge shows. */
interface IBadge {
  label: string;
  colour: string | null;
  title: string;
  status: { label: string; kind: string } | null;
  step: string | null;
  role: string;
  source: IPipelineView['source'];
}

const ROLE_TITLES: Readonly<Record<string, string>> = {
  skip: 'Exploration cell: not part of the pipeline',
  setup: 'Setup code shared by every step',
  parameters: 'Parameters of the pipeline',
  'injected-parameters': 'Parameter values papermill injected: they override the defaults'
};

function statusTitle(kind: string): string {
  switch (kind) {
    case 'match':
      return 'The headless verify produced the saved outputs';
    case 'differ':
      return 'The headless verify produced different outputs';
    case 'cached':
      return 'Step reused from the cache';
    case 'executed':
      return 'Step executed';
    case 'failed':
      return 'Step failed';
    case 'running':
      return 'Step running';
    default:
      return kind;
  }
}

/** Draws the badges of one notebook; created for each notebook panel, disposed with it. */
export class BadgeTracker implements IDisposable {
  constructor(panel: NotebookPanel, model: ReproModel, options: IBadgeOptions = {}) {
    this._panel = panel;
    this._model = model;
    this._onRender = options.onRender ?? null;
    this._recording = options.recording ?? (() => true);
    this._hashes = new SourceHashes(this._schedule);
    const notebookModel = panel.content.model;
    notebookModel?.cells.changed.connect(this._onCellsChanged, this);
    this._connectCells();
    model.jobChanged.connect(this._onJobChanged, this);
    model.stepsChanged.connect(this._onStepsChanged, this);
    panel.context.pathChanged.connect(this._onSaved, this);
    panel.context.fileChanged.connect(this._onSaved, this);
    panel.disposed.connect(() => {
      this.dispose();
    });
    void panel.revealed.then(() => {
      this._schedule();
    });
    void panel.context.ready.then(() => {
      this._onSaved();
    });
    this._schedule();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.jobChanged.disconnect(this._onJobChanged, this);
    this._model.stepsChanged.disconnect(this._onStepsChanged, this);
    this._panel.context.pathChanged.disconnect(this._onSaved, this);
    this._panel.context.fileChanged.disconnect(this._onSaved, this);
    this._panel.content.model?.cells.changed.disconnect(this._onCellsChanged, this);
    for (const cell of this._connected) {
      this._disconnectCell(cell);
    }
    this._connected.clear();
    for (const timer of [this._timer, this._typingTimer]) {
      if (timer !== null) {
        clearTimeout(timer);
      }
    }
  }

  /** Redraw the marks now (the recording setting changed). */
  refresh(): void {
    this._schedule();
  }

  /** Redraw soon (many metadata changes in a row become one redraw). */
  private _schedule = (): void => {
    if (this._isDisposed || this._timer !== null) {
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      this._render();
    }, 0);
  };

  /** A source changed: check the marks once typing pauses, not on every keystroke. */
  private _scheduleAfterTyping = (): void => {
    if (this._typingTimer !== null) {
      clearTimeout(this._typingTimer);
    }
    this._typingTimer = setTimeout(() => {
      this._typingTimer = null;
      this._schedule();
    }, TYPING_DELAY);
  };

  private _onCellsChanged = (): void => {
    this._connectCells();
    this._schedule();
  };

  private _connectCells(): void {
    const current = new Set(cellModels(this._panel));
    for (const cell of current) {
      if (!this._connected.has(cell)) {
        cell.metadataChanged.connect(this._schedule, this);
        cell.stateChanged.connect(this._schedule, this); // execution counts
        cell.contentChanged.connect(this._scheduleAfterTyping, this);
      }
    }
    for (const cell of this._connected) {
      if (!current.has(cell)) {
        this._disconnectCell(cell);
      }
    }
    this._connected = current;
  }

  private _disconnectCell(cell: ICellModel): void {
    cell.metadataChanged.disconnect(this._schedule, this);
    cell.stateChanged.disconnect(this._schedule, this);
    cell.contentChanged.disconnect(this._scheduleAfterTyping, this);
  }

  private _onJobChanged = (_: ReproModel, job: IJobRun): void => {
    if (job.path === this._panel.context.path) {
      this._schedule();
    }
  };

  private _onStepsChanged = (_: ReproModel, state: IStepsState): void => {
    if (state.path === this._panel.context.path) {
      this._schedule();
    }
  };

  /**
   * The notebook was opened, saved or renamed: ask the server where its cells sit now, and what
   * they read and define (for the out-of-order marks, also in a notebook without tags).
   */
  private _onSaved = (): void => {
    this._schedule();
    if (this._isDisposed || this._panel.context.model.dirty) {
      return;
    }
    if (hasPipelineTags(cellInputsOf(this._panel)) || hasRunCells(this._panel)) {
      // a failure is kept in the model's state (the panel reports it); the badges fall back offline
      refreshAnalysis(this._panel, this._model).catch(() => undefined);
    }
  };

  private _badges(): (IBadge | null)[] {
    const cells = cellInputsOf(this._panel);
    if (!hasPipelineTags(cells)) {
      return cells.map(() => null);
    }
    const view = pipelineViewOf(this._panel, this._model);
    if (view.error !== null) {
      const error = view.error;
      const at = error.cell ?? cells.findIndex(cell => cell.type === 'code');
      return cells.map((_, i) =>
        i === at
          ? {
              label: 'tag error',
              colour: null,
              title: error.describe(),
              status: null,
              step: null,
              role: 'error',
              source: view.source
            }
          : null
      );
    }
    const job = this._model.lastJob(this._panel.context.path);
    const models = cellModels(this._panel);
    return view.places.map((place, i) => this._badge(place, view, job, models[i].id));
  }

  private _badge(
    place: ICellPlace,
    view: IPipelineView,
    job: IJobRun | null,
    cellId: string
  ): IBadge | null {
    if (place.role === 'text') {
      return null;
    }
    if (place.role !== 'step' || place.step === null) {
      const inStep =
        place.role === 'skip' && place.step !== null ? ` (inside step "${place.step}")` : '';
      return {
        label: place.role,
        colour: null,
        title: `${ROLE_TITLES[place.role] ?? place.role}${inStep}`,
        status: null,
        step: null,
        role: place.role,
        source: view.source
      };
    }
    const step = place.step;
    let status: IBadge['status'] = null;
    if (job !== null) {
      if (job.state === 'queued' || job.state === 'running') {
        const progress = job.progress?.steps?.find(s => s.name === step)?.status;
        if (progress !== undefined && !progress.startsWith('planned-')) {
          status = { label: progress, kind: progress };
        } else {
          status = { label: 'waiting', kind: 'waiting' };
        }
      } else {
        const { cell, step: stepResult } = ReproModel.resultsForCell(job, cellId, step);
        status = badgeStatus(cell, stepResult);
      }
    }
    return {
      label: step,
      colour: stepColour(step, view.order),
      title:
        (place.starts ? `Pipeline step "${step}" starts here` : `Part of pipeline step "${step}"`) +
        (place.ignoreOutput ? '; verify does not compare its outputs' : ''),
      status,
      step,
      role: 'step',
      source: view.source
    };
  }

  private _render(): void {
    if (this._isDisposed) {
      return;
    }
    const badges = this._badges();
    const marks = executionMarks(this._panel, this._model, this._hashes, this._recording());
    const widgets = this._panel.content.widgets;
    widgets.forEach((cell, i) => {
      if (cell.node.querySelector(':scope > .jp-Cell-header') === null) {
        // a placeholder, not rendered yet: draw once it is
        if (!this._waiting.has(cell)) {
          this._waiting.add(cell);
          void cell.ready.then(() => {
            this._schedule();
          });
        }
        return;
      }
      this._draw(cell, i < badges.length ? badges[i] : null, i < marks.length ? marks[i] : []);
    });
    this._onRender?.();
  }

  private _draw(cell: Cell, badge: IBadge | null, marks: readonly IMark[]): void {
    const header = cell.node.querySelector(':scope > .jp-Cell-header');
    if (header === null) {
      return;
    }
    let holder = header.querySelector<HTMLElement>(`:scope > .${BADGES_CLASS}`);
    if (badge === null && marks.length === 0) {
      holder?.remove();
      header.classList.remove(HEADER_WITH_BADGES_CLASS);
      return;
    }
    if (holder === null) {
      holder = document.createElement('div');
      holder.className = BADGES_CLASS;
      header.append(holder);
      header.classList.add(HEADER_WITH_BADGES_CLASS);
    }
    const key = JSON.stringify([badge, marks]);
    if (holder.dataset.key === key) {
      return;
    }
    holder.dataset.key = key;
    if (badge === null) {
      delete holder.dataset.source; // marks only: no placement is shown
    } else {
      holder.dataset.source = badge.source;
    }
    holder.replaceChildren(...(badge === null ? [] : badgeParts(badge)), ...marks.map(markPart));
  }

  private _panel: NotebookPanel;
  private _model: ReproModel;
  private _onRender: (() => void) | null;
  private _recording: () => boolean;
  private _hashes: SourceHashes;
  private _connected = new Set<ICellModel>();
  private _waiting = new WeakSet<Cell>();
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _typingTimer: ReturnType<typeof setTimeout> | null = null;
  private _isDisposed = false;
}

/** The label of a cell's place in the pipeline, and its status after a job. */
function badgeParts(badge: IBadge): HTMLElement[] {
  const label = document.createElement('span');
  label.className = 'jp-repro-badge';
  label.dataset.role = badge.role;
  if (badge.step !== null) {
    label.dataset.step = badge.step;
  }
  label.textContent = badge.label;
  label.title = badge.title;
  if (badge.colour !== null) {
    label.style.backgroundColor = badge.colour;
    label.style.color = textColourOn(badge.colour);
  }
  const parts: HTMLElement[] = [label];
  if (badge.status !== null) {
    const status = document.createElement('span');
    status.className = 'jp-repro-badge-status';
    status.dataset.status = badge.status.kind;
    status.textContent = badge.status.label;
    status.title = statusTitle(badge.status.kind);
    parts.push(status);
  }
  return parts;
}

/** An execution mark, drawn like a status (`data-status` is `edited` or `out-of-order`). */
function markPart(mark: IMark): HTMLElement {
  const element = document.createElement('span');
  element.className = `jp-repro-badge-status ${MARK_CLASS}`;
  element.dataset.status = mark.kind;
  element.textContent = mark.label;
  element.title = mark.title;
  const [background, foreground] = MARK_COLOURS[mark.kind];
  element.style.setProperty('--jp-repro-status-bg', background);
  element.style.setProperty('--jp-repro-status-fg', foreground);
  return element;
}
