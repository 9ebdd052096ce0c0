// The flaky provider simulator: the webjet API's two endpoints with seeded faults
// (5xx, hangs, malformed bodies), latency and price drift. Tests import it and start it on
// port 0; `movies-collector mock-provider` runs it as a process. GET /__mock/stats reports
// request counts and the most requests ever in flight at once.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalogue, MOCK_PROVIDERS, type MockProviderName } from './catalogue.js';
import { generator } from './random.js';
import { driftDetail, driftListEntry, type MockDrift } from './drift.js';

import { DEFAULT_MOCK_TOKEN } from './token.js';

export { DEFAULT_MOCK_TOKEN };
const TOKEN_HEADER = 'x-access-token';

export interface MockOptions {
  host?: string;
  port?: number;
  token?: string;
  /** Films per provider in a synthetic catalogue; undefined serves the 13 Star Wars films. */
  movies?: number;
  latencyMs?: number;
  /** Share of requests answered 500/503. */
  failRate?: number;
  /** Share of requests never answered. */
  hangRate?: number;
  /** Share of detail requests answered with truncated JSON or wrong types. */
  malformedRate?: number;
  seed?: number;
  /** Largest relative price move per generation (each successful list call starts one). */
  priceDrift?: number;
  /** Movie IDs whose detail calls always answer 503 (a deterministic partial poll). */
  failIds?: string[];
  /** Shape changes applied to every answer from now on (see drift.ts). */
  drift?: MockDrift[];
}

/** What can change while the simulator runs. */
export type MockFaults = Pick<MockOptions, 'latencyMs' | 'failRate' | 'hangRate' | 'malformedRate' | 'failIds' | 'drift'>;

export interface MockStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  hung: number;
  byStatus: Record<string, number>;
  /** Successful list calls per provider = the price generation details are served at. */
  generation: Record<string, number>;
}

export interface MockProvider {
  /** Base URL of the API, e.g. http://127.0.0.1:41234/api/ */
  url: string;
  port: number;
  token: string;
  catalogue: Catalogue;
  stats(): MockStats;
  /** Changes faults and latency from the next request on. */
  configure(faults: MockFaults): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DENIED = { Message: 'Authorization has been denied for this request.' };

export async function startMockProvider(initial: MockOptions = {}): Promise<MockProvider> {
  const options: MockOptions = { ...initial };
  const token = options.token ?? DEFAULT_MOCK_TOKEN;
  const seed = options.seed ?? 1;
  const catalogue = new Catalogue(seed, options.movies, options.priceDrift ?? 0);
  const faults = generator(seed ^ 0x5eed);
  const stats: MockStats = { requests: 0, inFlight: 0, maxInFlight: 0, hung: 0, byStatus: {}, generation: {} };
  for (const p of MOCK_PROVIDERS) stats.generation[p] = 0;

  const send = (res: http.ServerResponse, status: number, body: string | object) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    if (url.pathname === '/__mock/stats') return send(res, 200, stats);

    if (options.latencyMs) await sleep(options.latencyMs);
    const match = /^\/api\/([^/]+)\/(movies|movie\/([^/]+))$/.exec(url.pathname);
    const provider = match?.[1] as MockProviderName | undefined;
    if (!match || req.method !== 'GET' || !provider || !MOCK_PROVIDERS.includes(provider)) {
      return send(res, 404, { Message: 'No HTTP resource was found that matches the request URI.' });
    }
    if (req.headers[TOKEN_HEADER] !== token) return send(res, 401, DENIED);

    const roll = faults();
    const hangRate = options.hangRate ?? 0;
    const failRate = options.failRate ?? 0;
    if (roll < hangRate) {
      stats.hung++;
      await once(res, 'close'); // never answer; the client gives up
      return;
    }
    if (roll < hangRate + failRate) {
      return send(res, faults() < 0.5 ? 500 : 503, { Message: 'An error has occurred.' });
    }

    if (match[2] === 'movies') {
      const body = catalogue.listBody(provider);
      stats.generation[provider] = (stats.generation[provider] ?? 0) + 1;
      const drift = options.drift ?? [];
      return send(res, 200, drift.length === 0 ? body : { Movies: body.Movies.map((entry) => driftListEntry(entry, drift)) });
    }
    const id = decodeURIComponent(match[3] ?? '');
    if (options.failIds?.includes(id)) return send(res, 503, { Message: 'An error has occurred.' });
    const film = catalogue.find(provider, id);
    if (!film) return send(res, 404, { Message: `Movie ${id} not found.` });
    const plain = catalogue.detailBody(provider, film, stats.generation[provider] ?? 0);
    const body = options.drift?.length ? driftDetail(plain, options.drift, catalogue.filmsOf(provider).indexOf(film)) : plain;
    if (faults() < (options.malformedRate ?? 0)) {
      const text = JSON.stringify(body);
      // Half the malformed answers are cut short, half carry the wrong types.
      return faults() < 0.5
        ? send(res, 200, text.slice(0, Math.floor(text.length / 2)))
        : send(res, 200, { ...body, Title: 12345, Price: { amount: body.Price }, ID: null });
    }
    return send(res, 200, body);
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        stats.inFlight--;
      }
    };
    res.on('close', finish);
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { Message: String(err) });
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}/api/`,
    port,
    token,
    catalogue,
    stats: () => structuredClone(stats),
    configure: (faults) => void Object.assign(options, faults),
    async close() {
      server.closeAllConnections(); // hung requests included
      server.close();
      await once(server, 'close');
    },
  };
}
