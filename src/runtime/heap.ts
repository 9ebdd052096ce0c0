// V8 sizes its heap for throughput: in a large poll the young generation grows to its 64 MB
// semi-space maximum and old space to about four times the live data (garbage waiting for the next
// major GC), though a poll's live data stays at 25–40 MB. Two bounds keep that down (peak RSS of a
// 2 × 5,000-film poll about 315 MB → 185 MB) at a CPU cost within the noise of the benchmark
// (docs/benchmarks.md): semi-spaces of 8 MB, and old space grown to 1.5 × the live heap.

import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The semi-space size the young generation is bounded to, in MB. */
export const SEMI_SPACE_MB = 8;

/**
 * The V8 flag that bounds the young generation when given at start-up (V8 reads it only when it
 * sets its heap up): the CLI's #! line carries it, so the bin, `npm exec` and the Docker image start
 * Node with it (test/heap.test.ts checks it), and so do the benchmarks' poll processes.
 */
export const HEAP_FLAGS = [`--max-semi-space-size=${SEMI_SPACE_MB}`] as const;

const MB = 2 ** 20;
let bounded = false;

/**
 * Called by the CLI before `start`, `poll` or `compact` does anything. A Node started without a
 * semi-space size (`node dist/src/cli.js poll`, a spawn, an npm script) cannot be given one any more
 * (a --max-semi-space-size set now is ignored: measured), and starting it again with the flag costs
 * a second Node start-up (~0.1 s of CPU, more than the rest of a 13-film poll). So the same bound is
 * kept from inside: V8 grows the young generation by doubling it at a GC, by the factor it reads from
 * --semi-space-growth-factor at each growth; after each GC, once both semi-spaces reach their bound
 * the factor is set to 1 (no growth), and back to 2 if V8 shrank them below it. A size the user
 * gave (on the command line or in NODE_OPTIONS) is kept as given.
 */
export function boundYoungGeneration(): void {
  if (bounded) return;
  bounded = true;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg))) return;
  const bound = 2 * SEMI_SPACE_MB * MB; // new space = two semi-spaces
  let holding = false;
  new PerformanceObserver(() => {
    const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    const hold = size >= bound;
    if (hold === holding) return;
    holding = hold;
    v8.setFlagsFromString(`--semi-space-growth-factor=${hold ? 1 : 2}`);
  }).observe({ entryTypes: ['gc'] });
}

let limited = false;

/** Old space may grow to 1.5 × the live heap after a major GC (V8 reads this at every GC, so it can be set while running). */
export function limitHeapGrowth(): void {
  if (limited) return;
  limited = true;
  v8.setFlagsFromString('--heap-growing-percent=50');
}
