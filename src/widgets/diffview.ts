/**
 * Saved and new outputs side by side: a two-column table built from verify's unified diff, shown in
 * the run details and, under a differing cell, in the notebook itself; the same table shows a fix's
 * preview (before and after).
 */
import { Cell } from '@jupyterlab/cells';

import { splitUnifiedDiff } from '../core/compare';
import { ICellResult } from '../core/api';

const COMPARE_CLASS = 'jp-repro-compare';

const OUTPUT_HEADINGS: readonly [string, string] = ['Saved output', 'New output (headless run)'];

/**
 * A unified diff as a two-column table: by default the saved output (left) and the new output
 * (right) of one cell; a fix's preview names its columns otherwise.
 */
export function diffTable(
  diff: string,
  headings: readonly [string, string] = OUTPUT_HEADINGS
): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'jp-repro-diff';
  const head = table.createTHead().insertRow();
  for (const text of headings) {
    const th = document.createElement('th');
    th.textContent = text;
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of splitUnifiedDiff(diff)) {
    const tr = body.insertRow();
    tr.dataset.kind = row.kind;
    for (const [side, text] of [
      ['left', row.left],
      ['right', row.right]
    ] as const) {
      const td = tr.insertCell();
      td.className = `jp-repro-diff-${side}`;
      if (row.kind === 'hunk') {
        td.textContent = '⋯';
        td.title = text ?? '';
      } else {
        td.textContent = text ?? '';
        if (text === null) {
          td.classList.add('jp-repro-diff-empty');
        }
      }
    }
  }
  return table;
}

/** Remove the comparison shown under `cell`, if any. */
export function hideComparison(cell: Cell): void {
  cell.node.querySelector(`.${COMPARE_CLASS}`)?.remove();
}

/**
 * Show the saved and the new output of `cell` side by side under the cell (in its footer), with the
 * reason verify gave and a button to close it.
 */
export async function showComparison(cell: Cell, result: ICellResult): Promise<HTMLElement> {
  await cell.ready;
  hideComparison(cell);
  const box = document.createElement('div');
  box.className = COMPARE_CLASS;
  box.dataset.cellIndex = String(result.index);
  const header = document.createElement('div');
  header.className = 'jp-repro-compare-header';
  const title = document.createElement('span');
  title.textContent = `Verify: ${result.reason ?? 'the outputs differ'}`;
  const close = document.createElement('button');
  close.className = 'jp-Button jp-mod-minimal jp-repro-compare-close';
  close.textContent = '×';
  close.title = 'Hide the comparison';
  close.addEventListener('click', () => {
    box.remove();
  });
  header.append(title, close);
  box.append(header);
  if (result.diff !== null && result.diff.length > 0) {
    box.append(diffTable(result.diff));
  } else {
    const note = document.createElement('p');
    note.textContent =
      result.status === 'error'
        ? 'The cell raised an error in the headless run.'
        : 'No textual difference to show.';
    box.append(note);
  }
  const footer = cell.node.querySelector(':scope > .jp-Cell-footer') ?? cell.node;
  footer.append(box);
  return box;
}
