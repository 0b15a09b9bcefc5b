/**
 * The pipeline side panel. For now it shows which server extension answers; the step graph and run
 * history are added by the frontend issue.
 */
import { Widget } from '@lumino/widgets';
import { LabIcon } from '@jupyterlab/ui-components';

import { IVersionInfo } from '../tokens';

const PIPELINE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<g class="jp-icon3" fill="#616161"><circle cx="3" cy="3" r="2"/><circle cx="13" cy="8" r="2"/>' +
  '<circle cx="3" cy="13" r="2"/><path d="M4.5 3.8l7 3.4-.4.8-7-3.4zM4.1 12.2l7-3.4.4.8-7 3.4z"/></g></svg>';

export const pipelineIcon = new LabIcon({ name: 'jupyter-repro:pipeline', svgstr: PIPELINE_SVG });

export class PipelinePanel extends Widget {
  constructor() {
    super();
    this.id = 'jupyter-repro-panel';
    this.addClass('jp-repro-panel');
    this.title.icon = pipelineIcon;
    this.title.caption = 'Reproducible pipeline';
    this._status = document.createElement('p');
    this._status.className = 'jp-repro-panel-status';
    this._status.textContent = 'Connecting to the jupyter-repro server extension…';
    const heading = document.createElement('h2');
    heading.textContent = 'Pipeline';
    this.node.append(heading, this._status);
  }

  /** Show the version of the server extension that answered, or why none did. */
  showServer(info: IVersionInfo | null, problem?: string): void {
    this._status.textContent =
      info === null
        ? `Server extension unavailable: ${problem ?? 'no answer'}`
        : `Server extension ${info.name} ${info.version} is active.`;
    this._status.dataset.state = info === null ? 'error' : 'ok';
  }

  private _status: HTMLParagraphElement;
}
