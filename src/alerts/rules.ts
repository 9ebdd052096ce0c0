// The rules: pure functions from (the rule state, one committed poll) to (alerts, the next state).
// No I/O and no clock of their own, so that evaluating the same poll twice from the same state
// (after a crash between "computed" and "recorded") yields the same alerts with the same keys.
//
// Missing prices never make price alerts: a film's best price and cheapest provider are only
// known when every provider either finished its list (complete: a film it lacks is not sold
// there) or has the film's price in this poll. A provider's list changes count only from its
// complete polls. Each rule fires once per condition and re-arms when the condition cleared.
import { createHash } from 'node:crypto';
import type { SchemaChangeRecord } from '../records/types.js';
import type { AlertRule, RuleType } from './config.js';

export type AlertKind = 'price-drop' | 'target-price' | 'cheapest-change' | 'listed' | 'delisted' | 'failing' | 'stale' | 'partial' | 'schema-change' | 'recovered' | 'test';

/** A change in the shape of a provider's answers, as the poll's schema_changes rows hold it. */
export type ObservedSchemaChange = Pick<SchemaChangeRecord, 'provider' | 'source' | 'path' | 'kind' | 'old_type' | 'new_type' | 'example' | 'share' | 'answers' | 'action'>;

export interface Alert {
  /** Idempotency key: the same for the same poll, rule and subject, whatever the number of evaluations. */
  key: string;
  rule: string;
  kind: AlertKind;
  film_key: string | null;
  title: string | null;
  provider: string | null;
  /** Prices in cents; for health alerts, counts (failed polls in a row) or null. */
  old_value: number | null;
  new_value: number | null;
  message: string;
  /** The committed poll it was drawn from ('' for a health alert without one). */
  run: string;
  created_at: string;
  destinations: string[];
}

export interface Price {
  film_key: string;
  title: string;
  provider: string;
  price_cents: number;
}

/** What one evaluation looks at: a committed poll (run set), or a clock tick (stale check only). */
export interface Observation {
  run: string;
  at: Date;
  /** Each provider's status in the poll; empty when no poll was committed (a tick, or a poll that threw). */
  providers: Array<{ provider: string; status: 'complete' | 'partial' | 'failed' }>;
  prices: Price[];
  /** The poll's shape changes (its schema_changes rows; a baseline row is no change and never alerts). */
  schemaChanges?: ObservedSchemaChange[];
  /** The daemon's count of failed polls in a row, after this poll. */
  consecutiveFailures: number;
  /** A poll ended (committed or not): false for a clock tick. */
  polled: boolean;
  /** Two schedule intervals: a complete poll older than this is stale (null: unknown). */
  staleAfterMs: number | null;
}

export interface RuleState {
  version: 1;
  /** The last committed run evaluated: a run is evaluated once. */
  lastRun: string;
  lastCompleteAt: string | null;
  /** Last known best price (cents) and cheapest provider per film. */
  best: Record<string, number>;
  cheapest: Record<string, string>;
  /** Film keys of each provider's last complete list. */
  listed: Record<string, string[]>;
  /** Partial polls in a row, per provider. */
  partialStreak: Record<string, number>;
  /** Conditions that fired and have not cleared yet (rule|subject): the rule is disarmed for them. */
  fired: Record<string, true>;
  /**
   * Alerts emitted so far without a committed poll (stale, failing): with lastRun, their key. Not
   * the clock: a re-evaluation after a crash before the state was saved gives the same key.
   */
  unpolledAlerts?: number;
  /** Failed polls in a row after the last poll evaluated: a poll missed at a restart continues it. */
  failures?: number;
}

export const emptyState = (): RuleState => ({ version: 1, lastRun: '', lastCompleteAt: null, best: {}, cheapest: {}, listed: {}, partialStreak: {}, fired: {} });

export interface Context {
  rules: AlertRule[];
  destinations: string[];
  /** failing's default: health.maxConsecutiveFailures. */
  defaultFailingPolls: number;
}

const money = (cents: number) => (cents / 100).toFixed(2);

export function alertKey(parts: Array<string | null>): string {
  return createHash('sha256').update(parts.map((p) => p ?? '').join('\u0000')).digest('hex').slice(0, 32);
}

function matchesFilm(rule: AlertRule, p: { film_key: string; title: string }): boolean {
  if (rule.film === undefined) return true;
  return p.film_key === rule.film || p.title.toLowerCase().includes(rule.film.toLowerCase());
}

/** Evaluates every rule against one observation. Returns the alerts and the next state (the input is not changed). */
export function evaluate(previous: RuleState, obs: Observation, ctx: Context): { alerts: Alert[]; state: RuleState } {
  const state: RuleState = structuredClone(previous);
  const alerts: Alert[] = [];
  const stamp = obs.run !== '' ? obs.run : `${previous.lastRun}#${previous.unpolledAlerts ?? 0}`;
  /** `keyParts`: what else tells this alert from the rule's others of the same poll, film and provider. */
  const emit = (rule: AlertRule, kind: AlertKind, subject: { film_key?: string; title?: string; provider?: string }, old_value: number | null, new_value: number | null, message: string, keyParts: string[] = []) => {
    const film_key = subject.film_key ?? null;
    const provider = subject.provider ?? null;
    alerts.push({
      key: alertKey([stamp, rule.name, kind, film_key, provider, ...keyParts]), rule: rule.name, kind, film_key, title: subject.title ?? null, provider,
      old_value, new_value, message, run: obs.run, created_at: obs.at.toISOString(), destinations: rule.destinations ?? ctx.destinations,
    });
    if (obs.run === '') state.unpolledAlerts = (previous.unpolledAlerts ?? 0) + 1;
  };
  const byType = (type: RuleType) => ctx.rules.filter((r) => r.type === type);
  const committed = obs.run !== '' && obs.providers.length > 0;

  if (committed) {
    // Prices per film, and whether the film's best price is known (see the header).
    const films = new Map<string, { title: string; prices: Map<string, number> }>();
    for (const p of obs.prices) {
      const f = films.get(p.film_key) ?? { title: p.title, prices: new Map<string, number>() };
      const had = f.prices.get(p.provider);
      f.prices.set(p.provider, had === undefined ? p.price_cents : Math.min(had, p.price_cents));
      films.set(p.film_key, f);
    }
    const bestKnown = (prices: Map<string, number>) => obs.providers.every((p) => p.status === 'complete' || prices.has(p.provider));

    for (const [film_key, f] of films) {
      if (!bestKnown(f.prices)) continue;
      const [cheapestProvider, best] = [...f.prices].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0] ?? ['', 0];
      const before = state.best[film_key];
      if (before !== undefined && best < before) {
        for (const rule of byType('price-drop')) {
          if (!matchesFilm(rule, { film_key, title: f.title })) continue;
          const drop = before - best;
          const pct = (drop / before) * 100;
          if ((rule.percent !== undefined && pct >= rule.percent) || (rule.amount !== undefined && drop >= Math.round(rule.amount * 100))) {
            emit(rule, 'price-drop', { film_key, title: f.title, provider: cheapestProvider }, before, best, `${f.title}: best price ${money(before)} → ${money(best)} (-${pct.toFixed(1)}%) at ${cheapestProvider}`);
          }
        }
      }
      state.best[film_key] = best;
      // A tie keeps the previous cheapest provider: a tie is no change.
      const previousCheapest = state.cheapest[film_key];
      const tied = previousCheapest !== undefined && f.prices.get(previousCheapest) === best;
      if (!tied) {
        if (previousCheapest !== undefined && previousCheapest !== cheapestProvider) {
          for (const rule of byType('cheapest-change')) {
            if (!matchesFilm(rule, { film_key, title: f.title })) continue;
            // old_value: what the previous cheapest provider asks now (null: it no longer sells the film).
            emit(rule, 'cheapest-change', { film_key, title: f.title, provider: cheapestProvider }, f.prices.get(previousCheapest) ?? null, best, `${f.title}: cheapest at ${cheapestProvider} now (${money(best)}), was ${previousCheapest}`);
          }
        }
        state.cheapest[film_key] = cheapestProvider;
      }
    }

    // Target prices: any committed price is a real price; a missing one changes nothing.
    for (const rule of byType('target-price')) {
      const target = Math.round((rule.price ?? 0) * 100);
      for (const p of obs.prices) {
        if ((rule.provider !== undefined && p.provider !== rule.provider) || !matchesFilm(rule, p)) continue;
        const id = `${rule.name}|${p.film_key}|${p.provider}`;
        if (p.price_cents <= target) {
          if (!state.fired[id]) emit(rule, 'target-price', p, target, p.price_cents, `${p.title}: ${money(p.price_cents)} at ${p.provider}, at or below the target ${money(target)}`);
          state.fired[id] = true;
        } else {
          delete state.fired[id];
        }
      }
    }

    // Lists: only a provider's complete polls say what it sells.
    const titles = new Map(obs.prices.map((p) => [p.film_key, p.title]));
    for (const { provider, status: s } of obs.providers) {
      if (s !== 'complete') continue;
      const now = [...new Set(obs.prices.filter((p) => p.provider === provider).map((p) => p.film_key))].sort();
      const before = state.listed[provider];
      if (before !== undefined) {
        const had = new Set(before);
        const has = new Set(now);
        for (const rule of byType('listing')) {
          if (rule.provider !== undefined && rule.provider !== provider) continue;
          for (const k of now) if (!had.has(k) && matchesFilm(rule, { film_key: k, title: titles.get(k) ?? '' })) emit(rule, 'listed', { film_key: k, title: titles.get(k) ?? k, provider }, null, null, `${titles.get(k) ?? k}: now listed at ${provider}`);
          for (const k of before) if (!has.has(k) && matchesFilm(rule, { film_key: k, title: '' })) emit(rule, 'delisted', { film_key: k, provider }, null, null, `${k}: no longer listed at ${provider}`);
        }
      }
      state.listed[provider] = now;
    }

    // A provider partial for N polls in a row: once, re-armed by a complete poll of it.
    for (const { provider, status: s } of obs.providers) {
      state.partialStreak[provider] = s === 'partial' ? (state.partialStreak[provider] ?? 0) + 1 : 0;
      for (const rule of byType('partial')) {
        if (rule.provider !== undefined && rule.provider !== provider) continue;
        const id = `${rule.name}|${provider}`;
        const n = rule.polls ?? 3;
        if (s === 'partial' && state.partialStreak[provider] >= n && !state.fired[id]) {
          emit(rule, 'partial', { provider }, null, state.partialStreak[provider], `${provider}: ${state.partialStreak[provider]} partial polls in a row (films listed but not collected)`);
          state.fired[id] = true;
        } else if (s === 'complete') {
          delete state.fired[id];
        }
      }
    }
    // Shape changes: each is recorded once, by the poll that first saw it; one alert per change.
    for (const rule of byType('schema-change')) {
      for (const c of obs.schemaChanges ?? []) {
        if (!schemaRuleMatches(rule, c)) continue;
        emit(rule, 'schema-change', { title: c.path, provider: c.provider }, null, null, schemaChangeMessage(c), [c.source, c.path, c.kind, c.new_type]);
      }
    }
    if (obs.providers.every((p) => p.status === 'complete')) state.lastCompleteAt = obs.at.toISOString();
    state.lastRun = obs.run;
  }

  // Data health: one alert when a state begins, one "recovered" when it ends.
  if (obs.polled) {
    state.failures = obs.consecutiveFailures;
    for (const rule of byType('failing')) {
      const id = `${rule.name}|failing`;
      const n = rule.polls ?? Math.max(1, ctx.defaultFailingPolls);
      if (obs.consecutiveFailures >= n && !state.fired[id]) {
        emit(rule, 'failing', {}, null, obs.consecutiveFailures, `polling is failing: ${obs.consecutiveFailures} failed polls in a row`);
        state.fired[id] = true;
      } else if (obs.consecutiveFailures === 0 && state.fired[id]) {
        emit(rule, 'recovered', {}, null, 0, 'polling recovered: a poll committed data again');
        delete state.fired[id];
      }
    }
  }
  for (const rule of byType('stale')) {
    const id = `${rule.name}|stale`;
    const last = state.lastCompleteAt === null ? null : Date.parse(state.lastCompleteAt);
    const justCompleted = committed && state.lastCompleteAt === obs.at.toISOString();
    if (justCompleted) {
      if (state.fired[id]) {
        emit(rule, 'recovered', {}, null, null, 'data is fresh again: a complete poll was committed');
        delete state.fired[id];
      }
    } else if (obs.staleAfterMs !== null && last !== null && obs.at.getTime() - last > obs.staleAfterMs && !state.fired[id]) {
      emit(rule, 'stale', {}, null, null, `data is stale: no complete poll since ${state.lastCompleteAt ?? ''}`);
      state.fired[id] = true;
    }
  }
  return { alerts, state };
}

function schemaRuleMatches(rule: AlertRule, c: ObservedSchemaChange): boolean {
  if (c.kind === 'baseline') return false; // a provider's first shape: no change
  if (rule.provider !== undefined && c.provider !== rule.provider) return false;
  if (rule.providers !== undefined && !rule.providers.includes(c.provider)) return false;
  return rule.kinds === undefined || (rule.kinds as readonly string[]).includes(c.kind);
}

/** `cinemaworld: type-change at Price (detail answers): string:numeric → string in 50% of 12 answers, e.g. "$12.50"; action record`. */
export function schemaChangeMessage(c: ObservedSchemaChange): string {
  const share = c.share * 100;
  const pct = share > 0 && share < 1 ? '<1%' : `${Math.round(share)}%`;
  const example = c.example === null ? '' : `, e.g. ${JSON.stringify(c.example)}`;
  return `${c.provider}: ${c.kind} at ${c.path} (${c.source} answers): ${c.old_type ?? 'none'} → ${c.new_type} in ${pct} of ${c.answers} answers${example}; action ${c.action}`;
}
