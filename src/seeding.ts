/**
 * Seeding the interactive kernel like the headless verify: when a notebook with pipeline tags starts,
 * changes or restarts its kernel, `jupyter_repro`'s IPython extension is loaded silently (no output,
 * no history, no execution count), with the notebook's seed (`metadata.jupyter_repro.seed`) in
 * `JUPYTER_REPRO_SEED`. The outputs the user then saves were produced under the same seeding.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';

import { notebookSeed, seedingCode } from './core/seed';
import { hasPipelineTags } from './core/tags';
import { cellInputsOf } from './notebook';
import { METADATA_KEY } from './tokens';

/** Seeds the kernel of one notebook panel; disposed with the panel. */
export class KernelSeeder implements IDisposable {
  constructor(panel: NotebookPanel, enabled: () => boolean) {
    this._panel = panel;
    this._enabled = enabled;
    const session = panel.sessionContext;
    session.kernelChanged.connect(this._onKernelChanged, this);
    session.statusChanged.connect(this._onStatusChanged, this);
    void session.ready.then(() => {
      const kernel = session.session?.kernel ?? null;
      if (kernel !== null) {
        void this._seed(kernel);
      }
    });
    panel.disposed.connect(() => {
      this.dispose();
    });
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    const session = this._panel.sessionContext;
    session.kernelChanged.disconnect(this._onKernelChanged, this);
    session.statusChanged.disconnect(this._onStatusChanged, this);
  }

  private _onKernelChanged = (
    _: unknown,
    change: { newValue: Kernel.IKernelConnection | null }
  ): void => {
    if (change.newValue !== null) {
      void this._seed(change.newValue);
    }
  };

  private _onStatusChanged = (_: unknown, status: Kernel.Status): void => {
    const kernel = this._panel.sessionContext.session?.kernel ?? null;
    if (kernel === null) {
      return;
    }
    if (status === 'restarting' || status === 'autorestarting') {
      // the same kernel id, a fresh process: seed it again once it is back
      this._seeded.delete(kernel.id);
    } else if (
      (status === 'starting' || status === 'idle' || status === 'busy') &&
      !this._seeded.has(kernel.id)
    ) {
      void this._seed(kernel);
    }
  };

  private async _seed(kernel: Kernel.IKernelConnection): Promise<void> {
    if (this._isDisposed || !this._enabled() || this._seeded.has(kernel.id)) {
      return;
    }
    if (!hasPipelineTags(cellInputsOf(this._panel))) {
      return;
    }
    this._seeded.add(kernel.id);
    try {
      const info = await kernel.info;
      if (info.language_info.name !== 'python') {
        return;
      }
      const seed = notebookSeed(this._panel.content.model?.getMetadata(METADATA_KEY));
      const future = kernel.requestExecute(
        {
          code: seedingCode(seed),
          silent: true,
          store_history: false,
          allow_stdin: false,
          stop_on_error: false
        },
        true
      );
      const reply = await future.done;
      if (reply.content.status === 'error') {
        const { ename, evalue } = reply.content;
        Notification.warning(
          `jupyter-repro could not seed the kernel of ${this._panel.context.path} ` +
            `(${ename}: ${evalue}); is jupyter-repro installed in the kernel's environment?`,
          { autoClose: 8000 }
        );
      }
    } catch (reason) {
      this._seeded.delete(kernel.id);
      console.warn('jupyter-repro: seeding the kernel failed', reason);
    }
  }

  private _panel: NotebookPanel;
  private _enabled: () => boolean;
  private _seeded = new Set<string>();
  private _isDisposed = false;
}
