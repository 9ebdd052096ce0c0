// V8 sizes its heap for throughput: in a large poll the young generation grows to its 128 MB
// maximum and old space to about four times the live data (garbage waiting for the next major
// GC), though a poll's live data stays at 25–40 MB. Two V8 settings bound that (peak RSS of a
// 2 × 10,000-film poll 310–360 MB → about 185 MB) at a CPU cost within the noise of the benchmark
// (docs/benchmarks.md).

import { accessSync, constants } from 'node:fs';
import v8 from 'node:v8';

/**
 * Flags the young generation is sized by when the process starts (setting them later has no
 * effect): the CLI's shebang line carries them (test/heap.test.ts checks it), and so does the
 * benchmark's poll process; started any other way, the commands that poll or rewrite the store
 * relaunch with them (relaunchWithHeapFlags).
 */
export const HEAP_FLAGS = ['--max-semi-space-size=8'] as const;

/**
 * Called by the CLI (the process edge) before `start`, `poll` or `compact` does anything: a Node
 * started without a young-generation size (`node dist/src/cli.js poll`, an npm script, a
 * spawn) replaces itself, once, by the same command line with HEAP_FLAGS added. It is an exec,
 * not a child: same PID (PID 1 in a container stays the daemon), same stdio, its own signals and
 * exit code. Nothing has been written or started yet, so nothing is lost (the compile cache is
 * written by the process that follows). A size the user gave (on the command line or in
 * NODE_OPTIONS) is kept. Node before 22.15 has no process.execve: it runs on unbounded.
 */
export function relaunchWithHeapFlags(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg)) || !process.execve) return;
  try {
    accessSync(process.execPath, constants.X_OK); // a failed execve aborts the process
  } catch {
    return;
  }
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...HEAP_FLAGS, ...process.argv.slice(1)], process.env);
}

let limited = false;

/** Old space may grow to 1.5 × the live heap after a major GC (V8 reads this at every GC, so it can be set while running). */
export function limitHeapGrowth(): void {
  if (limited) return;
  limited = true;
  v8.setFlagsFromString('--heap-growing-percent=50');
}
