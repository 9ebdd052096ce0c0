// The provider source over real HTTP (the real client against a scripted upstream): films are
// admitted by a bounded pool of workers, and `onDetail` receives each detail as it arrives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import winston from 'winston';
import { createProviderClient, type ProviderClient } from '../src/providers/client.js';
import { harvestProvider } from '../src/providers/source.js';
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

test('films are admitted by a bounded pool of workers: never more detail calls pending than the client admits', async (t) => {
  const client = await upstream(t);
  let pending = 0;
  let most = 0;
  // The real client, wrapped to count the calls the source has started and not yet seen end.
  const counting: ProviderClient = {
    stats: client.stats,
    capacity: client.capacity,
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
  const harvest = await harvestProvider({ provider: 'p', client: counting, polledAt: new Date(), signal: new AbortController().signal, logger });
  assert.equal(harvest.listed, FILMS);
  assert.equal(harvest.fetched, FILMS - 1);
  assert.equal(harvest.failed, 1);
  assert.equal(harvest.details.length, FILMS - 1, 'without onDetail the details are kept');
  assert.ok(most <= client.capacity, `${most} calls pending at once; the client admits ${client.capacity}`);
  assert.ok(client.capacity < FILMS);
});

test('onDetail receives each successful detail as it arrives; the harvest keeps none and counts them in fetched', async (t) => {
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
  assert.deepEqual(harvest.details, []);
  assert.equal(harvest.fetched, FILMS - 1);
  assert.equal(got.length, FILMS - 1);
  assert.ok(progressAtFirst >= 0 && progressAtFirst < FILMS / 2, `the first detail is handed over as it arrives, not at the end (after ${progressAtFirst} calls)`);
  assert.ok(got.every((d) => d.provider === 'p' && d.httpStatus === 200 && d.body === detail(d.requestedId)));
  assert.equal(new Set(got.map((d) => d.requestedId)).size, FILMS - 1);
  assert.ok(!got.some((d) => d.requestedId === 'm7'));
});
