// The report reads what its window needs: days outside it are never opened (a broken file there
// changes nothing), a provider's current prices come from its latest answered poll however old,
// and a chart line is cut to what a chart can show without losing a step or a spike.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MAX_POINTS_PER_LINE, downsample, type SeriesPoint } from '../src/report/queries.js';
import { runCli, tempDir } from './helpers.js';
import { dataFiles, writeDays, writePoll } from './store-fixture.js';

const env = (data: string) => ({ DATA_DIR: data, LOG_DIR: path.join(path.dirname(data), 'logs') });

test('report --since 7d opens no file of older days: a broken file there changes nothing', async (t) => {
  const data = path.join(tempDir(t), 'data');
  await writeDays(data, 2);
  const before = await runCli(['report', '--format', 'json', '--since', '7d'], { env: env(data) });
  assert.equal(before.code, 0, before.stderr);
  for (const table of ['movies', 'rejects', 'runs'] as const) {
    for (const file of dataFiles(data, table).filter((f) => f.includes('dt=2026-11-2'))) writeFileSync(path.join(data, file), 'not parquet');
  }
  const after = await runCli(['report', '--format', 'json', '--since', '7d'], { env: env(data) });
  assert.equal(after.code, 0, after.stderr);
  const stable = (s: string) => s.replace(/"(generated_at|age_seconds|since)": [^,\n]+/g, '');
  assert.equal(stable(after.stdout), stable(before.stdout));
  // The same store asked for a window that includes them fails: the files were really broken.
  const wide = await runCli(['report', '--format', 'json', '--since', '2026-11-01'], { env: env(data) });
  assert.notEqual(wide.code, 0);
});

test('a provider with no answered poll in the window keeps its current prices from its latest answered poll, read from an older day', async (t) => {
  const data = path.join(tempDir(t), 'data');
  const old = await writePoll(data, new Date(Date.UTC(2026, 10, 1, 8)), 'complete', 3);
  await writePoll(data, new Date(Date.UTC(2026, 10, 10, 8)), 'failed');
  await writePoll(data, new Date(Date.now() - 60_000), 'failed');
  const r = await runCli(['report', '--format', 'json', '--since', '24h'], { env: env(data) });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { best_prices: unknown[]; prices_as_of: Record<string, { run: string } | null>; health: { last_complete_poll: string | null; latest_polls: Array<{ status: string }> } };
  assert.equal(report.best_prices.length, 3);
  assert.equal(report.prices_as_of.cinemaworld?.run, old);
  assert.equal(report.health.last_complete_poll, '2026-11-01T08:00:00.000Z');
  assert.deepEqual(report.health.latest_polls.map((p) => p.status), ['failed', 'failed']);
});

test('a chart line is cut to at most MAX_POINTS_PER_LINE points, keeping its ends and every bucket\'s lowest and highest price', () => {
  const start = Date.UTC(2026, 0, 1);
  const line: SeriesPoint[] = Array.from({ length: 35_040 }, (_, i) => ({
    film_key: 'tt1', provider: 'cinemaworld', polled_at: new Date(start + i * 900_000), price: i === 20_000 ? 1 : i === 30_000 ? 99_999 : 1000 + (i % 7),
  }));
  const cut = downsample(line, MAX_POINTS_PER_LINE);
  assert.ok(cut.length <= MAX_POINTS_PER_LINE && cut.length > MAX_POINTS_PER_LINE / 2, `${cut.length} points`);
  assert.equal(cut[0], line[0]);
  assert.equal(cut.at(-1), line.at(-1));
  assert.ok(cut.some((p) => p.price === 1) && cut.some((p) => p.price === 99_999), 'the spikes stay');
  assert.ok(cut.every((p, i) => i === 0 || p.polled_at > (cut[i - 1]?.polled_at ?? 0)), 'in time order');
  assert.equal(downsample(line.slice(0, 10), MAX_POINTS_PER_LINE).length, 10, 'a short line is left whole');
});
