// A provider API whose answers a test scripts: per provider, the list of IDs and each detail
// body, served over real HTTP on 127.0.0.1 with the token check of the real API.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedProvider {
  /** Base URL, for PROVIDER_BASE_URL / api.baseUrl. */
  url: string;
  token: string;
  /** Replaces what a provider serves (the next poll sees it). */
  set(provider: string, films: Record<string, unknown>): void;
  close(): Promise<void>;
}

/**
 * `films` maps each provider to its catalogue: film ID → the detail body (an object is sent as
 * JSON, a string as it is). The list answer holds every ID of the catalogue.
 */
export async function startScriptedProvider(films: Record<string, Record<string, unknown>>, token = 'sp-token-7f3k9q2x'): Promise<ScriptedProvider> {
  const catalogues = new Map(Object.entries(films));
  const server = http.createServer((req, res) => {
    if (req.headers['x-access-token'] !== token) return void res.writeHead(401).end('{"Message":"Authorization has been denied for this request."}');
    const match = /^\/api\/([^/]+)\/(movies|movie\/([^/?#]+))$/.exec(req.url ?? '');
    const catalogue = match ? catalogues.get(match[1] ?? '') : undefined;
    if (!match || !catalogue) return void res.writeHead(404).end('{}');
    if (match[2] === 'movies') {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Movies: Object.keys(catalogue).map((ID) => ({ ID, Title: 'x' })) }));
    }
    const body = catalogue[decodeURIComponent(match[3] ?? '')];
    if (body === undefined) return void res.writeHead(404).end('{}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    token,
    set: (provider, catalogue) => catalogues.set(provider, catalogue),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A valid detail body of the real API's shape. */
export function film(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Title: `Film ${id}`, Year: '1999', Rated: 'PG', Released: '19 May 1999', Runtime: '136 min', Genre: 'Action, Sci-Fi',
    Director: 'Someone', Writer: 'A, B', Actors: 'C, D', Plot: 'A plot.', Language: 'English', Country: 'USA',
    Poster: 'https://example.invalid/p.jpg', Metascore: '51', Rating: '6.5', Votes: '1,234', ID: id, Type: 'movie', Price: '12.5',
    ...fields,
  };
}
