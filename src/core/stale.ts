/**
 * What a notebook's execution marks say: cells edited since they ran, and cells whose inputs were
 * redefined upstream after they ran ("out of order"). Pure.
 *
 * JupyterLab records in each code cell it runs the hash of the source it sent to the kernel
 * (`metadata.jupyter_repro.source_sha256`, see sourcehash.ts). Which names a cell reads and defines is
 * the server's static analysis (`GET steps`, `cells[].reads` / `defines`), never derived here: these
 * rules only combine that answer with what the notebook shows now (sources, execution counts).
 */
import { IPipelineCell } from './api';

/** The cell metadata key (the same namespace as the notebook's `metadata.jupyter_repro`). */
export const CELL_METADATA_KEY = 'jupyter_repro';
/** The field of `metadata.jupyter_repro` holding the hash of the source that last ran. */
export const SOURCE_HASH_FIELD = 'source_sha256';

const HASH = /^[0-9a-f]{16}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The recorded hash in a cell's `metadata.jupyter_repro` (`null`: none, or not a hash). */
export function recordedHash(metadata: unknown): string | null {
  const hash = isRecord(metadata) ? metadata[SOURCE_HASH_FIELD] : undefined;
  return typeof hash === 'string' && HASH.test(hash) ? hash : null;
}

/**
 * A cell's `metadata.jupyter_repro` with `hash` recorded: the other keys are kept (the namespace is
 * shared), a value that is not an object is replaced.
 */
export function withRecordedHash(metadata: unknown, hash: string): Record<string, unknown> {
  return { ...(isRecord(metadata) ? metadata : {}), [SOURCE_HASH_FIELD]: hash };
}

// --- edited since run -----------------------------------------------------------------------------

/** What the "edited since run" rule needs to know of one cell. */
export interface IRunState {
  /** `code`, `markdown` or `raw`. */
  type: string;
  executionCount: number | null;
  hasOutputs: boolean;
  /** The recorded hash of the source that ran (`null`: nothing recorded). */
  recorded: string | null;
  /** The hash of the source now (`null`: not computed yet). */
  current: string | null;
}

/**
 * Whether a cell's outputs come from a source it no longer has: a code cell that shows a run (outputs
 * or an execution count) whose recorded hash differs from its current source's. Without a recorded
 * hash nothing is known, and nothing is claimed.
 */
export function editedSinceRun(cell: IRunState): boolean {
  return (
    cell.type === 'code' &&
    (cell.hasOutputs || cell.executionCount !== null) &&
    cell.recorded !== null &&
    cell.current !== null &&
    cell.recorded !== cell.current
  );
}

// --- the server's names, for the source that ran ----------------------------------------------------

/** A cell of the saved notebook an analysis was asked for: its id and source at that moment. */
export interface ISavedCell {
  id: string;
  source: string;
}

/** What one cell reads and defines, as the server's analysis says. */
export interface ICellNames {
  reads: readonly string[];
  defines: readonly string[];
}

/** The server's names of one analysed cell, with the source they describe. */
export interface IAnalysedCell {
  source: string;
  names: ICellNames;
}

/**
 * The server's names by cell id: `cells` is the answer's `cells[]`, `saved` the notebook's cells when
 * it was asked (it analysed that saved file). Empty when either is missing or they do not fit each
 * other (an older server without `reads`/`defines`, a different number of cells).
 */
export function analysedCells(
  cells: readonly IPipelineCell[] | undefined,
  saved: readonly ISavedCell[] | null
): Map<string, IAnalysedCell> {
  const found = new Map<string, IAnalysedCell>();
  if (cells === undefined || saved === null || cells.length !== saved.length) {
    return found;
  }
  cells.forEach((cell, i) => {
    if (cell.index === i && Array.isArray(cell.reads) && Array.isArray(cell.defines)) {
      found.set(saved[i].id, {
        source: saved[i].source,
        names: { reads: cell.reads, defines: cell.defines }
      });
    }
  });
  return found;
}

/**
 * The server's names for the source a cell ran, or `null` when they describe another source: the
 * analysed source must hash to the recorded hash (or, with nothing recorded, to the current source's:
 * then the cell is taken to have run as it is). `hashOf` answers `null` while a hash is unknown.
 */
export function namesOfRun(
  analysed: IAnalysedCell | undefined,
  cell: Pick<IRunState, 'recorded' | 'current'>,
  hashOf: (source: string) => string | null
): ICellNames | null {
  const ran = cell.recorded ?? cell.current;
  if (analysed === undefined || ran === null) {
    return null;
  }
  return hashOf(analysed.source) === ran ? analysed.names : null;
}

// --- out of order ---------------------------------------------------------------------------------

/** What the out-of-order rule needs to know of one cell. */
export interface IOrderCell {
  executionCount: number | null;
  /** The names of the source that ran (`null`: not known; the cell is left out of the rule). */
  names: ICellNames | null;
}

/** A cell above that ran after this one and redefined names this one reads. */
export interface IRedefinition {
  /** The notebook index of the redefining cell. */
  cell: number;
  executionCount: number;
  /** The names it redefined that this cell reads, sorted. */
  names: string[];
}

/**
 * For every cell, the cells above it that ran later (a higher execution count) and define a name it
 * reads: its outputs were computed from a value those cells have replaced since, and a top-down
 * re-run would give it their new value. Cells below do not count: redefining a name further down is
 * an ordinary top-down run. Cells without an execution count or without known names take no part.
 */
export function outOfOrder(cells: readonly IOrderCell[]): IRedefinition[][] {
  const definers = new Map<string, number[]>();
  cells.forEach((cell, j) => {
    if (cell.executionCount !== null && cell.names !== null) {
      for (const name of new Set(cell.names.defines)) {
        definers.set(name, [...(definers.get(name) ?? []), j]);
      }
    }
  });
  return cells.map((cell, i) => {
    const count = cell.executionCount;
    if (count === null || cell.names === null) {
      return [];
    }
    const byCell = new Map<number, Set<string>>();
    for (const name of cell.names.reads) {
      for (const j of definers.get(name) ?? []) {
        if (j < i && (cells[j].executionCount ?? 0) > count) {
          byCell.set(j, (byCell.get(j) ?? new Set()).add(name));
        }
      }
    }
    return [...byCell.entries()]
      .sort(([a], [b]) => a - b)
      .map(([j, names]) => ({
        cell: j,
        executionCount: cells[j].executionCount ?? 0,
        names: [...names].sort()
      }));
  });
}

/** The tooltip of an out-of-order mark, in the words of the server's hidden-state sentences. */
export function describeRedefinitions(
  redefinitions: readonly IRedefinition[],
  executionCount: number
): string {
  const parts = redefinitions.map(
    r =>
      `cell ${r.cell} ran later ([${r.executionCount}]) and redefined ` +
      r.names.map(name => `'${name}'`).join(', ')
  );
  return (
    `This cell ran at [${executionCount}], then ${parts.join('; ')}: ` +
    'its outputs come from the earlier value; run it again to bring them up to date'
  );
}
