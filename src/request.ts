/**
 * The one way the frontend talks to the server extension: typed JSON requests under
 * `/jupyter-repro/api/`, with server errors turned into readable `Error`s, and `ReproAPI`, one typed
 * method per REST route.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IEnvironment,
  IExportRequest,
  IExportResult,
  IExportTargetList,
  IJob,
  IJobCreated,
  IReproAPI,
  IRunDetail,
  IRunList,
  IRunRequest,
  IStepsInfo,
  IVersionInfo
} from './core/api';
import { IFixList, IFixOutcome, IFixRequest, parseFixList, parseFixOutcome } from './core/fixes';

export const API_NAMESPACE = 'jupyter-repro/api';

/** The readable message of a server error answer: `{"message": ...}` or the text itself. */
export function errorMessage(data: unknown, text: string, status: number): string {
  if (typeof data === 'object' && data !== null && 'message' in data) {
    const message = data.message;
    if (typeof message === 'string' && message.length > 0) {
      return message;
    }
  }
  const trimmed = text.trim();
  if (trimmed.length > 0 && !trimmed.startsWith('<')) {
    return trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed;
  }
  return `the server answered with HTTP ${status}`;
}

export async function requestAPI<T>(endPoint = '', init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(
      error instanceof TypeError ? error : new TypeError(String(error))
    );
  }

  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, errorMessage(data, text, response.status));
  }
  return data as T;
}

function post(body: unknown): RequestInit {
  return {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** The REST API over HTTP. */
export class ReproAPI implements IReproAPI {
  version(): Promise<IVersionInfo> {
    return requestAPI<IVersionInfo>('version');
  }

  steps(path: string): Promise<IStepsInfo> {
    return requestAPI<IStepsInfo>(`steps${query({ path })}`);
  }

  startRun(request: IRunRequest): Promise<IJobCreated> {
    return requestAPI<IJobCreated>('runs', post(request));
  }

  job(jobId: string): Promise<IJob> {
    return requestAPI<IJob>(`jobs/${encodeURIComponent(jobId)}`);
  }

  runs(path: string, limit?: number): Promise<IRunList> {
    return requestAPI<IRunList>(`runs${query({ path, limit })}`);
  }

  run(runId: string, path?: string): Promise<IRunDetail> {
    return requestAPI<IRunDetail>(`runs/${encodeURIComponent(runId)}${query({ path })}`);
  }

  snapshot(kernelId: string): Promise<IEnvironment> {
    return requestAPI<IEnvironment>('snapshot', post({ kernel_id: kernelId }));
  }

  exportTargets(): Promise<IExportTargetList> {
    return requestAPI<IExportTargetList>('export/targets');
  }

  exportJob(request: IExportRequest): Promise<IExportResult> {
    return requestAPI<IExportResult>('export', post(request));
  }

  async fixes(path: string): Promise<IFixList> {
    return parseFixList(await requestAPI<unknown>(`fixes${query({ path })}`));
  }

  async applyFix(request: IFixRequest): Promise<IFixOutcome> {
    return parseFixOutcome(await requestAPI<unknown>('fixes', post(request)));
  }

  async reportAvailable(runId: string, path?: string): Promise<boolean> {
    const settings = ServerConnection.makeSettings();
    try {
      const response = await ServerConnection.makeRequest(
        this.reportUrl(runId, path),
        { method: 'HEAD' },
        settings
      );
      // 404: no such route (or report); 405: the route exists but answers GET only
      return response.ok || response.status === 405;
    } catch {
      return false;
    }
  }

  reportUrl(runId: string, path?: string): string {
    const settings = ServerConnection.makeSettings();
    return (
      URLExt.join(settings.baseUrl, API_NAMESPACE, 'runs', encodeURIComponent(runId), 'report') +
      query({ path })
    );
  }
}
