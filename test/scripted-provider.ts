// A provider API whose every answer a test writes: per provider, the detail body of each ID
// (any text, served as UTF-8); the list is those IDs in order.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Scripted {
  /** The API base URL (PROVIDER_BASE_URL). */
  url: string;
  close(): Promise<void>;
}

export async function startScripted(token: string, catalogue: Record<string, Record<string, string>>): Promise<Scripted> {
  const server = http.createServer((req, res) => {
    if (req.headers['x-access-token'] !== token) return void res.writeHead(401).end('{"Message":"denied"}');
    const [, provider = '', kind, id] = /^\/api\/([^/]+)\/(movies|movie\/([^/?#]+))$/.exec(req.url ?? '') ?? [];
    const films = catalogue[provider];
    if (!films || !kind) return void res.writeHead(404).end('{"Message":"not found"}');
    if (kind === 'movies') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Movies: Object.keys(films).map((ID) => ({ ID })) }));
    const body = films[decodeURIComponent(id ?? '')];
    if (body === undefined) return void res.writeHead(404).end('{"Message":"not found"}');
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
