// The provider source over real HTTP (the real client against a scripted upstream): films are
// taken by a bounded pool of workers, and `onDetail` receives each detail as it arrives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import winston from 'winston';
import { createProviderClient, type ProviderClient } from '../src/providers/client.js';
import { harvestProvider, PENDING_PER_SLOT } from '../src/providers/source.js';
import type { DetailInput } from '../src/records/normalize.js';
import { startUpstream } from './scripted-upstream.js';

const FILMS = 600;
const logger = winston.createLogger({ silent: true });
const detail = (id: string) => JSON.stringify({ ID: id, Title: `Film ${id}`, Year: '2001', Price: '10.5' });

async function upstream(t: { after(fn: () => unknown): void }) {
  const server = await startUpstream(({ path }) => {
    if (path === '/api/p/movies') return { body: JSON.stringify({ Movies: Array.from({ length: FILMS }, (_, i) => ({ ID: `m${i}` })) }) };
    const id = /^\/api\/p\/movie\/(.+)$/.exec(path)?.[1] ?? '';
    return id === 'm7' ? { status: 404, body: '{}' } : { body: detail(id) };
  });
  t.after(() => server.close());
  const client = createProviderClient({
    baseUrl: server.url, token: 'source-test-token', tokenHeader: 'x-access-token', timeoutMs: 10_000, retries: 1, maxRetryDelayMs: 1000,
    maxBodyBytes: 1 << 20, maxListBodyBytes: 1 << 24, concurrency: 4,
  });
  t.after(() => client.close());
  return client;
}

test('films are taken by a bounded pool of workers: never more detail calls pending than PENDING_PER_SLOT per HTTP slot', async (t) => {
  const client = await upstream(t);
  const bound = client.concurrency * PENDING_PER_SLOT;
  let pending = 0;
  let most = 0;
  // The real client, wrapped to count the calls the source has started and not yet seen end.
  const counting: ProviderClient = {
    stats: client.stats,
    concurrency: client.concurrency,
    close: () => client.close(),
    get: async (path, signal, kind) => {
      most = Math.max(most, ++pending);
      try {
        return await client.get(path, signal, kind);
      } finally {
        pending--;
      }
    },
  };
  const got: DetailInput[] = [];
  const harvest = await harvestProvider({ provider: 'p', client: counting, polledAt: new Date(), signal: new AbortController().signal, logger, onDetail: (d) => got.push(d) });
  assert.equal(harvest.listed, FILMS);
  assert.equal(harvest.fetched, FILMS - 1);
  assert.equal(harvest.failed, 1);
  assert.equal(got.length, FILMS - 1);
  // The pool is the only bound on calls pending (the client has none): it is reached, never passed.
  assert.equal(most, bound, `${most} calls pending at once; the pool has ${bound} workers`);
  assert.ok(bound < FILMS);
});

test('onDetail receives each successful detail as it arrives; the harvest counts them in fetched', async (t) => {
  const client = await upstream(t);
  const got: DetailInput[] = [];
  let progressAtFirst = -1;
  let done = 0;
  const harvest = await harvestProvider({
    provider: 'p', client, polledAt: new Date(), signal: new AbortController().signal, logger,
    onProgress: (d) => (done = d),
    onDetail: (d) => {
      if (got.length === 0) progressAtFirst = done;
      got.push(d);
    },
  });
  assert.equal(harvest.fetched, FILMS - 1);
  assert.equal(got.length, FILMS - 1);
  assert.ok(progressAtFirst >= 0 && progressAtFirst < FILMS / 2, `the first detail is handed over as it arrives, not at the end (after ${progressAtFirst} calls)`);
  assert.ok(got.every((d) => d.provider === 'p' && d.httpStatus === 200 && d.body === detail(d.requestedId)));
  assert.equal(new Set(got.map((d) => d.requestedId)).size, FILMS - 1);
  assert.ok(!got.some((d) => d.requestedId === 'm7'));
});
