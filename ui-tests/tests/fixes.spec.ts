import * as path from 'path';

import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

/**
 * One-click fixes: a notebook that draws a random number without a seed, run in JupyterLab and
 * saved, does not reproduce; its cause has "Fix" buttons (the server's two seed choices). A fix is
 * refused while the notebook has unsaved changes, shows the server's preview, and applies to the
 * open notebook: inserting a seed cell is one step of the notebook's undo; saving the seeded outputs
 * is taken back by "Undo fix"; the next Verify (which saves first) reproduces.
 */

const IMAGES = path.resolve(__dirname, '..', '..', 'docs', 'images');
const VERIFY_TIMEOUT = 180000;
const SOURCE = 'import random; print(random.random())';

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

/** Click the notebook toolbar's Verify button and wait for the verdict in the pipeline panel. */
async function verify(page: IJupyterLabPageFixture, verdict: string): Promise<void> {
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="jupyter-repro:verify"]')
    .first()
    .click();
  const panel = page.locator('#jupyter-repro-panel');
  await expect(panel.locator(`.jp-repro-verdict[data-verdict="${verdict}"]`)).toBeVisible({
    timeout: VERIFY_TIMEOUT
  });
}

/** The text a cell of the open notebook printed, as its model holds it. */
async function printed(page: IJupyterLabPageFixture, index = 0): Promise<string> {
  return page.evaluate(cell => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    const outputs = widget.content.model.cells.get(cell).sharedModel.getOutputs() as any[];
    return outputs.map(output => String(output.text ?? '')).join('');
  }, index);
}

async function sources(page: IJupyterLabPageFixture): Promise<string[]> {
  return page.evaluate(() => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    const cells = widget.content.model.cells;
    const found: string[] = [];
    for (let i = 0; i < cells.length; i++) {
      found.push(cells.get(i).sharedModel.getSource());
    }
    return found;
  });
}

async function notebookSeed(page: IJupyterLabPageFixture): Promise<unknown> {
  return page.evaluate(() => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    return widget.content.model.getMetadata('jupyter_repro')?.seed ?? null;
  });
}

async function isDirty(page: IJupyterLabPageFixture): Promise<boolean> {
  return page.evaluate(() => (window.jupyterapp.shell.currentWidget as any).context.model.dirty);
}

/** The differing cell with its cause and fix buttons, in a wider sidebar, without notifications. */
async function screenshotCauses(page: IJupyterLabPageFixture): Promise<void> {
  await page.evaluate(() => {
    const split = (window.jupyterapp.shell as any)._hsplitPanel;
    const [left] = split.relativeSizes() as number[];
    split.setRelativeSizes([left, 1 - left - 0.3, 0.3]);
  });
  const hidden = await page.addStyleTag({ content: '.Toastify { display: none !important; }' });
  await page.waitForTimeout(300);
  await page
    .locator('#jupyter-repro-panel .jp-repro-differing')
    .screenshot({ path: path.join(IMAGES, 'fix-buttons.png') });
  await hidden.evaluate(node => node.remove());
}

test('an unseeded random draw: Verify, apply the seed fix, Verify again', async ({ page }) => {
  test.setTimeout(480000);
  // run in JupyterLab's own kernel, which nothing seeds (the notebook has no pipeline tags)
  await page.notebook.createNew('unseeded.ipynb');
  await page.notebook.setCell(0, 'code', SOURCE);
  await page.notebook.runCell(0);
  await expect(page.locator('.jp-Cell').first().locator('.jp-OutputArea-output')).toHaveText(
    /^0\.\d+/,
    { timeout: 60000 }
  );
  const interactive = await printed(page);
  await page.notebook.save();
  const saved = await sources(page); // running the last cell added an empty one below it

  await verify(page, 'diverged');
  const panel = page.locator('#jupyter-repro-panel');
  const cause = panel.locator(
    '.jp-repro-differing-item[data-cell-index="0"] .jp-repro-cause[data-kind="nondeterminism"]'
  );
  await expect(cause).toHaveCount(1);
  // the server offers two ways to seed: both are shown as choices of this cause
  const outputsFix = cause.locator('.jp-repro-fix-button[data-fix-id="seed-outputs"]');
  await expect(outputsFix).toHaveText('Fix: outputs');
  await expect(cause.locator('.jp-repro-fix-button[data-fix-id="seed-cell"]')).toHaveText(
    'Fix: cell'
  );
  await expect(outputsFix).toHaveAttribute('title', /record the seed/);
  await screenshotCauses(page);

  // with unsaved changes the fix is refused: its cell numbers are those of the saved file
  await page.evaluate(() => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    widget.content.model.cells.get(0).sharedModel.setMetadata('scratch', true);
  });
  await outputsFix.click();
  await expect(
    page.locator('.Toastify__toast').filter({ hasText: 'Save the notebook first' })
  ).toBeVisible();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);
  // undone and saved: the file is the one the fixes were computed from again
  await page.evaluate(() => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    widget.content.model.cells.get(0).sharedModel.deleteMetadata('scratch');
  });
  await page.notebook.save();

  // "Fix: cell" says that applying re-executes the notebook; its cell edit is one undo step
  await cause.locator('.jp-repro-fix-button[data-fix-id="seed-cell"]').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-repro-fix-pending')).toHaveText(
    'Applying takes a moment: the server re-executes the notebook to compute its new outputs.'
  );
  await dialog.locator('.jp-mod-accept').click();
  const cellReport = panel.locator('.jp-repro-fix-report[data-fix-id="seed-cell"]');
  await expect(cellReport).toBeVisible({ timeout: 120000 });
  expect(await sources(page)).toEqual([expect.stringContaining('random.seed('), ...saved]);
  expect(await printed(page, 1)).not.toBe(interactive);
  await expect(cellReport.locator('.jp-repro-fix-undo-note')).toHaveText(
    'Edit → Undo reverts the cell edits in one step; the outputs of 2 cells only "Undo fix" reverts.'
  );
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:undo-cell-action'));
  await expect.poll(() => sources(page)).toEqual(saved);
  // back to the saved file (File → Reload Notebook from Disk): the report goes, it was never saved
  await page.evaluate(() => (window.jupyterapp.shell.currentWidget as any).context.revert());
  await expect(panel.locator('.jp-repro-fix-report')).toHaveCount(0);
  expect(await printed(page)).toBe(interactive);

  // "Fix: outputs": the preview is the server's diff, before and after; nothing changes before
  // "Apply fix"
  await outputsFix.click();
  const preview = dialog.locator('.jp-repro-fix-preview[data-fix-id="seed-outputs"]');
  await expect(preview).toBeVisible();
  await expect(preview.locator('.jp-repro-fix-file h4')).toHaveText([/unseeded\.ipynb$/]);
  await expect(preview.locator('th')).toHaveText(['Now', 'After the fix']);
  await expect(
    preview.locator('.jp-repro-diff-left').filter({ hasText: interactive.trim() })
  ).toHaveCount(1);
  await expect(preview.locator('.jp-repro-diff-right').filter({ hasText: '"seed"' })).toHaveCount(
    1
  );
  await page.addStyleTag({ content: '.Toastify { display: none !important; }' });
  await dialog
    .locator('.jp-Dialog-content')
    .screenshot({ path: path.join(IMAGES, 'fix-preview.png') });
  expect(await printed(page)).toBe(interactive);
  await dialog.locator('.jp-mod-accept').click();

  // applied to the open notebook: the seeded run's output and the seed, modified, not saved
  const report = panel.locator('.jp-repro-fix-report[data-fix-id="seed-outputs"]');
  await expect(report).toBeVisible({ timeout: 60000 });
  await expect(report.locator('.jp-repro-fix-unsaved')).toHaveText(
    'The notebook is modified, not saved: save it, or Verify again (Verify saves first).'
  );
  await expect(report.locator('.jp-repro-fix-changed li').first()).not.toBeEmpty();
  const seeded = await printed(page);
  expect(seeded).not.toBe(interactive);
  expect(typeof (await notebookSeed(page))).toBe('number');
  expect(await isDirty(page)).toBe(true);
  await expect(outputsFix).toHaveText('Applied');
  await expect(outputsFix).toBeDisabled();
  // the output area shows the new output (once, not merged with the old one)
  await expect(page.locator('.jp-Cell').first().locator('.jp-OutputArea-output')).toHaveText(
    seeded.trim()
  );

  // "Undo fix" takes all of it back (outputs and notebook metadata are not in JupyterLab's undo)
  await report.locator('.jp-repro-fix-undo').click();
  await expect.poll(() => printed(page)).toBe(interactive);
  expect(await notebookSeed(page)).toBeNull();
  await expect(outputsFix).toHaveText('Fix: outputs');
  await page.notebook.save();

  // again, and Verify saves the fixed notebook first: it reproduces
  await outputsFix.click();
  await dialog.locator('.jp-mod-accept').click();
  await expect(report).toBeVisible({ timeout: 60000 });
  await expect.poll(() => printed(page)).toBe(seeded);
  await report.locator('.jp-repro-fix-verify').click();
  await expect(panel.locator('.jp-repro-verdict[data-verdict="reproducible"]')).toBeVisible({
    timeout: VERIFY_TIMEOUT
  });
  expect(await isDirty(page)).toBe(false);
  await expect(panel.locator('.jp-repro-fix-report')).toHaveCount(0);
});
