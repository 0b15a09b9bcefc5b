import { ReproModel, IJobRun } from '../model';
import {
  IEnvironment,
  IExportRequest,
  IExportTargetList,
  IJob,
  IJobCreated,
  IReproAPI,
  IRunDetail,
  IRunList,
  IRunRequest,
  IRunResult,
  IStepsInfo
} from '../core/api';
import { IFixList, IFixOutcome, IFixRequest } from '../core/fixes';

const RESULT: IRunResult = {
  run_id: 'r1',
  kind: 'verify',
  notebook: 'nb.ipynb',
  status: 'ok',
  verdict: 'diverged',
  seed: 42,
  parameters: {},
  environment_hash: 'h',
  steps: [
    {
      name: 'load',
      status: 'cached',
      cache_key: 'k',
      duration_s: 0,
      reads: [],
      writes: [],
      cells: [1]
    },
    {
      name: 'report',
      status: 'executed',
      cache_key: 'k2',
      duration_s: 1,
      reads: [],
      writes: [],
      cells: [2, 3]
    }
  ],
  cells: [
    { index: 1, step: 'load', status: 'match', diff: null },
    { index: 3, step: 'report', status: 'differ', diff: '-a\n+b' }
  ],
  causes: [{ kind: 'code', step: 'report', detail: 'code changed' }],
  executed_notebook: '/x/executed.ipynb'
};

/** A fake server: jobs advance one state per poll. */
class FakeAPI implements IReproAPI {
  calls: string[] = [];
  jobStates: IJob[] = [
    { state: 'running', progress: { steps: [{ name: 'load', status: 'cached' }] }, result: null },
    { state: 'done', progress: { steps: [] }, result: RESULT }
  ];
  snapshotAnswer: Promise<IEnvironment> = Promise.resolve({
    python_version: '3.11.7',
    packages: { pandas: '2.1.0' }
  });
  startAnswer: Promise<IJobCreated> = Promise.resolve({ job_id: 'j1' });
  failPolls = 0;
  runRequests: IRunRequest[] = [];

  version() {
    return Promise.resolve({ name: 'jupyter-repro', version: '0.1.0' });
  }
  steps(path: string): Promise<IStepsInfo> {
    this.calls.push(`steps ${path}`);
    if (path === 'bad.ipynb') {
      return Promise.reject(new Error('bad.ipynb: cell 3: cycle'));
    }
    return Promise.resolve({ notebook: path, steps: [], parameters: {}, setup_cells: [] });
  }
  startRun(request: IRunRequest) {
    this.runRequests.push(request);
    this.calls.push(`start ${request.kind} ${request.path}`);
    return this.startAnswer;
  }
  job(jobId: string): Promise<IJob> {
    this.calls.push(`job ${jobId}`);
    if (this.failPolls > 0) {
      this.failPolls -= 1;
      return Promise.reject(new Error('network down'));
    }
    const next = this.jobStates.length > 1 ? this.jobStates.shift() : this.jobStates[0];
    return next === undefined ? Promise.reject(new Error('no job')) : Promise.resolve(next);
  }
  runs(path: string, limit?: number): Promise<IRunList> {
    this.calls.push(`runs ${path} ${limit}`);
    return Promise.resolve({
      runs: [
        {
          run_id: 'r1',
          kind: 'verify',
          notebook: path,
          started_at: '',
          status: 'ok',
          verdict: 'diverged'
        }
      ]
    });
  }
  run(runId: string): Promise<IRunDetail> {
    this.calls.push(`run ${runId}`);
    return Promise.resolve({
      ...RESULT,
      started_at: '2026-11-22T07:49:52+00:00',
      finished_at: '2026-11-22T07:50:00+00:00',
      environment: { python_version: '3.11.7', packages: { pandas: '2.2.0' } }
    });
  }
  snapshot(kernelId: string) {
    this.calls.push(`snapshot ${kernelId}`);
    return this.snapshotAnswer;
  }
  exportTargets() {
    this.calls.push('export targets');
    return this.targetsAnswer();
  }
  targetsAnswer = (): Promise<IExportTargetList> =>
    Promise.resolve({
      targets: [
        { name: 'airflow', description: 'an Airflow DAG', default_schedule: '@daily' },
        { name: 'script', description: 'a standalone executable', default_schedule: null }
      ]
    });
  exportJob(request: IExportRequest) {
    this.calls.push(`export ${request.target}`);
    return Promise.resolve({ files: ['nb-airflow/nb_dag.py'] });
  }
  reportUrl(runId: string) {
    return `/report/${runId}`;
  }
  reportAvailable(runId: string) {
    this.calls.push(`report? ${runId}`);
    return Promise.resolve(this.hasReports);
  }
  hasReports = true;
  /** The answers of `GET fixes`, in the order they arrive (each resolved by the test). */
  fixAnswers: ((list: IFixList) => void)[] = [];
  failFixes: string | null = null;
  fixes(path: string): Promise<IFixList> {
    this.calls.push(`fixes ${path}`);
    if (this.failFixes !== null) {
      return Promise.reject(new Error(this.failFixes));
    }
    return new Promise(resolve => this.fixAnswers.push(resolve));
  }
  fixRequests: IFixRequest[] = [];
  applyFix(request: IFixRequest): Promise<IFixOutcome> {
    this.fixRequests.push(request);
    return Promise.resolve({
      notebook: request.path,
      applied: [],
      backup: null,
      edits: [],
      files: []
    });
  }
}

function fixList(runId: string): IFixList {
  return { notebook: 'nb.ipynb', run_id: runId, verdict: 'diverged', fixes: [] };
}

function model(api: FakeAPI, maxPollFailures = 3) {
  return new ReproModel(api, { pollInterval: 0, maxPollFailures, historyLimit: 7 });
}

describe('ReproModel.verify', () => {
  it('starts a verify job, follows its progress and keeps its result', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const seen: string[] = [];
    m.jobChanged.connect((_, job) => seen.push(job.state));
    const job = await m.verify({ path: 'nb.ipynb', cellIds: ['a', 'b', 'c', 'd'], kernelId: 'k1' });

    expect(job.state).toBe('done');
    expect(job.result?.verdict).toBe('diverged');
    expect(seen).toEqual(['queued', 'running', 'done']);
    expect(api.runRequests).toEqual([
      { path: 'nb.ipynb', kind: 'verify', parameters: {}, no_cache: false }
    ]);
    expect(m.lastJob('nb.ipynb')).toBe(job);
    expect(m.isBusy('nb.ipynb')).toBe(false);
    // the live kernel's environment is compared with the headless run's
    expect(api.calls).toContain('snapshot k1');
    expect(job.environmentDifferences).toEqual([
      { what: 'pandas', live: '2.1.0', headless: '2.2.0' }
    ]);
  });

  it('refreshes the run history after a job', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const histories: (string | null | undefined)[] = [];
    m.runsChanged.connect((_, state) => histories.push(state.runs[0].finished_at));
    await m.verify({ path: 'nb.ipynb' });
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(api.calls).toContain('runs nb.ipynb 7');
    // the list has no end times: they come from the run details, for the duration column
    expect(histories).toEqual([undefined, '2026-11-22T07:50:00+00:00']);
    expect(m.runs('nb.ipynb')?.runs[0].run_id).toBe('r1');
  });

  it('keeps going without a kernel, or when the snapshot fails', async () => {
    const api = new FakeAPI();
    api.snapshotAnswer = Promise.reject(new Error('kernel busy'));
    const job = await model(api).verify({ path: 'nb.ipynb', kernelId: 'k1' });
    expect(job.state).toBe('done');
    expect(job.liveEnvironmentError).toBe('kernel busy');
    expect(job.environmentDifferences).toBeNull();

    const api2 = new FakeAPI();
    const job2 = await model(api2).verify({ path: 'nb.ipynb' });
    expect(api2.calls.some(c => c.startsWith('snapshot'))).toBe(false);
    expect(job2.liveEnvironment).toBeNull();
  });

  it('links the HTML report only when the server serves it', async () => {
    const api = new FakeAPI();
    expect((await model(api).verify({ path: 'nb.ipynb' })).reportUrl).toBe('/report/r1');
    const api2 = new FakeAPI();
    api2.hasReports = false;
    expect((await model(api2).verify({ path: 'nb.ipynb' })).reportUrl).toBeNull();
  });

  it('reports a job that ends in error with its message', async () => {
    const api = new FakeAPI();
    api.jobStates = [{ state: 'error', progress: null, result: null, error: 'Traceback: boom' }];
    const job = await model(api).verify({ path: 'nb.ipynb' });
    expect(job.state).toBe('error');
    expect(job.error).toBe('Traceback: boom');
  });

  it('rejects when the job cannot start, and records why', async () => {
    const api = new FakeAPI();
    api.startAnswer = Promise.reject(new Error('nb.ipynb: no such file'));
    const m = model(api);
    await expect(m.verify({ path: 'nb.ipynb' })).rejects.toThrow('no such file');
    expect(m.lastJob('nb.ipynb')?.state).toBe('error');
    expect(m.lastJob('nb.ipynb')?.error).toBe('nb.ipynb: no such file');
  });

  it('tolerates a few failed polls, then gives up', async () => {
    const api = new FakeAPI();
    api.failPolls = 2;
    expect((await model(api, 3).verify({ path: 'nb.ipynb' })).state).toBe('done');

    const api2 = new FakeAPI();
    api2.failPolls = 10;
    const job = await model(api2, 3).verify({ path: 'nb.ipynb' });
    expect(job.state).toBe('error');
    expect(job.error).toMatch(/lost track of the job: network down/);
  });
});

describe('ReproModel.resultsForCell', () => {
  const job = { result: RESULT, cellIds: ['c0', 'c1', 'c2', 'c3'] } as unknown as IJobRun;

  it('maps cells by their index when the job started', () => {
    expect(ReproModel.resultsForCell(job, 'c1')).toEqual({
      cell: RESULT.cells[0],
      step: RESULT.steps[0]
    });
    expect(ReproModel.resultsForCell(job, 'c3').cell?.status).toBe('differ');
  });

  it('uses the step for cells without a comparison', () => {
    expect(ReproModel.resultsForCell(job, 'c2')).toEqual({
      cell: undefined,
      step: RESULT.steps[1]
    });
  });

  it('knows nothing about cells added later', () => {
    expect(ReproModel.resultsForCell(job, 'new')).toEqual({});
  });
});

describe('ReproModel steps and runs', () => {
  it('keeps the analysis, and the error when it fails', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const states: (string | null)[] = [];
    m.stepsChanged.connect((_, s) => states.push(s.error));
    await m.refreshSteps('nb.ipynb');
    expect(m.steps('nb.ipynb')?.steps?.notebook).toBe('nb.ipynb');
    await expect(m.refreshSteps('bad.ipynb')).rejects.toThrow('cycle');
    expect(m.steps('bad.ipynb')).toEqual({
      path: 'bad.ipynb',
      steps: null,
      error: 'bad.ipynb: cell 3: cycle',
      basis: null,
      cells: null
    });
    expect(states).toEqual([null, 'bad.ipynb: cell 3: cycle']);
  });

  it('keeps the basis the analysis describes, and asks once for the same path and basis', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const [a, b] = await Promise.all([
      m.refreshSteps('nb.ipynb', 'basis-1'),
      m.refreshSteps('nb.ipynb', 'basis-1')
    ]);
    expect(a).toBe(b);
    expect(api.calls.filter(c => c === 'steps nb.ipynb')).toHaveLength(1);
    expect(m.steps('nb.ipynb')?.basis).toBe('basis-1');
    await m.refreshSteps('nb.ipynb', 'basis-2');
    expect(api.calls.filter(c => c === 'steps nb.ipynb')).toHaveLength(2);
    expect(m.steps('nb.ipynb')?.basis).toBe('basis-2');
  });

  it('keeps the saved cells the analysis describes, and asks again when they differ', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const saved = [{ id: 'a', source: 'x = 1' }];
    await m.refreshSteps('nb.ipynb', 'basis-1', saved);
    expect(m.steps('nb.ipynb')?.cells).toEqual(saved);
    // the same tags, sources saved twice in a row: two saved notebooks, two answers
    const edited = [{ id: 'a', source: 'x = 2' }];
    await Promise.all([
      m.refreshSteps('nb.ipynb', 'basis-1', saved),
      m.refreshSteps('nb.ipynb', 'basis-1', edited)
    ]);
    expect(api.calls.filter(c => c === 'steps nb.ipynb')).toHaveLength(3);
    expect(m.steps('nb.ipynb')?.cells).toEqual(edited);
  });

  it('asks the server for its export targets once, and again after a failure', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const answer = api.targetsAnswer;
    api.targetsAnswer = () => Promise.reject(new Error('no route'));
    await expect(m.exportTargets()).rejects.toThrow('no route');
    api.targetsAnswer = answer;
    expect((await m.exportTargets()).map(t => t.name)).toEqual(['airflow', 'script']);
    await m.exportTargets();
    expect(api.calls.filter(c => c === 'export targets')).toHaveLength(2);
  });

  it('caches run details', async () => {
    const api = new FakeAPI();
    const m = model(api);
    await m.runDetail('r1', 'nb.ipynb');
    await m.runDetail('r1', 'nb.ipynb');
    expect(api.calls.filter(c => c === 'run r1')).toHaveLength(1);
  });

  it('exports through the API', async () => {
    const api = new FakeAPI();
    const answer = await model(api).exportJob({
      path: 'nb.ipynb',
      target: 'airflow',
      schedule: '@daily',
      parameters: {}
    });
    expect(answer.files).toEqual(['nb-airflow/nb_dag.py']);
  });
});

describe('ReproModel fixes', () => {
  const saved = [{ id: 'a', source: 'print(random.random())' }];

  it('keeps the fixes with the saved cells they were computed from', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const seen: (string | null)[] = [];
    m.fixesChanged.connect((_, state) => seen.push(state.list?.run_id ?? null));
    const request = m.refreshFixes('nb.ipynb', saved);
    api.fixAnswers[0](fixList('r1'));
    await expect(request).resolves.toEqual(fixList('r1'));
    expect(m.fixes('nb.ipynb')).toEqual({
      path: 'nb.ipynb',
      list: fixList('r1'),
      error: null,
      cells: saved,
      applied: new Set()
    });
    expect(seen).toEqual(['r1']);
  });

  it('keeps only the answer to the latest request (a late one describes an older file)', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const older = m.refreshFixes('nb.ipynb', saved);
    const newer = m.refreshFixes('nb.ipynb', null);
    api.fixAnswers[1](fixList('r2'));
    await newer;
    api.fixAnswers[0](fixList('r1'));
    await expect(older).resolves.toEqual(fixList('r2'));
    expect(m.fixes('nb.ipynb')?.list?.run_id).toBe('r2');
    expect(m.fixes('nb.ipynb')?.cells).toBeNull();
  });

  it('keeps the error when the server cannot list fixes', async () => {
    const api = new FakeAPI();
    api.failFixes = 'the server answered with HTTP 404';
    const m = model(api);
    await expect(m.refreshFixes('nb.ipynb', saved)).resolves.toBeNull();
    expect(m.fixes('nb.ipynb')?.error).toBe('the server answered with HTTP 404');
  });

  it('marks an applied fix until it is undone or the list fetched again', async () => {
    const api = new FakeAPI();
    const m = model(api);
    const first = m.refreshFixes('nb.ipynb', saved);
    api.fixAnswers[0](fixList('r1'));
    await first;
    m.setFixApplied('nb.ipynb', 'seed-outputs', true);
    expect([...(m.fixes('nb.ipynb')?.applied ?? [])]).toEqual(['seed-outputs']);
    m.setFixApplied('nb.ipynb', 'seed-outputs', false);
    expect(m.fixes('nb.ipynb')?.applied.size).toBe(0);
    m.setFixApplied('nb.ipynb', 'seed-outputs', true);
    const second = m.refreshFixes('nb.ipynb', saved);
    api.fixAnswers[1](fixList('r2'));
    await second;
    expect(m.fixes('nb.ipynb')?.applied.size).toBe(0);
  });

  it('asks the server for the edits of the open notebook', async () => {
    const api = new FakeAPI();
    await model(api).requestFix({ path: 'nb.ipynb', id: 'seed-outputs', target: 'model' });
    expect(api.fixRequests).toEqual([{ path: 'nb.ipynb', id: 'seed-outputs', target: 'model' }]);
  });
});
