// biome-ignore lint/suspicious/noExplicitAny: JSON replies in tests are checked by assertions, not types.
export type Json = any;

export interface JsonReply {
  status: number;
  headers: Headers;
  body: Json;
}

/** fetch + JSON in one call, for tests that talk to real sockets. */
export async function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<JsonReply> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await response.text();
  let parsed: Json = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
