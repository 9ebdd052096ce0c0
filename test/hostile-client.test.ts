// The provider client against a provider behind a compressing CDN (Content-Encoding it did not
// ask for, as axios's adapter decoded), a gzip bomb, and keep-alive sockets the server drops as
// they are reused (retried, not failed).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { createProviderClient } from '../src/providers/client.js';

const BODY = JSON.stringify({ ID: 'cw1', Title: 'Film', Year: '2001', Price: '10.5' });
const ENCODERS: Record<string, (b: Buffer) => Buffer> = { gzip: zlib.gzipSync, 'x-gzip': zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync };

async function serve(t: { after(fn: () => unknown): void }, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => (server.closeAllConnections(), server.close()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
}

const client = (baseUrl: string, retries = 0) => createProviderClient({ baseUrl, token: 'tok', tokenHeader: 'x-access-token', timeoutMs: 5000, retries, maxRetryDelayMs: 50, maxBodyBytes: 100_000, maxListBodyBytes: 100_000, concurrency: 1 });

test('answers compressed without being asked (gzip, x-gzip, deflate, br) are decoded; a gzip bomb past the cap is too large', async (t) => {
  const url = await serve(t, (req, res) => {
    const name = (req.url ?? '').split('/').pop() ?? '';
    const raw = name === 'bomb' ? Buffer.alloc(50_000_000, 32) : Buffer.from(BODY);
    const encoding = name === 'bomb' ? 'gzip' : name;
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(ENCODERS[encoding]?.(raw));
  });
  const c = client(url);
  t.after(() => c.close());
  const signal = new AbortController().signal;
  for (const name of Object.keys(ENCODERS)) {
    const r = await c.get(name, signal);
    assert.deepEqual(r, { ok: true, status: 200, body: BODY, json: JSON.parse(BODY) as unknown }, name);
  }
  const bomb = await c.get('bomb', signal);
  assert.equal(bomb.ok, false);
  assert.equal(!bomb.ok && bomb.cause, 'too-large');
});

test('a keep-alive socket the server drops as it is reused: the request is retried on a new one and succeeds', async (t) => {
  const answered = new WeakSet<object>();
  const url = await serve(t, (req, res) => {
    if (answered.has(req.socket)) return void req.socket.destroy(); // the second request on a socket
    answered.add(req.socket);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) }).end(BODY);
  });
  const c = client(url, 2);
  t.after(() => c.close());
  for (let i = 0; i < 6; i++) assert.equal((await c.get(`m${i}`, new AbortController().signal)).ok, true, `request ${i}`);
  assert.ok(c.stats.retries >= 1, 'the dropped sockets were retried');
});
