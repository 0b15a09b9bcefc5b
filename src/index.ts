/**
 * The jupyter-repro JupyterLab plugin: registers the commands and the pipeline side panel.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin, ILabShell } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';

import { requestAPI } from './request';
import { CommandIDs, IVersionInfo, PLUGIN_ID } from './tokens';
import { PipelinePanel, pipelineIcon } from './widgets/panel';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Tag notebook cells as pipeline steps and verify that notebooks reproduce.',
  autoStart: true,
  optional: [ICommandPalette, ILabShell],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null, labShell: ILabShell | null) => {
    const panel = new PipelinePanel();

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Open Pipeline Panel',
      caption: 'Show the reproducible pipeline side panel',
      icon: pipelineIcon,
      execute: () => {
        if (!panel.isAttached) {
          app.shell.add(panel, 'right', { rank: 600 });
        }
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: CommandIDs.openPanel, category: 'Reproducibility' });
    if (labShell !== null) {
      app.shell.add(panel, 'right', { rank: 600 });
    }

    requestAPI<IVersionInfo>('version')
      .then(info => {
        panel.showServer(info);
      })
      .catch((reason: unknown) => {
        const message = reason instanceof Error ? reason.message : String(reason);
        panel.showServer(null, message);
        Notification.error(`jupyter-repro server extension: ${message}`, { autoClose: 8000 });
      });
  }
};

export default plugin;
