/**
 * The frontend's state, without UI: per notebook, its pipeline (from the server's analysis), its run
 * history (from the ledger) and its last run or verify job, with signals the widgets listen to. All
 * server access goes through an `IReproAPI`, so tests drive the model with a fake.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  ICellResult,
  IEnvironment,
  IExportRequest,
  IExportResult,
  IExportTarget,
  IJob,
  IJobProgress,
  IReproAPI,
  IRunDetail,
  IRunResult,
  IRunSummary,
  IStepResult,
  IStepsInfo,
  JobState
} from './core/api';
import { compareEnvironments, IEnvironmentDifference } from './core/compare';
import { IFixList, IFixOutcome, IFixRequest } from './core/fixes';
import { ISavedCell } from './core/stale';

/** A run or verify started from the UI, from its request to its result. */
export interface IJobRun {
  path: string;
  kind: 'run' | 'verify';
  jobId: string | null;
  state: JobState;
  progress: IJobProgress | null;
  result: IRunResult | null;
  /** Why the job could not produce a result (a server error, a crashed process). */
  error: string | null;
  /** The notebook's cell ids, in order, when the job started: maps result cell indices to cells. */
  cellIds: readonly string[];
  startedAt: number;
  /** The live kernel's environment (`POST snapshot`), if a kernel was running. */
  liveEnvironment: IEnvironment | null;
  liveEnvironmentError: string | null;
  /** The headless run's environment, from the ledger. */
  headlessEnvironment: IEnvironment | null;
  /** Live vs headless differences, once both environments are known. */
  environmentDifferences: IEnvironmentDifference[] | null;
  /** Where the run's HTML report is served (`null`: not available). */
  reportUrl: string | null;
}

export interface IStepsState {
  path: string;
  steps: IStepsInfo | null;
  error: string | null;
  /**
   * The tag basis (core/placement.ts `tagBasis`) of the notebook the answer describes, when the
   * caller knew it (the notebook was saved when the analysis was asked for); `null` otherwise. The
   * badges use the server's placement only while the notebook's basis is still this one.
   */
  basis: string | null;
  /**
   * The ids and sources of the cells of the notebook the answer describes, when the caller knew them
   * (as for `basis`); `null` otherwise. The out-of-order marks use the server's per-cell names only
   * for cells whose source is still the analysed one.
   */
  cells: readonly ISavedCell[] | null;
}

/**
 * The fixes the server offers for a notebook (`GET fixes`). `cells` are the ids and sources of the
 * saved notebook they were computed from, when the caller knew them (the notebook had no unsaved
 * changes); `null` otherwise: a fix is applied only to the notebook it was computed for.
 */
export interface IFixesState {
  path: string;
  list: IFixList | null;
  error: string | null;
  cells: readonly ISavedCell[] | null;
  /** The ids of the fixes applied since the list was fetched. */
  applied: ReadonlySet<string>;
}

export interface IRunsState {
  path: string;
  runs: readonly IRunSummary[];
  error: string | null;
}

export interface IVerifyOptions {
  path: string;
  kind?: 'run' | 'verify';
  cellIds?: readonly string[];
  /** The id of the notebook's live kernel: its environment is compared with the headless run's. */
  kernelId?: string | null;
  parameters?: Record<string, string | number | boolean | null>;
  noCache?: boolean;
}

export interface IModelOptions {
  /** Milliseconds between two polls of a running job. */
  pollInterval?: number;
  /** How many failed polls in a row end the wait (the server may be restarting). */
  maxPollFailures?: number;
  /** How many runs the history shows. */
  historyLimit?: number;
}

/** The message of anything thrown, for notifications. */
export function messageOf(reason: unknown): string {
  if (reason instanceof Error) {
    return reason.message;
  }
  return typeof reason === 'string' ? reason : JSON.stringify(reason);
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

export class ReproModel {
  constructor(api: IReproAPI, options: IModelOptions = {}) {
    this.api = api;
    this._pollInterval = options.pollInterval ?? 1000;
    this._maxPollFailures = options.maxPollFailures ?? 5;
    this._historyLimit = options.historyLimit ?? 20;
  }

  readonly api: IReproAPI;

  /** The analysis of a notebook changed (or failed). */
  get stepsChanged(): ISignal<this, IStepsState> {
    return this._stepsChanged;
  }

  /** The run history of a notebook changed. */
  get runsChanged(): ISignal<this, IRunsState> {
    return this._runsChanged;
  }

  /** A job started, progressed or finished. */
  get jobChanged(): ISignal<this, IJobRun> {
    return this._jobChanged;
  }

  /** The fixes offered for a notebook changed (fetched, failed, or one was applied). */
  get fixesChanged(): ISignal<this, IFixesState> {
    return this._fixesChanged;
  }

  fixes(path: string): IFixesState | null {
    return this._fixes.get(path) ?? null;
  }

  /**
   * Fetch the fixes the server offers for the notebook's latest verify; `cells` are the saved
   * notebook's cells when the caller knows them (see `IFixesState`). Only the answer to the latest
   * request for a path is kept: an earlier one that arrives late describes an older file.
   */
  async refreshFixes(path: string, cells: readonly ISavedCell[] | null): Promise<IFixList | null> {
    const ticket = (this._fixTickets.get(path) ?? 0) + 1;
    this._fixTickets.set(path, ticket);
    let state: IFixesState;
    try {
      const list = await this.api.fixes(path);
      state = { path, list, error: null, cells, applied: new Set() };
    } catch (reason) {
      state = { path, list: null, error: messageOf(reason), cells, applied: new Set() };
    }
    if (this._fixTickets.get(path) !== ticket) {
      return this._fixes.get(path)?.list ?? null;
    }
    this._fixes.set(path, state);
    this._fixesChanged.emit(state);
    return state.list;
  }

  /**
   * Ask the server to carry out a fix for the open notebook (`target: "model"`: it writes the side
   * files, and answers with the notebook's edits, which the caller applies to the notebook).
   */
  requestFix(request: IFixRequest): Promise<IFixOutcome> {
    return this.api.applyFix(request);
  }

  /**
   * Record that a fix was applied to the open notebook (its button says so until the next fetch),
   * or that it was undone.
   */
  setFixApplied(path: string, id: string, applied: boolean): void {
    const state = this._fixes.get(path);
    if (state !== undefined && state.applied.has(id) !== applied) {
      const ids = new Set(state.applied);
      if (applied) {
        ids.add(id);
      } else {
        ids.delete(id);
      }
      const next = { ...state, applied: ids };
      this._fixes.set(path, next);
      this._fixesChanged.emit(next);
    }
  }

  steps(path: string): IStepsState | null {
    return this._steps.get(path) ?? null;
  }

  runs(path: string): IRunsState | null {
    return this._runs.get(path) ?? null;
  }

  /** The last job started for `path` (running or finished). */
  lastJob(path: string): IJobRun | null {
    return this._jobs.get(path) ?? null;
  }

  /** Whether a job for `path` is queued or running. */
  isBusy(path: string): boolean {
    const job = this._jobs.get(path);
    return job !== undefined && (job.state === 'queued' || job.state === 'running');
  }

  /**
   * Fetch the notebook's pipeline; a failure is kept in the state (and rethrown). `basis` and `cells`
   * are the tag basis and the cells of the saved notebook, if the caller knows them (see
   * `IStepsState`). Asking again for the same path, basis and cells while an answer is on its way
   * waits for that answer.
   */
  refreshSteps(
    path: string,
    basis: string | null = null,
    cells: readonly ISavedCell[] | null = null
  ): Promise<IStepsInfo> {
    const key = JSON.stringify([path, basis, cells]);
    const pending = this._pendingSteps.get(key);
    if (pending !== undefined) {
      return pending;
    }
    const request = this._fetchSteps(path, basis, cells).finally(() => {
      this._pendingSteps.delete(key);
    });
    this._pendingSteps.set(key, request);
    return request;
  }

  /**
   * The export targets of the server's registry (`GET export/targets`), asked once per session: the
   * dialog is built from them, never from a list of its own.
   */
  exportTargets(): Promise<readonly IExportTarget[]> {
    if (this._targets === null) {
      const request = this.api.exportTargets().then(answer => answer.targets);
      request.catch(() => {
        this._targets = null; // ask again next time
      });
      this._targets = request;
    }
    return this._targets;
  }

  /** Fetch the notebook's run history, newest first. */
  async refreshRuns(path: string): Promise<readonly IRunSummary[]> {
    try {
      const { runs } = await this.api.runs(path, this._historyLimit);
      this._setRuns({ path, runs, error: null });
      await this._fillDurations(path, runs);
      return this._runs.get(path)?.runs ?? runs;
    } catch (reason) {
      const previous = this._runs.get(path)?.runs ?? [];
      this._setRuns({ path, runs: previous, error: messageOf(reason) });
      throw reason;
    }
  }

  /** One recorded run with everything the ledger knows (cached: a recorded run never changes). */
  async runDetail(runId: string, path?: string): Promise<IRunDetail> {
    const known = this._details.get(runId);
    if (known !== undefined) {
      return known;
    }
    const detail = await this.api.run(runId, path);
    if (detail.finished_at) {
      this._details.set(runId, detail); // a finished run never changes
    }
    return detail;
  }

  exportJob(request: IExportRequest): Promise<IExportResult> {
    return this.api.exportJob(request);
  }

  /**
   * Start a verify (or run) job and follow it to its end. Resolves with the finished job (state
   * `done` with a result, or `error` with a message); rejects only when the job cannot be started.
   * Meanwhile the live kernel's environment is captured, and compared with the headless run's.
   */
  async verify(options: IVerifyOptions): Promise<IJobRun> {
    const { path } = options;
    const job: IJobRun = {
      path,
      kind: options.kind ?? 'verify',
      jobId: null,
      state: 'queued',
      progress: null,
      result: null,
      error: null,
      cellIds: options.cellIds ?? [],
      startedAt: Date.now(),
      liveEnvironment: null,
      liveEnvironmentError: null,
      headlessEnvironment: null,
      environmentDifferences: null,
      reportUrl: null
    };
    this._jobs.set(path, job);
    this._jobChanged.emit(job);

    const live =
      options.kernelId !== undefined && options.kernelId !== null
        ? this.api.snapshot(options.kernelId).then(
            environment => {
              job.liveEnvironment = environment;
            },
            (reason: unknown) => {
              job.liveEnvironmentError = messageOf(reason);
            }
          )
        : Promise.resolve();

    try {
      const created = await this.api.startRun({
        path,
        kind: job.kind,
        parameters: options.parameters ?? {},
        no_cache: options.noCache ?? false
      });
      job.jobId = created.job_id;
    } catch (reason) {
      job.state = 'error';
      job.error = messageOf(reason);
      this._jobChanged.emit(job);
      throw reason;
    }

    await this._follow(job);
    await live;
    if (job.result !== null) {
      await Promise.all([this._compareEnvironments(job), this._findReport(job)]);
    }
    this._jobChanged.emit(job);
    void this.refreshRuns(path).catch(() => undefined);
    return job;
  }

  /** The result entries for the cell with id `cellId` in `job` (by the cell's index at the start). */
  static resultsForCell(
    job: IJobRun,
    cellId: string,
    stepOfCell: string | null = null
  ): { cell?: ICellResult; step?: IStepResult } {
    const result = job.result;
    const index = job.cellIds.indexOf(cellId);
    if (result === null || index < 0) {
      return {};
    }
    const cell = result.cells.find(c => c.index === index);
    const stepName =
      cell?.step ?? result.steps.find(s => s.cells?.includes(index))?.name ?? stepOfCell;
    const step = stepName === null ? undefined : result.steps.find(s => s.name === stepName);
    return { cell, step };
  }

  private async _follow(job: IJobRun): Promise<void> {
    let failures = 0;
    while (job.state === 'queued' || job.state === 'running') {
      await sleep(this._pollInterval);
      let answer: IJob;
      try {
        answer = await this.api.job(job.jobId ?? '');
        failures = 0;
      } catch (reason) {
        failures += 1;
        if (failures >= this._maxPollFailures) {
          job.state = 'error';
          job.error = `lost track of the job: ${messageOf(reason)}`;
        }
        continue;
      }
      job.state = answer.state;
      job.progress = answer.progress;
      if (answer.result !== null) {
        job.result = answer.result;
      }
      if (answer.state === 'error') {
        job.error = answer.error ?? answer.result?.error ?? 'the job failed without a message';
      }
      if (job.state === 'queued' || job.state === 'running') {
        this._jobChanged.emit(job);
      }
    }
  }

  private async _findReport(job: IJobRun): Promise<void> {
    const runId = job.result?.run_id;
    if (runId === undefined || job.kind !== 'verify') {
      return;
    }
    if (await this.api.reportAvailable(runId, job.path)) {
      job.reportUrl = this.api.reportUrl(runId, job.path);
    }
  }

  /** Durations for the history: the ledger's run list has no end time, the run details do. */
  private async _fillDurations(path: string, runs: readonly IRunSummary[]): Promise<void> {
    const missing = runs
      .slice(0, this._durationLookups)
      .filter(run => run.finished_at === undefined && run.duration_s === undefined);
    if (missing.length === 0) {
      return;
    }
    const finished = new Map<string, string | null | undefined>();
    await Promise.all(
      missing.map(async run => {
        try {
          finished.set(run.run_id, (await this.runDetail(run.run_id, path)).finished_at);
        } catch {
          // the list stays without this duration
        }
      })
    );
    const current = this._runs.get(path);
    if (current === undefined || current.runs !== runs) {
      return; // refreshed meanwhile
    }
    const filled = runs.map(run =>
      finished.has(run.run_id) ? { ...run, finished_at: finished.get(run.run_id) ?? null } : run
    );
    this._setRuns({ ...current, runs: filled });
  }

  private async _compareEnvironments(job: IJobRun): Promise<void> {
    const runId = job.result?.run_id;
    if (runId === undefined || job.liveEnvironment === null) {
      return;
    }
    try {
      const detail = await this.runDetail(runId, job.path);
      job.headlessEnvironment = detail.environment ?? null;
    } catch (reason) {
      job.liveEnvironmentError = `cannot read the headless run's environment: ${messageOf(reason)}`;
      return;
    }
    if (job.headlessEnvironment !== null) {
      job.environmentDifferences = compareEnvironments(
        job.liveEnvironment,
        job.headlessEnvironment
      );
    }
  }

  private async _fetchSteps(
    path: string,
    basis: string | null,
    cells: readonly ISavedCell[] | null
  ): Promise<IStepsInfo> {
    try {
      const steps = await this.api.steps(path);
      this._setSteps({ path, steps, error: null, basis, cells });
      return steps;
    } catch (reason) {
      this._setSteps({ path, steps: null, error: messageOf(reason), basis, cells });
      throw reason;
    }
  }

  private _setSteps(state: IStepsState): void {
    this._steps.set(state.path, state);
    this._stepsChanged.emit(state);
  }

  private _setRuns(state: IRunsState): void {
    this._runs.set(state.path, state);
    this._runsChanged.emit(state);
  }

  private _pollInterval: number;
  private _maxPollFailures: number;
  private _historyLimit: number;
  private _durationLookups = 10;
  private _steps = new Map<string, IStepsState>();
  private _pendingSteps = new Map<string, Promise<IStepsInfo>>();
  private _targets: Promise<readonly IExportTarget[]> | null = null;
  private _runs = new Map<string, IRunsState>();
  private _jobs = new Map<string, IJobRun>();
  private _fixes = new Map<string, IFixesState>();
  private _fixTickets = new Map<string, number>();
  private _fixesChanged = new Signal<this, IFixesState>(this);
  private _details = new Map<string, IRunDetail>();
  private _stepsChanged = new Signal<this, IStepsState>(this);
  private _runsChanged = new Signal<this, IRunsState>(this);
  private _jobChanged = new Signal<this, IJobRun>(this);
}
