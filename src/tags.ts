/**
 * The pipeline tag vocabulary (ARCHITECTURE.md, docs/tags.md) read and written on plain string arrays.
 * Pure: no JupyterLab imports, unit-tested with Jest. Reading mirrors the Python core closely enough to
 * draw badges; the server's analysis (`GET steps`) stays the authority on data flow and errors.
 */
import { STEP_TAG_PREFIX, stepNameProblem, suggestStepName } from './stepname';

export const AFTER_TAG_PREFIX = 'after:';
/** Kale's spellings, read as `step:` and `after:`. */
const KALE_STEP_PREFIX = 'block:';
const KALE_AFTER_PREFIX = 'prev:';

/** The on/off tags the property inspector edits. */
export const FLAG_TAGS = ['setup', 'skip', 'no-cache', 'ignore-output'] as const;
export type FlagTag = (typeof FLAG_TAGS)[number];

const SETUP_TAGS = new Set(['setup', 'imports', 'functions']);
const PARAMETER_TAGS = new Set(['parameters', 'pipeline-parameters', 'injected-parameters']);
const SKIP_TAGS = new Set(['skip', 'nbval-skip']);
/** Tags that make a notebook a jupyter-repro pipeline (papermill's `parameters` alone does not). */
const PIPELINE_MARKERS = new Set(['setup', 'skip', 'no-cache', 'ignore-output']);

/** The step a cell starts (`step:NAME`, or Kale's `block:NAME`), if any. */
export function startedStep(tags: readonly string[]): string | null {
  for (const tag of tags) {
    for (const prefix of [STEP_TAG_PREFIX, KALE_STEP_PREFIX]) {
      if (tag.startsWith(prefix) && tag.length > prefix.length) {
        return tag.slice(prefix.length);
      }
    }
  }
  return null;
}

/** The steps a cell names in `after:` (or Kale's `prev:`) tags, in order, without duplicates. */
export function afterSteps(tags: readonly string[]): string[] {
  const names: string[] = [];
  for (const tag of tags) {
    for (const prefix of [AFTER_TAG_PREFIX, KALE_AFTER_PREFIX]) {
      if (tag.startsWith(prefix) && tag.length > prefix.length) {
        const name = tag.slice(prefix.length);
        if (!names.includes(name)) {
          names.push(name);
        }
      }
    }
  }
  return names;
}

/** `tags` with the cell's step set to `name` (`null` removes the step tag). */
export function withStep(tags: readonly string[], name: string | null): string[] {
  const kept = tags.filter(t => !t.startsWith(STEP_TAG_PREFIX) && !t.startsWith(KALE_STEP_PREFIX));
  return name === null ? kept : [`${STEP_TAG_PREFIX}${name}`, ...kept];
}

/** `tags` with exactly the given `after:` dependencies (Kale `prev:` tags are replaced too). */
export function withAfter(tags: readonly string[], names: readonly string[]): string[] {
  const kept = tags.filter(
    t => !t.startsWith(AFTER_TAG_PREFIX) && !t.startsWith(KALE_AFTER_PREFIX)
  );
  return [...kept, ...names.map(name => `${AFTER_TAG_PREFIX}${name}`)];
}

/** `tags` with `flag` present or absent. */
export function withFlag(tags: readonly string[], flag: string, on: boolean): string[] {
  const kept = tags.filter(t => t !== flag);
  return on ? [...kept, flag] : kept;
}

/**
 * `tags` with step `from` renamed to `to`: its `step:`/`block:` tag and every `after:`/`prev:` tag
 * that points at it. Returns the same array (by value) when nothing refers to `from`.
 */
export function renameInTags(tags: readonly string[], from: string, to: string): string[] {
  const renamed: string[] = [];
  for (const tag of tags) {
    let next = tag;
    for (const prefix of [STEP_TAG_PREFIX, KALE_STEP_PREFIX, AFTER_TAG_PREFIX, KALE_AFTER_PREFIX]) {
      if (tag === `${prefix}${from}`) {
        next = `${prefix}${to}`;
      }
    }
    if (!renamed.includes(next)) {
      renamed.push(next);
    }
  }
  return renamed;
}

/** What the frontend needs to know about a cell to place it in the pipeline. */
export interface ICellTags {
  type: string;
  tags: readonly string[];
}

export type CellRole = 'step' | 'setup' | 'parameters' | 'skip' | 'other';

/** Where a cell sits in the pipeline, as the badges show it. */
export interface ICellPlace {
  role: CellRole;
  /** The step the cell belongs to (`null` for setup/parameters/markdown; skip cells keep none). */
  step: string | null;
  /** Whether this cell carries the step's `step:` tag. */
  starts: boolean;
}

/**
 * Assign every cell to its step: a `step:` tag starts a step, the following code cells join it, code
 * cells before the first `step:` form the step `main`. `setup`, `parameters` and `skip` cells belong to
 * no step but do not end the step around them; only code cells count.
 */
export function placeCells(cells: readonly ICellTags[]): ICellPlace[] {
  let current = 'main';
  return cells.map(cell => {
    if (cell.type !== 'code') {
      return { role: 'other', step: null, starts: false };
    }
    const started = startedStep(cell.tags);
    if (started !== null) {
      current = started;
    }
    if (cell.tags.some(t => SKIP_TAGS.has(t))) {
      return { role: 'skip', step: null, starts: false };
    }
    if (started === null && cell.tags.some(t => PARAMETER_TAGS.has(t))) {
      return { role: 'parameters', step: null, starts: false };
    }
    if (started === null && cell.tags.some(t => SETUP_TAGS.has(t))) {
      return { role: 'setup', step: null, starts: false };
    }
    return { role: 'step', step: current, starts: started !== null };
  });
}

/** Step names in order of first appearance (the order that picks each step's colour). */
export function stepOrder(cells: readonly ICellTags[]): string[] {
  const names: string[] = [];
  for (const place of placeCells(cells)) {
    if (place.step !== null && !names.includes(place.step)) {
      names.push(place.step);
    }
  }
  return names;
}

/** Whether the notebook uses jupyter-repro's tags (then badges show and the kernel is seeded). */
export function hasPipelineTags(cells: readonly ICellTags[]): boolean {
  return cells.some(
    cell =>
      cell.type === 'code' &&
      cell.tags.some(
        t => PIPELINE_MARKERS.has(t) || startedStep([t]) !== null || afterSteps([t]).length > 0
      )
  );
}

/** The text of the nearest markdown heading above cell `index` (`null` when there is none). */
export function nearestHeading(
  cells: readonly { type: string; source: string }[],
  index: number
): string | null {
  for (let i = Math.min(index, cells.length) - 1; i >= 0; i--) {
    const cell = cells[i];
    if (cell.type !== 'markdown') {
      continue;
    }
    const headings = cell.source.split('\n').filter(line => /^\s{0,3}#{1,6}\s+\S/.test(line));
    if (headings.length > 0) {
      return headings[headings.length - 1].trim();
    }
  }
  return null;
}

/** A valid step name not in `taken`, based on `base` (`clean`, `clean_2`, …). */
export function uniqueStepName(base: string, taken: readonly string[]): string {
  const start = stepNameProblem(base) === null ? base : suggestStepName(base);
  if (!taken.includes(start)) {
    return start;
  }
  for (let n = 2; ; n++) {
    const candidate = `${start}_${n}`;
    if (!taken.includes(candidate)) {
      return candidate;
    }
  }
}

/**
 * The step name suggested for cell `index`: from the nearest markdown heading above, else `step`,
 * never one another cell already starts.
 */
export function suggestForCell(
  cells: readonly { type: string; source: string; tags: readonly string[] }[],
  index: number
): string {
  const heading = nearestHeading(cells, index);
  const taken = cells
    .filter((_, i) => i !== index)
    .map(cell => startedStep(cell.tags))
    .filter((name): name is string => name !== null);
  return uniqueStepName(heading === null ? 'step' : suggestStepName(heading), taken);
}

/**
 * Why `name` cannot become the name of a step (`null` when it can): the name rule, the reserved
 * names, and names other steps already use.
 */
export function newStepNameProblem(name: string, taken: readonly string[]): string | null {
  const problem = stepNameProblem(name);
  if (problem !== null) {
    return problem;
  }
  if (name === 'parameters' || name === 'setup') {
    return `"${name}" is reserved: it is a tag of its own.`;
  }
  if (taken.includes(name)) {
    return `Another step is already called "${name}".`;
  }
  return null;
}
