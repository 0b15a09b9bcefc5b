import * as path from 'path';

import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

/**
 * What a data scientist sees: tagging a step from the cell toolbar, verifying the example notebook
 * (reproducible, then diverged after a stale edit), and exporting it as an Airflow job. The verify
 * tests run a real headless kernel through the server extension, so they get generous timeouts.
 */

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');
const IMAGES = path.resolve(__dirname, '..', '..', 'docs', 'images');
const NOTEBOOK = 'sales_report.ipynb';
const VERIFY_TIMEOUT = 180000;

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

/** Upload the example notebook and its data into the test's folder and open it. */
async function openExample(page: IJupyterLabPageFixture, tmpPath: string): Promise<void> {
  await page.contents.uploadFile(path.join(EXAMPLES, NOTEBOOK), `${tmpPath}/${NOTEBOOK}`);
  await page.contents.uploadFile(
    path.join(EXAMPLES, 'data', 'sales.csv'),
    `${tmpPath}/data/sales.csv`
  );
  await page.notebook.openByPath(`${tmpPath}/${NOTEBOOK}`);
  await page.notebook.activate(NOTEBOOK);
  // the example has step tags: every step cell gets its badge, placed by the server's analysis
  await expect(page.locator('.jp-repro-badge[data-step="load"]')).toBeVisible();
  await expect(page.locator('.jp-repro-badges[data-source="server"]').first()).toBeVisible();
  await expect(page.locator('.jp-repro-badges[data-source="offline"]')).toHaveCount(0);
}

/**
 * Give the right sidebar `fraction` of the window and hide notifications, for screenshots (through
 * the shell's split panel: JupyterLab has no public API to size a sidebar).
 */
async function prepareScreenshot(page: IJupyterLabPageFixture, fraction: number): Promise<void> {
  await page.evaluate(share => {
    const split = (window.jupyterapp.shell as any)._hsplitPanel;
    const [left] = split.relativeSizes() as number[];
    split.setRelativeSizes([left, 1 - left - share, share]);
  }, fraction);
  await page.sidebar.close('left');
  await page.addStyleTag({ content: '.Toastify { display: none !important; }' });
  await page.waitForTimeout(300);
}

/** Click the notebook toolbar's Verify button and wait for the verdict in the pipeline panel. */
async function verify(page: IJupyterLabPageFixture, verdict: string): Promise<void> {
  await page
    .locator('.jp-NotebookPanel-toolbar [data-command="jupyter-repro:verify"]')
    .first()
    .click();
  const panel = page.locator('#jupyter-repro-panel');
  await expect(panel).toBeVisible();
  await expect(panel.locator(`.jp-repro-verdict[data-verdict="${verdict}"]`)).toBeVisible({
    timeout: VERIFY_TIMEOUT
  });
}

test.describe('jupyter-repro in JupyterLab', () => {
  test('tag a cell as a step through the cell toolbar and see its badge', async ({
    page,
    tmpPath
  }) => {
    await page.notebook.createNew('tagging.ipynb');
    await page.notebook.setCell(0, 'markdown', '## Load the raw data');
    await page.notebook.addCell('code', 'rows = [1, 2, 3]');
    await page.notebook.addCell('code', 'total = sum(rows)');
    await page.notebook.selectCells(1);

    const toggle = page.locator('.jp-cell-toolbar [data-command="jupyter-repro:toggle-step"]');
    await expect(toggle).toBeVisible();
    await toggle.click();

    // the dialog suggests a name from the nearest heading above, validated as the user types
    const name = page.locator('.jp-Dialog .jp-repro-step-name');
    await expect(name).toHaveValue('load_the_raw_data');
    await name.fill('Load!');
    await expect(page.locator('.jp-Dialog .jp-repro-problem')).toContainText(
      'not a valid step name'
    );
    await name.fill('load');
    await expect(page.locator('.jp-Dialog .jp-repro-problem')).toHaveText('');
    await page.locator('.jp-Dialog .jp-mod-accept').click();

    // the cell carries the tag, and both cells of the step show the badge: drawn at once by the
    // offline grammar (the tag is not saved yet), then by the server's analysis once it is
    const badges = page.locator('.jp-repro-badge[data-step="load"]');
    await expect(badges).toHaveCount(2);
    await expect(page.locator('.jp-repro-badges[data-source="offline"]')).toHaveCount(2);
    await page.notebook.save();
    await expect(page.locator('.jp-repro-badges[data-source="server"]')).toHaveCount(2);
    await expect(badges).toHaveCount(2);
    const tags = await page.evaluate(() => {
      const widget = window.jupyterapp.shell.currentWidget as any;
      return widget.content.model.cells.get(1).getMetadata('tags');
    });
    expect(tags).toEqual(['step:load']);
    await expect(toggle).toHaveClass(/lm-mod-toggled/);

    // the "Pipeline" section of the property inspector edits the same tags
    await page.sidebar.openTab('jp-property-inspector');
    const section = page.locator('.jp-NotebookTools .jp-Collapse-header', { hasText: 'Pipeline' });
    if (((await section.getAttribute('class')) ?? '').includes('jp-Collapse-header-collapsed')) {
      await section.click();
    }
    const field = page.locator('.jp-repro-tags-field');
    await expect(field.locator('.jp-repro-tags-step')).toHaveValue('load');
    await field.locator('.jp-repro-check', { hasText: 'no-cache' }).locator('input').check();
    await expect
      .poll(() =>
        page.evaluate(() => {
          const widget = window.jupyterapp.shell.currentWidget as any;
          return widget.content.model.cells.get(1).getMetadata('tags');
        })
      )
      .toEqual(['step:load', 'no-cache']);

    // renaming the step rewrites its tag; the badges follow
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('jupyter-repro:rename-step', { to: 'read' });
    });
    await expect(page.locator('.jp-repro-badge[data-step="read"]')).toHaveCount(2);
    await prepareScreenshot(page, 0.25);
    await page.screenshot({ path: path.join(IMAGES, 'tagging.png') });

    // a notebook with pipeline tags gets a seeded kernel when its kernel starts, silently
    // (a fresh kernel through "change kernel": restarts do not reconnect in this JupyterLab build)
    await page.evaluate(async () => {
      const widget = window.jupyterapp.shell.currentWidget as any;
      await widget.sessionContext.ready;
      await widget.sessionContext.changeKernel({ name: 'python3' });
    });
    await page.notebook.addCell(
      'code',
      "print('seeded' if 'jupyter_repro' in get_ipython().extension_manager.loaded else 'not seeded')"
    );
    await page.notebook.runCell(3);
    await expect(page.locator('.jp-Cell').nth(3).locator('.jp-OutputArea-output')).toHaveText(
      /^seeded/,
      { timeout: 30000 }
    );
    // and nothing was printed by the seeding itself
    await expect(page.locator('.jp-Cell').nth(1).locator('.jp-OutputArea-output')).toHaveCount(0);
    void tmpPath;
  });

  test('verify the example notebook: reproducible', async ({ page, tmpPath }) => {
    test.setTimeout(300000);
    await openExample(page, tmpPath);
    await verify(page, 'reproducible');

    const panel = page.locator('#jupyter-repro-panel');
    await expect(panel.locator('.jp-repro-verdict-word')).toHaveText(/reproducible/i);
    // every code cell of a step matches, and the badges say so
    await expect(page.locator('.jp-repro-badge-status[data-status="match"]').first()).toBeVisible();
    // the step graph shows the variables on its edges, the history the recorded run
    await expect(panel.locator('.jp-repro-dag-node')).toHaveCount(5);
    await expect(
      panel.locator('.jp-repro-dag-label[data-from="aggregate"][data-to="report"]')
    ).toContainText('revenue');
    await expect(panel.locator('.jp-repro-run')).toHaveCount(1);
    await expect(panel.locator('.jp-repro-run .jp-repro-outcome')).toHaveText('reproducible');

    await prepareScreenshot(page, 0.3);
    await panel.screenshot({ path: path.join(IMAGES, 'panel.png') });

    // clicking the run shows its details
    await panel.locator('.jp-repro-run').first().click();
    await expect(panel.locator('.jp-repro-run-details .jp-repro-steps tbody tr')).toHaveCount(5);
  });

  test('verify a stale saved output: the differing cell is listed with its own cause', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(300000);
    await openExample(page, tmpPath);
    await verify(page, 'reproducible');
    // edit the aggregate step's code without running it: its saved output is now stale
    await page.evaluate(() => {
      const widget = window.jupyterapp.shell.currentWidget as any;
      const cell = widget.content.model.cells.get(8);
      const source: string = cell.sharedModel.getSource();
      cell.sharedModel.setSource(source.replace('.round(2)', '.round(2) * 2'));
    });
    await verify(page, 'diverged');

    const panel = page.locator('#jupyter-repro-panel');
    const differing = panel.locator('.jp-repro-differing-cell[data-cell-index="8"]');
    await expect(differing).toBeVisible();
    // the cell's own cause, found by comparing with the previous recorded run, is shown under it
    // with what to do about it
    const cause = panel
      .locator(
        '.jp-repro-differing-item[data-cell-index="8"] .jp-repro-cell-causes .jp-repro-cause'
      )
      .filter({ hasText: "step 'aggregate' code changed" });
    await expect(cause).toHaveCount(1);
    await expect(cause.locator('.jp-repro-cause-kind')).toHaveText('code');
    await expect(cause.locator('.jp-repro-cause-todo')).toHaveText(
      /^What to do: if the change is intended, re-execute the notebook and save it/
    );
    await expect(panel.locator('.jp-repro-run')).toHaveCount(2);
    await expect(
      page.locator('.jp-Cell').nth(8).locator('.jp-repro-badge-status[data-status="differ"]')
    ).toBeVisible();

    // clicking it scrolls to the cell and shows the saved and new outputs side by side
    await differing.click();
    const compare = page.locator('.jp-Cell').nth(8).locator('.jp-repro-compare');
    await expect(compare).toBeVisible();
    await expect(compare.locator('.jp-repro-diff-left').filter({ hasText: '4005.2' })).toHaveCount(
      1
    );
    await expect(compare.locator('.jp-repro-diff-right').filter({ hasText: '8010.4' })).toHaveCount(
      1
    );

    // the verdict in the panel, the differing cell in the notebook with old and new output
    await prepareScreenshot(page, 0.3);
    await compare.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(IMAGES, 'verdict.png') });
  });

  test('export an Airflow job through the dialog and see the file listed', async ({
    page,
    tmpPath
  }) => {
    await openExample(page, tmpPath);
    // the command waits for the dialog: start it without waiting
    await page.evaluate(() => {
      void window.jupyterapp.commands.execute('jupyter-repro:export');
    });
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-repro-export-dialog')).toBeVisible();
    // the targets are the server's registry, with its descriptions and default schedules
    const targets = dialog.locator('.jp-repro-export-target');
    await expect(targets.locator('option')).toHaveText(['airflow', 'cron', 'kfp', 'script']);
    await targets.selectOption('script');
    await expect(dialog.locator('.jp-repro-export-preset')).toHaveValue('none');
    await targets.selectOption('airflow');
    await expect(dialog.locator('.jp-repro-export-dialog > .jp-repro-hint').first()).toContainText(
      'Airflow DAG'
    );
    await expect(dialog.locator('.jp-repro-export-preset')).toHaveValue('daily');
    await dialog.locator('.jp-repro-export-preset').selectOption('custom');
    await dialog.locator('.jp-repro-export-cron').fill('30 6 * * 1-5');
    await expect(dialog.locator('.jp-repro-cron-preview')).toHaveText(
      'At 06:30 on Monday to Friday (30 6 * * 1-5)'
    );
    // the interval parameters are the scheduler's; the others can be set
    await expect(dialog.locator('input[data-parameter="start_date"]')).toBeDisabled();
    await dialog.locator('input[data-parameter="output_dir"]').fill('reports');
    await expect(dialog.locator('.jp-repro-export-output')).toHaveValue(
      `${tmpPath}/sales_report-airflow`
    );
    await dialog.locator('.jp-mod-accept').click();

    const files = page.locator('.jp-Dialog .jp-repro-export-files');
    await expect(files).toContainText(`${tmpPath}/sales_report-airflow/sales_report_dag.py`, {
      timeout: 60000
    });
    expect(
      await page.contents.fileExists(`${tmpPath}/sales_report-airflow/sales_report_dag.py`)
    ).toBe(true);
  });
});
