// A webhook receiver on 127.0.0.1 for the alerts tests: records every request (headers, body)
// and answers as scripted, one behaviour per request, then 200.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = 'ok' | 'error500' | 'retry-after' | 'hang' | 'reset' | 'redirect' | 'huge' | 'not-found';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests the server has seen, answered or not. */
  script: Behaviour[];
  close(): Promise<void>;
}

/** What a receiver does to check the signature: HMAC-SHA256 of the raw body, compared in constant time. */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export async function startReceiver(t: { after(fn: () => unknown): void }, script: Behaviour[] = []): Promise<Receiver> {
  const received: Received[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const behaviour = script.shift() ?? 'ok';
      switch (behaviour) {
        case 'ok': res.writeHead(200).end('ok'); break;
        case 'error500': res.writeHead(500).end('down'); break;
        case 'retry-after': res.writeHead(429, { 'retry-after': '1' }).end('slow down'); break;
        case 'hang': break; // never answers
        case 'reset': req.socket.destroy(); break;
        case 'redirect': res.writeHead(302, { location: '/elsewhere' }).end(); break;
        case 'not-found': res.writeHead(404).end('no such hook'); break;
        case 'huge': {
          res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
          const block = Buffer.alloc(64 * 1024, 120);
          let sent = 0;
          const pump = () => {
            while (sent < 10 * 1024 * 1024) {
              sent += block.length;
              if (!res.write(block)) return void res.once('drain', pump);
            }
            res.end();
          };
          res.on('error', () => undefined);
          pump();
          break;
        }
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close').catch(() => undefined);
  };
  t.after(close);
  return { url: `http://127.0.0.1:${port}`, received, script, close };
}
