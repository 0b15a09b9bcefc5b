/**
 * The jupyter-repro JupyterLab plugins: commands, step badges and execution marks, recording the
 * executed source, kernel seeding and the pipeline side panel (`jupyter-repro:plugin`), and the
 * "Pipeline" section of the property inspector (`jupyter-repro:metadata-form`). Toolbar buttons, the
 * metadata form and the settings are declared in schema/plugin.json.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin, ILabShell } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IFormRenderer, IFormRendererRegistry } from '@jupyterlab/ui-components';
import React from 'react';

import { addCommands, notifyError, renameStep } from './commands';
import { MAIN_STEP, stepNamesOf } from './core/tags';
import { messageOf, ReproModel } from './model';
import { cellInputsOf } from './notebook';
import { ExecutionRecorder } from './recorder';
import { ReproAPI } from './request';
import { KernelSeeder } from './seeding';
import { CommandIDs, METADATA_FORM_PLUGIN_ID, PLUGIN_ID, TAGS_FIELD_RENDERER_ID } from './tokens';
import { BadgeTracker } from './widgets/badges';
import { PipelinePanel } from './widgets/panel';
import { IPipelineFieldProps, PipelineTagsField } from './widgets/tagsform';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Tag notebook cells as pipeline steps and verify that notebooks reproduce.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILabShell, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const api = new ReproAPI();
    const model = new ReproModel(api);
    let seedKernel = true;
    // off until the settings say otherwise: a user who turned it off gets nothing written, ever
    let recordExecutedSource = settingRegistry === null;
    const recording = (): boolean => recordExecutedSource;
    new ExecutionRecorder(recording);
    const badges = new Set<BadgeTracker>();
    const setRecording = (value: boolean): void => {
      if (value !== recordExecutedSource) {
        recordExecutedSource = value;
        badges.forEach(badge => {
          badge.refresh(); // the "edited since run" marks follow the setting
        });
      }
    };

    const panel = new PipelinePanel({
      model,
      tracker,
      commands: app.commands,
      notify: notifyError
    });
    const openPanel = (): void => {
      if (!panel.isAttached) {
        app.shell.add(panel, 'right', { rank: 600 });
      }
      app.shell.activateById(panel.id);
    };
    addCommands({ app, tracker, model, openPanel });

    for (const command of [
      CommandIDs.openPanel,
      CommandIDs.verify,
      CommandIDs.exportJob,
      CommandIDs.toggleStep,
      CommandIDs.renameStep
    ]) {
      palette?.addItem({ command, category: 'Reproducibility' });
    }
    app.contextMenu.addItem({
      command: CommandIDs.toggleStep,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 20
    });
    app.contextMenu.addItem({
      command: CommandIDs.renameStep,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 21
    });
    if (labShell !== null) {
      app.shell.add(panel, 'right', { rank: 600 });
    }

    tracker.widgetAdded.connect((_, notebook: NotebookPanel) => {
      const tracked = new BadgeTracker(notebook, model, {
        onRender: () => {
          app.commands.notifyCommandChanged(CommandIDs.toggleStep);
          app.commands.notifyCommandChanged(CommandIDs.renameStep);
        },
        recording
      });
      badges.add(tracked);
      notebook.disposed.connect(() => badges.delete(tracked));
      new KernelSeeder(notebook, () => seedKernel);
    });

    if (settingRegistry !== null) {
      settingRegistry.load(PLUGIN_ID).then(
        settings => {
          const update = (): void => {
            seedKernel = settings.get('seedKernel').composite !== false;
            setRecording(settings.get('recordExecutedSource').composite !== false);
          };
          update();
          settings.changed.connect(update);
        },
        (reason: unknown) => {
          setRecording(true); // the default
          console.warn('jupyter-repro: cannot load settings', reason);
        }
      );
    }

    api.version().then(
      info => {
        panel.showServer(info);
      },
      (reason: unknown) => {
        const message = messageOf(reason);
        panel.showServer(null, message);
        notifyError(`jupyter-repro server extension: ${message}`);
      }
    );
  }
};

/**
 * The field of the "Pipeline" metadata form. A plugin of its own that needs only the form registry,
 * so that the field is registered before the metadata forms are built.
 */
const metadataForm: JupyterFrontEndPlugin<void> = {
  id: METADATA_FORM_PLUGIN_ID,
  description: 'Edit pipeline tags in the property inspector.',
  autoStart: true,
  requires: [IFormRendererRegistry],
  optional: [INotebookTracker],
  activate: (
    _app: JupyterFrontEnd,
    registry: IFormRendererRegistry,
    tracker: INotebookTracker | null
  ) => {
    const context = {
      // the steps the tags being edited name right now: the offline grammar is the right reader
      // here (the form edits unsaved tags), and this plugin has no server model
      steps: (): string[] => {
        const notebook = tracker?.currentWidget ?? null;
        return notebook === null
          ? []
          : stepNamesOf(cellInputsOf(notebook)).filter(n => n !== MAIN_STEP);
      },
      rename: (from: string, to: string): void => {
        const notebook = tracker?.currentWidget ?? null;
        if (notebook !== null) {
          renameStep(notebook, from, to);
        }
      }
    };
    const renderer: IFormRenderer = {
      fieldRenderer: (props: IPipelineFieldProps) =>
        React.createElement(PipelineTagsField, { field: props, context })
    };
    registry.addRenderer(TAGS_FIELD_RENDERER_ID, renderer);
  }
};

export default [plugin, metadataForm];
