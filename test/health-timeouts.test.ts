// Issue 19, item 11: the daemon's port closes connections that send nothing (health.headersTimeoutMs),
// idle keep-alive connections (health.idleTimeoutMs), and refuses connections beyond
// health.maxConnections; it answers normally again once they are gone.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { startMockProvider } from '../src/mock/server.js';
import { isMessage, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

/** Resolves with how long the server took to close the connection, or null if it was still open after waitMs. */
async function closedWithin(socket: net.Socket, waitMs: number): Promise<number | null> {
  if (socket.closed) return 0;
  const started = Date.now();
  const closed = once(socket, 'close').then(() => Date.now() - started);
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs));
  return Promise.race([closed, timeout]);
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

test('the daemon port: silent and idle connections are closed, and connections are capped', { timeout: 60_000 }, async (t) => {
  const mock = await startMockProvider({ port: 0 });
  t.after(() => mock.close());
  const daemon = await startDaemon(t, mock, tempDir(t), {
    SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'never', HEALTH_HEADERS_TIMEOUT_MS: '1000', HEALTH_IDLE_TIMEOUT_MS: '1000', HEALTH_MAX_CONNECTIONS: '3',
  });
  await daemon.waitFor(isMessage(/^daemon started/));
  const port = daemon.healthPort;

  const silent = await connect(port);
  const partial = await connect(port);
  partial.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // headers never finished (slowloris)
  // The cap: a fourth connection is closed at once while three are open.
  const third = await connect(port);
  const fourth = await connect(port);
  assert.notEqual(await closedWithin(fourth, 1000), null, 'a connection beyond health.maxConnections is closed at once');
  for (const [name, s] of Object.entries({ silent, partial, third })) assert.notEqual(await closedWithin(s, 4000), null, `${name}: a connection that sends no whole request is closed after health.headersTimeoutMs`);

  // A keep-alive connection left idle after an answer is closed after health.idleTimeoutMs.
  const idle = await connect(port);
  idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await once(idle, 'data');
  assert.notEqual(await closedWithin(idle, 3000), null, 'an idle keep-alive connection is closed');

  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(await daemon.stop(), 0);
});

test('an answer that takes longer to compute than the port\'s timeouts is still sent (waiting on the report is not the client\'s silence)', { timeout: 60_000 }, async (t) => {
  const mock = await startMockProvider({});
  t.after(() => mock.close());
  // 200 ms of silence closes a connection; the first report (a child process loading DuckDB) takes longer.
  const d = await startDaemon(t, mock, tempDir(t), { SCHEDULE_CRON: '0 0 1 1 *', RUN_ON_START: 'always', HEALTH_HEADERS_TIMEOUT_MS: '200', HEALTH_IDLE_TIMEOUT_MS: '100' });
  await d.waitFor(isMessage(/^poll (complete|partial|failed):/));
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${d.healthPort}/api/report?since=30d`);
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.ok(Date.now() - started > 200, `the answer took ${Date.now() - started} ms: longer than the timeout, as meant`);
  assert.match(body, /"best_prices"/);
  // A connection that then says nothing is still closed.
  const silent = net.connect(d.healthPort, '127.0.0.1');
  await once(silent, 'connect');
  assert.notEqual(await closedWithin(silent, 5000), null);
  assert.equal(await d.stop(), 0);
});
