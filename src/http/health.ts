// GET /healthz: the daemon's state as JSON, `ok`, `degraded` (side work in trouble: 200) or
// `failing` (503: polls failed more than health.maxConsecutiveFailures times in a row, or a folder
// the collector must write is not writable), redacted like every answer.
import type http from 'node:http';
import { knownSecrets, redactText } from '../runtime/redact.js';
import type { S3Status } from '../s3/sink.js';

export interface HealthState {
  /** `missing`: listed films that are not in movies (failed or rejected); non-zero makes a poll partial. */
  lastPoll: { run: string; status: string; finishedAt: string; movies: number; missing: number } | null;
  nextRun: string | null;
  consecutiveFailures: number;
  polling: boolean;
  /** A fault no retry fixes (an unwritable store or log folder): failing until it is gone. */
  problem: string | null;
  /** Side work in trouble (compaction), by part: shown as degraded, never failing. */
  degraded: Record<string, string>;
  /** The S3 sink's progress, when s3.bucket is set. */
  s3?: S3Status;
}

export function healthRoute(state: () => HealthState, maxConsecutiveFailures: () => number) {
  return (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    const s = state();
    const healthy = s.problem === null && s.consecutiveFailures <= maxConsecutiveFailures();
    const status = !healthy ? 'failing' : Object.keys(s.degraded).length > 0 ? 'degraded' : 'ok';
    const body = redactText(JSON.stringify({ status, ...s }), knownSecrets());
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(body);
  };
}
