/**
 * Where each cell sits in the pipeline, as the badges and the panel show it. Pure.
 *
 * The server is the one source of truth: `GET steps` answers with the Python core's placement of
 * every cell (`cells[]`: role and step), and that answer is shown whenever it describes the notebook
 * as it is now. The TypeScript grammar (tags.ts) is only the offline fallback: while no server answer
 * is available (the analysis is loading, failed, or the server is older), or the notebook has tag
 * edits the answer does not know about (the server analyses the *saved* file, and a tag edit shows
 * before it is saved). Both grammars agree on the golden corpus, so the switch is invisible; when
 * they ever disagree, the server wins as soon as the notebook is saved. See docs/frontend.md.
 */
import { IStepsInfo } from './api';
import {
  CellRole,
  ICellInput,
  ICellPlace,
  layoutCells,
  markStarts,
  nbvalMarkers,
  stepOrder,
  TagError
} from './tags';

const ROLES: ReadonlySet<string> = new Set<CellRole>([
  'step',
  'setup',
  'parameters',
  'injected-parameters',
  'skip',
  'text'
]);

/**
 * The whole input of the tag grammar: each cell's type and, for code cells, its tags and nbval
 * markers. Two notebooks with the same basis have the same layout, whatever else differs.
 */
export function tagBasis(cells: readonly ICellInput[]): string {
  return JSON.stringify(
    cells.map(cell =>
      cell.type === 'code'
        ? [cell.type, cell.tags, [...nbvalMarkers(cell.source ?? '')].sort()]
        : [cell.type]
    )
  );
}

/** A server analysis and the basis of the notebook it describes (`null`: not known). */
export interface IAnalysis {
  steps: IStepsInfo | null;
  basis: string | null;
}

export interface IPipelineView {
  /** `server`: the server's answer; `offline`: the TypeScript grammar on the current tags. */
  source: 'server' | 'offline';
  /** One place per cell (empty when the tags are unusable). */
  places: ICellPlace[];
  /** Step names in order of first appearance (picks each step's colour). */
  order: string[];
  /** Why the tags are unusable (offline grammar), if they are. */
  error: TagError | null;
}

/** The server's `cells[]` as places, or `null` when it has none or they do not fit the notebook. */
export function serverPlaces(info: IStepsInfo, count: number): ICellPlace[] | null {
  const cells = info.cells;
  if (
    cells?.length !== count ||
    cells.some((cell, i) => cell.index !== i || !ROLES.has(cell.role))
  ) {
    return null;
  }
  const ignored = new Set(info.ignore_output_cells ?? []);
  return markStarts(
    cells.map(cell => ({
      index: cell.index,
      role: cell.role as CellRole,
      step: cell.step,
      starts: false,
      ignoreOutput: ignored.has(cell.index)
    }))
  );
}

/** The placement to show for `cells`: the server's when `analysis` describes them, else offline. */
export function pipelineView(
  cells: readonly ICellInput[],
  analysis: IAnalysis | null
): IPipelineView {
  if (analysis?.steps && analysis.basis !== null && analysis.basis === tagBasis(cells)) {
    const places = serverPlaces(analysis.steps, cells.length);
    if (places !== null) {
      return { source: 'server', places, order: stepOrder(places), error: null };
    }
  }
  try {
    const layout = layoutCells(cells);
    return { source: 'offline', places: layout.cells, order: stepOrder(layout.cells), error: null };
  } catch (error) {
    if (error instanceof TagError) {
      return { source: 'offline', places: [], order: [], error };
    }
    throw error;
  }
}
