/**
 * The verify view of the pipeline panel: per-step progress while the job runs, then the verdict with
 * the causes of the whole run and the server's notes, the differing cells each with its own causes
 * and what to do (click one to see it in the notebook with old and new outputs side by side), the
 * "Fix" buttons of the causes the server has a fix for, how the live kernel differs from the
 * headless run, and a link to the HTML report.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { ICellResult, IRunResult } from '../core/api';
import { causeLine, differingCells, groupCauses, ICauseLine } from '../core/causes';
import { describeDifference } from '../core/compare';
import { fixesForCause, IFix, unmatchedFixes } from '../core/fixes';
import { formatDuration } from '../core/format';
import { IFixesState, IJobRun } from '../model';
import { element } from './dom';
import { fixButtons, IFixButtonOptions, otherFixes } from './fixes';

const VERDICT_TEXT: Record<string, string> = {
  reproducible: 'Reproducible',
  diverged: 'Diverged',
  failed: 'Failed'
};

const VERDICT_EXPLANATION: Record<string, string> = {
  reproducible: 'A fresh headless run reproduced every saved output.',
  diverged: 'A fresh headless run produced different outputs than the ones saved in the notebook.',
  failed: 'The headless run failed before it could reproduce the notebook.'
};

const STEP_STATUS_TEXT: Record<string, string> = {
  'planned-cached': 'cached',
  'planned-run': 'to run',
  'planned-executed': 'to run'
};

/** "8 cells match, 2 differ · 3 steps cached, 2 executed". */
export function summarize(job: IJobRun): string {
  const result = job.result;
  if (result === null) {
    return '';
  }
  const count = (items: { status: string }[], status: string): number =>
    items.filter(item => item.status === status).length;
  const cells: string[] = [];
  for (const [status, word] of [
    ['match', 'match'],
    ['differ', 'differ'],
    ['error', 'failed'],
    ['unverified', 'unverified'],
    ['ignored', 'ignored']
  ]) {
    const n = count(result.cells, status);
    if (n > 0) {
      cells.push(`${n} ${word}`);
    }
  }
  const steps: string[] = [];
  for (const status of ['cached', 'executed', 'failed', 'skipped']) {
    const n = count(result.steps, status);
    if (n > 0) {
      steps.push(`${n} ${status}`);
    }
  }
  const parts: string[] = [];
  if (cells.length > 0) {
    parts.push(`cells: ${cells.join(', ')}`);
  }
  if (steps.length > 0) {
    parts.push(`steps: ${steps.join(', ')}`);
  }
  const seconds = result.steps.reduce((sum, s) => sum + (s.duration_s || 0), 0);
  parts.push(`${formatDuration(seconds)} of execution`);
  return parts.join(' · ');
}

/** What a cause's fix buttons are made of, for `renderCauses` (`null`: the cause has none). */
export type CauseFixes = (line: ICauseLine) => HTMLElement | null;

/**
 * The fixes of `state` that belong to the run `runId`, as buttons per cause (`null` when the server
 * computed its fixes for another run, or gave none): a fix's cell indices are those of its run.
 */
export function causeFixes(
  state: IFixesState | null,
  runId: string,
  onFix: (fix: IFix) => void
): { forCause: CauseFixes; fixes: readonly IFix[]; options: IFixButtonOptions } | null {
  const list = state?.list ?? null;
  if (state === null || list === null || list.run_id !== runId || list.fixes.length === 0) {
    return null;
  }
  const options = { applied: state.applied, onFix };
  return {
    forCause: line => fixButtons(fixesForCause(list.fixes, line), options),
    fixes: list.fixes,
    options
  };
}

/**
 * A list of causes (`className` on the `ul`): each with its kind badge, its detail and, when the
 * server gave a hint, "What to do: …", then its fix buttons if `fixesFor` gives some. The one
 * rendering of causes; the panel's views use it.
 */
export function renderCauses(
  lines: readonly ICauseLine[],
  className: string,
  fixesFor: CauseFixes = () => null
): HTMLUListElement {
  const list = element('ul', className);
  for (const line of lines) {
    const item = element('li', 'jp-repro-cause');
    item.dataset.kind = line.kind;
    if (line.cell !== null) {
      item.dataset.cellIndex = String(line.cell);
    }
    item.append(
      element('span', 'jp-repro-cause-kind', line.kind),
      element('span', 'jp-repro-cause-detail', ` ${line.detail}`)
    );
    if (line.todo !== null) {
      item.append(element('div', 'jp-repro-cause-todo', line.todo));
    }
    const fixes = fixesFor(line);
    if (fixes !== null) {
      item.append(fixes);
    }
    list.append(item);
  }
  return list;
}

export class VerdictView extends Widget {
  constructor() {
    super();
    this.addClass('jp-repro-verify');
    this.hide();
  }

  /** A differing cell was clicked in the list. */
  get cellClicked(): ISignal<this, ICellResult> {
    return this._cellClicked;
  }

  /** A cause's "Fix" button was clicked. */
  get fixClicked(): ISignal<this, IFix> {
    return this._fixClicked;
  }

  /** The fixes the server offers for the notebook: shown with the causes of the run they are for. */
  setFixes(state: IFixesState | null): void {
    this._fixes = state;
    this.render(this._job);
  }

  /** Show `job` (or nothing). */
  render(job: IJobRun | null): void {
    this._job = job;
    this.node.replaceChildren();
    if (job === null) {
      this.hide();
      return;
    }
    this.show();
    this.node.dataset.state = job.state;
    const heading = element('h3', undefined, job.kind === 'verify' ? 'Verify reproducible' : 'Run');
    this.node.append(heading);
    if (job.state === 'queued' || job.state === 'running') {
      this._renderProgress(job);
    } else if (job.result !== null) {
      this._renderResult(job);
    } else {
      const failed = element('div', 'jp-repro-verdict');
      failed.dataset.verdict = 'error';
      failed.append(element('strong', undefined, 'Could not verify'));
      failed.append(element('p', 'jp-repro-verdict-detail', job.error ?? 'The job failed.'));
      this.node.append(failed);
    }
  }

  private _renderProgress(job: IJobRun): void {
    const steps = job.progress?.steps ?? [];
    const finished = job.progress?.finished ?? 0;
    const total = job.progress?.total ?? steps.length;
    const line = element('p', 'jp-repro-progress-text');
    line.textContent =
      job.state === 'queued'
        ? 'Waiting for another job to finish…'
        : total > 0
          ? `Re-running the notebook in a fresh kernel… ${finished}/${total} steps`
          : 'Starting a fresh kernel…';
    const bar = element('progress', 'jp-repro-progress');
    bar.max = Math.max(total, 1);
    bar.value = finished;
    this.node.append(line, bar);
    if (steps.length > 0) {
      const list = element('ol', 'jp-repro-progress-steps');
      for (const step of steps) {
        const item = element('li');
        item.dataset.status = step.status;
        item.append(
          element('span', 'jp-repro-progress-step', step.name),
          element('span', 'jp-repro-progress-status', STEP_STATUS_TEXT[step.status] ?? step.status)
        );
        list.append(item);
      }
      this.node.append(list);
    }
  }

  private _renderResult(job: IJobRun): void {
    const result = job.result;
    if (result === null) {
      return;
    }
    const verdict = result.verdict ?? (result.status === 'ok' ? 'ok' : 'failed');
    const banner = element('div', 'jp-repro-verdict');
    banner.dataset.verdict = verdict;
    banner.append(element('strong', 'jp-repro-verdict-word', VERDICT_TEXT[verdict] ?? verdict));
    banner.append(
      element(
        'p',
        'jp-repro-verdict-detail',
        VERDICT_EXPLANATION[verdict] ?? (result.status === 'ok' ? 'The run finished.' : '')
      )
    );
    banner.append(element('p', 'jp-repro-verdict-summary', summarize(job)));
    this.node.append(banner);

    if (result.error) {
      this.node.append(element('pre', 'jp-repro-error', result.error));
    }

    const notes = result.notes ?? [];
    if (notes.length > 0) {
      const list = element('ul', 'jp-repro-notes');
      for (const note of notes) {
        list.append(element('li', undefined, note));
      }
      this.node.append(list);
    }

    const fixes = causeFixes(this._fixes, result.run_id, fix => {
      this._fixClicked.emit(fix);
    });
    const forCause = fixes?.forCause;
    const groups = groupCauses(result.causes, differingCells(result.cells));
    if (groups.run.length > 0) {
      this.node.append(element('h4', undefined, 'Why'));
      this.node.append(renderCauses(groups.run, 'jp-repro-causes', forCause));
    }

    if (groups.cells.length > 0) {
      this.node.append(element('h4', undefined, 'Differing cells'));
      const list = element('ul', 'jp-repro-differing');
      for (const { cell, causes } of groups.cells) {
        const item = element('li', 'jp-repro-differing-item');
        item.dataset.cellIndex = String(cell.index);
        item.dataset.status = cell.status;
        const button = element('button', 'jp-repro-link jp-repro-differing-cell');
        button.dataset.cellIndex = String(cell.index);
        button.textContent = `Cell ${cell.index} · ${cell.step}`;
        button.title = 'Show this cell with its saved and new outputs side by side';
        button.addEventListener('click', () => {
          this._cellClicked.emit(cell);
        });
        item.append(button);
        if (cell.reason) {
          item.append(element('span', 'jp-repro-hint', ` ${cell.reason}`));
        }
        if (causes.length > 0) {
          item.append(renderCauses(causes, 'jp-repro-cell-causes', forCause));
        }
        list.append(item);
      }
      this.node.append(list);
    }

    if (fixes !== null) {
      const others = unmatchedFixes(fixes.fixes, result.causes.map(causeLine));
      if (others.length > 0) {
        this.node.append(element('h4', undefined, 'Other fixes'));
        this.node.append(otherFixes(others, fixes.options));
      }
    }
    this._renderFixProblem(result);
    this._renderEnvironment(job);

    const links = element('p', 'jp-repro-links');
    if (job.reportUrl !== null) {
      const report = element('a', 'jp-repro-report-link', 'Open the HTML report');
      report.href = job.reportUrl;
      report.target = '_blank';
      report.rel = 'noopener';
      links.append(report);
    }
    links.append(element('span', 'jp-repro-hint', ` run ${result.run_id}`));
    this.node.append(links);
  }

  /** Why no fix can be offered, when the server could not list them for a run that has causes. */
  private _renderFixProblem(result: IRunResult): void {
    const error = this._fixes?.error ?? null;
    if (error !== null && result.causes.length > 0) {
      this.node.append(element('p', 'jp-repro-hint jp-repro-fix-problem', `No fixes: ${error}`));
    }
  }

  private _renderEnvironment(job: IJobRun): void {
    const section = element('div', 'jp-repro-environment');
    const differences = job.environmentDifferences;
    if (differences !== null) {
      if (differences.length === 0) {
        section.append(
          element(
            'p',
            'jp-repro-hint',
            'Your kernel and the headless run use the same Python and packages.'
          )
        );
      } else {
        section.append(element('h4', undefined, 'Your kernel vs the headless run'));
        const list = element('ul', 'jp-repro-env-differences');
        const shown = differences.slice(0, 8);
        for (const difference of shown) {
          list.append(element('li', undefined, describeDifference(difference)));
        }
        if (differences.length > shown.length) {
          list.append(
            element('li', 'jp-repro-hint', `and ${differences.length - shown.length} more`)
          );
        }
        section.append(list);
      }
    } else if (job.liveEnvironmentError !== null) {
      section.append(
        element(
          'p',
          'jp-repro-hint',
          `Could not compare with your kernel's environment: ${job.liveEnvironmentError}`
        )
      );
    } else if (job.liveEnvironment === null) {
      section.append(
        element(
          'p',
          'jp-repro-hint',
          "No kernel is running: start one to compare its environment with the headless run's."
        )
      );
    }
    this.node.append(section);
  }

  private _cellClicked = new Signal<this, ICellResult>(this);
  private _fixClicked = new Signal<this, IFix>(this);
  private _job: IJobRun | null = null;
  private _fixes: IFixesState | null = null;
}
