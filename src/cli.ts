#!/usr/bin/env -S node --max-semi-space-size=8
// (The #! line's V8 flag bounds the young generation from the start; started without it, start,
// poll and compact keep the same bound from inside: see runtime/heap.ts.)
// The movies-collector command line. Each command loads what it needs and returns an exit
// code; errors a user can cause print one line (per problem) and exit with a defined code.
// Each command imports its modules when it runs, and only those: `--help` loads commander and a
// few small modules, `check-config` adds the settings, `report` never loads axios or the Parquet
// writer, `poll` never loads DuckDB unless the store needs rewriting (test/lazy-boundary.test.ts).
import './runtime/compile-cache.js'; // first: every module loaded after it is compiled once, then cached
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { LoadOptions, Settings } from './config/settings.js';
import { ConfigError, EXIT, UserError, errorMessage } from './runtime/errors.js';
import { knownSecrets, redactLine, redactText } from './runtime/redact.js';
import type { LogHandle } from './log/log.js';
import type { PollSummary } from './poll/poll.js';
import type { HarvestCause } from './providers/source.js';
import type { Section } from './report/report.js';
import { DEFAULT_MOCK_TOKEN } from './mock/token.js'; // not the simulator: see token.ts
import { MOCK_DRIFTS, type MockDrift } from './mock/drift.js'; // names only: the simulator loads when it runs
import { MAX_LIMIT, MAX_OFFSET, SINCE_EXPECTED, SORT_EXPECTED, SORT_KEYS, parseSince, parseSort, parseWhole } from './report/params.js';
import { SECTIONS } from './report/sections.js';
import { terminalText } from './report/text.js';
import { VERSION } from './runtime/version.js';

interface ConfigFlags {
  config?: string;
  apikey?: string;
  dataDir?: string;
  logDir?: string;
  logLevel?: string;
  baseUrl?: string;
}

function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'config file (default: $CONFIG_FILE, else ./config/config.json)')
    .option('--apikey <header=token>', "access token in the prototype's form, e.g. x-access-token=<token> (prefer API_TOKEN or API_TOKEN_FILE: flags show in ps)")
    .option('--data-dir <path>', 'store root (store.dir, $DATA_DIR)')
    .option('--log-dir <path>', 'log folder (log.dir, $LOG_DIR)')
    .option('--log-level <level>', 'log level (log.level, $LOG_LEVEL)')
    .option('--base-url <url>', 'provider API base URL (api.baseUrl, $PROVIDER_BASE_URL)');
}

function configOptions(flags: ConfigFlags, requireToken: boolean): LoadOptions {
  return {
    configFile: flags.config,
    apikey: flags.apikey,
    requireToken,
    overrides: { 'store.dir': flags.dataDir, 'log.dir': flags.logDir, 'log.level': flags.logLevel, 'api.baseUrl': flags.baseUrl },
  };
}

function number(min: number, max: number, integer: boolean) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    }
    return value;
  };
}
const rate = number(0, 1, false);

/** The settings (config file, environment, flags), loaded when a command needs them: convict, node-cron and the schemas are not --help's to pay for. */
async function loadSettings(flags: ConfigFlags, requireToken: boolean) {
  const loadOptions = configOptions(flags, requireToken);
  const { loadConfig } = await import('./config/settings.js');
  return { ...loadConfig(loadOptions), loadOptions };
}

/** Writes a line to stderr with the token (and any piece of it) and URL passwords replaced. */
function sayError(line: string): void {
  // Lines may quote provider text (a parser's excerpt of a body): its control characters are shown, not obeyed.
  process.stderr.write(`${line.split('\n').map((l) => terminalText(redactLine(l, knownSecrets()))).join('\n')}\n`);
}

/** Writes command output to stdout through the same redaction as every other output (the token, whole, in pieces or encoded). */
function say(text: string): void {
  process.stdout.write(redactText(text, knownSecrets()));
}

/** Runs a command's body and leaves with its exit code; a UserError is one clear message. */
function action<A extends unknown[]>(body: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    let code: number;
    try {
      code = (await body(...args)) ?? EXIT.ok;
    } catch (err) {
      if (err instanceof UserError) {
        sayError(err.message);
        code = err.exitCode;
      } else {
        sayError(`movies-collector: unexpected error: ${errorMessage(err)}`);
        code = EXIT.failed;
      }
    }
    // Explicit exit: open keep-alive sockets or native handles must not keep a finished command alive.
    // First let stdout drain: a pipe is written asynchronously, and exiting at once cut a
    // catalogue's JSON report (megabytes) short for `report --format json | jq`.
    await new Promise((resolve) => process.stdout.write('', resolve));
    process.exit(code);
  };
}

/** The heap flags, config, a writable store and a logger: what start, poll and compact need before any work. */
async function openRuntime(flags: ConfigFlags, requireToken = true): Promise<{ settings: Settings; file: string | null; log: LogHandle; loadOptions: LoadOptions }> {
  // The commands that write (start, poll, compact): a poll's, an upgrade's or a compaction's garbage
  // must not grow the heap far past its live data.
  const { boundYoungGeneration, limitHeapGrowth } = await import('./runtime/heap.js');
  boundYoungGeneration(); // first: before the work that would grow the young generation
  const { settings, file, warnings, loadOptions } = await loadSettings(flags, requireToken);
  limitHeapGrowth();
  const { ensureWritableDir } = await import('./runtime/writable-dir.js');
  ensureWritableDir(settings.store.dir, 'store.dir', 'DATA_DIR');
  const { createLogger } = await import('./log/log.js');
  const { alertSecrets } = await import('./alerts/config.js');
  const log = createLogger({ ...settings.log, secrets: [settings.api.token, ...alertSecrets(settings.alerts)] });
  for (const warning of warnings) log.logger.warn(warning);
  return { settings, file, log, loadOptions };
}

/**
 * Test-only: MOVIES_COLLECTOR_TEST_KILL_AT=staged|renamed:movies|... SIGKILLs the process at that
 * commit step; MOVIES_COLLECTOR_TEST_STOP_AT pauses it there the first time (SIGSTOP) until the test sends SIGCONT.
 */
function testHooks(): { afterStep?: (step: string) => void } {
  const { MOVIES_COLLECTOR_TEST_KILL_AT: killAt, MOVIES_COLLECTOR_TEST_STOP_AT: stopAt } = process.env;
  if (!killAt && !stopAt) return {};
  let paused = false;
  return {
    afterStep: (step: string) => {
      if (step === killAt) process.kill(process.pid, 'SIGKILL');
      if (step === stopAt && !paused) {
        paused = true; // once: 'file-written' comes after every file
        process.kill(process.pid, 'SIGSTOP');
      }
    },
  };
}

/** What to do about each cause of a failed list call (see HarvestCause). */
const FAILURE_HINTS: Record<HarvestCause, string> = {
  auth: 'check API_TOKEN or API_TOKEN_FILE',
  certificate: "the provider's TLS certificate was refused (not retried): fix it on the server, or trust its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem",
  network: 'check PROVIDER_BASE_URL and the network',
  timeout: 'check PROVIDER_BASE_URL and the network (or raise http.timeoutMs, HTTP_TIMEOUT_MS)',
  'cut-off': 'the connection kept closing mid-answer: check the network and any proxy on the way (or raise http.retries, HTTP_RETRIES)',
  'bad-list': 'the provider answered something that is not a movie list: check that PROVIDER_BASE_URL points at the movie API',
  'too-large': 'the list is larger than http.maxListBodyBytes allows: raise HTTP_MAX_LIST_BODY_BYTES',
  http: 'the provider kept answering with an HTTP error: check PROVIDER_BASE_URL and the provider names, or try later',
  redirect: 'the provider redirected elsewhere, which is never followed: set PROVIDER_BASE_URL to the final address',
  aborted: 'the poll ran out of time before the list arrived: raise poll.deadlineMs (POLL_DEADLINE_MS)',
  schema: "the provider's answers changed shape and schema.policy says fail-provider: see report --section schema, and set the policy to record to accept the change",
};

function failureLine(summary: PollSummary): string {
  if (summary.authRejected) {
    const providers = summary.runs.filter((r) => r.status === 'failed').map((r) => r.provider).join(', ');
    return `poll failed: the provider API rejected the access token for ${providers}; check API_TOKEN or API_TOKEN_FILE (not retried)`;
  }
  const reasons = summary.runs.map((r) => `${r.provider}: ${r.error ?? r.status}`).join('; ');
  // The hint names each real cause once (a malformed list is not a network problem).
  const hints = [...new Set(Object.values(summary.causes).map((cause) => FAILURE_HINTS[cause]))];
  return `poll failed: no provider could be polled (${reasons}); ${hints.length > 0 ? hints.join('; ') : FAILURE_HINTS.network}`;
}

const program = new Command('movies-collector')
  .description('Polls the cinemaworld and filmworld movie APIs into a date-partitioned Parquet store.')
  .version(VERSION)
  // Flags are settings too: a flag commander rejects (unknown, missing or invalid value) is a
  // configuration error, exit 78, not 1, which for `poll` means a failed poll. Commander has
  // printed its one line already. Set before the commands, which inherit it.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.config));

withConfigFlags(
  program
    .command('check-config')
    .description('Validate the configuration and print it with the token redacted. Exit 0 valid, 78 invalid.'),
).action(
  action(async (flags: ConfigFlags) => {
    const { redactedSettings } = await import('./config/settings.js');
    const { checkWritableDir } = await import('./runtime/writable-dir.js');
    const { settings, file, warnings } = await loadSettings(flags, true);
    // What start checks before its first poll, without creating anything: both folders, the health address.
    const problems: string[] = [];
    for (const [dir, setting, env] of [[settings.store.dir, 'store.dir', 'DATA_DIR'], [settings.log.dir, 'log.dir', 'LOG_DIR']] as const) {
      try {
        checkWritableDir(dir, setting, env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
      }
    }
    const { probeHealthAddress } = await import('./http/address.js');
    try {
      const note = await probeHealthAddress(settings.health.port, settings.health.host);
      if (note) warnings.push(note);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    for (const warning of warnings) sayError(`warning: ${warning}`);
    process.stderr.write(`configuration is valid (config file: ${file ?? 'none, defaults and environment only'})\n`);
    process.stdout.write(`${JSON.stringify(redactedSettings(settings), null, 2)}\n`);
    if (settings.alerts.rules.length + settings.alerts.destinations.length > 0) process.stderr.write((await import('./alerts/commands.js')).describeAlerts(settings));
    return EXIT.ok;
  }),
);

withConfigFlags(
  program
    .command('start')
    .description('Run the daemon: poll on schedule.cron until SIGTERM/SIGINT; edits of the config file (or SIGHUP) reload it live. Exit 0 after a clean stop.'),
).action(
  action(async (flags: ConfigFlags) => {
    const { settings, file, log, loadOptions } = await openRuntime(flags);
    const { Daemon } = await import('./daemon/daemon.js');
    const { STALE_MS, acquireStoreLock } = await import('./store/lock.js');
    let daemon: InstanceType<typeof Daemon> | null = null;
    try {
      // A daemon that just died leaves a lock that goes stale within STALE_MS: a restart waits that long.
      const waitMs = STALE_MS + 2000;
      const lock = await acquireStoreLock(settings.store.dir, {
        command: 'start',
        waitMs,
        onWait: (holder) => log.logger.warn(`the store is locked by ${holder}; waiting up to ${waitMs / 1000} s for it to be released or go stale`),
        onTakeOver: (line) => log.logger.warn(line),
        onLost: (why) => daemon?.lockLost(why),
      });
      try {
        // The lock is the fence of every step that makes data visible (commit renames, recovery, retention).
        daemon = new Daemon({ settings, loadOptions, configFile: file, log, hooks: { ...testHooks(), beforeVisible: () => lock.assertHeld() } });
        return await daemon.run();
      } finally {
        await lock.release();
      }
    } catch (err) {
      log.logger.error(errorMessage(err));
      throw err;
    } finally {
      await log.close();
    }
  }),
);

/**
 * The store lock for a one-shot writer (poll, compact): beside a daemon, which holds it for its
 * whole life, 75 at once; behind another one-shot writer, waited for. `lost` fires if another
 * collector takes the store over meanwhile.
 */
async function oneShotLock(settings: Settings, log: LogHandle, command: 'poll' | 'compact', stops: string) {
  const { STALE_MS, acquireStoreLock, lockHolder } = await import('./store/lock.js');
  const lost = new AbortController();
  const waitMs = lockHolder(settings.store.dir)?.command === 'start' ? 0 : settings.poll.deadlineMs + STALE_MS;
  const lock = await acquireStoreLock(settings.store.dir, {
    command,
    waitMs,
    onWait: (holder) => process.stderr.write(`the store is locked by ${holder}; waiting up to ${Math.round(waitMs / 1000)} s\n`),
    onTakeOver: (line) => log.logger.warn(line),
    onLost: (why) => {
      log.logger.error(`store lock lost (${why}): another collector took over the store; ${stops}`);
      lost.abort();
    },
  });
  return { lock, lost: lost.signal };
}

withConfigFlags(
  program
    .command('poll')
    .description('Recover the store, poll every provider once, commit, print a summary. Exit 0 complete, 2 partial (what was collected is committed), 1 failed.'),
).action(
  action(async (flags: ConfigFlags) => {
    const { settings, log } = await openRuntime(flags);
    const { prepareStore } = await import('./store/maintenance.js');
    const { runPollJob } = await import('./poll/job.js');
    const { progressBars, summaryTable } = await import('./poll/summary.js');
    try {
      const { lock, lost } = await oneShotLock(settings, log, 'poll', 'this poll is aborted');
      let summary: PollSummary;
      const beforeVisible = () => lock.assertHeld(); // the fence of every step that makes data visible
      try {
        await prepareStore(settings.store.dir, log.logger, { beforeVisible });
        const bars = progressBars(settings.providers);
        try {
          summary = await runPollJob({ settings, logger: log.logger, signal: lost, hooks: { ...testHooks(), beforeVisible }, ...(bars ? { onProgress: bars.update } : {}) });
        } finally {
          bars?.stop();
        }
      } finally {
        await lock.release();
      }
      say(`${summaryTable(summary)}\n`);
      if (summary.status === 'failed') {
        sayError(failureLine(summary));
        return EXIT.failed;
      }
      return summary.status === 'complete' ? EXIT.ok : EXIT.partial;
    } catch (err) {
      log.logger.error(errorMessage(err));
      throw err;
    } finally {
      await log.close();
    }
  }),
);

withConfigFlags(
  program
    .command('compact')
    .description('Compact every closed day now (one file per table, day and provider), upgrading a store written before 0.3 first. Exit 0 done, 75 a daemon holds the store.'),
).action(
  action(async (flags: ConfigFlags) => {
    const { settings, log } = await openRuntime(flags, false); // compaction calls no provider
    const { prepareStore, compactStore } = await import('./store/maintenance.js');
    try {
      const { lock, lost } = await oneShotLock(settings, log, 'compact', 'compaction stops');
      try {
        const hooks = { ...testHooks(), signal: lost, beforeVisible: () => lock.assertHeld() }; // the fence of every swap
        await prepareStore(settings.store.dir, log.logger, hooks);
        const result = await compactStore(settings.store.dir, settings.store.compactAfterMinutes, log.logger, hooks);
        process.stdout.write(
          result.days.length === 0
            ? 'nothing to compact: every closed day has one file per table and provider\n'
            : `compacted ${result.days.length} day(s) (${result.days[0] ?? ''} to ${result.days.at(-1) ?? ''}): ${result.filesBefore} files into ${result.filesAfter}, ${result.rows} rows rewritten\n`,
        );
      } finally {
        await lock.release();
      }
      if (lost.aborted) throw new UserError('store lock lost during compaction: another collector took over the store; what was compacted before stays compacted', EXIT.failed);
      return EXIT.ok;
    } catch (err) {
      log.logger.error(errorMessage(err));
      throw err;
    } finally {
      await log.close();
    }
  }),
);

const alertsCommand = program.command('alerts').description('The alert rules and destinations (redacted); `alerts test [DESTINATION]` sends a test alert. See docs/alerts.md.');
withConfigFlags(alertsCommand.command('list', { isDefault: true }).description('List the rules and destinations, secrets redacted.')).action(
  action(async (flags: ConfigFlags) => {
    const { settings } = await loadSettings(flags, false);
    const { describeAlerts } = await import('./alerts/commands.js');
    say(describeAlerts(settings));
    return EXIT.ok;
  }),
);
withConfigFlags(alertsCommand.command('test').argument('[destination]', 'a destination name (default: every destination)').description('Send one test alert now. Exit 0 when every chosen destination accepted it, 1 otherwise.')).action(
  action(async (destination: string | undefined, flags: ConfigFlags) => {
    const { settings } = await loadSettings(flags, false);
    const { sendTestAlert } = await import('./alerts/commands.js');
    const { code, lines } = await sendTestAlert(settings, destination);
    say(`${lines.join('\n')}\n`);
    return code;
  }),
);

/** --sort and --limit/--offset, checked as /api/report checks them (report/params.ts). */
function sortArg(raw: string): string {
  if (parseSort(raw) === null) throw new InvalidArgumentError(SORT_EXPECTED);
  return raw;
}
function wholeArg(raw: string, min: number, max: number): number {
  const n = parseWhole(raw, min, max);
  if (n === null) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return n;
}

/** --since, checked as /api/report checks ?since= (report/params.ts). */
function since(raw: string): Date {
  try {
    return parseSince(raw);
  } catch {
    throw new InvalidArgumentError(SINCE_EXPECTED);
  }
}

withConfigFlags(
  program
    .command('report')
    .description('Answer the price questions from the store (committed polls only): best price per film, cheapest provider and film, price history, data health.'),
)
  .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
  .addOption(new Option('--section <name>', 'only this section (csv prints one section: best-prices unless set)').choices([...SECTIONS]))
  .option('--since <when>', 'history and health since: 7d, 24h or a date', since, since('7d'))
  .option('--provider <name>', 'only this provider')
  .option('--film <text>', 'only films whose title contains TEXT, ignoring case and accents (or whose film_key is TEXT)')
  .addOption(new Option('--sort <key>', `order of the film lists: ${SORT_KEYS.join(', ')}; -KEY for descending`).argParser(sortArg))
  .option('--limit <n>', `at most N films (and N history lines), 1 to ${MAX_LIMIT}`, (raw: string) => wholeArg(raw, 1, MAX_LIMIT))
  .option('--offset <n>', 'skip the first N films (and history lines)', (raw: string) => wholeArg(raw, 0, MAX_OFFSET))
  .option('--html <file>', 'also write a self-contained HTML page with the tables and a price chart per film')
  .action(
    action(async (opts: ConfigFlags & { format: 'table' | 'json' | 'csv'; section?: Section; since: Date; provider?: string; film?: string; html?: string; sort?: string; limit?: number; offset?: number }) => {
      const { settings } = await loadSettings(opts, false);
      const { StoreReader, retryingVanishedFiles } = await import('./report/queries.js');
      const { assembleReport, loadReportData, pickSection, renderCsv, renderTables } = await import('./report/report.js');
      const filters = { since: opts.since, provider: opts.provider, film: opts.film };
      const { explainDuckdbError } = await import('./runtime/duckdb-memory.js');
      const answer = await retryingVanishedFiles(async () => {
        const reader = await StoreReader.open(settings.store.dir, opts.since);
        if (!reader) return null;
        try {
          const data = await loadReportData(reader, settings.store.dir, filters);
          const report = assembleReport(data, { film: opts.film, sort: opts.sort, limit: opts.limit, offset: opts.offset });
          // The page holds every film of the search (it pages by itself), whatever --limit printed.
          const page = opts.html ? assembleReport(data, { film: opts.film, sort: opts.sort }) : null;
          const shown = new Set(page?.price_history.map((h) => h.film_key));
          return { report, page, series: page ? (await reader.series({ since: filters.since, provider: filters.provider })).filter((p) => shown.has(p.film_key)) : [] };
        } catch (err) {
          throw explainDuckdbError(err, 'the report');
        } finally {
          reader.close();
        }
      });
      if (!answer) {
        process.stderr.write(`no committed poll in the store at ${settings.store.dir} yet: run \`movies-collector poll\` or start the daemon\n`);
        return EXIT.ok;
      }
      const { report } = answer;
      if (opts.format === 'json') say(`${JSON.stringify(opts.section ? pickSection(report, opts.section) : report, null, 2)}\n`);
      else if (opts.format === 'csv') say(renderCsv(report, opts.section ?? 'best-prices'));
      else say(renderTables(report, opts.section ? [opts.section] : SECTIONS));
      if (opts.html) {
        const { renderHtml } = await import('./report/html.js');
        const { chartData } = await import('./report/charts.js');
        const page = answer.page ?? report;
        const titles = new Map(page.price_history.map((h) => [h.film_key, h.title]));
        writeFileSync(opts.html, redactText(renderHtml(page, chartData(titles, answer.series)), knownSecrets()));
        process.stderr.write(`report page written to ${opts.html}\n`);
      }
      return EXIT.ok;
    }),
  );

function driftList(raw: string): MockDrift[] {
  const names = raw.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !(MOCK_DRIFTS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown shape change ${unknown.join(', ')}; expected ${MOCK_DRIFTS.join(', ')}`);
  return names as MockDrift[];
}

program
  .command('mock-provider')
  .description('Serve the simulated provider API (both providers, seeded faults, latency, price drift) until stopped.')
  .option('--port <n>', 'port to listen on; 0 picks a free one and prints it', number(0, 65535, true), 8090)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--token <token>', 'access token clients must send in x-access-token', DEFAULT_MOCK_TOKEN)
  .option('--movies <n>', 'serve a synthetic catalogue of N films per provider instead of the 13 Star Wars films', number(1, 10_000_000, true))
  .option('--latency-ms <ms>', 'delay before every answer', number(0, 600_000, true), 0)
  .option('--fail-rate <0..1>', 'share of requests answered 500/503', rate, 0)
  .option('--hang-rate <0..1>', 'share of requests never answered', rate, 0)
  .option('--malformed-rate <0..1>', 'share of detail answers with truncated JSON or wrong types', rate, 0)
  .option('--seed <n>', 'seed of the catalogue, prices and faults', number(0, 2 ** 32 - 1, true), 1)
  .addOption(new Option('--price-drift <0..1>', 'largest relative price move between polls').argParser(rate).default(0))
  .addOption(new Option('--drift <changes>', `shape changes in every answer, comma-separated: ${MOCK_DRIFTS.join(', ')}`).argParser(driftList))
  .action(
    async (opts: { port: number; host: string; token: string; movies?: number; latencyMs: number; failRate: number; hangRate: number; malformedRate: number; seed: number; priceDrift: number; drift?: MockDrift[] }) => {
      const { startMockProvider } = await import('./mock/server.js');
      const { MOCK_PROVIDERS } = await import('./mock/catalogue.js');
      const mock = await startMockProvider(opts);
      const counts = MOCK_PROVIDERS.map((p) => `${p} (${mock.catalogue.filmsOf(p).length} films)`).join(' and ');
      process.stdout.write(`mock-provider: serving ${counts} at ${mock.url} (header x-access-token: ${mock.token})\n`);
      const stop = () => void mock.close().then(() => process.exit(EXIT.ok));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`movies-collector: ${errorMessage(err)}\n`);
  process.exit(EXIT.failed);
});
