// What `poll` prints: a summary table per provider on stdout, progress bars on a terminal.
import { createRequire } from 'node:module';
import type { PollSummary } from './poll.js';
import { terminalText } from '../report/text.js';

export function summaryTable(summary: PollSummary): string {
  const header = ['provider', 'status', 'listed', 'fetched', 'failed', 'rejected', 'retries', 'duration'];
  const rows = summary.runs.map((r) => [
    r.provider, r.status, String(r.listed), String(r.fetched), String(r.failed), String(r.rejected), String(r.retries), `${(Number(r.duration_ms) / 1000).toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const errors = summary.runs.filter((r) => r.error !== null).map((r) => terminalText(`${r.provider}: ${r.error}`));
  return [
    `run ${summary.runId} (${summary.status}): ${summary.movies} movies, ${summary.rejects} rejects committed`,
    line(header),
    ...rows.map(line),
    ...errors,
  ].join('\n');
}

/** One bar per provider on a terminal; undefined when stderr is not a TTY. */
export function progressBars(providers: string[]): { update(provider: string, done: number, total: number): void; stop(): void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  // Loaded only for a terminal: a scheduled or piped poll does not pay for it at start-up.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const multi = new cliProgress.MultiBar(
    { stream: process.stderr, format: '{provider} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const width = Math.max(...providers.map((p) => p.length));
  const bars = new Map(providers.map((p) => [p, multi.create(1, 0, { provider: p.padEnd(width) })]));
  return {
    update(provider, done, total) {
      const bar = bars.get(provider);
      bar?.setTotal(Math.max(total, 1));
      bar?.update(done);
    },
    stop: () => multi.stop(),
  };
}
