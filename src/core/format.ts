/**
 * Words and numbers as the UI shows them: status labels, durations, times, step colours. Pure.
 */
import { ICellResult, IRunSummary, IStepResult } from './api';

/** The label a badge shows for a cell's verify status. */
export const CELL_STATUS_LABELS: Readonly<Record<string, string>> = {
  match: 'matches',
  differ: 'differs',
  error: 'failed',
  unverified: 'unverified',
  ignored: 'ignored'
};

/** The status a cell's badge shows after a run or verify (`null`: nothing to show). */
export function badgeStatus(
  cell: ICellResult | undefined,
  step: IStepResult | undefined
): { label: string; kind: string } | null {
  if (step?.status === 'failed' || cell?.status === 'error') {
    return { label: 'failed', kind: 'failed' };
  }
  if (cell !== undefined) {
    const label = CELL_STATUS_LABELS[cell.status] ?? cell.status;
    return { label, kind: cell.status };
  }
  if (step !== undefined) {
    return { label: step.status, kind: step.status };
  }
  return null;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  return `${minutes} min ${rest} s`;
}

/** A run's duration from the ledger: `duration_s`, else `finished_at - started_at`. */
export function runDuration(
  run: Pick<IRunSummary, 'started_at' | 'finished_at' | 'duration_s'>
): number | null {
  if (typeof run.duration_s === 'number') {
    return run.duration_s;
  }
  if (!run.finished_at) {
    return null;
  }
  const start = Date.parse(run.started_at);
  const end = Date.parse(run.finished_at);
  return Number.isNaN(start) || Number.isNaN(end) ? null : Math.max(0, (end - start) / 1000);
}

/** "14:03" today, "Nov 20, 14:03" otherwise, in the user's locale. */
export function formatTime(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === now.toDateString()) {
    return time;
  }
  const day = date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return `${day}, ${time}`;
}

/** The word for a run's outcome: its verdict for a verify, its status for a run. */
export function outcomeOf(run: { kind: string; status: string; verdict: string | null }): string {
  return run.verdict ?? (run.status === 'ok' ? 'ok' : run.status);
}

/** Categorical palette (Tableau 10), one colour per step in order of appearance. */
export const STEP_COLOURS = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#b07aa1',
  '#edc948',
  '#ff9da7',
  '#9c755f',
  '#bab0ac'
];

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) {
    h = (h * 31 + text.charCodeAt(i)) | 0;
  }
  return Math.abs(h);
}

/** The colour of step `name`: by its position in `order`, else by a hash of the name. */
export function stepColour(name: string, order: readonly string[]): string {
  const index = order.indexOf(name);
  return STEP_COLOURS[(index >= 0 ? index : hash(name)) % STEP_COLOURS.length];
}

/** Black or white, whichever reads better on `colour` (`#rrggbb`). */
export function textColourOn(colour: string): string {
  const value = parseInt(colour.slice(1), 16);
  const [r, g, b] = [(value >> 16) & 255, (value >> 8) & 255, value & 255];
  const luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  return luminance > 0.6 ? '#1a1a1a' : '#ffffff';
}
