// V8 sizes its heap for throughput: in a large poll the young generation grows to its 128 MB
// maximum and old space to about four times the live data (garbage waiting for the next major
// GC), though a poll's live data stays at 25–40 MB. Two V8 settings bound that (peak RSS of a
// 2 × 10,000-film poll 310–360 MB → about 185 MB) at a CPU cost within the noise of the benchmark
// (docs/benchmarks.md).

import v8 from 'node:v8';

/**
 * Flags the young generation is sized by when the process starts (setting them later has no
 * effect): the CLI's shebang line carries them (test/heap.test.ts checks it), and so does the
 * benchmark's poll process. `node dist/src/cli.js` without them still works, with a larger heap.
 */
export const HEAP_FLAGS = ['--max-semi-space-size=8'] as const;

let limited = false;

/** Old space may grow to 1.5 × the live heap after a major GC (V8 reads this at every GC, so it can be set while running). */
export function limitHeapGrowth(): void {
  if (limited) return;
  limited = true;
  v8.setFlagsFromString('--heap-growing-percent=50');
}
