/** Small HTTP helpers for API tests: JSON calls that return status and body, and polling. */

export interface HttpResult<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly contentType: string;
}

export async function httpJson<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    body: init.body,
    headers: init.headers,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} with non-JSON body: ${text}`);
  }
  return { status: res.status, body, contentType: res.headers.get('content-type') ?? '' };
}

/** Polls until `check` resolves truthy; fails with `what` after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
