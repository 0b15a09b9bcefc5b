/**
 * Command ids, plugin ids and shared types of jupyter-repro (see CONTRACT.md, "Frontend command ids").
 */

export const PLUGIN_ID = 'jupyter-repro:plugin';

export namespace CommandIDs {
  export const toggleStep = 'jupyter-repro:toggle-step';
  export const renameStep = 'jupyter-repro:rename-step';
  export const verify = 'jupyter-repro:verify';
  export const exportJob = 'jupyter-repro:export';
  export const openPanel = 'jupyter-repro:open-panel';
}

/** Notebook metadata namespace used by jupyter-repro. */
export const METADATA_KEY = 'jupyter_repro';

/** Answer of `GET /jupyter-repro/api/version`. */
export interface IVersionInfo {
  name: string;
  version: string;
}
