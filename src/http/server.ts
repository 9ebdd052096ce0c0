// The daemon's HTTP server (health.port): GET /healthz (health.ts), GET /metrics (metrics.ts), and
// the routes the daemon adds (the live report: live-routes.ts). GET and HEAD only; every answer
// says nosniff; connections bounded in time and number.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen, listenProblem } from './address.js';
import { healthRoute, type HealthState } from './health.js';
import type { Route } from './live-routes.js';
import type { Metrics } from './metrics.js';

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
    '/healthz': healthRoute(state, maxConsecutiveFailures),
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
