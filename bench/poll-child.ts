// One process of the benchmark: runs the collector's poll (fetch, normalize, write) `--polls`
// times in this process against a simulator and prints one JSON line of figures, so that its CPU
// and peak RSS are its own. CPU is counted around each poll only (imports are not in it);
// peak RSS includes the imports. --fetch-only: the providers' harvests alone (client and source,
// each detail dropped as it arrives), to tell the HTTP side's cost from the writer's.
// Usage: node dist/bench/poll-child.js --url U --dir D [--concurrency C] [--polls 1] [--fetch-only]
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/settings.js';
import { limitHeapGrowth } from '../src/runtime/heap.js';
import { createLogger } from '../src/log/log.js';
import { runPoll } from '../src/poll/poll.js';
import { createProviderClient } from '../src/providers/client.js';
import { harvestProvider } from '../src/providers/source.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, dir: { type: 'string' }, concurrency: { type: 'string', default: '8' }, polls: { type: 'string', default: '1' }, 'fetch-only': { type: 'boolean', default: false },
  },
});
const { settings } = loadConfig({
  cwd: values.dir,
  env: {
    API_TOKEN: 'mock-token', PROVIDER_BASE_URL: values.url ?? '', DATA_DIR: `${values.dir}/data`, LOG_DIR: `${values.dir}/logs`,
    HTTP_CONCURRENCY: values.concurrency ?? '8', POLL_DEADLINE_MS: '600000', LOG_LEVEL: 'warn',
  },
  requireToken: true,
});
const log = createLogger({ ...settings.log, secrets: [], consoleFormat: 'json' });
limitHeapGrowth(); // as the CLI's writing commands do at start
const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
const polls = [];
for (let i = 0; i < Number(values.polls); i++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (values['fetch-only']) {
    const harvests = await Promise.all(
      settings.providers.map(async (provider) => {
        const client = createProviderClient({ ...settings.http, baseUrl: settings.api.baseUrl, token: 'mock-token', tokenHeader: settings.api.tokenHeader });
        try {
          return await harvestProvider({ provider, client, polledAt: new Date(), signal: new AbortController().signal, logger: log.logger, onDetail: () => undefined });
        } finally {
          client.close();
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    polls.push({
      cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, status: harvests.every((h) => h.failed === 0 && h.error === null) ? 'complete' : 'partial',
      attempts: harvests.reduce((n, h) => n + Object.values(h.stats.responses).reduce((a, b) => a + b, 0), 0),
      movies: harvests.reduce((n, h) => n + h.fetched, 0), listed: harvests.reduce((n, h) => n + h.listed, 0), retries: harvests.reduce((n, h) => n + h.stats.retries, 0), writeMs: 0,
    });
    continue;
  }
  const summary = await runPoll({ settings, logger: log.logger });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const attempts = summary.runs.reduce((n, r) => n + Object.values(JSON.parse(r.responses) as Record<string, number>).reduce((a, b) => a + b, 0), 0);
  polls.push({
    cpuMs: (cpu.user + cpu.system) / 1000, wallMs, attempts, status: summary.status, movies: summary.movies,
    listed: summary.runs.reduce((n, r) => n + r.listed, 0), retries: summary.runs.reduce((n, r) => n + r.retries, 0), writeMs: summary.writeMs,
  });
}
await log.close();
process.stdout.write(`${JSON.stringify({ polls, rssBeforeMb, peakRssMb: process.resourceUsage().maxRSS / 1024, dataDir: settings.store.dir })}\n`);
