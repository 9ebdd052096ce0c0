// Each provider's client is prepared once (origin, base path, token, headers) and serves all its
// requests, on the direct first attempt and on axios's retries alike: nothing of one provider's
// reaches the other's, and nothing of one request reaches another's, while many run at once and
// their answers arrive interleaved.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createProviderClient, type FetchOutcome } from '../src/providers/client.js';

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** A provider that answers each path with its own name and the path, in two writes a few ms apart (so that answers arrive interleaved); `…-retry` paths fail (503) on their first attempt. */
async function provider(t: { after(fn: () => unknown): void }, name: string): Promise<{ host: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const attempts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    seen.push({ path, headers: req.headers });
    const attempt = (attempts.get(path) ?? 0) + 1;
    attempts.set(path, attempt);
    if (path.endsWith('-retry') && attempt === 1) return void res.writeHead(503, { 'retry-after': '0' }).end('{}');
    const body = JSON.stringify({ provider: name, path, pad: `${name}:${path}:`.repeat(200) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.write(body.slice(0, 1000));
    setTimeout(() => res.end(body.slice(1000)), 5);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const settings = { tokenHeader: 'x-access-token', timeoutMs: 5000, retries: 2, maxRetryDelayMs: 50, maxBodyBytes: 1 << 20, maxListBodyBytes: 1 << 20, concurrency: 4 };
const FILMS = 60;
const path = (i: number) => `m/${i}${i % 3 === 0 ? '-retry' : ''}`;

test('two providers\' clients, many requests at once: each request carries its own provider\'s token, login and base path, and gets its own answer', async (t) => {
  const a = await provider(t, 'a');
  const b = await provider(t, 'b');
  const clientA = createProviderClient({ ...settings, baseUrl: `http://${a.host}/a-api`, token: 'tokA-7f3e9c1d2b' });
  const clientB = createProviderClient({ ...settings, baseUrl: `http://user-b:pw-b@${b.host}/b-api/`, token: 'tokB-0a8d6e4f5c' });
  t.after(() => (clientA.close(), clientB.close()));
  const signal = new AbortController().signal;

  // Interleaved: a's and b's calls alternate, far more of them than either client's HTTP slots.
  const calls: Array<Promise<[string, number, FetchOutcome]>> = [];
  for (let i = 0; i < FILMS; i++) {
    for (const [name, client] of [['a', clientA], ['b', clientB]] as const) calls.push(client.get(path(i), signal).then((outcome) => [name, i, outcome]));
  }
  for (const [name, i, outcome] of await Promise.all(calls)) {
    assert.ok(outcome.ok, `${name} ${path(i)}: ${JSON.stringify(outcome)}`);
    const body = JSON.parse(outcome.body) as { provider: string; path: string };
    assert.deepEqual({ provider: body.provider, path: body.path }, { provider: name, path: `/${name}-api/${path(i)}` }, 'the answer of this request, from this provider');
  }

  const expected = {
    a: { host: a.host, token: 'tokA-7f3e9c1d2b', authorization: undefined },
    b: { host: b.host, token: 'tokB-0a8d6e4f5c', authorization: `Basic ${Buffer.from('user-b:pw-b').toString('base64')}` },
  };
  for (const [name, { seen }] of [['a', a], ['b', b]] as const) {
    assert.equal(seen.length, FILMS + FILMS / 3, `${name}: one request per film, and one retry per failed first attempt`);
    const names = new Set(seen.map((s) => Object.keys(s.headers).sort().join(',')));
    assert.equal(names.size, 1, `${name}: every request, first attempt or retry, carries the same header names: ${[...names].join(' | ')}`);
    for (const { path: p, headers } of seen) {
      assert.ok(p.startsWith(`/${name}-api/m/`), `${name} got ${p}`);
      assert.deepEqual(
        { host: headers.host, token: headers['x-access-token'], authorization: headers.authorization, accept: headers.accept, agent: headers['user-agent'] },
        { ...expected[name], accept: 'application/json', agent: 'movies-collector' },
        `${name} ${p}`,
      );
    }
  }
  assert.equal(clientA.stats.retries, FILMS / 3);
  assert.equal(clientB.stats.retries, FILMS / 3);
  assert.deepEqual(clientA.stats.responses, { 200: FILMS, 503: FILMS / 3 });
});
