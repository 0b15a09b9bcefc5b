/**
 * Command ids, plugin ids and the notebook metadata key (the commands are listed in docs/frontend.md).
 * The typed shapes of the REST API are in core/api.ts.
 */

export const PLUGIN_ID = 'jupyter-repro:plugin';
export const METADATA_FORM_PLUGIN_ID = 'jupyter-repro:metadata-form';
/** Id of the property-inspector field that edits a cell's pipeline tags. */
export const TAGS_FIELD_RENDERER_ID = `${METADATA_FORM_PLUGIN_ID}.renderer`;

export namespace CommandIDs {
  export const toggleStep = 'jupyter-repro:toggle-step';
  export const renameStep = 'jupyter-repro:rename-step';
  export const verify = 'jupyter-repro:verify';
  export const exportJob = 'jupyter-repro:export';
  export const openPanel = 'jupyter-repro:open-panel';
}

/** Notebook metadata namespace used by jupyter-repro. */
export const METADATA_KEY = 'jupyter_repro';
