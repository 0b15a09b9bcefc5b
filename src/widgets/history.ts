/**
 * The run history of the pipeline panel (from the ledger: time, kind, verdict, duration); clicking a
 * run shows its details: parameters, seed, environment, steps, causes (with their "Fix" buttons when
 * the server's fixes are for that run) and the differing cells with their saved and new outputs side
 * by side.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { formatDuration, formatTime, outcomeOf, runDuration } from '../core/format';
import { IRunDetail, IRunSummary } from '../core/api';
import { causeLine } from '../core/causes';
import { IFix } from '../core/fixes';
import { IFixesState } from '../model';
import { diffTable } from './diffview';
import { element } from './dom';
import { CauseFixes, causeFixes, renderCauses } from './verdict';

export class HistoryView extends Widget {
  constructor() {
    super();
    this.addClass('jp-repro-history');
  }

  /** A run was clicked (its details are wanted). */
  get runClicked(): ISignal<this, IRunSummary> {
    return this._runClicked;
  }

  get selected(): string | null {
    return this._selected;
  }

  /** A "Fix" button of the shown run's causes was clicked. */
  get fixClicked(): ISignal<this, IFix> {
    return this._fixClicked;
  }

  /** The fixes the server offers for the notebook (shown with the causes of the run they are for). */
  setFixes(state: IFixesState | null): void {
    this._fixes = state;
    if (this._details !== null && this._detail !== null) {
      this.showDetails(this._detail);
    }
  }

  render(runs: readonly IRunSummary[], error: string | null): void {
    this.node.replaceChildren();
    if (error !== null) {
      this.node.append(element('p', 'jp-repro-problem', `Run history unavailable: ${error}`));
    }
    if (runs.length === 0) {
      if (error === null) {
        this.node.append(
          element('p', 'jp-repro-hint', 'No runs yet: click "Verify" to record the first one.')
        );
      }
      this._details = null;
      return;
    }
    const table = element('table', 'jp-repro-runs');
    const head = table.createTHead().insertRow();
    for (const text of ['Time', 'Kind', 'Verdict', 'Duration']) {
      head.append(element('th', undefined, text));
    }
    const body = table.createTBody();
    for (const run of runs) {
      const row = body.insertRow();
      row.className = 'jp-repro-run';
      row.dataset.runId = run.run_id;
      row.tabIndex = 0;
      row.title = `Run ${run.run_id}: click for details`;
      if (run.run_id === this._selected) {
        row.classList.add('jp-mod-selected');
      }
      const outcome = outcomeOf(run);
      row.insertCell().textContent = formatTime(run.started_at);
      row.insertCell().textContent = run.kind;
      const verdict = row.insertCell();
      verdict.append(element('span', 'jp-repro-outcome', outcome));
      verdict.firstElementChild?.setAttribute('data-outcome', outcome);
      row.insertCell().textContent = formatDuration(runDuration(run));
      const open = (): void => {
        this._selected = this._selected === run.run_id ? null : run.run_id;
        this._runClicked.emit(run);
      };
      row.addEventListener('click', open);
      row.addEventListener('keydown', (event: KeyboardEvent) => {
        if (event.key === 'Enter') {
          open();
        }
      });
    }
    this.node.append(table);
    if (this._details !== null && this._selected !== null) {
      this.node.append(this._details);
    }
  }

  /** Show the details of the selected run under the table (or a problem reading them). */
  showDetails(detail: IRunDetail | null, problem?: string): void {
    this._details?.remove();
    this._details = null;
    this._detail = detail;
    if (this._selected === null) {
      return;
    }
    const forCause =
      detail === null
        ? undefined
        : causeFixes(this._fixes, detail.run_id, fix => {
            this._fixClicked.emit(fix);
          })?.forCause;
    this._details =
      detail === null ? problemBox(problem ?? 'no details') : detailsBox(detail, forCause);
    this.node.append(this._details);
    this.node.querySelectorAll('.jp-repro-run').forEach(row => {
      row.classList.toggle(
        'jp-mod-selected',
        (row as HTMLElement).dataset.runId === this._selected
      );
    });
  }

  private _runClicked = new Signal<this, IRunSummary>(this);
  private _fixClicked = new Signal<this, IFix>(this);
  private _fixes: IFixesState | null = null;
  private _detail: IRunDetail | null = null;
  private _selected: string | null = null;
  private _details: HTMLElement | null = null;
}

function problemBox(problem: string): HTMLElement {
  const box = element('div', 'jp-repro-run-details');
  box.append(element('p', 'jp-repro-problem', problem));
  return box;
}

function detailsBox(run: IRunDetail, forCause?: CauseFixes): HTMLElement {
  const box = element('div', 'jp-repro-run-details');
  box.dataset.runId = run.run_id;
  box.append(element('h4', undefined, `Run ${run.run_id}`));

  const facts = element('dl', 'jp-repro-facts');
  const fact = (name: string, value: string): void => {
    facts.append(element('dt', undefined, name), element('dd', undefined, value));
  };
  fact('Outcome', outcomeOf(run));
  if (run.started_at) {
    fact('Started', new Date(run.started_at).toLocaleString());
  }
  fact(
    'Duration',
    formatDuration(runDuration({ started_at: run.started_at ?? '', finished_at: run.finished_at }))
  );
  fact('Seed', String(run.seed));
  const parameters = Object.entries(run.parameters);
  if (parameters.length > 0) {
    fact('Parameters', parameters.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '));
  }
  if (run.environment) {
    const env = run.environment;
    fact(
      'Environment',
      [env.implementation, env.python_version, env.platform].filter(Boolean).join(' · ')
    );
  }
  if (run.git_commit) {
    fact(
      'Git',
      `${run.git_commit.slice(0, 10)}${run.git_dirty === true ? ' (uncommitted changes)' : ''}`
    );
  }
  box.append(facts);

  if (run.steps.length > 0) {
    const table = element('table', 'jp-repro-steps');
    const head = table.createTHead().insertRow();
    for (const text of ['Step', 'Status', 'Duration']) {
      head.append(element('th', undefined, text));
    }
    const body = table.createTBody();
    for (const step of run.steps) {
      const row = body.insertRow();
      row.insertCell().textContent = step.name;
      const status = row.insertCell();
      status.append(element('span', 'jp-repro-outcome', step.status));
      status.firstElementChild?.setAttribute('data-outcome', step.status);
      row.insertCell().textContent = formatDuration(step.duration_s);
      if (step.error) {
        row.title = step.error;
      }
    }
    box.append(table);
  }

  if (run.causes.length > 0) {
    box.append(renderCauses(run.causes.map(causeLine), 'jp-repro-causes', forCause));
  }

  const differing = run.cells.filter(c => c.status === 'differ' || c.status === 'error');
  for (const cell of differing) {
    const block = element('details', 'jp-repro-cell-diff');
    block.append(
      element(
        'summary',
        undefined,
        `Cell ${cell.index} · ${cell.step}: ${cell.reason ?? cell.status}`
      )
    );
    if (cell.diff) {
      block.append(diffTable(cell.diff));
    }
    box.append(block);
  }
  if (run.kind === 'verify' && differing.length === 0 && run.verdict === 'reproducible') {
    box.append(element('p', 'jp-repro-hint', 'Every compared cell matched its saved outputs.'));
  }
  return box;
}
