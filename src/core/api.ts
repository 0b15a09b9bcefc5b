/**
 * The typed shapes of the REST API (docs/rest-api.md) and of the CLI's `--json` documents they carry
 * (docs/cli.md, "JSON shapes"), and `IReproAPI`, one method per route. Pure: types only. Keys the
 * server may add later are optional here.
 */
import type { IFixList, IFixOutcome, IFixRequest } from './fixes';

/** Answer of `GET /jupyter-repro/api/version`. */
export interface IVersionInfo {
  name: string;
  version: string;
}

// --- steps ----------------------------------------------------------------------------------------

export interface IStepInput {
  name: string;
  /** The step that provides the variable, or `"parameters"`. */
  from: string;
}

export interface IStepInfo {
  name: string;
  cells: number[];
  after: string[];
  depends_on: string[];
  direct_depends_on?: string[];
  inputs: IStepInput[];
  outputs: string[];
  parameters: string[];
  no_cache?: boolean;
  imprecise?: string | null;
}

export interface IHiddenState {
  cell: number;
  name: string;
  defined_in: number | null;
  /** `later`, `skipped` or `undefined` (see docs/tags.md). */
  kind: string;
  step?: string | null;
  /** One sentence, worded by the server ("cell 4 reads 'df', which is defined only later, ..."). */
  description: string;
}

/**
 * Where one cell sits in the pipeline, as the server's tag grammar (tags.py) placed it: `role` is
 * `step`, `setup`, `parameters`, `injected-parameters`, `skip` or `text` (markdown and raw cells);
 * `step` is the step whose region the cell is in (`null` for setup, parameters and text cells).
 * `reads` and `defines` are the names the server's static analysis found in the cell (sorted; empty
 * for text cells; older servers do not send them): the out-of-order marks use them.
 */
export interface IPipelineCell {
  index: number;
  role: string;
  step: string | null;
  reads?: string[];
  defines?: string[];
}

/** `GET steps?path=NB`: the `steps --json` shape. */
export interface IStepsInfo {
  notebook: string;
  path?: string;
  steps: IStepInfo[];
  /** One entry per notebook cell, in order (older servers do not send it). */
  cells?: IPipelineCell[];
  parameters: Record<string, unknown>;
  setup_cells: number[];
  parameter_cells?: number[];
  skip_cells?: number[];
  ignore_output_cells?: number[];
  hidden_state?: IHiddenState[];
  notes?: string[];
}

// --- runs -----------------------------------------------------------------------------------------

export type Verdict = 'reproducible' | 'diverged' | 'failed';
export type StepStatus = 'executed' | 'cached' | 'failed' | 'skipped';
export type CellStatus = 'match' | 'differ' | 'error' | 'unverified' | 'ignored';
export type CauseKind =
  'code' | 'data' | 'environment' | 'nondeterminism' | 'hidden-state' | 'error';

export interface IFileHash {
  path: string;
  hash: string;
}

export interface IStepResult {
  name: string;
  /** A `StepStatus` (kept open: the server may add statuses). */
  status: string;
  cache_key: string;
  duration_s: number;
  reads: IFileHash[];
  writes: IFileHash[];
  cells?: number[];
  error?: string | null;
  reason?: string | null;
}

export interface ICellResult {
  index: number;
  step: string;
  /** A `CellStatus`. */
  status: string;
  diff: string | null;
  reason?: string | null;
}

/** One environment difference of an `environment` cause (`changes`). */
export interface ICauseChange {
  name: string;
  before: unknown;
  after: unknown;
}

/**
 * Why a cell (or the whole run) did not reproduce. `cell` is the notebook cell index (as
 * `cells[].index`), `null` for a cause of the whole run; `hint` is one line of what to do. Older
 * servers send neither (read them as `null`). The evidence keys that may follow are optional.
 */
export interface ICause {
  /** A `CauseKind`. */
  kind: string;
  step: string | null;
  cell?: number | null;
  detail: string;
  hint?: string | null;
  distribution?: string;
  installed?: string | null;
  module?: string;
  path?: string;
  urls?: string[];
  call?: string;
  formatting?: string;
  changes?: ICauseChange[];
}

/** The `run --json` / `verify --json` shape (a job's `result`). */
export interface IRunResult {
  run_id: string;
  kind: 'run' | 'verify';
  notebook: string;
  status: 'ok' | 'failed';
  verdict: Verdict | null;
  seed: number;
  parameters: Record<string, unknown>;
  environment_hash: string;
  steps: IStepResult[];
  cells: ICellResult[];
  causes: ICause[];
  /** Facts about the run that are not causes ("the notebook has no code cell to verify: ..."). */
  notes?: string[];
  executed_notebook: string;
  error?: string | null;
  runs?: number;
  report?: string | null;
}

/** The environment of a kernel (`jupyter repro env --json`, `POST snapshot`). */
export interface IEnvironment {
  environment_hash?: string;
  implementation?: string;
  python_version?: string;
  executable?: string;
  platform?: string;
  kernelspec?: Record<string, unknown> | null;
  packages?: Record<string, string>;
  kernel_id?: string;
}

/** `GET runs/{id}`: the `show --json` shape. */
export interface IRunDetail extends IRunResult {
  started_at?: string;
  finished_at?: string | null;
  notebook_hash?: string | null;
  git_commit?: string | null;
  git_dirty?: boolean | null;
  environment?: IEnvironment | null;
  path?: string | null;
}

/** One item of `GET runs?path=NB`: the `log --json` shape. */
export interface IRunSummary {
  run_id: string;
  kind: string;
  notebook: string;
  started_at: string;
  status: string;
  verdict: Verdict | null;
  finished_at?: string | null;
  duration_s?: number | null;
  path?: string | null;
}

export interface IRunList {
  runs: IRunSummary[];
}

// --- jobs -----------------------------------------------------------------------------------------

export type JobState = 'queued' | 'running' | 'done' | 'error';

export interface IJobProgress {
  steps?: { name: string; status: string }[];
  total?: number;
  finished?: number;
  current?: string | null;
}

export interface IJob {
  job_id?: string;
  state: JobState;
  progress: IJobProgress | null;
  result: IRunResult | null;
  error?: string | null;
}

export interface IRunRequest {
  path: string;
  kind: 'run' | 'verify';
  parameters: Record<string, string | number | boolean | null>;
  no_cache: boolean;
}

export interface IJobCreated {
  job_id: string;
  state?: JobState;
  created?: boolean;
}

// --- export ---------------------------------------------------------------------------------------

/** The name of an export target, as `GET export/targets` lists it (`airflow`, `cron`, a plug-in...). */
export type ExportTarget = string;

/** One export target of the server's registry (built-ins and installed plug-ins). */
export interface IExportTarget {
  name: ExportTarget;
  description: string;
  /** The schedule the target uses when none is given (`null`: the job runs on demand). */
  default_schedule: string | null;
}

/** `GET export/targets`. */
export interface IExportTargetList {
  targets: IExportTarget[];
}

export interface IExportRequest {
  path: string;
  target: ExportTarget;
  schedule: string | null;
  parameters: Record<string, string | number | boolean | null>;
  output_dir?: string;
}

export interface IExportResult {
  files: string[];
  output_dir?: string | null;
}

/**
 * The REST API of the server extension, one method per route. `ReproAPI` (request.ts) implements it
 * over HTTP; tests implement it with fakes.
 */
export interface IReproAPI {
  version(): Promise<IVersionInfo>;
  steps(path: string): Promise<IStepsInfo>;
  startRun(request: IRunRequest): Promise<IJobCreated>;
  job(jobId: string): Promise<IJob>;
  runs(path: string, limit?: number): Promise<IRunList>;
  run(runId: string, path?: string): Promise<IRunDetail>;
  snapshot(kernelId: string): Promise<IEnvironment>;
  exportTargets(): Promise<IExportTargetList>;
  exportJob(request: IExportRequest): Promise<IExportResult>;
  /** The fixes the server offers for the notebook's latest verify (`GET fixes`), checked. */
  fixes(path: string): Promise<IFixList>;
  /** Carry out a fix's side files and get its edits of the notebook (`POST fixes`), checked. */
  applyFix(request: IFixRequest): Promise<IFixOutcome>;
  /** The URL of a run's HTML report. */
  reportUrl(runId: string, path?: string): string;
  /** Whether the server serves that report (older servers have no report route). */
  reportAvailable(runId: string, path?: string): Promise<boolean>;
}
