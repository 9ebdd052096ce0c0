// Benchmark of the Parquet writer (figures, not a test): CPU to write the same movie rows with the
// collector's writer (rows straight into parquetjs's row buffer), with @dsnp/parquetjs as published
// (its appendRow), and with DuckDB (appender into a table, then COPY TO Snappy Parquet). Each block
// of writes runs in a process of its own (bench/write-child.ts), the writers alternating; prints
// medians, minima and the ratios to DuckDB (target ≤ 1.2).
// Usage: npm run bench:write [-- --rows 10000 --repeat 5]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, repeat: { type: 'string', default: '5' } } });
const rowCount = Number(values.rows);
const repeat = Number(values.repeat);
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'write-child.js');

const BLOCK = 3;
const WRITERS = ['ours', 'appendRow', 'duckdb'] as const;
type Name = (typeof WRITERS)[number];
const cpuMs: Record<Name, number[]> = { ours: [], appendRow: [], duckdb: [] };
const sizes: Partial<Record<Name, number>> = {};

// Rounds of blocks: each writer runs BLOCK times in a row in a fresh process and its first run is
// not counted (JIT, DuckDB's first COPY, the heap's first growth); round 0 is a warm-up.
for (let round = 0; round <= repeat; round++) {
  for (const name of WRITERS) {
    const out = execFileSync(process.execPath, [child, '--writer', name, '--rows', String(rowCount), '--block', String(BLOCK)], { encoding: 'utf8' });
    const figures = JSON.parse(out) as { cpuMs: number[]; bytes: number };
    if (round > 0) cpuMs[name].push(...figures.cpuMs.slice(1));
    sizes[name] = figures.bytes;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const duck = median(cpuMs.duckdb);
const duckMin = Math.min(...cpuMs.duckdb);
console.log(`Parquet write of ${rowCount} movie rows, CPU (user+system) of ${repeat} alternating rounds × ${BLOCK - 1} counted runs, each block in its own process, node ${process.version}, ${os.cpus().length} CPUs, DuckDB threads=1`);
const label: Record<Name, string> = {
  ours: 'collector (row buffer filled directly)',
  appendRow: '@dsnp/parquetjs 1.8.8 appendRow, as published',
  duckdb: 'DuckDB appender + COPY TO Snappy Parquet',
};
console.log(`  ${''.padEnd(42)} ${'median'.padStart(7)} ${'ratio'.padStart(6)} ${'min'.padStart(7)} ${'ratio'.padStart(6)}`);
for (const name of WRITERS) {
  const m = median(cpuMs[name]);
  const lo = Math.min(...cpuMs[name]);
  console.log(
    `  ${label[name].padEnd(42)} ${m.toFixed(0).padStart(4)} ms ${(m / duck).toFixed(2).padStart(6)} ${lo.toFixed(0).padStart(4)} ms ${(lo / duckMin).toFixed(2).padStart(6)}` +
      `  (${((sizes[name] ?? 0) / 1e6).toFixed(2)} MB; runs: ${cpuMs[name].map((x) => x.toFixed(0)).join(', ')})`,
  );
}
// DuckDB's COPY sometimes costs 10× its usual CPU on a loaded machine; the ratio of minima is the steadier figure.
console.log(`collector / DuckDB CPU: ${(median(cpuMs.ours) / duck).toFixed(2)} (medians), ${(Math.min(...cpuMs.ours) / duckMin).toFixed(2)} (minima); target ≤ 1.2`);
