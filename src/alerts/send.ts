// One delivery attempt: a POST with node:http(s), bounded as a whole by alerts.timeoutMs (head
// and body), never following a redirect, reading at most alerts.maxResponseBytes of the answer.
// The outcome says whether to try again and when (Retry-After honoured, capped by the caller).
import http from 'node:http';
import https from 'node:https';
import type { OutgoingRequest } from './destinations.js';

export type Outcome =
  | { ok: true; status: number }
  | { ok: false; retry: boolean; status: number | null; error: string; retryAfterMs: number | null };

/** Statuses worth another attempt; other 4xx answers will not change by retrying. */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Retry-After in whole seconds or as an HTTP date, in ms from now; null when absent or unreadable
 * ("12.5" or "-5" are neither: Date.parse would read them as years). The caller caps it.
 */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  if (!/[a-z]{3}/i.test(value)) return null; // an HTTP date names its month
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function send(request: OutgoingRequest, limits: { timeoutMs: number; maxResponseBytes: number }, signal?: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(o);
    };
    const url = new URL(request.url);
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: 'POST', headers: { ...request.headers, 'content-length': String(request.body.length) }, agent: false });
    const timer = setTimeout(() => done({ ok: false, retry: true, status: null, error: `no answer within ${limits.timeoutMs} ms (alerts.timeoutMs)`, retryAfterMs: null }), limits.timeoutMs);
    const onAbort = () => done({ ok: false, retry: true, status: null, error: 'stopped', retryAfterMs: null });
    signal?.addEventListener('abort', onAbort);
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, retry: true, status: null, error: `${err.code ?? 'error'}: connection failed`, retryAfterMs: null }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const after = retryAfterMs(res.headers['retry-after']);
      let read = 0;
      const finish = () => {
        if (status >= 200 && status < 300) done({ ok: true, status });
        else if (status >= 300 && status < 400) done({ ok: false, retry: false, status, error: `HTTP ${status}: redirects are not followed; set the destination's URL to the final address`, retryAfterMs: null });
        else done({ ok: false, retry: TRANSIENT.has(status), status, error: `HTTP ${status}`, retryAfterMs: after });
      };
      // The answer's content is not used: read up to the cap (so a small answer ends cleanly), then stop.
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > limits.maxResponseBytes) finish();
      });
      res.on('end', finish);
      res.on('error', finish);
      res.on('aborted', finish);
    });
    req.end(request.body);
  });
}
