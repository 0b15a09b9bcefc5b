/**
 * "Export as scheduled job": the target (one of the server's registry, `GET export/targets`: the
 * built-ins and any installed plug-in, with their descriptions and default schedules), a schedule
 * (presets or a cron field with a readable preview), parameter values and the output folder; then
 * the files produced.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { describeCron, SCHEDULE_PRESETS } from '../core/cron';
import { changedParameters, intervalParameters, showValue } from '../core/params';
import { IExportRequest, IExportResult, IExportTarget } from '../core/api';

/** A target's description as a hint: capitalised, with a full stop. */
export function targetHint(target: IExportTarget): string {
  const text = target.description.trim();
  if (text.length === 0) {
    return '';
  }
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The schedule preset that stands for `schedule` (`custom` when none does, `none` for no schedule). */
export function presetFor(schedule: string | null): string {
  if (schedule === null) {
    return 'none';
  }
  return SCHEDULE_PRESETS.find(p => p.schedule === schedule)?.id ?? 'custom';
}

/** What the dialog needs to know about the notebook and the server. */
export interface IExportDialogOptions {
  path: string;
  /** The server's export targets (`GET export/targets`), at least one. */
  targets: readonly IExportTarget[];
  parameters: Record<string, unknown>;
  /** Why the parameters are unknown (the analysis failed), if it did. */
  parametersProblem?: string | null;
}

class ExportForm extends Widget implements Dialog.IBodyWidget<IExportRequest | string> {
  constructor(options: IExportDialogOptions) {
    super();
    this.addClass('jp-repro-export-dialog');
    this._options = options;

    // target
    this._target = document.createElement('select');
    this._target.className = 'jp-mod-styled jp-repro-export-target';
    for (const target of options.targets) {
      const option = new Option(target.name, target.name);
      option.title = targetHint(target);
      this._target.add(option);
    }
    this._targetHint = document.createElement('p');
    this._targetHint.className = 'jp-repro-hint';

    // schedule
    this._preset = document.createElement('select');
    this._preset.className = 'jp-mod-styled jp-repro-export-preset';
    for (const preset of SCHEDULE_PRESETS) {
      this._preset.add(new Option(preset.label, preset.id));
    }
    this._preset.value = 'daily';
    this._cron = document.createElement('input');
    this._cron.className = 'jp-mod-styled jp-repro-export-cron';
    this._cron.placeholder = 'minute hour day month weekday, e.g. 0 2 * * *';
    this._cron.spellcheck = false;
    this._cron.setAttribute('aria-label', 'Cron expression');
    this._preview = document.createElement('p');
    this._preview.className = 'jp-repro-cron-preview';
    this._preview.setAttribute('aria-live', 'polite');

    // output folder
    this._output = document.createElement('input');
    this._output.className = 'jp-mod-styled jp-repro-export-output';
    this._output.spellcheck = false;
    this._output.setAttribute('aria-label', 'Output folder');
    this._output.addEventListener('input', () => {
      this._outputEdited = true;
    });

    this.node.append(
      this._field('Target', this._target),
      this._targetHint,
      this._field('Schedule', this._preset),
      this._field('Cron expression', this._cron),
      this._preview,
      this._parametersSection(),
      this._field('Output folder', this._output)
    );

    this._target.addEventListener('change', () => {
      this._onTargetChanged();
    });
    this._preset.addEventListener('change', () => {
      this._scheduleEdited = true;
      this._onPresetChanged();
    });
    this._cron.addEventListener('input', () => {
      this._scheduleEdited = true;
      this._preset.value = 'custom';
      this._updatePreview();
    });
    this._onTargetChanged();
  }

  getValue(): IExportRequest | string {
    const schedule = this._schedule();
    if (schedule !== null) {
      const preview = describeCron(schedule);
      if (!preview.ok) {
        return `Schedule: ${preview.error}`;
      }
    }
    const output = this._output.value.trim();
    if (output.length === 0) {
      return 'Choose an output folder.';
    }
    const fields: Record<string, string> = {};
    for (const [name, input] of this._parameterInputs) {
      if (!input.disabled) {
        fields[name] = input.value;
      }
    }
    const parameters = changedParameters(this._options.parameters, fields);
    return {
      path: this._options.path,
      target: this._target.value,
      schedule,
      parameters,
      output_dir: output
    };
  }

  private _field(text: string, control: HTMLElement): HTMLLabelElement {
    const label = document.createElement('label');
    label.className = 'jp-repro-field';
    const span = document.createElement('span');
    span.textContent = text;
    label.append(span, control);
    return label;
  }

  private _parametersSection(): HTMLElement {
    const section = document.createElement('fieldset');
    section.className = 'jp-repro-export-parameters';
    const legend = document.createElement('legend');
    legend.textContent = 'Parameters';
    section.append(legend);
    const names = Object.keys(this._options.parameters);
    if (this._options.parametersProblem) {
      const problem = document.createElement('p');
      problem.className = 'jp-repro-problem';
      problem.textContent = `Parameters unknown: ${this._options.parametersProblem}`;
      section.append(problem);
    } else if (names.length === 0) {
      const none = document.createElement('p');
      none.className = 'jp-repro-hint';
      none.textContent = 'The notebook has no parameters cell.';
      section.append(none);
    }
    const interval = intervalParameters(names);
    for (const name of names) {
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.dataset.parameter = name;
      input.value = showValue(this._options.parameters[name]);
      input.spellcheck = false;
      if (interval.includes(name)) {
        input.disabled = true;
        input.title = "Filled by the scheduler with each run's data interval";
      }
      this._parameterInputs.set(name, input);
      section.append(this._field(name, input));
    }
    if (interval.length > 0) {
      const note = document.createElement('p');
      note.className = 'jp-repro-hint';
      note.textContent =
        `${interval.join(' and ')} are filled by the scheduler with each run's data interval, ` +
        'so a rerun of the same interval produces the same outputs.';
      section.append(note);
    }
    return section;
  }

  private _schedule(): string | null {
    const preset = SCHEDULE_PRESETS.find(p => p.id === this._preset.value);
    if (preset?.id === 'none') {
      return null;
    }
    if (preset?.id === 'custom' || preset === undefined) {
      const text = this._cron.value.trim();
      return text.length === 0 ? null : text;
    }
    return preset.schedule;
  }

  private _selectedTarget(): IExportTarget {
    const targets = this._options.targets;
    return targets.find(t => t.name === this._target.value) ?? targets[0];
  }

  private _onTargetChanged(): void {
    const target = this._selectedTarget();
    this._targetHint.textContent = targetHint(target);
    if (!this._outputEdited) {
      const directory = PathExt.dirname(this._options.path);
      const stem = PathExt.basename(this._options.path, PathExt.extname(this._options.path));
      this._output.value = PathExt.join(directory, `${stem}-${target.name}`);
    }
    if (!this._scheduleEdited) {
      // the target's own default, until the user picks a schedule
      this._preset.value = presetFor(target.default_schedule);
      if (this._preset.value === 'custom') {
        this._cron.value = target.default_schedule ?? '';
      }
    }
    this._onPresetChanged();
  }

  private _onPresetChanged(): void {
    const preset = SCHEDULE_PRESETS.find(p => p.id === this._preset.value);
    if (preset !== undefined && preset.id !== 'custom') {
      this._cron.value = preset.schedule ?? '';
    }
    this._updatePreview();
  }

  private _updatePreview(): void {
    const schedule = this._schedule();
    if (schedule === null) {
      this._preview.textContent =
        this._selectedTarget().default_schedule === null
          ? 'No schedule: run it by hand or from your own scheduler.'
          : 'No schedule: the job runs only when triggered.';
      this._preview.dataset.state = 'ok';
      return;
    }
    const preview = describeCron(schedule);
    this._preview.textContent = preview.ok
      ? `${preview.text} (${preview.expression})`
      : preview.error;
    this._preview.dataset.state = preview.ok ? 'ok' : 'error';
  }

  private _options: IExportDialogOptions;
  private _target: HTMLSelectElement;
  private _targetHint: HTMLParagraphElement;
  private _preset: HTMLSelectElement;
  private _cron: HTMLInputElement;
  private _preview: HTMLParagraphElement;
  private _output: HTMLInputElement;
  private _outputEdited = false;
  private _scheduleEdited = false;
  private _parameterInputs = new Map<string, HTMLInputElement>();
}

/**
 * Ask for the export settings; `null` when cancelled. An invalid form is shown again with the
 * problem in a notification-free message at the top.
 */
export async function askExport(
  options: IExportDialogOptions,
  problem?: string
): Promise<IExportRequest | null> {
  const body = new ExportForm(options);
  if (problem !== undefined) {
    const message = document.createElement('p');
    message.className = 'jp-repro-problem';
    message.setAttribute('role', 'alert');
    message.textContent = problem;
    body.node.prepend(message);
  }
  const result = await showDialog<IExportRequest | string>({
    title: `Export ${PathExt.basename(options.path)} as a scheduled job`,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Export' })]
  });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  if (typeof result.value === 'string') {
    return askExport(options, result.value);
  }
  return result.value;
}

/** Show the files an export produced; clicking one opens it. */
export async function showExportResult(
  request: IExportRequest,
  result: IExportResult,
  open: (path: string) => void
): Promise<void> {
  const body = document.createElement('div');
  body.className = 'jp-repro-export-result';
  const dialog = new Dialog({
    title: 'Scheduled job exported',
    body: new Widget({ node: body }),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
  const intro = document.createElement('p');
  intro.textContent = `The ${request.target} job was written to ${result.output_dir ?? request.output_dir ?? 'the output folder'}:`;
  const list = document.createElement('ul');
  list.className = 'jp-repro-export-files';
  for (const file of result.files) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.className = 'jp-repro-link';
    button.textContent = file;
    button.title = `Open ${file}`;
    button.addEventListener('click', () => {
      dialog.resolve(0);
      open(file);
    });
    item.append(button);
    list.append(item);
  }
  const note = document.createElement('p');
  note.className = 'jp-repro-hint';
  note.textContent =
    'Export again rather than editing these files; the notebook stays the source of the job.';
  body.append(intro, list, note);
  await dialog.launch();
}
