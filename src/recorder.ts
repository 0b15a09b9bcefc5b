/**
 * Recording what ran: when a code cell executes, the hash of the source sent to the kernel is kept in
 * the cell's metadata (`metadata.jupyter_repro.source_sha256`, core/stale.ts), so that the badges can
 * tell a cell edited since it ran, and `verify` which saved outputs came from the saved source.
 *
 * The source is taken when the execution is scheduled (JupyterLab sends the cell's source to the
 * kernel right then), not when it ends: a cell edited while it runs still shows as edited. The hash is
 * written only when the execution really happened (the kernel gave the cell an execution count: not
 * for a cell aborted after an earlier error, cancelled by a restart, or run without a kernel). Nothing
 * is written on opening a notebook, for markdown cells, or when the setting is off.
 */
import { Cell, ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import { Notebook, NotebookActions } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';

import { NoWebCryptoError, sourceHash } from './core/sourcehash';
import { CELL_METADATA_KEY, recordedHash, withRecordedHash } from './core/stale';

/** Records the executed source of every notebook's code cells; one for the whole application. */
export class ExecutionRecorder implements IDisposable {
  /** @param enabled - whether to record now (the `recordExecutedSource` setting) */
  constructor(enabled: () => boolean) {
    this._enabled = enabled;
    NotebookActions.executionScheduled.connect(this._onScheduled, this);
    NotebookActions.executed.connect(this._onExecuted, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    NotebookActions.executionScheduled.disconnect(this._onScheduled, this);
    NotebookActions.executed.disconnect(this._onExecuted, this);
  }

  /** The execution is about to be sent: remember the source it sends (a re-run replaces it). */
  private _onScheduled = (_: unknown, args: { notebook: Notebook; cell: Cell }): void => {
    const model = args.cell.model;
    if (this._enabled() && model.type === 'code') {
      this._sent.set(model, model.sharedModel.getSource());
    }
  };

  /** The execution ended: record the source it sent, if the kernel really ran it. */
  private _onExecuted = (_: unknown, args: { notebook: Notebook; cell: Cell }): void => {
    const model = args.cell.model;
    const source = this._sent.get(model);
    this._sent.delete(model);
    if (source === undefined || !this._enabled() || model.type !== 'code' || model.isDisposed) {
      return;
    }
    if (typeof (model as ICodeCellModel).executionCount !== 'number') {
      return; // aborted, or nothing was sent (an empty cell, no kernel)
    }
    void this._record(model, source);
  };

  private async _record(model: ICellModel, source: string): Promise<void> {
    let hash: string;
    try {
      hash = await sourceHash(source);
    } catch (reason) {
      if (!this._warned) {
        this._warned = true;
        const why = reason instanceof NoWebCryptoError ? reason.message : String(reason);
        console.warn(`jupyter-repro: the executed source is not recorded: ${why}`);
      }
      return;
    }
    if (model.isDisposed || this._isDisposed) {
      return;
    }
    const current: unknown = model.getMetadata(CELL_METADATA_KEY);
    if (recordedHash(current) !== hash) {
      model.setMetadata(CELL_METADATA_KEY, withRecordedHash(current, hash));
    }
  }

  private _enabled: () => boolean;
  private _sent = new WeakMap<ICellModel, string>();
  private _warned = false;
  private _isDisposed = false;
}
