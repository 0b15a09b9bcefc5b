/**
 * Pure comparisons shown by the verdict view: a unified diff of saved vs new outputs split into two
 * columns, and the differences between the live kernel's environment and the headless run's.
 */
import { IEnvironment } from './api';

export type DiffRowKind = 'same' | 'changed' | 'removed' | 'added' | 'hunk';

/** One row of a side-by-side view: the saved output on the left, the new output on the right. */
export interface IDiffRow {
  kind: DiffRowKind;
  left: string | null;
  right: string | null;
}

/**
 * Split a unified diff (`--- saved outputs` / `+++ new outputs`, as verify writes it) into rows.
 * Runs of removed lines followed by added lines are paired up as changed rows.
 */
export function splitUnifiedDiff(diff: string): IDiffRow[] {
  const rows: IDiffRow[] = [];
  let removed: string[] = [];
  let added: string[] = [];

  const flush = (): void => {
    const n = Math.max(removed.length, added.length);
    for (let i = 0; i < n; i++) {
      const left = i < removed.length ? removed[i] : null;
      const right = i < added.length ? added[i] : null;
      rows.push({
        kind: left !== null && right !== null ? 'changed' : left !== null ? 'removed' : 'added',
        left,
        right
      });
    }
    removed = [];
    added = [];
  };

  for (const line of diff.split('\n')) {
    if (line.startsWith('--- ') || line.startsWith('+++ ')) {
      continue;
    }
    if (line.startsWith('@@')) {
      flush();
      rows.push({ kind: 'hunk', left: line, right: line });
    } else if (line.startsWith('-')) {
      if (added.length > 0) {
        flush();
      }
      removed.push(line.slice(1));
    } else if (line.startsWith('+')) {
      added.push(line.slice(1));
    } else if (line.startsWith('\\')) {
      continue; // "\ No newline at end of file"
    } else {
      flush();
      const text = line.startsWith(' ') ? line.slice(1) : line;
      rows.push({ kind: 'same', left: text, right: text });
    }
  }
  flush();
  while (
    rows.length > 0 &&
    rows[rows.length - 1].kind === 'same' &&
    rows[rows.length - 1].left === ''
  ) {
    rows.pop();
  }
  return rows;
}

/** One difference between the interactive kernel and the headless run. */
export interface IEnvironmentDifference {
  what: string;
  live: string | null;
  headless: string | null;
}

/** Distribution names compared case- and separator-insensitively, as pip does. */
export function normalizeDistribution(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * How the live kernel's environment differs from the headless run's: Python version, interpreter,
 * and every distribution whose version differs or that only one side has. Sorted, Python first.
 */
export function compareEnvironments(
  live: IEnvironment,
  headless: IEnvironment
): IEnvironmentDifference[] {
  const differences: IEnvironmentDifference[] = [];
  const scalar = (what: string, a?: string, b?: string): void => {
    if (a !== undefined && b !== undefined && a !== b) {
      differences.push({ what, live: a, headless: b });
    }
  };
  scalar('Python', live.python_version, headless.python_version);
  scalar('interpreter', live.executable, headless.executable);
  const normalise = (packages: Record<string, string> = {}): Map<string, [string, string]> =>
    new Map(
      Object.entries(packages).map(([name, version]) => [
        normalizeDistribution(name),
        [name, version]
      ])
    );
  const a = normalise(live.packages);
  const b = normalise(headless.packages);
  if (live.packages === undefined || headless.packages === undefined) {
    return differences;
  }
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const key of names) {
    const left = a.get(key);
    const right = b.get(key);
    if (left?.[1] !== right?.[1]) {
      differences.push({
        what: (left ?? right ?? [key])[0],
        live: left?.[1] ?? null,
        headless: right?.[1] ?? null
      });
    }
  }
  return differences;
}

/** One sentence per difference: "your kernel has pandas 2.1.0, the headless run used 2.2.0". */
export function describeDifference(d: IEnvironmentDifference): string {
  if (d.live === null) {
    return `${d.what} ${d.headless ?? ''} is installed for the headless run but not in your kernel`;
  }
  if (d.headless === null) {
    return `${d.what} ${d.live} is installed in your kernel but not for the headless run`;
  }
  return `your kernel has ${d.what} ${d.live}, the headless run used ${d.headless}`;
}
