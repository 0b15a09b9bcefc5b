/**
 * Small helpers over JupyterLab's notebook model: reading and writing a cell's tags, the views of a
 * notebook that the pure tag functions (core/tags.ts) take, and where each cell sits in the pipeline
 * (the server's answer, or the offline grammar: core/placement.ts).
 */
import { ICellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { IStepsInfo } from './core/api';
import { IPipelineView, pipelineView, tagBasis } from './core/placement';
import { ISavedCell } from './core/stale';
import { ICellInput } from './core/tags';
import { ReproModel } from './model';

/** A cell's tags (an empty list when it has none or they are malformed). */
export function tagsOf(cell: ICellModel): string[] {
  const tags: unknown = cell.getMetadata('tags');
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** Write a cell's tags; an empty list removes the key, as JupyterLab's tag editor does. */
export function setTags(cell: ICellModel, tags: readonly string[]): void {
  const current = tagsOf(cell);
  if (current.length === tags.length && current.every((t, i) => t === tags[i])) {
    return;
  }
  if (tags.length === 0) {
    cell.deleteMetadata('tags');
  } else {
    cell.setMetadata('tags', [...tags]);
  }
}

/** Every cell model of a notebook panel, in order. */
export function cellModels(panel: NotebookPanel): ICellModel[] {
  const model = panel.content.model;
  const cells: ICellModel[] = [];
  if (model !== null) {
    for (let i = 0; i < model.cells.length; i++) {
      cells.push(model.cells.get(i));
    }
  }
  return cells;
}

/** The cells as the tag grammar reads them (type, tags, and the source for nbval's comments). */
export function cellInputsOf(panel: NotebookPanel): ICellInput[] {
  return cellModels(panel).map(cell => ({
    type: cell.type,
    tags: tagsOf(cell),
    source: cell.sharedModel.getSource()
  }));
}

/**
 * The tag basis of the saved notebook, i.e. of the file the server analyses: known when the
 * notebook has no unsaved changes (`null` otherwise).
 */
export function savedBasis(panel: NotebookPanel): string | null {
  return panel.context.model.dirty ? null : tagBasis(cellInputsOf(panel));
}

/**
 * The ids and sources of the saved notebook's cells (the file the server analyses): known when the
 * notebook has no unsaved changes (`null` otherwise).
 */
export function savedCells(panel: NotebookPanel): ISavedCell[] | null {
  return panel.context.model.dirty
    ? null
    : cellModels(panel).map(cell => ({ id: cell.id, source: cell.sharedModel.getSource() }));
}

/**
 * Ask the server for the notebook's analysis, telling the model which saved notebook it describes
 * when that is known (see `ReproModel.refreshSteps`).
 */
export function refreshAnalysis(panel: NotebookPanel, model: ReproModel): Promise<IStepsInfo> {
  return model.refreshSteps(panel.context.path, savedBasis(panel), savedCells(panel));
}

/** Where each cell of the notebook sits: the server's answer if it is current, else offline. */
export function pipelineViewOf(panel: NotebookPanel, model: ReproModel): IPipelineView {
  return pipelineView(cellInputsOf(panel), model.steps(panel.context.path));
}

/** The cells with their sources, for step-name suggestions. */
export function cellSourcesOf(
  panel: NotebookPanel
): { type: string; source: string; tags: string[] }[] {
  return cellModels(panel).map(cell => ({
    type: cell.type,
    source: cell.sharedModel.getSource(),
    tags: tagsOf(cell)
  }));
}

/** The notebook's cell ids in order (result cell indices map to them). */
export function cellIdsOf(panel: NotebookPanel): string[] {
  return cellModels(panel).map(cell => cell.id);
}
