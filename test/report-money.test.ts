// Issue 19, item 8: money is exact in every output of `report`: prices above 2^53 cents and totals
// beyond the largest BIGINT keep every cent, in JSON (decimal strings), CSV and tables.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Report } from '../src/report/report.js';
import { runCli, tempDir } from './helpers.js';
import { film, startScriptedProvider } from './scripted-provider.js';

const CW = '46116860184902206.30'; // 4,611,686,018,490,220,630 cents: above 2^53, within BIGINT
const FW = '46116860184902206.31';

test('report: prices above 2^53 cents and totals above BIGINT are exact in JSON, CSV and tables', async (t) => {
  const provider = await startScriptedProvider({
    cinemaworld: { cw0000001: film('cw0000001', { Title: 'Big A', Price: CW }), cw0000002: film('cw0000002', { Title: 'Big B', Price: CW }) },
    filmworld: { fw0000001: film('fw0000001', { Title: 'Big A', Price: FW }), fw0000002: film('fw0000002', { Title: 'Big B', Price: FW }) },
  });
  t.after(() => provider.close());
  const cwd = tempDir(t);
  const env = { API_TOKEN: provider.token, PROVIDER_BASE_URL: provider.url, DATA_DIR: path.join(cwd, 'data'), LOG_DIR: path.join(cwd, 'logs'), HEALTH_PORT: '0' };
  const poll = await runCli(['poll'], { cwd, env });
  assert.equal(poll.code, 0, poll.stderr);

  const json = await runCli(['report', '--format', 'json'], { cwd, env });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as Report;
  assert.deepEqual(report.best_prices.map((f) => [f.film_key, f.prices, f.saving]), [
    ['tt0000001', { cinemaworld: CW, filmworld: FW }, '0.01'],
    ['tt0000002', { cinemaworld: CW, filmworld: FW }, '0.01'],
  ]);
  assert.deepEqual(report.cheapest_provider.totals, { cinemaworld: '92233720369804412.60', filmworld: '92233720369804412.62' });
  assert.equal(report.cheapest_provider.cheapest, 'cinemaworld');
  assert.equal(report.cheapest_film?.price, CW);
  assert.deepEqual(report.price_history.map((h) => [h.first, h.last, h.min, h.max]), [[CW, CW, CW, CW], [FW, FW, FW, FW], [CW, CW, CW, CW], [FW, FW, FW, FW]]);

  const csv = await runCli(['report', '--format', 'csv'], { cwd, env });
  assert.match(csv.stdout, new RegExp(`^Big A \\(1999\\),${CW},${FW},cinemaworld,0\\.01,`, 'm'));
  const tables = await runCli(['report', '--format', 'table'], { cwd, env });
  assert.ok(tables.stdout.includes(CW) && tables.stdout.includes(FW), tables.stdout);
  assert.ok(tables.stdout.includes('92233720369804412.60'), tables.stdout);
});
