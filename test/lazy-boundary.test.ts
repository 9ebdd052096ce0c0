// Each command loads what it uses and nothing more (issue 30): checked on the modules the real CLI
// process loaded, ES modules and CommonJS alike, recorded by a preload through Node's module hooks
// and written when the process exits. Not timing: a module either was loaded or was not.
//   --help        commander and a few small modules: no settings, logger, HTTP client, Parquet, DuckDB
//   check-config  adds the settings: no Parquet writer, DuckDB, S3 SDK, HTTP client or logger
//   poll          no DuckDB, S3 SDK, alerts, page or report code while the store needs no rewrite;
//                 DuckDB once it does (a day missing its price changes), and the poll still commits;
//                 no axios while every call is answered at once, axios and axios-retry from a failure
//   report        DuckDB, but no Parquet writer, thrift or HTTP client
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startMockProvider } from '../src/mock/server.js';
import { dtOf } from '../src/store/layout.js';
import { runCli, tempDir, type CliResult } from './helpers.js';

/** Runs the CLI with a preload that writes every module URL the process loaded (node: builtins left out). */
async function loadedBy(t: { after(fn: () => unknown): void }, args: string[], env: Record<string, string>): Promise<{ run: CliResult; loaded: string[] }> {
  const dir = tempDir(t);
  const preload = path.join(dir, 'loaded.mjs');
  const out = path.join(dir, 'loaded.txt');
  writeFileSync(
    preload,
    `import module from 'node:module';\nimport { writeFileSync } from 'node:fs';\nconst seen = new Set();\n` +
      `module.registerHooks({ load(url, context, next) { if (!url.startsWith('node:')) seen.add(url); return next(url, context); } });\n` +
      `process.on('exit', () => writeFileSync(${JSON.stringify(out)}, [...seen].join('\\n')));\n`,
  );
  const run = await runCli(args, { cwd: dir, env: { ...env, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` } });
  return { run, loaded: readFileSync(out, 'utf8').split('\n').filter(Boolean) };
}

const pkg = (name: string) => `/node_modules/${name}/`;
/** Heavy libraries and the collector's own modules a command may have no use for. */
const DUCKDB = pkg('@duckdb/node-api');
const S3_SDK = '/node_modules/@aws-sdk/';
const WRITER = [pkg('@dsnp/parquetjs'), pkg('thrift'), '/src/store/parquet/'];
const HTTP_CLIENT = [pkg('axios'), pkg('undici'), '/src/providers/'];
const LOGGER = [pkg('winston'), '/src/log/'];
const SETTINGS = [pkg('convict'), '/src/config/'];
/** The page, the report and the alerts (but the alert settings, part of the config schema) and S3 (but its settings). */
const PAGE_REPORT_ALERTS = [
  '/src/http/server.js', '/src/http/health.js', '/src/http/live-routes.js', '/src/http/metrics.js', pkg('prom-client'), '/src/report/queries.js', '/src/report/report.js', '/src/report/html.js', '/src/report/charts.js', '/src/report/page-script.js',
  '/src/report/live.js', '/src/report/live-worker.js', '/src/report/assemble.js', '/src/alerts/report.js', '/src/alerts/service.js',
  '/src/alerts/rules.js', '/src/alerts/outbox.js', '/src/alerts/send.js', '/src/alerts/delivery.js', '/src/s3/client.js', '/src/s3/shipper.js', pkg('uplot'),
];

function assertNone(loaded: string[], parts: string[], what: string): void {
  for (const part of parts) assert.deepEqual(loaded.filter((u) => u.includes(part)), [], `${what} loads nothing of ${part}`);
}
function assertSome(loaded: string[], part: string, why: string): void {
  assert.ok(loaded.some((u) => u.includes(part)), why);
}

test('--help loads commander and nothing of the settings, logger, HTTP client, Parquet or DuckDB', async (t) => {
  const { run, loaded } = await loadedBy(t, ['--help'], {});
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /check-config/);
  assertSome(loaded, pkg('commander'), 'the check sees the modules loaded (commander is)');
  assertNone(loaded, [...SETTINGS, ...LOGGER, ...HTTP_CLIENT, ...WRITER, DUCKDB, S3_SDK, pkg('hyparquet'), pkg('node-cron')], '--help');
});

test('check-config loads the settings but no Parquet writer, DuckDB, S3 SDK, HTTP client or logger', async (t) => {
  const dir = tempDir(t);
  const { run, loaded } = await loadedBy(t, ['check-config'], { API_TOKEN: 'some-token', DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' });
  assert.equal(run.code, 0, run.stderr);
  assertSome(loaded, pkg('convict'), 'the check sees CommonJS modules (convict is loaded)');
  assertNone(loaded, [...WRITER, DUCKDB, S3_SDK, ...HTTP_CLIENT, ...LOGGER, pkg('hyparquet'), ...PAGE_REPORT_ALERTS], 'check-config');
});

test('a one-shot poll of a store that needs no rewrite loads no DuckDB, S3 SDK, page, report or alerts code; one that does loads DuckDB and still commits', async (t) => {
  const mock = await startMockProvider({ seed: 4 });
  t.after(() => mock.close());
  const dir = tempDir(t);
  const data = path.join(dir, 'data');
  const env = { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: data, LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' };
  for (const poll of [1, 2]) {
    const { run, loaded } = await loadedBy(t, ['poll'], env);
    assert.equal(run.code, 0, run.stderr);
    assertSome(loaded, pkg('@dsnp/parquetjs'), 'the check sees the Parquet writer (CommonJS)');
    assertSome(loaded, pkg('undici'), 'the check sees the transport');
    assertNone(loaded, [DUCKDB, S3_SDK, ...PAGE_REPORT_ALERTS], `poll ${poll} (the store needs no rewrite)`);
    assertNone(loaded, [pkg('axios'), pkg('axios-retry')], `poll ${poll} (every call answered at once)`);
    assertSome(loaded, `${pkg('thrift')}lib/nodejs/lib/thrift/compact_protocol.js`, 'the writer loads thrift\'s compact protocol');
    assertNone(loaded, [pkg('ws'), `${pkg('thrift')}lib/nodejs/lib/thrift/index.js`, `${pkg('thrift')}lib/nodejs/lib/thrift/http_connection.js`], `poll ${poll} (thrift without its connections)`);
  }

  // Today's price_changes gone: the next writer rebuilds the day (the upgrade's backfill), through DuckDB.
  const changes = path.join(data, 'price_changes', `dt=${dtOf(new Date())}`);
  assert.ok(existsSync(changes), 'the polls wrote their price changes');
  rmSync(changes, { recursive: true });
  const { run, loaded } = await loadedBy(t, ['poll'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /cinemaworld\s+complete/);
  assertSome(loaded, DUCKDB, 'a store that needs a rewrite loads DuckDB');
  assert.ok(existsSync(changes), "the day's price changes were rebuilt");
  assertNone(loaded, [S3_SDK, ...PAGE_REPORT_ALERTS], 'poll (with a rewrite)');
});

test('report loads DuckDB but no Parquet writer, thrift or HTTP client', async (t) => {
  const mock = await startMockProvider({ seed: 5 });
  t.after(() => mock.close());
  const dir = tempDir(t);
  const env = { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0' };
  const poll = await runCli(['poll'], { cwd: dir, env });
  assert.equal(poll.code, 0, poll.stderr);
  const { run, loaded } = await loadedBy(t, ['report', '--format', 'json'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { best_prices: unknown[] }).best_prices.length > 0, true);
  assertSome(loaded, DUCKDB, 'the check sees DuckDB');
  assertNone(loaded, [...WRITER, ...HTTP_CLIENT, S3_SDK], 'report');
});

test('a poll whose calls fail loads axios and axios-retry at the first failure, and its retries still collect every film', async (t) => {
  // Half the answers are 500/503 (seeded); 20 retries, 5 ms apart at most, make every call succeed in the end.
  const mock = await startMockProvider({ seed: 6, failRate: 0.5 });
  t.after(() => mock.close());
  const dir = tempDir(t);
  const env = { API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: path.join(dir, 'data'), LOG_DIR: path.join(dir, 'logs'), HEALTH_PORT: '0', HTTP_RETRIES: '20', HTTP_MAX_RETRY_DELAY_MS: '5' };
  const { run, loaded } = await loadedBy(t, ['poll'], env);
  assert.equal(run.code, 0, run.stderr);
  const retries = [/cinemaworld\s+complete\s+7\s+7\s+0\s+0\s+(\d+)/, /filmworld\s+complete\s+6\s+6\s+0\s+0\s+(\d+)/].map((line) => Number(line.exec(run.stdout)?.[1]));
  assert.ok(retries.every((n) => n >= 0), `every film collected by both providers:\n${run.stdout}`);
  assert.ok(retries[0]! + retries[1]! > 0, 'calls were retried');
  assertSome(loaded, pkg('axios'), 'axios took the failed calls over');
  assertSome(loaded, pkg('axios-retry'), 'axios-retry decided the retries');
});
