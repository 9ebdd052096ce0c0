// The daemon's HTTP port (health.port): GET /healthz (JSON; 503 once polls have failed more than
// health.maxConsecutiveFailures times in a row, or at once while a folder the collector must write
// is not writable), GET /metrics (Prometheus, prom-client), and the routes the daemon adds (the
// live report: see http/live-routes.ts). GET and HEAD only; every answer says nosniff.
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import client from 'prom-client';
import { ConfigError } from './errors.js';
import { knownSecrets, redactText } from './redact.js';
import type { Route } from './http/live-routes.js';
import type { PollSummary } from './poll.js';
import type { S3Status } from './s3/sink.js';

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

export class Metrics {
  readonly registry = new client.Registry();
  private readonly polls = new client.Counter({ name: 'collector_polls_total', help: 'Polls by status (complete, partial, failed).', labelNames: ['status'], registers: [this.registry] });
  private readonly fetched = new client.Counter({ name: 'collector_records_fetched_total', help: 'Detail answers received (HTTP 200), by provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly rejected = new client.Counter({ name: 'collector_records_rejected_total', help: 'Answers that failed validation, by provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly responses = new client.Counter({ name: 'collector_http_responses_total', help: 'HTTP attempts by provider and status (or error code).', labelNames: ['provider', 'status'], registers: [this.registry] });
  private readonly retries = new client.Counter({ name: 'collector_http_retries_total', help: 'HTTP retries, by provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly skipped = new client.Counter({ name: 'collector_ticks_skipped_total', help: 'Schedule ticks skipped because a poll was still running.', registers: [this.registry] });
  private readonly duration = new client.Histogram({ name: 'collector_poll_duration_seconds', help: 'Duration of polls.', buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600], registers: [this.registry] });
  private readonly compactedDays = new client.Counter({ name: 'collector_compacted_days_total', help: 'Closed days compacted into one file per table and provider.', registers: [this.registry] });
  private readonly compactionFailures = new client.Counter({ name: 'collector_compaction_failures_total', help: 'Compactions that failed (the day stays uncompacted and readable).', registers: [this.registry] });
  private readonly lastSuccess = new client.Gauge({ name: 'collector_last_success_timestamp_seconds', help: 'End of the last poll that committed data (complete or partial), as a Unix time.', registers: [this.registry] });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry }); // RSS, open fds, event loop lag
  }

  recordPoll(summary: PollSummary): void {
    this.polls.inc({ status: summary.status });
    this.duration.observe((summary.finishedAt.getTime() - summary.startedAt.getTime()) / 1000);
    if (summary.status !== 'failed') this.lastSuccess.set(summary.finishedAt.getTime() / 1000);
    for (const run of summary.runs) {
      this.fetched.inc({ provider: run.provider }, run.fetched);
      this.rejected.inc({ provider: run.provider }, run.rejected);
      this.retries.inc({ provider: run.provider }, run.retries);
      for (const [status, n] of Object.entries(JSON.parse(run.responses) as Record<string, number>)) {
        this.responses.inc({ provider: run.provider, status }, n);
      }
    }
  }

  /** A poll that threw (e.g. the store could not be written) has no summary. */
  recordFailedPoll(durationSeconds: number): void {
    this.polls.inc({ status: 'failed' });
    this.duration.observe(durationSeconds);
  }

  recordCompaction(days: number, error: string | null): void {
    this.compactedDays.inc(days);
    if (error !== null) this.compactionFailures.inc();
  }

  recordSkippedTick(): void {
    this.skipped.inc();
  }
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Limits of the port's connections (health.headersTimeoutMs, health.idleTimeoutMs, health.maxConnections). */
export interface ConnectionLimits {
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { headersTimeoutMs: 10_000, idleTimeoutMs: 5_000, maxConnections: 100 };

/** Longest request target answered (the report's query parameters are bounded well below this). */
const MAX_URL_LENGTH = 2048;

export async function startHealthServer(
  port: number, host: string, maxConsecutiveFailures: () => number, state: () => HealthState, metrics: Metrics, extra: Record<string, Route> = {}, limits: ConnectionLimits = DEFAULT_LIMITS,
): Promise<HealthServer> {
  const routes: Record<string, Route> = {
    ...extra,
    '/healthz': (_req, res) => {
      const s = state();
      const healthy = s.problem === null && s.consecutiveFailures <= maxConsecutiveFailures();
      const status = !healthy ? 'failing' : Object.keys(s.degraded).length > 0 ? 'degraded' : 'ok';
      const body = redactText(JSON.stringify({ status, ...s }), knownSecrets());
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(body);
    },
    '/metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
    },
  };
  // Explicit limits instead of Node's defaults (60 s for a request head, checked every 30 s; no cap):
  // a connection that sends nothing, or a head byte by byte, is closed after headersTimeoutMs; an idle
  // keep-alive one after idleTimeoutMs; beyond maxConnections a new connection is closed at once.
  const serverOptions: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: Math.max(limits.headersTimeoutMs, 30_000), // GET and HEAD only: a request is its head
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const server = http.createServer(serverOptions, (req, res) => {
    // Read-only routes; no response may be sniffed into another type.
    res.setHeader('x-content-type-options', 'nosniff');
    void (async () => {
      const target = req.url ?? '/';
      if (target.length > MAX_URL_LENGTH) {
        res.writeHead(414, { 'content-type': 'text/plain' }).end(`request target too long (at most ${MAX_URL_LENGTH} characters)\n`);
        return;
      }
      // The target is a path (origin-form): "//x" is a path here, not a host, and "//" no parse error.
      let url: URL;
      try {
        url = new URL(target.startsWith('/') ? `http://localhost${target}` : target, 'http://localhost');
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request: the request target is not a path\n');
        return;
      }
      const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${Object.keys(routes).join(', ')}\n`);
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end(`method ${req.method ?? ''} not allowed: only GET and HEAD\n`);
      } else {
        // Waiting for an answer to be computed (a year-long report takes seconds) is not the
        // client's inactivity: the socket's timeout is off until the route has written its answer.
        req.socket.setTimeout(0);
        try {
          await route(req, res, url);
        } finally {
          req.socket.setTimeout(server.timeout);
        }
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      else res.destroy();
    });
  });
  server.maxConnections = limits.maxConnections;
  // headersTimeout counts from a request's first byte: a connection that sends nothing at all is
  // closed by the socket's inactivity timeout (also a client that stops reading an answer).
  server.timeout = Math.max(limits.headersTimeoutMs, limits.idleTimeoutMs);
  try {
    await listen(server, port, host);
  } catch (err) {
    throw listenProblem(err, port, host);
  }
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function listen(server: net.Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
}

/** Errors of listen() that are the address's fault, not the port's: a name that does not resolve, an address not on this machine. */
const HOST_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

/** The setting to blame for a failed listen(), in one config-error line. */
function listenProblem(err: unknown, port: number, host: string): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  if (HOST_ERRORS.has(code)) {
    return new ConfigError([`health.host: cannot listen on "${host}" (${code}); expected an address of this machine or a name that resolves to one, such as 0.0.0.0, 127.0.0.1 or :: (HEALTH_HOST)`]);
  }
  return new ConfigError([`health.port: cannot listen on ${port} (${code}); expected a free port, or 0 to turn the endpoint off (HEALTH_PORT)`]);
}

/**
 * check-config's test of what start will do with health.*: the host is bound on a free port (so
 * it resolves and is local), then the port itself. A port in use is not an error here (a running
 * daemon holds it); it returns a note instead. Throws a ConfigError naming the setting at fault.
 */
export async function probeHealthAddress(port: number, host: string): Promise<string | null> {
  if (port === 0) return null; // the endpoint is off: start binds nothing
  for (const tryPort of [0, port]) {
    const server = net.createServer();
    try {
      await listen(server, tryPort, host);
    } catch (err) {
      if (tryPort !== 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        return `health.port: ${port} on ${host} is in use right now (by a running daemon?); start needs it free`;
      }
      throw listenProblem(err, port, host);
    }
    server.close();
    await once(server, 'close');
  }
  return null;
}
