// bench:age's stores, cached under /var/tmp/mc-age/<days>d-<interval>m-<alerts>a/ (or --keep DIR): `days` days of
// polls every `intervalMinutes` of the 13-film catalogue, ending at 23:45 UTC of the day before
// the build (so that the daemon's own polls are the only ones of "today" in every store), written
// as 0.2.0 wrote them by bench/year-store.ts, then given an `alerts/` history (`alertFilesPerDay`
// files a day, one per poll that "made alerts", as the daemon of this version writes them: one
// file per poll, never compacted), then upgraded and compacted by `movies-collector compact` (the
// collector as built now). Each step leaves a marker, so an interrupted build resumes at the step
// it was in; a step's leftovers are removed before it runs again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAlertsFile } from '../src/alerts/table.js';
import type { Alert, AlertKind } from '../src/alerts/rules.js';
import { Catalogue, MOCK_PROVIDERS } from '../src/mock/catalogue.js';
import { HEAP_FLAGS } from '../src/runtime/heap.js';
import { dtFolders, runIdStart } from '../src/store/layout.js';
import { buildLegacyStore } from './year-store.js';

/** Where stores are cached unless the bench is given --keep DIR. */
export const CACHE_ROOT = '/var/tmp/mc-age';
const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../src/cli.js');

export interface StoreSpec {
  days: number;
  intervalMinutes: number;
  alertFilesPerDay: number;
}

export interface CachedStore {
  /** The cached store's DATA_DIR (never written by the bench: it works on hard-link copies). */
  data: string;
  polls: number;
  movieRows: number;
  alertFiles: number;
  /** The first and last day of polls. */
  firstDay: string;
  lastDay: string;
  /** Seconds each step took when it was built (cached steps keep the figures of their build). */
  seconds: { build: number; alerts: number; compact: number };
  compactPeakMb: number;
}

interface Built {
  polls: number;
  movieRows: number;
  seconds: number;
  end: string;
}

export const storeKey = (spec: StoreSpec): string => `${spec.days}d-${spec.intervalMinutes}m-${spec.alertFilesPerDay}a`;

const readJson = <T>(file: string): T | null => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null);
const say = (line: string) => process.stderr.write(`${line}\n`);

/** The store for `spec`, built (or finished) if the cache lacks it; `fresh` builds it again. */
export async function cachedStore(spec: StoreSpec, cacheRoot = CACHE_ROOT, fresh = false): Promise<CachedStore> {
  const dir = path.join(cacheRoot, storeKey(spec));
  const data = path.join(dir, 'data');
  if (fresh) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const done = readJson<CachedStore>(path.join(dir, 'done.json'));
  if (done) return done;

  // 1. The polls, as 0.2.0 wrote them.
  let built = readJson<Built>(path.join(dir, 'built.json'));
  if (!built) {
    rmSync(data, { recursive: true, force: true });
    rmSync(path.join(dir, 'alerts.json'), { force: true });
    mkdirSync(data, { recursive: true });
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const end = new Date(today - spec.intervalMinutes * 60_000);
    say(`bench:age: building ${spec.days} day(s) of polls every ${spec.intervalMinutes} minutes under ${data} (last poll ${end.toISOString()})…`);
    const b = await buildLegacyStore(data, spec.days, spec.intervalMinutes, end, true);
    built = { polls: b.polls, movieRows: b.movieRows, seconds: b.seconds, end: end.toISOString() };
    writeFileSync(path.join(dir, 'built.json'), JSON.stringify(built));
    say(`  ${b.polls} polls, ${b.files} files, ${b.movieRows} movie rows in ${b.seconds.toFixed(0)} s`);
  }

  // 2. The alerts table's history: one file per poll that made alerts (the daemon's layout).
  let alerts = readJson<{ files: number; seconds: number }>(path.join(dir, 'alerts.json'));
  if (!alerts) {
    if (readJson(path.join(dir, 'compacted.json')) !== null) throw new Error(`${dir}: compacted without its alerts history; run with --fresh`);
    rmSync(path.join(data, 'alerts'), { recursive: true, force: true });
    const started = performance.now();
    const files = await writeAlertHistory(data, spec.alertFilesPerDay);
    alerts = { files, seconds: (performance.now() - started) / 1000 };
    writeFileSync(path.join(dir, 'alerts.json'), JSON.stringify(alerts));
    say(`  alerts history: ${files} files in ${alerts.seconds.toFixed(0)} s`);
  }

  // 3. Upgrade and compaction, by the collector's own command (every closed day: no grace).
  let compacted = readJson<{ seconds: number; peakMb: number }>(path.join(dir, 'compacted.json'));
  if (!compacted) {
    say(`  compacting ${data} (movies-collector compact: upgrade of the 0.2.0 layout, then compaction)…`);
    const started = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '@@ %M', process.execPath, ...HEAP_FLAGS, CLI, 'compact'], {
      env: { ...process.env, DATA_DIR: data, LOG_DIR: path.join(dir, 'logs'), LOG_LEVEL: 'warn', COMPACT_AFTER_MINUTES: '0' },
      encoding: 'utf8', maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`compact of ${data} failed (exit ${String(r.status)}): ${r.stderr.slice(-2000)}`);
    compacted = { seconds: (performance.now() - started) / 1000, peakMb: Number(/@@ (\d+)\s*$/.exec(r.stderr)?.[1] ?? 0) / 1024 };
    writeFileSync(path.join(dir, 'compacted.json'), JSON.stringify(compacted));
    say(`  compacted in ${compacted.seconds.toFixed(0)} s, peak RSS ${compacted.peakMb.toFixed(0)} MB`);
  }

  const days = dtFolders(readdirSync(path.join(data, 'runs')));
  const store: CachedStore = {
    data, polls: built.polls, movieRows: built.movieRows, alertFiles: alerts.files,
    firstDay: days[0] ?? '', lastDay: days.at(-1) ?? '',
    seconds: { build: built.seconds, alerts: alerts.seconds, compact: compacted.seconds }, compactPeakMb: compacted.peakMb,
  };
  writeFileSync(path.join(dir, 'done.json'), JSON.stringify(store));
  return store;
}

/**
 * `perDay` alert files a day (each 1 to 3 alerts of the bench's rules), at polls spread over the
 * day, each named by its poll's run id as the daemon names them. Prices in the year store move
 * once a day, so these are not the alerts its rules would have computed: they stand for a store
 * whose daemon alerted a few times a day, which is what the table's file count depends on.
 */
async function writeAlertHistory(root: string, perDay: number): Promise<number> {
  if (perDay <= 0) return 0;
  const films = new Catalogue().films;
  let files = 0;
  let n = 0;
  for (const dt of dtFolders(readdirSync(path.join(root, 'runs')))) {
    const runs = readdirSync(path.join(root, 'runs', `dt=${dt}`)).flatMap((name) => /^run=(.+)$/.exec(name)?.[1] ?? []).sort();
    if (runs.length === 0) continue;
    const chosen = new Set(Array.from({ length: Math.min(perDay, runs.length) }, (_, i) => runs[Math.floor(((i + 0.5) * runs.length) / Math.min(perDay, runs.length))] as string));
    for (const run of chosen) {
      const at = runIdStart(run) ?? new Date(`${dt}T00:00:00Z`);
      const alerts: Alert[] = [];
      for (let k = 0; k < 1 + (n % 3); k++, n++) {
        const film = films[n % films.length] as (typeof films)[number];
        const provider = MOCK_PROVIDERS[n % MOCK_PROVIDERS.length] as (typeof MOCK_PROVIDERS)[number];
        const kind: AlertKind = (['price-drop', 'cheapest-change', 'target-price'] as const)[n % 3] as AlertKind;
        const rule = kind === 'price-drop' ? 'drop' : kind === 'cheapest-change' ? 'cheapest' : 'target';
        const oldValue = 1000 + ((n * 37) % 2000);
        const newValue = oldValue - 50 - ((n * 13) % 200);
        alerts.push({
          key: createHash('sha256').update(`${run}|${rule}|${kind}|${film.digits}|${provider}`).digest('hex').slice(0, 32),
          rule, kind, film_key: `tt${film.digits}`, title: film.title, provider, old_value: oldValue, new_value: newValue,
          message: `${film.title}: best price ${(oldValue / 100).toFixed(2)} → ${(newValue / 100).toFixed(2)} at ${provider}`,
          run, created_at: at.toISOString(), destinations: ['hook'],
        });
      }
      await writeAlertsFile(root, run, alerts);
      files++;
    }
  }
  return files;
}
