// A hostile or broken provider for fault tests: one list whose IDs each trigger a behaviour
// (huge body, redirect to another origin, dripped bytes, invalid UTF-8, deep nesting, ...),
// and a second server standing for "another origin" that records whatever reaches it.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorder {
  url: string;
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const closer = (server: http.Server) => async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
};

/** "Another origin": records every request that reaches it. */
export async function startRecorder(): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const { server, url } = await listen((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  return { url, requests, close: closer(server) };
}

const detail = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ID: id, Title: `Film ${id}`, Year: '2001', Price: '10.5', ...extra });

export const HOSTILE_IDS = ['ok1', 'big', 'redirect', 'drip', 'badutf8', 'deep', '../../x', 'a?b', 'c#d', 'dup', 'dup', 'ok2'];

export async function startHostile(token: string, otherOrigin: string, listSize = 0): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const { server, url } = await listen((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    if (req.headers['x-access-token'] !== token) return void res.writeHead(401).end('{"Message":"denied"}');
    const path = req.url ?? '';
    if (path === '/api/empty/movies') return void res.writeHead(200).end('{"Movies":[]}');
    if (path === '/api/many/movies') {
      return void res.writeHead(200).end(JSON.stringify({ Movies: Array.from({ length: listSize }, (_, i) => ({ ID: `m${i}` })) }));
    }
    if (path.startsWith('/api/many/movie/')) return void res.writeHead(200).end(detail(decodeURIComponent(path.slice('/api/many/movie/'.length))));
    if (path === '/api/hostile/movies') return void res.writeHead(200).end(JSON.stringify({ Movies: HOSTILE_IDS.map((ID) => ({ ID })) }));
    const id = decodeURIComponent(/^\/api\/hostile\/movie\/([^/?#]+)$/.exec(path)?.[1] ?? '');
    switch (id) {
      case 'ok1':
      case 'ok2':
      case 'dup':
        return void res.writeHead(200).end(detail(id));
      case 'big': {
        // 100 MB, streamed; the client must stop reading at http.maxBodyBytes.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 100 && res.write(chunk)) sent++;
          if (sent >= 100) res.end();
          else res.once('drain', pump);
        };
        res.on('close', () => (sent = 100));
        return pump();
      }
      case 'redirect':
        return void res.writeHead(302, { location: `${otherOrigin}/steal` }).end();
      case 'drip': {
        // One byte every 200 ms: never idle long enough for a socket timeout.
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case 'badutf8':
        return void res.writeHead(200).end(Buffer.concat([Buffer.from(`{"ID":"badutf8","Price":"3","Title":"bad `), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]));
      case 'deep':
        return void res.writeHead(200).end(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
      default:
        return void res.writeHead(404).end('{"Message":"not found"}');
    }
  });
  return { url: `${url}/api/`, requests, close: closer(server) };
}
