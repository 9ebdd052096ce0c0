// npm run torture: every fault injected for real, many times, with the store's invariants checked
// after each; prints a table and exits 1 if anything was lost or partial. Needs root (tmpfs).
// Usage: npm run torture [-- --kills 50 --seed 20261124]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startMockProvider } from '../src/mock/server.js';
import { diskFullPoll, killLoop, logDirFull, readOnlyAtStart, storeBrokenWhileRunning, type FaultResult } from '../test/faults.js';

const { values } = parseArgs({ options: { kills: { type: 'string', default: '50' }, seed: { type: 'string', default: '20261124' }, repeat: { type: 'string', default: '3' } } });
const repeat = Number(values.repeat);
const testDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test');
const mock = await startMockProvider({ movies: 60, latencyMs: 60, failRate: 0.1, seed: 13 });
const results: FaultResult[] = [];
const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mc-torture-'));
  dirs.push(dir);
  return dir;
};
const merge = (list: FaultResult[]): FaultResult =>
  list.reduce((a, b) => ({ ...a, injected: a.injected + b.injected, survived: a.survived + b.survived, committedPollsLost: a.committedPollsLost + b.committedPollsLost, partialFilesSeen: a.partialFilesSeen + b.partialFilesSeen, notes: [...a.notes, ...b.notes] }));
const times = async (n: number, run: () => Promise<FaultResult>) => {
  const list: FaultResult[] = [];
  for (let i = 0; i < n; i++) list.push(await run());
  results.push(merge(list));
  process.stderr.write(`  done: ${list[0]?.fault}\n`);
};

try {
  results.push(await killLoop(mock, fresh(), Number(values.kills), Number(values.seed)));
  process.stderr.write('  done: kill loop\n');
  await times(repeat, () => diskFullPoll(mock, fresh()));
  await times(repeat, () => storeBrokenWhileRunning(mock, fresh(), 'full'));
  await times(repeat, () => storeBrokenWhileRunning(mock, fresh(), 'read-only'));
  await times(repeat, () => logDirFull(mock, fresh()));
  await times(repeat, () => readOnlyAtStart(mock, fresh(), 'DATA_DIR'));
  await times(repeat, () => readOnlyAtStart(mock, fresh(), 'LOG_DIR'));
  // Hostile upstream (a 50,000-film list included), property tests x10, clocks: node's runner, counted per test.
  for (const [fault, file] of [['hostile or broken upstream', 'hostile.test.js'], ['property tests (fast-check, x10 cases)', 'properties.test.js'], ['schedules and clocks (DST)', 'clock.test.js']] as const) {
    const run = spawnSync(process.execPath, ['--test', path.join(testDir, file)], { env: { ...process.env, TORTURE: '1' }, encoding: 'utf8' });
    const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? 0);
    results.push({ fault, injected: count('tests'), survived: count('pass'), committedPollsLost: 0, partialFilesSeen: 0, notes: run.status === 0 ? [] : [run.stdout.slice(-2000)] });
    process.stderr.write(`  done: ${fault}\n`);
  }
} finally {
  await mock.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

const header = ['fault', 'injected', 'survived', 'committed polls lost', 'partial files seen'];
const rows = results.map((r) => [r.fault, String(r.injected), String(r.survived), String(r.committedPollsLost), String(r.partialFilesSeen)]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ');
process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n${rows.map(line).join('\n')}\n`);
for (const r of results) if (r.details) process.stdout.write(`${r.fault}: ${r.details}\n`);
for (const r of results) for (const note of r.notes) process.stdout.write(`\n${r.fault}: ${note}\n`);
const bad = results.some((r) => r.survived !== r.injected || r.committedPollsLost > 0 || r.partialFilesSeen > 0);
process.exit(bad ? 1 : 0);
