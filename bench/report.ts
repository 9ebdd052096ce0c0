// Report benchmark (figures, not a test): a synthetic store of 100 polls x 10,000 films
// (1,000,000 movie rows) written with the collector's own store code, then each report section
// timed, and the whole `report` command (table format, then --html) timed as a user runs it.
// Usage: npm run bench:report [-- --polls 100 --films 5000]   (films per provider)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildReport } from '../src/report/report.js';
import { StoreReader } from '../src/report/queries.js';
import { buildReportStore } from './report-store.js';

const { values } = parseArgs({ options: { polls: { type: 'string', default: '100' }, films: { type: 'string', default: '5000' }, keep: { type: 'string' } } });
const pollCount = Number(values.polls);
const root = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'mc-bench-report-'));
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');
const hours = 3_600_000;

const { rows, seconds: writeSeconds } = await buildReportStore(root, pollCount, Number(values.films));

const filters = { since: new Date(Date.now() - 30 * 24 * hours) };
const reader = await StoreReader.open(root, filters.since);
if (!reader) throw new Error('no store');
const timings: Array<[string, number]> = [];
const time = async (name: string, fn: () => Promise<unknown>) => {
  const started = performance.now();
  await fn();
  timings.push([name, (performance.now() - started) / 1000]);
};
await time('best price', () => reader.bestPrices({}));
await time('price history', () => reader.history(filters));
await time('data health', () => reader.health(filters));
await time('chart series (--html only)', () => reader.series(filters));
await time('whole report (in process)', () => buildReport(reader, root, filters));
const total = (await reader.history(filters)).reduce((n, h) => n + h.polls, 0);
reader.close();

const started = performance.now();
const cmd = spawnSync(process.execPath, [cli, 'report', '--since', '30d'], { env: { PATH: process.env.PATH, DATA_DIR: root }, encoding: 'utf8', maxBuffer: 1 << 30 });
const cliSeconds = (performance.now() - started) / 1000;
if (cmd.status !== 0) throw new Error(cmd.stderr);
const page = path.join(root, 'bench-report.html');
const htmlStarted = performance.now();
const htmlCmd = spawnSync(process.execPath, [cli, 'report', '--since', '30d', '--html', page], { env: { PATH: process.env.PATH, DATA_DIR: root }, encoding: 'utf8', maxBuffer: 1 << 30 });
const htmlSeconds = (performance.now() - htmlStarted) / 1000;
if (htmlCmd.status !== 0) throw new Error(`report --html: status ${htmlCmd.status} ${htmlCmd.error?.message ?? ''} ${htmlCmd.stderr}`);
const pageBytes = statSync(page).size;
rmSync(page);

process.stdout.write(`store: ${total} movie rows in ${pollCount} polls${rows > 0 ? ` (written in ${writeSeconds.toFixed(0)} s, ${Math.round(rows / writeSeconds)} rows/s)` : ''}\n`);
for (const [name, seconds] of timings) {
  process.stdout.write(`${name.padEnd(30)} ${seconds.toFixed(3)} s  ${Math.round(total / seconds).toLocaleString('en-US').padStart(12)} rows/s\n`);
}
process.stdout.write(`${'`report` command, table'.padEnd(30)} ${cliSeconds.toFixed(3)} s  (target < 2 s; process start, DuckDB load and all sections)\n`);
process.stdout.write(`${'`report --html` command'.padEnd(30)} ${htmlSeconds.toFixed(3)} s  (page ${(pageBytes / 1e6).toFixed(1)} MB)\n`);
if (!values.keep) rmSync(root, { recursive: true, force: true });
