/**
 * The icons of jupyter-repro's commands (themed through JupyterLab's `jp-icon3` class).
 */
import { LabIcon } from '@jupyterlab/ui-components';

const STEP_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<g class="jp-icon3" fill="#616161"><rect x="1" y="2" width="6" height="4" rx="1"/>' +
  '<rect x="9" y="10" width="6" height="4" rx="1"/><path d="M4 6h1v3.5h6.5V10h-1v-.5H4z"/></g></svg>';

const VERIFY_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<g class="jp-icon3" fill="#616161"><path d="M8 1l6 2.2v4.3c0 3.6-2.5 6.3-6 7.5-3.5-1.2-6-3.9-6-7.5V3.2z' +
  'm0 1.3L3.2 4v3.5c0 2.9 1.9 5.1 4.8 6.2 2.9-1.1 4.8-3.3 4.8-6.2V4z"/>' +
  '<path d="M7.1 10.4L4.6 7.9l.9-.9 1.6 1.6 3.4-3.4.9.9z"/></g></svg>';

const EXPORT_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<g class="jp-icon3" fill="#616161"><path d="M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zm0 1.3' +
  'a5.2 5.2 0 1 1 0 10.4A5.2 5.2 0 0 1 8 2.8z"/><path d="M7.4 4.5h1.2v3.3l2.4 1.4-.6 1-3-1.8z"/></g></svg>';

export const stepIcon = new LabIcon({ name: 'jupyter-repro:step', svgstr: STEP_SVG });
export const verifyIcon = new LabIcon({ name: 'jupyter-repro:verify', svgstr: VERIFY_SVG });
export const exportIcon = new LabIcon({ name: 'jupyter-repro:export', svgstr: EXPORT_SVG });
