/**
 * One-click fixes (`GET fixes`, `POST fixes`, docs/rest-api.md): their typed shapes and the checks
 * the answers pass before anything is shown or applied, which fixes belong to which cause of a
 * verdict, whether a list of edits fits the notebook it is meant for, and the server's preview split
 * per file. The server computes every fix, its preview and its edits; nothing here re-derives one.
 * Pure: applying edits to a notebook model is fixapply.ts.
 */
import { ISavedCell } from './stale';

export type JsonValue = null | boolean | number | string | JsonValue[] | IJsonObject;
export interface IJsonObject {
  [key: string]: JsonValue;
}

// --- shapes ---------------------------------------------------------------------------------------

/** A cell a fix inserts (without an id, or with one taken already, the notebook gives it one). */
export interface INewCell {
  id?: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: string;
  metadata: IJsonObject;
  outputs?: IJsonObject[];
  execution_count?: number | null;
}

/**
 * One edit of a notebook. Edits apply in order, each to the notebook the previous one left; indices
 * are cell indices in the whole notebook (markdown cells included).
 */
export type FixEdit =
  | { op: 'insert_cell'; index: number; cell: INewCell }
  | { op: 'move_cell'; from: number; to: number }
  | { op: 'set_source'; cell: number; source: string }
  /** `value` null deletes the key. */
  | { op: 'set_cell_metadata'; cell: number; key: string; value: JsonValue }
  | { op: 'set_outputs'; cell: number; outputs: IJsonObject[]; execution_count: number | null }
  /** `value` null deletes the key. */
  | { op: 'set_notebook_metadata'; key: string; value: JsonValue };

/** A file next to the notebook that a fix writes (`requirements.txt`) or downloads (into `data/`). */
export interface IFixFile {
  path: string;
  /** `write` or `download`. */
  action: string;
  /** Where a download comes from. */
  url?: string;
}

/** One fix the server offers for the notebook's latest verify. */
export interface IFix {
  id: string;
  /** What kind of fix (`seed`, `pin`, ...). */
  kind: string;
  /** Which of the ways to fix the cause this is (`outputs` or `cell` for a seed), if there are several. */
  choice: string | null;
  /** The cell of the cause it fixes (`causes[].cell`), `null` for a notebook-wide fix. */
  cell: number | null;
  /** The kind of the cause it fixes (`causes[].kind`). */
  cause_kind: string | null;
  description: string;
  /** A unified diff of what it changes, as the server computed it. */
  preview: string;
  available: boolean;
  /** Why it is not available. */
  reason: string | null;
  edits: FixEdit[];
  files: IFixFile[];
  /**
   * What applying still computes on the server (`outputs`: it re-executes the notebook, `download`,
   * `lock`): the edits it answers with then differ from the preview's.
   */
  pending: string[];
}

/** `GET fixes?path=NB`. */
export interface IFixList {
  notebook: string;
  /** The verify run the fixes are computed from. */
  run_id: string | null;
  verdict: string | null;
  fixes: IFix[];
}

/** The body of `POST fixes`: `target: "model"` asks for the edits without touching the notebook. */
export interface IFixRequest {
  path: string;
  id: string;
  target: 'model';
}

/** One fix the server carried out (its side files) and whose edits it returned. */
export interface IAppliedFix {
  id: string;
  kind: string;
  description: string;
  /** What changed, in the server's words (it may send one line, or a list of lines). */
  changed: string[];
}

/** The answer of `POST fixes` with `target: "model"`. */
export interface IFixOutcome {
  notebook: string;
  applied: IAppliedFix[];
  backup: string | null;
  /** What the frontend applies to the open notebook. */
  edits: FixEdit[];
  /** The side files the server wrote. */
  files: IFixFile[];
}

// --- checking the server's answers ----------------------------------------------------------------

/** An answer of the server that does not have the documented shape. */
export class FixFormatError extends Error {
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'FixFormatError';
  }
}

const CELL_TYPES: readonly string[] = ['code', 'markdown', 'raw'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJson(value: unknown): value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return true;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value);
  }
  if (Array.isArray(value)) {
    return value.every(isJson);
  }
  return isObject(value) && Object.values(value).every(isJson);
}

/** Typed reads of one JSON object's fields; every failure names the field. */
class Fields {
  constructor(value: unknown, where: string) {
    if (!isObject(value)) {
      throw new FixFormatError(where, 'expected an object');
    }
    this._value = value;
    this._where = where;
  }

  raw(key: string): unknown {
    return this._value[key];
  }

  string(key: string): string {
    const value = this._value[key];
    if (typeof value !== 'string') {
      throw new FixFormatError(`${this._where}.${key}`, 'expected a string');
    }
    return value;
  }

  optionalString(key: string): string | null {
    const value = this._value[key];
    return value === undefined || value === null ? null : this.string(key);
  }

  index(key: string): number {
    const value = this._value[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new FixFormatError(`${this._where}.${key}`, 'expected a cell index');
    }
    return value;
  }

  optionalIndex(key: string): number | null {
    const value = this._value[key];
    return value === undefined || value === null ? null : this.index(key);
  }

  json(key: string): JsonValue {
    const value = this._value[key];
    if (value === undefined || !isJson(value)) {
      throw new FixFormatError(`${this._where}.${key}`, 'expected a JSON value');
    }
    return value;
  }

  jsonObject(key: string): IJsonObject {
    const value = this.json(key);
    if (!isObject(value)) {
      throw new FixFormatError(`${this._where}.${key}`, 'expected an object');
    }
    return value;
  }

  objects(key: string): IJsonObject[] {
    const value = this._value[key];
    if (!Array.isArray(value) || !value.every(item => isObject(item) && isJson(item))) {
      throw new FixFormatError(`${this._where}.${key}`, 'expected a list of objects');
    }
    return value;
  }

  list(key: string): unknown[] {
    const value = this._value[key];
    if (!Array.isArray(value)) {
      throw new FixFormatError(`${this._where}.${key}`, 'expected a list');
    }
    return value;
  }

  private _value: Record<string, unknown>;
  private _where: string;
}

function parseNewCell(value: unknown, where: string): INewCell {
  const fields = new Fields(value, where);
  const type = fields.string('cell_type');
  if (!CELL_TYPES.includes(type)) {
    throw new FixFormatError(`${where}.cell_type`, `unknown cell type '${type}'`);
  }
  const cell: INewCell = {
    ...(fields.optionalString('id') === null ? {} : { id: fields.string('id') }),
    cell_type: type as INewCell['cell_type'],
    source: fields.string('source'),
    metadata: fields.raw('metadata') === undefined ? {} : fields.jsonObject('metadata')
  };
  if (type === 'code') {
    cell.outputs = fields.raw('outputs') === undefined ? [] : fields.objects('outputs');
    cell.execution_count = fields.optionalIndex('execution_count');
  }
  return cell;
}

/** One edit, checked; an op this extension does not know is an error (it is never guessed at). */
export function parseEdit(value: unknown, where: string): FixEdit {
  const fields = new Fields(value, where);
  const op = fields.string('op');
  switch (op) {
    case 'insert_cell':
      return {
        op,
        index: fields.index('index'),
        cell: parseNewCell(fields.raw('cell'), `${where}.cell`)
      };
    case 'move_cell':
      return { op, from: fields.index('from'), to: fields.index('to') };
    case 'set_source':
      return { op, cell: fields.index('cell'), source: fields.string('source') };
    case 'set_cell_metadata':
      return {
        op,
        cell: fields.index('cell'),
        key: fields.string('key'),
        value: fields.json('value')
      };
    case 'set_outputs':
      return {
        op,
        cell: fields.index('cell'),
        outputs: fields.objects('outputs'),
        execution_count: fields.optionalIndex('execution_count')
      };
    case 'set_notebook_metadata':
      return { op, key: fields.string('key'), value: fields.json('value') };
    default:
      throw new FixFormatError(`${where}.op`, `this version of jupyter-repro cannot apply '${op}'`);
  }
}

export function parseEdits(value: unknown, where: string): FixEdit[] {
  if (!Array.isArray(value)) {
    throw new FixFormatError(where, 'expected a list of edits');
  }
  return value.map((edit, i) => parseEdit(edit, `${where}[${i}]`));
}

function strings(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every(item => typeof item === 'string')) {
    throw new FixFormatError(where, 'expected a list of strings');
  }
  return value;
}

function parseFiles(value: unknown, where: string): IFixFile[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new FixFormatError(where, 'expected a list of files');
  }
  return value.map((file, i) => {
    const fields = new Fields(file, `${where}[${i}]`);
    const url = fields.optionalString('url');
    return {
      path: fields.string('path'),
      action: fields.optionalString('action') ?? 'write',
      ...(url === null ? {} : { url })
    };
  });
}

/**
 * One fix of `GET fixes`. Edits this extension cannot apply (an op of a newer server, a malformed
 * edit) make the fix unavailable, with the problem as its reason, instead of hiding the others.
 */
export function parseFix(value: unknown, where: string): IFix {
  const fields = new Fields(value, where);
  const fix: IFix = {
    id: fields.string('id'),
    kind: fields.string('kind'),
    choice: fields.optionalString('choice'),
    cell: fields.optionalIndex('cell'),
    cause_kind: fields.optionalString('cause_kind'),
    description: fields.string('description'),
    preview: fields.optionalString('preview') ?? '',
    available: fields.raw('available') !== false,
    reason: fields.optionalString('reason'),
    edits: [],
    files: parseFiles(fields.raw('files'), `${where}.files`),
    pending: strings(fields.raw('pending') ?? [], `${where}.pending`)
  };
  try {
    fix.edits = parseEdits(fields.raw('edits') ?? [], `${where}.edits`);
  } catch (error) {
    if (!(error instanceof FixFormatError)) {
      throw error;
    }
    fix.available = false;
    fix.reason = error.message;
  }
  return fix;
}

/** The answer of `GET fixes`, checked. */
export function parseFixList(value: unknown): IFixList {
  const fields = new Fields(value, 'fixes answer');
  return {
    notebook: fields.string('notebook'),
    run_id: fields.optionalString('run_id'),
    verdict: fields.optionalString('verdict'),
    fixes: fields.list('fixes').map((fix, i) => parseFix(fix, `fixes[${i}]`))
  };
}

/** `changed` as lines: a list of lines, or one line (`"inserted cell 0; saved new outputs..."`). */
function changedLines(value: unknown, where: string): string[] {
  if (value === undefined || value === null) {
    return [];
  }
  return typeof value === 'string' ? [value] : strings(value, where);
}

/** The answer of `POST fixes`, checked strictly: an answer that does not parse is never applied. */
export function parseFixOutcome(value: unknown): IFixOutcome {
  const fields = new Fields(value, 'fix answer');
  return {
    notebook: fields.string('notebook'),
    applied: fields.list('applied').map((item, i) => {
      const applied = new Fields(item, `applied[${i}]`);
      return {
        id: applied.string('id'),
        kind: applied.string('kind'),
        description: applied.string('description'),
        changed: changedLines(applied.raw('changed'), `applied[${i}].changed`)
      };
    }),
    backup: fields.optionalString('backup'),
    edits: parseEdits(fields.raw('edits'), 'edits'),
    files: parseFiles(fields.raw('files'), 'files')
  };
}

// --- which fixes belong to which cause ------------------------------------------------------------

/** What identifies a cause for its fixes: its cell (`null`: the whole run) and its kind. */
export interface ICauseKey {
  cell: number | null;
  kind: string;
}

function fixesCause(fix: IFix, cause: ICauseKey): boolean {
  return fix.cell === cause.cell && fix.cause_kind === cause.kind;
}

/** The fixes offered for `cause`, in the server's order (several: alternative ways to fix it). */
export function fixesForCause(fixes: readonly IFix[], cause: ICauseKey): IFix[] {
  return fixes.filter(fix => fixesCause(fix, cause));
}

/** The fixes that belong to none of `causes`: shown on their own, never dropped. */
export function unmatchedFixes(fixes: readonly IFix[], causes: readonly ICauseKey[]): IFix[] {
  return fixes.filter(fix => !causes.some(cause => fixesCause(fix, cause)));
}

/** The button text: "Fix", or "Fix: outputs" when the cause has several fixes to choose from. */
export function fixLabel(fix: IFix, alternatives: number): string {
  return alternatives > 1 ? `Fix: ${fix.choice ?? fix.kind}` : 'Fix';
}

/** The button's tooltip: what the fix does, or why it is not available. */
export function fixTitle(fix: IFix): string {
  if (!fix.available) {
    return fix.reason ?? 'This fix is not available.';
  }
  return fix.description;
}

// --- do the edits fit the notebook? ---------------------------------------------------------------

function outOfRange(what: string, index: number, count: number): string {
  return `${what} ${index} is out of range: the notebook has ${count} cell(s)`;
}

/**
 * Why `edits` cannot be applied to a notebook whose cells have the types `cellTypes` (`null`: they
 * can). Follows the edits as they would change the notebook, so every index is checked against the
 * notebook its edit sees; checked before anything is applied, so a fix applies whole or not at all.
 */
export function editsProblem(
  edits: readonly FixEdit[],
  cellTypes: readonly string[]
): string | null {
  const types = [...cellTypes];
  for (const [i, edit] of edits.entries()) {
    const problem = editProblem(edit, types);
    if (problem !== null) {
      return `edit ${i + 1} (${edit.op}): ${problem}`;
    }
  }
  return null;
}

/** One edit's problem against `types`, which it then updates as the edit changes the notebook. */
function editProblem(edit: FixEdit, types: string[]): string | null {
  switch (edit.op) {
    case 'insert_cell':
      if (edit.index > types.length) {
        return outOfRange('insert position', edit.index, types.length);
      }
      types.splice(edit.index, 0, edit.cell.cell_type);
      return null;
    case 'move_cell': {
      if (edit.from >= types.length || edit.to >= types.length) {
        return outOfRange('cell', Math.max(edit.from, edit.to), types.length);
      }
      const [moved] = types.splice(edit.from, 1);
      types.splice(edit.to, 0, moved);
      return null;
    }
    case 'set_source':
    case 'set_cell_metadata':
      return edit.cell >= types.length ? outOfRange('cell', edit.cell, types.length) : null;
    case 'set_outputs':
      if (edit.cell >= types.length) {
        return outOfRange('cell', edit.cell, types.length);
      }
      return types[edit.cell] === 'code' ? null : `cell ${edit.cell} is not a code cell`;
    case 'set_notebook_metadata':
      return null;
  }
}

/** Whether two snapshots of a notebook's cells (ids and sources, in order) are the same. */
export function sameCells(a: readonly ISavedCell[], b: readonly ISavedCell[]): boolean {
  return (
    a.length === b.length &&
    a.every((cell, i) => cell.id === b[i].id && cell.source === b[i].source)
  );
}

// --- what the user reads --------------------------------------------------------------------------

/** The part of a preview about one file. */
export interface IPreviewFile {
  /** The file's name from the diff's header (`null`: the diff had none). */
  path: string | null;
  /** Its hunks, as a unified diff. */
  diff: string;
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

/** A hunk header's line count (`@@ -3 +3 @@` leaves it out: one line). */
function hunkLength(group: string | undefined): number {
  return group === undefined ? 1 : Number(group);
}

function headerPath(line: string): string {
  const path = line.slice(4).split('\t')[0].trim();
  return path.replace(/^[ab]\//, '');
}

/**
 * Split the server's preview (a unified diff of one or more files: the notebook, requirements.txt...)
 * into one part per file. Hunk lengths are followed, so a changed line that starts with `---` is
 * content, not a header.
 */
export function splitPreview(preview: string): IPreviewFile[] {
  const files: IPreviewFile[] = [];
  let current: { path: string | null; lines: string[] } | null = null;
  let oldLeft = 0;
  let newLeft = 0;
  const lines = preview.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const inHunk = oldLeft > 0 || newLeft > 0;
    if (!inHunk && line.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')) {
      // the old name, unless the file is new (`--- nb.ipynb` / `+++ nb.ipynb (fixed)`)
      const path =
        line.slice(4).trim() === '/dev/null' ? headerPath(lines[i + 1]) : headerPath(line);
      current = { path, lines: [] };
      files.push({ path, diff: '' });
      i += 1;
      continue;
    }
    if (current === null) {
      current = { path: null, lines: [] };
      files.push({ path: null, diff: '' });
    }
    // a hunk's lines all start with ' ', '-' or '+': a line starting with '@@' is always a header
    const hunk = HUNK.exec(line);
    if (hunk !== null) {
      oldLeft = hunkLength(hunk[1]);
      newLeft = hunkLength(hunk[2]);
    } else if (line.startsWith('-')) {
      oldLeft -= 1;
    } else if (line.startsWith('+')) {
      newLeft -= 1;
    } else if (line.startsWith(' ')) {
      oldLeft -= 1;
      newLeft -= 1;
    }
    current.lines.push(line);
    files[files.length - 1].diff = current.lines.join('\n');
  }
  return files.filter(file => file.diff.trim().length > 0 || file.path !== null);
}

/** What to tell the user after applying: the server's `changed` lines and the files it wrote. */
export function outcomeLines(outcome: IFixOutcome): string[] {
  const lines = outcome.applied.flatMap(fix =>
    fix.changed.length > 0 ? fix.changed : [fix.description]
  );
  for (const file of outcome.files) {
    lines.push(`${FILE_DONE[file.action] ?? file.action} ${file.path}`);
  }
  return lines;
}

const FILE_DONE: Record<string, string> = { write: 'wrote', download: 'downloaded' };
const FILE_TODO: Record<string, string> = { write: 'writes', download: 'downloads' };

/** What the server does beside the notebook when the fix is applied ("writes requirements.txt"). */
export function filesLine(files: readonly IFixFile[]): string | null {
  if (files.length === 0) {
    return null;
  }
  const parts = files.map(file => {
    const from = file.url === undefined ? '' : ` from ${file.url}`;
    return `${FILE_TODO[file.action] ?? file.action} ${file.path}${from}`;
  });
  return `The server also ${parts.join(', ')}.`;
}

const PENDING_TEXT: Record<string, string> = {
  outputs: 're-executes the notebook to compute its new outputs',
  download: 'downloads the data',
  lock: 'compiles the lock file'
};

/** What applying still computes on the server, which can take a while (`null`: nothing). */
export function pendingLine(fix: IFix): string | null {
  if (fix.pending.length === 0) {
    return null;
  }
  const parts = fix.pending.map(step => PENDING_TEXT[step] ?? step);
  return `Applying takes a moment: the server ${parts.join(', then ')}.`;
}

/** What a fix changed that the notebook's undo history does or does not cover. */
export interface IUndoScope {
  /** Whether the fix edited cells (inserted, moved, sources, cell metadata): one undo step. */
  cellEdits: boolean;
  /** How many cells' outputs it wrote (JupyterLab never undoes outputs). */
  outputs: number;
  /** The notebook metadata keys it changed (outside JupyterLab's undo scope). */
  metadataKeys: readonly string[];
}

/** How to take an applied fix back, as the report says it. */
export function undoNote(scope: IUndoScope): string {
  const outside: string[] = [];
  if (scope.outputs > 0) {
    outside.push(scope.outputs === 1 ? 'the outputs' : `the outputs of ${scope.outputs} cells`);
  }
  if (scope.metadataKeys.length > 0) {
    outside.push(`the notebook metadata (${scope.metadataKeys.join(', ')})`);
  }
  if (!scope.cellEdits) {
    return 'Edit → Undo does not revert this fix (JupyterLab does not undo outputs or notebook metadata): "Undo fix" does.';
  }
  if (outside.length === 0) {
    return 'Edit → Undo reverts this fix in one step, as does "Undo fix".';
  }
  return `Edit → Undo reverts the cell edits in one step; ${outside.join(' and ')} only "Undo fix" reverts.`;
}
