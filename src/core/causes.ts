/**
 * The causes of a verdict, grouped the way the verdict view shows them: each differing or failing
 * cell with its own causes (the server gives every such cell at least one, `cause.cell` being its
 * index), and the causes of the whole run (`cell` null, or a cell that is not in the list: a cause is
 * never dropped). Pure: the widgets only turn these lines into DOM.
 */
import { ICause, ICellResult } from './api';

/** One cause as the verdict view shows it. */
export interface ICauseLine {
  /** A `CauseKind` (the badge). */
  kind: string;
  detail: string;
  /** "What to do: …" from the server's hint, or `null` when it gave none. */
  todo: string | null;
  /** The cell the cause is about, `null` for the whole run. */
  cell: number | null;
}

/** A listed cell and its own causes, in the server's order. */
export interface ICellCauses {
  cell: ICellResult;
  causes: ICauseLine[];
}

export interface ICauseGroups {
  /** Causes of the whole run, then of cells that are not listed, in the server's order. */
  run: ICauseLine[];
  /** The listed cells, ordered by cell index, each with its causes (possibly none). */
  cells: ICellCauses[];
}

/** The cells a verdict lists: those whose outputs differ or that failed. */
export function differingCells(cells: readonly ICellResult[]): ICellResult[] {
  return cells.filter(cell => cell.status === 'differ' || cell.status === 'error');
}

/** `cause` as a line; a missing, `null` or blank hint gives no "What to do". */
export function causeLine(cause: ICause): ICauseLine {
  const hint = typeof cause.hint === 'string' ? cause.hint.trim() : '';
  return {
    kind: cause.kind,
    detail: cause.detail,
    todo: hint.length > 0 ? `What to do: ${hint}` : null,
    cell: typeof cause.cell === 'number' ? cause.cell : null
  };
}

/**
 * Group `causes` by the cells of `listed` (the cells the view lists, see `differingCells`). Causes of
 * older servers have no `cell`: they are causes of the run.
 */
export function groupCauses(
  causes: readonly ICause[],
  listed: readonly ICellResult[]
): ICauseGroups {
  const byCell = new Map<number, ICauseLine[]>();
  for (const cell of listed) {
    byCell.set(cell.index, []);
  }
  const run: ICauseLine[] = [];
  for (const cause of causes) {
    const line = causeLine(cause);
    const own = line.cell === null ? undefined : byCell.get(line.cell);
    if (own === undefined) {
      run.push(line);
    } else {
      own.push(line);
    }
  }
  const seen = new Set<number>();
  const cells: ICellCauses[] = [];
  for (const cell of [...listed].sort((a, b) => a.index - b.index)) {
    if (!seen.has(cell.index)) {
      seen.add(cell.index);
      cells.push({ cell, causes: byCell.get(cell.index) ?? [] });
    }
  }
  return { run, cells };
}
