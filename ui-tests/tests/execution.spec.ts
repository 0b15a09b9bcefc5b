import { createHash } from 'crypto';

import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

/**
 * JupyterLab records what ran: running a code cell keeps the hash of the source sent to the kernel in
 * its metadata (`jupyter_repro.source_sha256`), a cell edited since it ran is marked "edited since
 * run", a cell whose input a cell above redefined after it ran is marked "out of order", opening a
 * notebook writes nothing, and the `recordExecutedSource` setting turns the recording off.
 */

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

const STEPS_ROUTE = '/jupyter-repro/api/steps';
const EDITED = '.jp-repro-mark[data-status="edited"]';
const OUT_OF_ORDER = '.jp-repro-mark[data-status="out-of-order"]';

/** What jupyter_repro.hashing.source_hash gives (tests/fixtures/source_hashes.json pins it). */
function sourceHash(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex').slice(0, 16);
}

interface ICellSpec {
  source: string;
  type?: 'code' | 'markdown';
  count?: number | null;
  output?: string;
  metadata?: Record<string, unknown>;
}

/** An nbformat 4.5 notebook as JupyterLab saves one (so that opening it changes nothing). */
function notebook(cells: ICellSpec[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
      language_info: { name: 'python' }
    },
    cells: cells.map((cell, i) =>
      cell.type === 'markdown'
        ? { id: `cell-${i}`, cell_type: 'markdown', metadata: {}, source: cell.source }
        : {
            id: `cell-${i}`,
            cell_type: 'code',
            metadata: cell.metadata ?? {},
            source: cell.source,
            execution_count: cell.count ?? null,
            outputs:
              cell.output === undefined
                ? []
                : [{ output_type: 'stream', name: 'stdout', text: cell.output }]
          }
    )
  });
}

interface ISavedFile {
  text: string;
  lastModified: string;
  cells: { cell_type: string; source: string; metadata: Record<string, any> }[];
}

/** The file as the server has it (the contents API), with its cells' sources joined. */
async function savedFile(page: IJupyterLabPageFixture, path: string): Promise<ISavedFile> {
  const model = await page.evaluate(async file => {
    const answer = await window.jupyterapp.serviceManager.contents.get(file, {
      type: 'file',
      format: 'text',
      content: true
    });
    return { text: answer.content as string, lastModified: answer.last_modified };
  }, path);
  const cells = (JSON.parse(model.text) as { cells: any[] }).cells.map(cell => ({
    ...cell,
    source: Array.isArray(cell.source) ? cell.source.join('') : cell.source
  }));
  return { ...model, cells };
}

/** Each cell's `metadata.jupyter_repro` in the open notebook's model (`null`: none). */
async function recorded(page: IJupyterLabPageFixture): Promise<(Record<string, any> | null)[]> {
  return page.evaluate(() => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    const cells = widget.content.model.cells;
    const found = [];
    for (let i = 0; i < cells.length; i++) {
      found.push(cells.get(i).getMetadata('jupyter_repro') ?? null);
    }
    return found;
  });
}

async function isDirty(page: IJupyterLabPageFixture): Promise<boolean> {
  return page.evaluate(() => (window.jupyterapp.shell.currentWidget as any).context.model.dirty);
}

/**
 * Upload `content` (unless `null`: the file is there) to `path` and open it; with `analysed`, wait
 * for the server's analysis the badges ask for on open.
 */
async function open(
  page: IJupyterLabPageFixture,
  path: string,
  content: string | null,
  analysed = true
): Promise<void> {
  if (content !== null) {
    await page.contents.uploadContent(content, 'text', path);
  }
  const analysis = analysed
    ? page.waitForResponse(response => response.url().includes(STEPS_ROUTE))
    : Promise.resolve();
  await page.notebook.openByPath(path);
  await page.notebook.activate(path.split('/').pop() ?? path);
  await analysis;
}

/** Set one of the plugin's settings through JupyterLab's setting registry. */
async function setSetting(page: IJupyterLabPageFixture, key: string, value: boolean) {
  await page.evaluate(
    async ([name, on]) => {
      const registry = await window.galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry?.set('jupyter-repro:plugin', name, on);
    },
    [key, value] as const
  );
}

test.describe('recording what ran', () => {
  test('run cells, edit one, save: the edited cell is marked and the file says what ran', async ({
    page,
    tmpPath
  }) => {
    const path = `${tmpPath}/recorded.ipynb`;
    const cells: ICellSpec[] = [
      { source: 'x = 1', count: 1 },
      { source: 'y = x + 1\nprint(y)', count: 2, output: '2\n' },
      { source: '## Notes', type: 'markdown' },
      {
        // saved with the hash of another source (edited after it ran) and a key of someone else
        source: 'print(y * 10)',
        count: 3,
        output: '20\n',
        metadata: { jupyter_repro: { note: 'kept', source_sha256: sourceHash('print(y * 100)') } }
      }
    ];
    // JupyterLab itself fills in the kernel's language_info once the kernel is up: save that, as
    // JupyterLab would, then reopen
    await open(page, path, notebook(cells));
    await expect
      .poll(() =>
        page.evaluate(() => {
          const widget = window.jupyterapp.shell.currentWidget as any;
          return widget.content.model.getMetadata('language_info')?.version ?? null;
        })
      )
      .not.toBeNull();
    await page.notebook.save();
    await page.notebook.close();
    const before = await savedFile(page, path);
    await open(page, path, null);

    // the saved hash is read on open: the cell saved after an edit is marked, and only it
    const notebookCells = page.locator('.jp-Notebook .jp-Cell');
    await expect(page.locator(EDITED)).toHaveCount(1);
    await expect(notebookCells.nth(3).locator(EDITED)).toHaveText('edited since run');

    // opening writes nothing: not in the model, not on disk
    await page.waitForTimeout(1500);
    expect(await isDirty(page)).toBe(false);
    expect(await recorded(page)).toEqual([null, null, null, cells[3].metadata?.jupyter_repro]);
    const unchanged = await savedFile(page, path);
    expect(unchanged.text).toBe(before.text);
    expect(unchanged.lastModified).toBe(before.lastModified);

    // running records each code cell's source (the other keys kept), and no cell is edited any more
    await page.notebook.run();
    await expect
      .poll(() => recorded(page))
      .toEqual([
        { source_sha256: sourceHash('x = 1') },
        { source_sha256: sourceHash('y = x + 1\nprint(y)') },
        null,
        { note: 'kept', source_sha256: sourceHash('print(y * 10)') }
      ]);
    await expect(page.locator(EDITED)).toHaveCount(0);

    // typing into a cell marks it, and only it
    await page.notebook.setCell(1, 'code', 'y = x + 2\nprint(y)');
    await expect(notebookCells.nth(1).locator(EDITED)).toBeVisible();
    await expect(page.locator(EDITED)).toHaveCount(1);

    // the saved file keeps the hash of the source that ran, next to the edited source
    await page.notebook.save();
    const saved = await savedFile(page, path);
    expect(saved.cells.map(cell => cell.source)).toEqual([
      'x = 1',
      'y = x + 2\nprint(y)',
      '## Notes',
      'print(y * 10)'
    ]);
    expect(saved.cells.map(cell => cell.metadata.jupyter_repro ?? null)).toEqual([
      { source_sha256: sourceHash('x = 1') },
      { source_sha256: sourceHash('y = x + 1\nprint(y)') },
      null,
      { note: 'kept', source_sha256: sourceHash('print(y * 10)') }
    ]);
    expect(saved.cells[1].metadata.jupyter_repro.source_sha256).not.toBe(
      sourceHash(saved.cells[1].source)
    );
    await expect(page.locator(EDITED)).toHaveCount(1);
    await expect(notebookCells.nth(1).locator(EDITED)).toBeVisible();
  });

  test('a cell whose input a cell above redefined after it ran is out of order', async ({
    page,
    tmpPath
  }) => {
    const path = `${tmpPath}/order.ipynb`;
    await open(
      page,
      path,
      notebook([{ source: 'x = 1' }, { source: 'y = x + 1' }, { source: 'z = 5' }]),
      false
    );
    await page.notebook.run();
    // saving asks the server what each cell reads and defines
    const analysis = page.waitForResponse(response => response.url().includes(STEPS_ROUTE));
    await page.notebook.save();
    await analysis;
    await expect(page.locator(OUT_OF_ORDER)).toHaveCount(0);

    // re-running the cell that defines x leaves the cell that read it behind
    await page.notebook.runCell(0);
    const cells = page.locator('.jp-Notebook .jp-Cell');
    const mark = cells.nth(1).locator(OUT_OF_ORDER);
    await expect(mark).toHaveText('out of order');
    await expect(mark).toHaveAttribute('title', /cell 0 ran later \(\[\d+\]\) and redefined 'x'/);
    await expect(page.locator(OUT_OF_ORDER)).toHaveCount(1);

    // running it again brings it up to date
    await page.notebook.runCell(1);
    await expect(page.locator(OUT_OF_ORDER)).toHaveCount(0);
  });

  test('an edit typed while the cell runs shows as edited: the source sent is recorded', async ({
    page,
    tmpPath
  }) => {
    const path = `${tmpPath}/running.ipynb`;
    const sent = 'import time\ntime.sleep(5)';
    await open(page, path, notebook([{ source: sent }]), false);
    await page.notebook.runCell(0, { inplace: true, wait: false });
    await page.notebook.setCell(0, 'code', 'import time\ntime.sleep(0)');
    // the edit was typed while the cell ran: it has no execution count yet
    expect(
      await page.evaluate(() => {
        const widget = window.jupyterapp.shell.currentWidget as any;
        return widget.content.model.cells.get(0).executionCount;
      })
    ).toBeNull();
    await page.notebook.waitForRun(0);
    await expect.poll(() => recorded(page)).toEqual([{ source_sha256: sourceHash(sent) }]);
    await expect(page.locator(EDITED)).toHaveCount(1);
  });

  test('with recordExecutedSource off, nothing is written and recorded hashes are not used', async ({
    page,
    tmpPath
  }) => {
    const path = `${tmpPath}/off.ipynb`;
    // saved with the hash of another source: with the setting on, the cell would be marked on open
    const stale = { jupyter_repro: { source_sha256: sourceHash('a = 0') } };
    await setSetting(page, 'recordExecutedSource', false);
    try {
      await open(page, path, notebook([{ source: 'a = 1', count: 1, metadata: stale }]));
      await page.waitForTimeout(1000);
      await expect(page.locator(EDITED)).toHaveCount(0);
      await page.notebook.run();
      await page.waitForTimeout(1000);
      expect(await recorded(page)).toEqual([stale.jupyter_repro]);
    } finally {
      await setSetting(page, 'recordExecutedSource', true);
    }
    // on again: the next run is recorded
    await page.notebook.run();
    await expect.poll(() => recorded(page)).toEqual([{ source_sha256: sourceHash('a = 1') }]);
    await expect(page.locator(EDITED)).toHaveCount(0);
  });
});
