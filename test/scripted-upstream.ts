// A scriptable upstream on raw TCP, for answers node:http will not send: a 200 whose body is cut
// short after the headers (Content-Length not reached, chunked encoding stopped before the last
// chunk, or a body that runs until the connection closes), the cut made with a FIN or an RST.
// The script sees each request's path, its attempt number at that path and its headers.
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** How the body's end is marked: Content-Length, chunked encoding, or the connection closing. */
export type Framing = 'length' | 'chunked' | 'close';
/** How a cut closes the connection: FIN (socket.end) or RST (socket.resetAndDestroy). */
export type Ending = 'fin' | 'rst';

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body: string | Buffer;
  /** Default 'length'. */
  framing?: Framing;
  /** Send only the first half of the body, then close this way. */
  cut?: Ending;
}

export interface Request {
  path: string;
  /** 1 for the first request at this path, 2 for the next, ... */
  attempt: number;
  headers: Record<string, string>;
}

export interface Upstream {
  /** Base URL ending in /api/. */
  url: string;
  /** Attempts seen per path. */
  attempts: Map<string, number>;
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 302: 'Found', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export async function startUpstream(script: (req: Request) => Reply): Promise<Upstream> {
  const attempts = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the client may reset too
    let head = '';
    const onData = (data: Buffer) => {
      head += data.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [requestLine = '', ...lines] = head.slice(0, end).split('\r\n');
      const path = requestLine.split(' ')[1] ?? '';
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const attempt = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, attempt);
      answer(socket, script({ path, attempt, headers }));
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    attempts,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function answer(socket: net.Socket, reply: Reply): void {
  const status = reply.status ?? 200;
  const body = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
  const framing = reply.framing ?? 'length';
  const sent = reply.cut ? body.subarray(0, Math.floor(body.length / 2)) : body;
  const headers: Record<string, string> = { 'content-type': 'application/json', connection: 'close', ...reply.headers };
  if (framing === 'length') headers['content-length'] = String(body.length);
  if (framing === 'chunked') headers['transfer-encoding'] = 'chunked';
  const head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Status'}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  socket.write(head);
  if (framing === 'chunked') {
    if (sent.length > 0) socket.write(Buffer.concat([Buffer.from(`${sent.length.toString(16)}\r\n`), sent, Buffer.from('\r\n')]));
    if (!reply.cut) socket.write('0\r\n\r\n');
  } else {
    socket.write(sent);
  }
  if (reply.cut === 'rst') {
    // Give the client the headers and half the body first: an RST discards what it has not read yet.
    setTimeout(() => socket.resetAndDestroy(), 50);
  } else {
    socket.end(); // FIN after everything written
  }
}
