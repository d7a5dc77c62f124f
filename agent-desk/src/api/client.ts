// The REST API: JSON in and out, the session cookie riding along. A failure becomes an
// `ApiFailure` carrying the broker's own sentence, which the pages show as it is.
import type { ApiErrorBody } from './rest';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Seconds to wait before trying again, when the broker says (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'network');
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = ((await response.json()) as ApiErrorBody).message || message;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    throw new ApiFailure(response.status, message, Number.isFinite(retryAfter) ? retryAfter : undefined);
  }
  return (await response.json()) as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
};
