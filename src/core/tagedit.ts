/**
 * Writing pipeline tags (docs/tags.md) on plain string arrays, and naming new steps: what the
 * toolbar button, the rename command and the property-inspector field do to a cell's tags. Pure.
 * Reading tags is the grammar's job (tags.ts).
 */
import { AFTER_TAG_PREFIXES, RESERVED_STEP_NAMES, startedStep, STEP_TAG_PREFIXES } from './tags';
import { STEP_TAG_PREFIX, stepNameProblem, suggestStepName } from './stepname';

export const AFTER_TAG_PREFIX = 'after:';

/** The on/off tags the property inspector edits. */
export const FLAG_TAGS = ['setup', 'skip', 'no-cache', 'ignore-output'] as const;
export type FlagTag = (typeof FLAG_TAGS)[number];

function hasPrefix(tag: string, prefixes: readonly string[]): boolean {
  const trimmed = tag.trim();
  return prefixes.some(prefix => trimmed.startsWith(prefix));
}

/** `tags` with the cell's step set to `name` (`null` removes the step tag, Kale's `block:` too). */
export function withStep(tags: readonly string[], name: string | null): string[] {
  const kept = tags.filter(t => !hasPrefix(t, STEP_TAG_PREFIXES));
  return name === null ? kept : [`${STEP_TAG_PREFIX}${name}`, ...kept];
}

/** `tags` with exactly the given `after:` dependencies (Kale `prev:` tags are replaced too). */
export function withAfter(tags: readonly string[], names: readonly string[]): string[] {
  const kept = tags.filter(t => !hasPrefix(t, AFTER_TAG_PREFIXES));
  return [...kept, ...names.map(name => `${AFTER_TAG_PREFIX}${name}`)];
}

/** `tags` with `flag` present or absent. */
export function withFlag(tags: readonly string[], flag: string, on: boolean): string[] {
  const kept = tags.filter(t => t.trim() !== flag);
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
    for (const prefix of [...STEP_TAG_PREFIXES, ...AFTER_TAG_PREFIXES]) {
      if (tag.trim() === `${prefix}${from}`) {
        next = `${prefix}${to}`;
      }
    }
    if (!renamed.includes(next)) {
      renamed.push(next);
    }
  }
  return renamed;
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
  if (RESERVED_STEP_NAMES.includes(name)) {
    return `"${name}" is reserved: it is a tag of its own.`;
  }
  if (taken.includes(name)) {
    return `Another step is already called "${name}".`;
  }
  return null;
}
