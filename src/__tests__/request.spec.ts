/**
 * The request layer against a mocked ServerConnection: URLs, bodies, and readable errors.
 */
const makeRequest = jest.fn();

class ResponseError extends Error {
  constructor(
    public response: { status: number },
    message: string
  ) {
    super(message);
  }
}

class NetworkError extends Error {
  constructor(original: TypeError) {
    super(original.message);
  }
}

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://localhost:8888/base/' }),
    makeRequest: (...args: unknown[]) => makeRequest(...args) as unknown,
    ResponseError,
    NetworkError
  }
}));

jest.mock('@jupyterlab/coreutils', () => ({
  URLExt: {
    join: (...parts: string[]) =>
      parts.map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, ''))).join('/')
  }
}));

import { errorMessage, ReproAPI, requestAPI } from '../request';

function answer(status: number, body: string) {
  return Promise.resolve({
    ok: status >= 200 && status < 300,
    status,
    text: () => Promise.resolve(body)
  });
}

beforeEach(() => makeRequest.mockReset());

describe('requestAPI', () => {
  it('parses JSON answers', async () => {
    makeRequest.mockReturnValue(answer(200, '{"name": "jupyter-repro"}'));
    await expect(requestAPI('version')).resolves.toEqual({ name: 'jupyter-repro' });
    expect((makeRequest.mock.calls as unknown[][])[0][0]).toBe(
      'http://localhost:8888/base/jupyter-repro/api/version'
    );
  });

  it('turns a JSON error into its message', async () => {
    makeRequest.mockReturnValue(
      answer(
        404,
        '{"error": "PathError", "message": "x.ipynb: no such file under the server root"}'
      )
    );
    await expect(requestAPI('steps?path=x.ipynb')).rejects.toThrow(
      'x.ipynb: no such file under the server root'
    );
  });

  it('never shows an HTML error page as the message', async () => {
    makeRequest.mockReturnValue(answer(500, '<html><body>Internal error</body></html>'));
    await expect(requestAPI('runs')).rejects.toThrow('the server answered with HTTP 500');
  });

  it('reports network failures as network errors', async () => {
    makeRequest.mockReturnValue(Promise.reject(new TypeError('Failed to fetch')));
    await expect(requestAPI('version')).rejects.toBeInstanceOf(NetworkError);
  });
});

describe('errorMessage', () => {
  it('prefers the message, then short text', () => {
    expect(errorMessage({ message: 'm' }, '', 400)).toBe('m');
    expect(errorMessage({ message: '' }, 'plain text', 400)).toBe('plain text');
    expect(errorMessage(null, 'x'.repeat(400), 400)).toHaveLength(301);
    expect(errorMessage(null, '', 502)).toBe('the server answered with HTTP 502');
  });
});

describe('ReproAPI', () => {
  const api = new ReproAPI();

  it('sends each route its method, URL and JSON body', async () => {
    makeRequest.mockImplementation(() => answer(200, '{}'));
    await api.steps('dir/my nb.ipynb');
    await api.startRun({ path: 'nb.ipynb', kind: 'verify', parameters: { n: 1 }, no_cache: false });
    await api.job('abc');
    await api.runs('nb.ipynb', 20);
    await api.run('r 1', 'nb.ipynb');
    await api.snapshot('k1');
    await api.exportTargets();
    await api.exportJob({
      path: 'nb.ipynb',
      target: 'airflow',
      schedule: '@daily',
      parameters: {}
    });

    const calls = makeRequest.mock.calls.map(([url, init]: [string, RequestInit]) => [
      url.replace('http://localhost:8888/base/jupyter-repro/api/', ''),
      init.method ?? 'GET',
      init.body ?? null
    ]);
    expect(calls).toEqual([
      ['steps?path=dir%2Fmy%20nb.ipynb', 'GET', null],
      ['runs', 'POST', '{"path":"nb.ipynb","kind":"verify","parameters":{"n":1},"no_cache":false}'],
      ['jobs/abc', 'GET', null],
      ['runs?path=nb.ipynb&limit=20', 'GET', null],
      ['runs/r%201?path=nb.ipynb', 'GET', null],
      ['snapshot', 'POST', '{"kernel_id":"k1"}'],
      ['export/targets', 'GET', null],
      [
        'export',
        'POST',
        '{"path":"nb.ipynb","target":"airflow","schedule":"@daily","parameters":{}}'
      ]
    ]);
  });

  it('lists fixes and asks for a fix of the open notebook, checking the answers', async () => {
    makeRequest.mockImplementation(() =>
      answer(200, '{"notebook": "nb.ipynb", "run_id": "r1", "verdict": "diverged", "fixes": []}')
    );
    await expect(api.fixes('dir/nb.ipynb')).resolves.toEqual({
      notebook: 'nb.ipynb',
      run_id: 'r1',
      verdict: 'diverged',
      fixes: []
    });
    makeRequest.mockImplementation(() =>
      answer(200, '{"notebook": "nb.ipynb", "applied": [], "backup": null, "edits": []}')
    );
    await expect(
      api.applyFix({ path: 'nb.ipynb', id: 'seed-outputs', target: 'model' })
    ).resolves.toEqual({ notebook: 'nb.ipynb', applied: [], backup: null, edits: [], files: [] });
    const calls = makeRequest.mock.calls.map(([url, init]: [string, RequestInit]) => [
      url.replace('http://localhost:8888/base/jupyter-repro/api/', ''),
      init.method ?? 'GET',
      init.body ?? null
    ]);
    expect(calls).toEqual([
      ['fixes?path=dir%2Fnb.ipynb', 'GET', null],
      ['fixes', 'POST', '{"path":"nb.ipynb","id":"seed-outputs","target":"model"}']
    ]);
  });

  it('refuses a fix answer whose edits it does not know', async () => {
    makeRequest.mockImplementation(() =>
      answer(200, '{"notebook": "nb.ipynb", "applied": [], "edits": [{"op": "format_disk"}]}')
    );
    await expect(api.applyFix({ path: 'nb.ipynb', id: 'x', target: 'model' })).rejects.toThrow(
      "edits[0].op: this version of jupyter-repro cannot apply 'format_disk'"
    );
  });

  it('probes whether the report route exists', async () => {
    makeRequest.mockImplementation(() => answer(404, ''));
    await expect(api.reportAvailable('r1')).resolves.toBe(false);
    makeRequest.mockImplementation(() => answer(405, ''));
    await expect(api.reportAvailable('r1')).resolves.toBe(true);
    makeRequest.mockImplementation(() => answer(200, ''));
    await expect(api.reportAvailable('r1')).resolves.toBe(true);
    expect((makeRequest.mock.calls as [string, RequestInit][])[0][1].method).toBe('HEAD');
  });

  it('builds the report URL', () => {
    expect(api.reportUrl('r1', 'a b.ipynb')).toBe(
      'http://localhost:8888/base/jupyter-repro/api/runs/r1/report?path=a%20b.ipynb'
    );
  });
});
