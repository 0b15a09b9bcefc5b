/**
 * The dialog that asks for a step name, checking it against the name rule as the user types.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { newStepNameProblem } from '../core/tagedit';

class StepNameBody extends Widget implements Dialog.IBodyWidget {
  constructor(options: IStepNameOptions, problem: string | null) {
    super();
    this.addClass('jp-repro-step-dialog');
    const label = document.createElement('label');
    label.textContent = options.prompt;
    this._input = document.createElement('input');
    this._input.className = 'jp-mod-styled jp-repro-step-name';
    this._input.value = options.initial;
    this._input.spellcheck = false;
    this._input.setAttribute('aria-label', 'Step name');
    label.append(this._input);
    const rule = document.createElement('p');
    rule.className = 'jp-repro-hint';
    rule.textContent =
      'Lowercase letters, digits, "_" and "-", starting with a letter or "_". ' +
      'It is saved as the cell tag step:NAME.';
    this._problem = document.createElement('p');
    this._problem.className = 'jp-repro-problem';
    this._problem.setAttribute('role', 'alert');
    this._problem.textContent = problem ?? '';
    this._input.addEventListener('input', () => {
      this._problem.textContent = newStepNameProblem(this._input.value.trim(), options.taken) ?? '';
    });
    this.node.append(label, rule, this._problem);
  }

  getValue(): string {
    return this._input.value.trim();
  }

  private _input: HTMLInputElement;
  private _problem: HTMLParagraphElement;
}

export interface IStepNameOptions {
  title: string;
  prompt: string;
  initial: string;
  /** Names the new name may not take (other steps). */
  taken: readonly string[];
  okLabel: string;
}

/**
 * Ask for a step name until the user gives a valid one or cancels (`null`).
 */
export async function askStepName(options: IStepNameOptions): Promise<string | null> {
  let initial = options.initial;
  let problem: string | null = null;
  for (;;) {
    const result = await showDialog({
      title: options.title,
      body: new StepNameBody({ ...options, initial }, problem),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: options.okLabel })],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    const name = result.value;
    problem = newStepNameProblem(name, options.taken);
    if (problem === null) {
      return name;
    }
    initial = name;
  }
}
