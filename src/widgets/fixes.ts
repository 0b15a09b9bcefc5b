/**
 * One-click fixes in the UI: the "Fix" buttons of a cause (one per fix the server offers for it;
 * several are alternatives, labelled by their choice), the fixes that belong to no listed cause, the
 * confirmation dialog with the server's preview (nothing changes before the user says yes), and the
 * report of an applied fix with its undo. What a fix does is the server's: these only show it.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { filesLine, fixLabel, fixTitle, IFix, pendingLine, splitPreview } from '../core/fixes';
import { diffTable } from './diffview';
import { element } from './dom';

const PREVIEW_HEADINGS: readonly [string, string] = ['Now', 'After the fix'];

export interface IFixButtonOptions {
  /** Fixes already applied to the open notebook (their button says so). */
  applied: ReadonlySet<string>;
  onFix: (fix: IFix) => void;
}

function fixButton(fix: IFix, alternatives: number, options: IFixButtonOptions): HTMLElement {
  const applied = options.applied.has(fix.id);
  const button = element(
    'button',
    'jp-Button jp-mod-styled jp-mod-accept jp-repro-fix-button',
    applied ? 'Applied' : fixLabel(fix, alternatives)
  );
  button.dataset.fixId = fix.id;
  button.dataset.fixKind = fix.kind;
  button.disabled = applied || !fix.available;
  button.title = applied
    ? 'Applied to the open notebook (not saved yet): save it, or Verify again'
    : fixTitle(fix);
  button.addEventListener('click', () => {
    options.onFix(fix);
  });
  return button;
}

/** The buttons of the fixes offered for one cause (`null` when there is none). */
export function fixButtons(fixes: readonly IFix[], options: IFixButtonOptions): HTMLElement | null {
  if (fixes.length === 0) {
    return null;
  }
  const box = element('div', 'jp-repro-fixes');
  for (const fix of fixes) {
    box.append(fixButton(fix, fixes.length, options));
  }
  return box;
}

/** Fixes the server offers that belong to none of the listed causes, each with its description. */
export function otherFixes(fixes: readonly IFix[], options: IFixButtonOptions): HTMLElement {
  const list = element('ul', 'jp-repro-other-fixes');
  for (const fix of fixes) {
    const item = element('li', 'jp-repro-other-fix');
    item.dataset.fixId = fix.id;
    item.append(element('span', undefined, `${fix.description} `), fixButton(fix, 1, options));
    list.append(item);
  }
  return list;
}

/** The dialog body: what the fix does, its preview per file, the side files, what applying means. */
class FixPreview extends Widget {
  constructor(fix: IFix, notebook: string) {
    super();
    this.addClass('jp-repro-fix-preview');
    this.node.dataset.fixId = fix.id;
    this.node.append(element('p', 'jp-repro-fix-description', fix.description));
    const parts = splitPreview(fix.preview);
    if (parts.length === 0) {
      this.node.append(element('p', 'jp-repro-hint', 'The server gave no preview of this fix.'));
    }
    for (const part of parts) {
      const section = element('section', 'jp-repro-fix-file');
      section.dataset.path = part.path ?? '';
      section.append(element('h4', undefined, part.path ?? notebook));
      section.append(diffTable(part.diff, PREVIEW_HEADINGS));
      this.node.append(section);
    }
    const files = filesLine(fix.files);
    if (files !== null) {
      this.node.append(element('p', 'jp-repro-fix-files', files));
    }
    const pending = pendingLine(fix);
    if (pending !== null) {
      this.node.append(element('p', 'jp-repro-fix-pending', pending));
    }
    this.node.append(
      element(
        'p',
        'jp-repro-hint',
        'The change is made in the open notebook, which is not saved; "Undo fix" in the panel ' +
          'takes all of it back.'
      )
    );
  }
}

/** Show the fix's preview; resolves `true` when the user chooses to apply it. */
export async function confirmFix(fix: IFix, notebook: string): Promise<boolean> {
  const result = await showDialog({
    title: 'Apply this fix?',
    body: new FixPreview(fix, notebook),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Apply fix' })]
  });
  return result.button.accept;
}

/** An applied fix as the panel reports it. */
export interface IFixReport {
  fix: IFix;
  /** What changed, in the server's words (its `changed` lines and the files it wrote). */
  lines: string[];
  /** How to take it back (core/fixes.ts `undoNote`). */
  undo: string;
}

export interface IFixReportActions {
  onUndo: () => void;
  onVerify: () => void;
}

/** What the fix changed, that the notebook is modified and not saved, and how to undo it. */
export function fixReport(report: IFixReport, actions: IFixReportActions): HTMLElement {
  const box = element('div', 'jp-repro-fix-report');
  box.dataset.fixId = report.fix.id;
  box.append(element('strong', undefined, `Fix applied: ${report.fix.description}`));
  const list = element('ul', 'jp-repro-fix-changed');
  for (const line of report.lines) {
    list.append(element('li', undefined, line));
  }
  box.append(list);
  box.append(
    element(
      'p',
      'jp-repro-fix-unsaved',
      'The notebook is modified, not saved: save it, or Verify again (Verify saves first).'
    )
  );
  box.append(element('p', 'jp-repro-hint jp-repro-fix-undo-note', report.undo));
  const buttons = element('div', 'jp-repro-panel-buttons');
  const verify = element('button', 'jp-Button jp-mod-styled jp-mod-accept jp-repro-fix-verify');
  verify.textContent = 'Verify';
  verify.addEventListener('click', actions.onVerify);
  const undo = element('button', 'jp-Button jp-mod-styled jp-mod-reject jp-repro-fix-undo');
  undo.textContent = 'Undo fix';
  undo.addEventListener('click', actions.onUndo);
  buttons.append(verify, undo);
  box.append(buttons);
  return box;
}
