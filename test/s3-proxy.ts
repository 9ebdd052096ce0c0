// A fault proxy in front of an S3 server, for the S3 tests: each request is passed on, answered
// 500 or 503 SlowDown, cut off (the connection reset after part of its body was read, as a network
// drop mid-upload), or refused while "down" (an outage). A chooser picks per request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | '500' | '503' | 'reset' | 'down';

export interface FaultProxy {
  endpoint: string;
  /** Requests seen by fault. */
  counts: Record<Fault, number>;
  choose: (req: http.IncomingMessage) => Fault;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, choose: (req: http.IncomingMessage) => Fault = () => 'pass', delayMs = 0): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = { endpoint: '', counts: { pass: 0, '500': 0, '503': 0, reset: 0, down: 0 }, choose, close: async () => undefined };
  const server = http.createServer((req, res) => {
    if (delayMs > 0) setTimeout(() => handle(req, res), delayMs);
    else handle(req, res);
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const fault = proxy.choose(req);
    proxy.counts[fault]++;
    if (fault === 'down') {
      req.socket.destroy();
      return;
    }
    if (fault === '500' || fault === '503') {
      const code = fault === '503' ? 'SlowDown' : 'InternalError';
      req.resume();
      req.on('end', () => res.writeHead(Number(fault), { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`));
      return;
    }
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    if (fault === 'reset') {
      // Forward part of the body, then drop both sides: the server never sees a whole request.
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        out.write(chunk);
        if (seen > 1024) {
          out.destroy();
          req.socket.destroy();
        }
      });
      req.on('end', () => {
        out.destroy();
        req.socket.destroy();
      });
      return;
    }
    req.pipe(out);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
