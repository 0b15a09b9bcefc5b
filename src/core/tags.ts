/**
 * The tag grammar (docs/tags.md): which code cells form which step, and what every other tag means,
 * ours, Kale's and nbval's. Pure.
 *
 * This is the TypeScript copy of the Python core's grammar (jupyter_repro/tags.py plus the cycle
 * check of pipeline.py), kept to the same behaviour and the same error messages by the golden corpus
 * tests/fixtures/tag_layouts/*.json, which pytest checks against the Python grammar and Jest against
 * this one. The server stays the one source of truth: the UI shows its answer (`GET steps`, whose
 * `cells[]` say where each cell sits) and uses this grammar only as the offline fallback, while no
 * server answer describes the notebook's current tags (see core/placement.ts, docs/frontend.md).
 * What it cannot know is data flow: a cycle through an inferred dependency is found by the server only.
 */
import { closestMatch } from './similarity';
import { STEP_NAME_PATTERN } from './stepname';
import { itemAt } from './util';

/** Where a cell sits: `text` for markdown and raw cells (as the Python core names the roles). */
export type CellRole = 'step' | 'setup' | 'parameters' | 'injected-parameters' | 'skip' | 'text';

/** The step formed by the code cells before the first step tag (or by an untagged notebook). */
export const MAIN_STEP = 'main';
/** Kale's `pipeline-metrics` cells form a final step of this name. */
export const KALE_METRICS_STEP = 'pipeline-metrics';
/** Names no step may take: `inputs[].from` says "parameters" for a parameter, and `setup` is a tag. */
export const RESERVED_STEP_NAMES: readonly string[] = ['parameters', 'setup'];

/** The tag prefixes that start a step (ours first, then Kale's older spelling). */
export const STEP_TAG_PREFIXES: readonly string[] = ['step:', 'block:'];
/** The tag prefixes that add a dependency (Kale's `prev:` is our `after:`). */
export const AFTER_TAG_PREFIXES: readonly string[] = ['after:', 'prev:'];

/** tag -> [role, sticky]; Kale's roles are sticky: the untagged cells that follow continue them. */
const ROLE_TAGS: ReadonlyMap<string, readonly [CellRole, boolean]> = new Map([
  ['parameters', ['parameters', false]],
  ['pipeline-parameters', ['parameters', true]],
  ['injected-parameters', ['injected-parameters', false]],
  ['setup', ['setup', false]],
  ['imports', ['setup', true]],
  ['functions', ['setup', true]],
  ['skip', ['skip', false]],
  ['nbval-skip', ['skip', false]]
]);
const FLAG_TAGS: ReadonlyMap<string, 'noCache' | 'ignoreOutput'> = new Map([
  ['no-cache', 'noCache'],
  ['ignore-output', 'ignoreOutput'],
  ['nbval-ignore-output', 'ignoreOutput']
]);
const STEP_PREFIXES = STEP_TAG_PREFIXES.map(p => p.slice(0, -1));
const AFTER_PREFIXES = AFTER_TAG_PREFIXES.map(p => p.slice(0, -1));
const KNOWN_PLAIN = [...ROLE_TAGS.keys(), ...FLAG_TAGS.keys(), KALE_METRICS_STEP];
const KNOWN_PREFIXES = [...STEP_PREFIXES, ...AFTER_PREFIXES];
const NEAR_MISS_PLAIN = 0.85;
const NEAR_MISS_PREFIX = 0.75;

export const NBVAL_IGNORE_OUTPUT = 'NBVAL_IGNORE_OUTPUT';
export const NBVAL_SKIP = 'NBVAL_SKIP';
const NBVAL_MARKERS = new Set([NBVAL_IGNORE_OUTPUT, 'PYTEST_VALIDATE_IGNORE_OUTPUT', NBVAL_SKIP]);
/** Python's `str.splitlines()` boundaries. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

/** Tags that make a notebook a pipeline (then badges show and the kernel is seeded). */
const PIPELINE_MARKERS = new Set([
  'setup',
  'skip',
  'no-cache',
  'ignore-output',
  'imports',
  'functions',
  'pipeline-parameters',
  KALE_METRICS_STEP
]);

/** A mistake in the tags, located like the Python core's `TagError` / `PipelineError`. */
export class TagError extends Error {
  constructor(
    message: string,
    options: {
      cell?: number | null;
      tag?: string | null;
      hint?: string | null;
      kind?: 'TagError' | 'PipelineError';
    } = {}
  ) {
    super(message);
    this.name = options.kind ?? 'TagError';
    this.cell = options.cell ?? null;
    this.tag = options.tag ?? null;
    this.hint = options.hint ?? null;
  }

  /** `cell 3: tag 'step:Load': invalid step name ... (hint)`: the CLI's line without the notebook. */
  describe(): string {
    const where = [
      this.cell === null ? null : `cell ${this.cell}`,
      this.tag === null ? null : `tag '${this.tag}'`
    ].filter((part): part is string => part !== null);
    const text = [...where, this.message].join(': ');
    return this.hint === null ? text : `${text} (${this.hint})`;
  }

  readonly cell: number | null;
  readonly tag: string | null;
  readonly hint: string | null;
}

/** What the grammar needs from a notebook cell (`source` only for nbval's marker comments). */
export interface ICellInput {
  type: string;
  tags: readonly string[];
  source?: string;
}

/** The meaning of one code cell's tags and nbval comments. */
export interface ICellTags {
  step: string | null;
  /** The tag that named `step`, as written (for messages). */
  stepTag: string | null;
  after: string[];
  afterTags: string[];
  role: CellRole;
  sticky: boolean;
  noCache: boolean;
  ignoreOutput: boolean;
}

/** Where a cell sits in the pipeline. */
export interface ICellPlace {
  index: number;
  role: CellRole;
  /** The step whose region the cell is in: its own for a step cell, the surrounding one for a skip
   * cell, `null` for setup, parameter and text cells. */
  step: string | null;
  /** The first cell of its step (where the step starts). */
  starts: boolean;
  /** Verify does not compare this cell's outputs. */
  ignoreOutput: boolean;
}

export interface IStepAfter {
  name: string;
  /** The cell that carries the tag. */
  cell: number;
  tag: string;
}

/** One step as the tags lay it out, before data flow is known. */
export interface IStepLayout {
  name: string;
  startCell: number;
  cells: number[];
  after: IStepAfter[];
  noCache: boolean;
}

/** The notebook's cells and steps (in notebook order) as the tags lay them out. */
export interface ITagLayout {
  cells: ICellPlace[];
  steps: IStepLayout[];
}

function partition(tag: string): [string, boolean, string] {
  const colon = tag.indexOf(':');
  return colon < 0 ? [tag, false, ''] : [tag.slice(0, colon), true, tag.slice(colon + 1)];
}

/** nbval's marker comments in `source` (a line that is only `# NBVAL_...`, as nbval finds them). */
export function nbvalMarkers(source: string): Set<string> {
  const found = new Set<string>();
  for (const line of source.split(LINE_BREAK)) {
    const stripped = line.trim();
    if (stripped.startsWith('#')) {
      const comment = stripped.replace(/^#+/, '').trim();
      if (NBVAL_MARKERS.has(comment)) {
        found.add(comment === NBVAL_SKIP ? NBVAL_SKIP : NBVAL_IGNORE_OUTPUT);
      }
    }
  }
  return found;
}

function checkedName(value: string, tag: string, cell: number): string {
  if (!STEP_NAME_PATTERN.test(value)) {
    const lowered =
      value
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, '_')
        .replace(/^[_-]+|[_-]+$/g, '') || 'step_name';
    const suggestion = STEP_NAME_PATTERN.test(lowered) ? lowered : `_${lowered}`;
    throw new TagError(
      `invalid step name '${value}': use lowercase letters, digits, '_' and '-', ` +
        "starting with a letter or '_'",
      { cell, tag, hint: `e.g. '${partition(tag)[0]}:${suggestion}'` }
    );
  }
  if (RESERVED_STEP_NAMES.includes(value)) {
    throw new TagError(`'${value}' is reserved and cannot name a step`, {
      cell,
      tag,
      hint: `to mark the cell itself, tag it '${value}'`
    });
  }
  return value;
}

/** Other tools' tags pass; a tag that looks like a misspelt one of ours is an error. */
function rejectNearMiss(tag: string, cell: number): void {
  const [prefix, colon, value] = partition(tag);
  let suggestion: string | null;
  if (colon) {
    const close = closestMatch(prefix.toLowerCase(), KNOWN_PREFIXES, NEAR_MISS_PREFIX);
    suggestion = close === null ? null : `${close}:${value}`;
  } else {
    suggestion = closestMatch(tag.toLowerCase(), KNOWN_PLAIN, NEAR_MISS_PLAIN);
  }
  if (suggestion !== null) {
    throw new TagError('unknown jupyter-repro tag (tags are case-sensitive)', {
      cell,
      tag,
      hint: `did you mean '${suggestion}'?`
    });
  }
}

function twoSteps(first: string | null, second: string, cell: number): TagError {
  return new TagError(`a cell can start only one step, found '${String(first)}' and '${second}'`, {
    cell,
    tag: second
  });
}

/** `skip` wins over everything; otherwise a cell has at most one role. */
function singleRole(
  roles: ReadonlyMap<CellRole, readonly [string, boolean]>,
  stepTag: string | null,
  cell: number
): [CellRole, boolean] {
  if (roles.has('skip')) {
    return ['skip', false];
  }
  const entries = [...roles.entries()];
  if (entries.length > 1) {
    // (tags.py unpacks exactly two here and crashes on three roles: see the corpus' three_roles case)
    const [first, second] = entries.map(([, [tag]]) => tag).sort();
    throw new TagError(`tags '${first}' and '${second}' give the cell two roles`, {
      cell,
      tag: second,
      hint: 'keep one of them'
    });
  }
  if (entries.length === 1) {
    const [role, [tag, sticky]] = entries[0];
    if (stepTag !== null) {
      throw new TagError(`a '${tag}' cell cannot also start a step`, {
        cell,
        tag: stepTag,
        hint: 'put the step tag on the next cell'
      });
    }
    return [role, sticky];
  }
  return ['step', false];
}

/** Read one code cell's tags (and nbval comments); throw a `TagError` for a mistake. */
export function parseCellTags(tags: readonly string[], source: string, cell: number): ICellTags {
  let step: string | null = null;
  let stepTag: string | null = null;
  const after: string[] = [];
  const afterTags: string[] = [];
  const roles = new Map<CellRole, readonly [string, boolean]>();
  const flags = new Set<string>();
  for (const raw of tags) {
    const tag = raw.trim();
    const [prefix, colon, value] = partition(tag);
    const known = ROLE_TAGS.get(tag);
    const flag = FLAG_TAGS.get(tag);
    if (colon && STEP_PREFIXES.includes(prefix)) {
      if (value === '') {
        continue; // Kale's UI can leave an empty "block:"; Kale treats it as no tag
      }
      const name = checkedName(value, tag, cell);
      if (step !== null && name !== step) {
        throw twoSteps(stepTag, tag, cell);
      }
      step = name;
      stepTag = tag;
    } else if (colon && AFTER_PREFIXES.includes(prefix)) {
      after.push(checkedName(value, tag, cell));
      afterTags.push(tag);
    } else if (known !== undefined) {
      if (!roles.has(known[0])) {
        roles.set(known[0], [tag, known[1]]);
      }
    } else if (flag !== undefined) {
      flags.add(flag);
    } else if (tag === KALE_METRICS_STEP) {
      if (step !== null && step !== KALE_METRICS_STEP) {
        throw twoSteps(stepTag, tag, cell);
      }
      step = KALE_METRICS_STEP;
      stepTag = tag;
    } else {
      rejectNearMiss(tag, cell);
    }
  }
  const markers = nbvalMarkers(source);
  if (markers.has(NBVAL_SKIP) && !roles.has('skip')) {
    roles.set('skip', [`# ${NBVAL_SKIP}`, false]);
  }
  if (markers.has(NBVAL_IGNORE_OUTPUT)) {
    flags.add('ignoreOutput');
  }
  const [role, sticky] = singleRole(roles, stepTag, cell);
  return {
    step,
    stepTag,
    after,
    afterTags,
    role,
    sticky,
    noCache: flags.has('noCache'),
    ignoreOutput: flags.has('ignoreOutput')
  };
}

/** Walks the cells in order, keeping the current step and Kale's sticky role (tags.py `_Walker`). */
class Walker {
  add(index: number, cell: ICellInput): void {
    if (cell.type !== 'code') {
      this.cells.push({ index, role: 'text', step: null, starts: false, ignoreOutput: false });
      return;
    }
    const parsed = parseCellTags(cell.tags, cell.source ?? '', index);
    if (parsed.step !== null) {
      this._start(parsed.step, index, parsed.stepTag ?? parsed.step);
    }
    const role = this._role(parsed);
    this._checkSingle(role, index);
    if (role === 'step') {
      this._ensureStep(index).cells.push(index);
    }
    this._attachAfter(parsed, role, index);
    this._attachNoCache(parsed, role, index);
    const current = this.current;
    const step = current !== null && (role === 'step' || role === 'skip') ? current.name : null;
    this.cells.push({ index, role, step, starts: false, ignoreOutput: parsed.ignoreOutput });
  }

  private _role(parsed: ICellTags): CellRole {
    if (parsed.role === 'skip') {
      // a skipped cell does not interrupt Kale's sticky role (as in Kale), unless it starts a step:
      // then the cells after it belong to that step (tags.py keeps the sticky role: corpus
      // kale_skip_cell_starting_a_step_ends_sticky_role)
      if (parsed.step !== null) {
        this.sticky = null;
      }
      return 'skip';
    }
    if (parsed.role !== 'step' || parsed.step !== null || parsed.after.length > 0) {
      this.sticky = parsed.sticky ? parsed.role : null;
      return parsed.role;
    }
    // an untagged cell (flags like no-cache do not count) continues Kale's sticky role
    return this.sticky ?? 'step';
  }

  private _start(name: string, index: number, tag: string): void {
    if (this.current !== null && this.current.name === name) {
      return; // the same step tagged again on a following cell: Kale style, fine
    }
    const earlier = this.steps.find(step => step.name === name);
    if (earlier !== undefined) {
      throw new TagError(
        `step '${name}' already started at cell ${earlier.startCell}; a step's cells must be ` +
          'contiguous',
        { cell: index, tag, hint: 'rename one of them or move the cells together' }
      );
    }
    this.current = { name, startCell: index, cells: [], after: [], noCache: false };
    this.steps.push(this.current);
  }

  private _ensureStep(index: number): IStepLayout {
    if (this.current === null) {
      this._start(MAIN_STEP, index, MAIN_STEP); // code before the first step tag forms "main"
    }
    return this.current as IStepLayout;
  }

  private _checkSingle(role: CellRole, index: number): void {
    if (role !== 'injected-parameters') {
      return;
    }
    if (this.injectedAt !== null) {
      throw new TagError(`more than one '${role}' cell (the first is cell ${this.injectedAt})`, {
        cell: index,
        tag: role,
        hint: 'keep one of them'
      });
    }
    this.injectedAt = index;
  }

  private _attachAfter(parsed: ICellTags, role: CellRole, index: number): void {
    if (parsed.after.length === 0) {
      return;
    }
    const current = this.current;
    if ((role !== 'step' && role !== 'skip') || current === null) {
      throw new TagError('this cell belongs to no step, so it cannot depend on one', {
        cell: index,
        tag: parsed.afterTags[0],
        hint: 'put the after: tag on a cell of the dependent step'
      });
    }
    parsed.after.forEach((name, i) => {
      if (!current.after.some(existing => existing.name === name)) {
        current.after.push({ name, cell: index, tag: parsed.afterTags[i] });
      }
    });
  }

  private _attachNoCache(parsed: ICellTags, role: CellRole, index: number): void {
    if (!parsed.noCache || role === 'skip') {
      return;
    }
    if (role !== 'step' || this.current === null) {
      throw new TagError(
        `a ${role} cell is not part of a step, so 'no-cache' has no effect on it`,
        {
          cell: index,
          tag: 'no-cache',
          hint: "put 'no-cache' on a cell of the step that must always re-execute"
        }
      );
    }
    this.current.noCache = true;
  }

  readonly steps: IStepLayout[] = [];
  readonly cells: ICellPlace[] = [];
  private current: IStepLayout | null = null;
  private sticky: CellRole | null = null;
  private injectedAt: number | null = null;
}

function checkAfterTargets(steps: readonly IStepLayout[]): void {
  const names = steps.map(step => step.name);
  for (const step of steps) {
    for (const target of step.after) {
      if (!names.includes(target.name)) {
        throw new TagError(`no step named '${target.name}'`, {
          cell: target.cell,
          tag: target.tag,
          hint: `steps: ${names.join(', ')}`
        });
      }
    }
  }
}

/**
 * A cycle of `after:` dependencies, found as pipeline.py does (`topological_order`, `_find_cycle`):
 * the steps of the loop, starting at the earliest. The error names the `after:` tag that closes it:
 * one that points at a later step (dependencies inferred from data flow always point down the
 * notebook, so a cycle has one), else the first along the loop (a step after itself). pipeline.py
 * names the first `after:` edge along the loop instead: see the corpus' error_cycle_two_steps.
 * Data-flow dependencies are unknown here; the server finds cycles through them.
 */
function checkCycles(steps: readonly IStepLayout[]): void {
  const names = steps.map(step => step.name);
  const byName = new Map(steps.map(step => [step.name, step]));
  const requires = new Map(steps.map(step => [step.name, new Set(step.after.map(a => a.name))]));
  const waiting = new Map(names.map(name => [name, requires.get(name)?.size ?? 0]));
  const ready = names.filter(name => waiting.get(name) === 0);
  const done = new Set<string>();
  while (ready.length > 0) {
    const name = ready.pop() as string;
    done.add(name);
    for (const other of names) {
      if (requires.get(other)?.has(name) === true) {
        const left = (waiting.get(other) ?? 0) - 1;
        waiting.set(other, left);
        if (left === 0) {
          ready.push(other);
        }
      }
    }
  }
  const remaining = names.filter(name => !done.has(name));
  if (remaining.length === 0) {
    return;
  }
  const rank = (name: string): number => remaining.indexOf(name);
  const path: string[] = [];
  let node = remaining[0];
  while (!path.includes(node)) {
    path.push(node);
    const next = [...(requires.get(node) ?? [])].filter(n => rank(n) >= 0);
    node = next.reduce((best, n) => (rank(n) < rank(best) ? n : best));
  }
  const loop = path.slice(path.indexOf(node)).reverse(); // a -> b means "a runs before b"
  const first = loop.reduce((best, name, i) => (rank(name) < rank(loop[best]) ? i : best), 0);
  const cycle = [...loop.slice(first), ...loop.slice(0, first)];
  cycle.push(cycle[0]);
  const edges: { tag: IStepAfter; later: boolean }[] = [];
  for (let i = 0; i + 1 < cycle.length; i++) {
    const dependant = byName.get(cycle[i + 1]);
    const tag = dependant?.after.find(target => target.name === cycle[i]);
    if (dependant !== undefined && tag !== undefined) {
      edges.push({ tag, later: (byName.get(tag.name)?.startCell ?? -1) > dependant.startCell });
    }
  }
  const message = `the steps form a cycle: ${cycle.join(' -> ')}`;
  const tag = (edges.find(edge => edge.later) ?? itemAt(edges, 0))?.tag;
  throw new TagError(message, {
    cell: tag?.cell ?? null,
    tag: tag?.tag ?? null,
    hint:
      tag === undefined
        ? null
        : 'remove the tag, or move the cells so that data flows down the notebook',
    kind: 'PipelineError'
  });
}

/** Mark the first cell of every step (where the badge says the step starts). */
export function markStarts<T extends { step: string | null; starts: boolean }>(places: T[]): T[] {
  const seen = new Set<string>();
  for (const place of places) {
    place.starts = place.step !== null && !seen.has(place.step);
    if (place.step !== null) {
      seen.add(place.step);
    }
  }
  return places;
}

/**
 * Lay the notebook out as steps; throw a `TagError` for unusable tags (the first one, in the order
 * the Python core finds them). Code cells before the first step tag form step `main`; a notebook
 * without any step gets one (possibly empty) `main` step, so every notebook is a pipeline.
 */
export function layoutCells(cells: readonly ICellInput[]): ITagLayout {
  const walker = new Walker();
  cells.forEach((cell, index) => {
    walker.add(index, cell);
  });
  const steps =
    walker.steps.length > 0
      ? walker.steps
      : [{ name: MAIN_STEP, startCell: 0, cells: [], after: [], noCache: false }];
  checkAfterTargets(steps);
  checkCycles(steps);
  return { cells: markStarts(walker.cells), steps };
}

/** Step names in order of first appearance (the order that picks each step's colour). */
export function stepOrder(places: readonly { step: string | null }[]): string[] {
  const names: string[] = [];
  for (const place of places) {
    if (place.step !== null && !names.includes(place.step)) {
      names.push(place.step);
    }
  }
  return names;
}

/** The values of the tags with one of `prefixes` and a non-empty value, in tag order. */
function prefixedValue(tags: readonly string[], prefixes: readonly string[]): string[] {
  const values: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    for (const prefix of prefixes) {
      if (tag.startsWith(prefix) && tag.length > prefix.length) {
        values.push(tag.slice(prefix.length));
      }
    }
  }
  return values;
}

/** The step a cell's `step:NAME` (or Kale `block:NAME`) tag names, as written, if any. */
export function startedStep(tags: readonly string[]): string | null {
  return prefixedValue(tags, STEP_TAG_PREFIXES)[0] ?? null;
}

/** The steps a cell names in `after:` (or Kale's `prev:`) tags, in order, without duplicates. */
export function afterSteps(tags: readonly string[]): string[] {
  return [...new Set(prefixedValue(tags, AFTER_TAG_PREFIXES))];
}

/** Whether the notebook uses pipeline tags, ours or Kale's (papermill's `parameters` alone does not). */
export function hasPipelineTags(cells: readonly ICellInput[]): boolean {
  return cells.some(
    cell =>
      cell.type === 'code' &&
      cell.tags.some(
        t =>
          PIPELINE_MARKERS.has(t.trim()) || startedStep([t]) !== null || afterSteps([t]).length > 0
      )
  );
}

/**
 * The step names of the notebook, in order, for editing tags: from the layout, or (when the tags
 * are unusable right now) the names the cells' step tags give.
 */
export function stepNamesOf(cells: readonly ICellInput[]): string[] {
  try {
    return stepOrder(layoutCells(cells).cells);
  } catch (error) {
    if (!(error instanceof TagError)) {
      throw error;
    }
    const names = cells
      .filter(cell => cell.type === 'code')
      .map(cell => startedStep(cell.tags))
      .filter((name): name is string => name !== null);
    return [...new Set(names)];
  }
}
