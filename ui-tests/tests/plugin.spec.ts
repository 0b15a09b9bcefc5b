import { expect, test } from '@jupyterlab/galata';

/**
 * Proves the browser pipeline: real JupyterLab, real server extension, the plugin active.
 */
test('the jupyter-repro plugin activates and reaches its server extension', async ({ page }) => {
  const active = await page.evaluate(() => {
    return window.jupyterapp.isPluginActivated('jupyter-repro:plugin');
  });
  expect(active).toBe(true);

  const hasCommand = await page.evaluate(() => {
    return window.jupyterapp.commands.hasCommand('jupyter-repro:open-panel');
  });
  expect(hasCommand).toBe(true);

  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('jupyter-repro:open-panel');
  });
  const status = page.locator('.jp-repro-panel-status');
  await expect(status).toHaveAttribute('data-state', 'ok');
  await expect(status).toContainText('jupyter-repro 0.1.0');
});
