// The rules over sequences of polls: each fires once for its condition and re-arms after it
// clears; a partial or failed poll never makes price alerts out of missing prices; evaluating the
// same poll from the same state gives the same keys (what crash recovery relies on).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertRule } from '../src/alerts/config.js';
import { emptyState, evaluate, type Alert, type Observation, type RuleState } from '../src/alerts/rules.js';

type Status = 'complete' | 'partial' | 'failed';
let n = 0;
function poll(prices: Record<string, Record<string, number>>, statuses: Record<string, Status> = { cw: 'complete', fw: 'complete' }, failures = 0): Observation {
  n++;
  const at = new Date(Date.UTC(2026, 11, 2, 10, n));
  return {
    run: `20261202T10${String(n).padStart(2, '0')}00.000Z-0000000${n % 10}`, at, polled: true, consecutiveFailures: failures, staleAfterMs: 30 * 60_000,
    providers: Object.entries(statuses).map(([provider, status]) => ({ provider, status })),
    prices: Object.entries(prices).flatMap(([film, byProvider]) => Object.entries(byProvider).map(([provider, cents]) => ({ film_key: film, title: `Film ${film}`, provider, price_cents: cents }))),
  };
}

function run(rules: AlertRule[], polls: Observation[]): { perPoll: Alert[][]; state: RuleState } {
  let state = emptyState();
  const perPoll: Alert[][] = [];
  for (const obs of polls) {
    const r = evaluate(state, obs, { rules, destinations: ['d'], defaultFailingPolls: 2 });
    perPoll.push(r.alerts);
    state = r.state;
  }
  return { perPoll, state };
}
const kinds = (perPoll: Alert[][]) => perPoll.map((a) => a.map((x) => `${x.kind}:${x.film_key ?? x.provider ?? ''}`));

test('price-drop fires once per drop, never again for the same price, and again after the price went back up and dropped', () => {
  const rules: AlertRule[] = [{ name: 'drop', type: 'price-drop', percent: 10 }];
  const { perPoll } = run(rules, [
    poll({ a: { cw: 1000, fw: 1200 } }), // baseline
    poll({ a: { cw: 850, fw: 1200 } }), // -15 %: fires
    poll({ a: { cw: 850, fw: 1200 } }), // same price
    poll({ a: { cw: 840, fw: 1200 } }), // -1 %: below the threshold
    poll({ a: { cw: 1000, fw: 1200 } }), // back up: clears
    poll({ a: { cw: 850, fw: 1200 } }), // fires again
  ]);
  assert.deepEqual(kinds(perPoll), [[], ['price-drop:a'], [], [], [], ['price-drop:a']]);
  assert.equal(perPoll[1]?.[0]?.old_value, 1000);
  assert.equal(perPoll[1]?.[0]?.new_value, 850);
});

test('a partial or failed poll makes no price alert from a missing price', () => {
  const rules: AlertRule[] = [{ name: 'drop', type: 'price-drop', amount: 1 }, { name: 'cheap', type: 'cheapest-change' }, { name: 'lists', type: 'listing' }];
  const { perPoll, state } = run(rules, [
    poll({ a: { cw: 1000, fw: 500 } }),
    // fw partial and a's fw price missing: a's best (500 at fw) is unknown, not 1000 at cw
    poll({ a: { cw: 1000 } }, { cw: 'complete', fw: 'partial' }),
    poll({}, { cw: 'failed', fw: 'failed' }),
    // back to the same prices: no drop from 1000 to 500, no cheapest change, no listing change
    poll({ a: { cw: 1000, fw: 500 } }),
  ]);
  assert.deepEqual(kinds(perPoll), [[], [], [], []]);
  assert.equal(state.best.a, 500);
});

test('a partial poll still counts prices it has when every missing provider finished its list', () => {
  const rules: AlertRule[] = [{ name: 'drop', type: 'price-drop', percent: 5 }];
  const { perPoll } = run(rules, [
    poll({ a: { cw: 1000, fw: 900 } }),
    poll({ a: { cw: 1000, fw: 800 } }, { cw: 'complete', fw: 'partial' }), // fw partial, but a's fw price is there
  ]);
  assert.deepEqual(kinds(perPoll), [[], ['price-drop:a']]);
});

test('target-price fires once while at or below the target, and re-arms once the price is above it', () => {
  const rules: AlertRule[] = [{ name: 'want', type: 'target-price', film: 'film A', price: 5, provider: 'cw' }];
  const { perPoll } = run(rules, [
    poll({ a: { cw: 600, fw: 400 } }), // fw below, but the rule is for cw
    poll({ a: { cw: 500, fw: 400 } }), // fires (at the target)
    poll({ a: { cw: 450, fw: 400 } }), // still below: no second alert
    poll({ a: { fw: 400 } }, { cw: 'partial', fw: 'complete' }), // cw's price missing: nothing changes
    poll({ a: { cw: 520, fw: 400 } }), // clears
    poll({ a: { cw: 499, fw: 400 } }), // fires again
  ]);
  assert.deepEqual(kinds(perPoll), [[], ['target-price:a'], [], [], [], ['target-price:a']]);
});

test('cheapest-change and listing fire on change only; a tie is no change', () => {
  const rules: AlertRule[] = [{ name: 'cheap', type: 'cheapest-change' }, { name: 'lists', type: 'listing', provider: 'fw' }];
  const { perPoll } = run(rules, [
    poll({ a: { cw: 500, fw: 600 }, b: { cw: 100 } }),
    poll({ a: { cw: 600, fw: 600 }, b: { cw: 100 } }), // tie: cw stays cheapest
    poll({ a: { cw: 700, fw: 600 }, b: { cw: 100 }, c: { fw: 900 } }), // fw cheapest; c appears at fw
    poll({ a: { cw: 700, fw: 600 }, b: { cw: 100 }, c: { fw: 900 } }),
    poll({ a: { cw: 700 }, b: { cw: 100 }, c: { fw: 900 } }), // a disappears from fw: cw now cheapest
  ]);
  assert.deepEqual(kinds(perPoll), [[], [], ['cheapest-change:a', 'listed:c'], [], ['cheapest-change:a', 'delisted:a']]);
});

test('failing, partial and stale fire once per state and recovered once when failing or stale ends', () => {
  const rules: AlertRule[] = [{ name: 'fail', type: 'failing' }, { name: 'part', type: 'partial', polls: 2 }, { name: 'stale', type: 'stale' }];
  const ok = { cw: 'complete', fw: 'complete' } as const;
  const part = { cw: 'complete', fw: 'partial' } as const;
  const failed = { cw: 'failed', fw: 'failed' } as const;
  const polls = [poll({ a: { cw: 1, fw: 1 } }, ok), poll({}, failed, 1), poll({}, failed, 2), poll({}, failed, 3), poll({ a: { cw: 1, fw: 1 } }, ok, 0),
    poll({ a: { cw: 1 } }, part), poll({ a: { cw: 1 } }, part), poll({ a: { cw: 1 } }, part), poll({ a: { cw: 1, fw: 1 } }, ok)];
  const { perPoll } = run(rules, polls);
  assert.deepEqual(kinds(perPoll), [[], [], ['failing:'], [], ['recovered:'], [], ['partial:fw'], [], []]);
  // stale: a tick 31 minutes after the last complete poll fires once; the next complete poll recovers
  const base = run(rules, [poll({ a: { cw: 1, fw: 1 } }, ok)]).state;
  const at = new Date(Date.parse(base.lastCompleteAt ?? '') + 31 * 60_000);
  const tick: Observation = { run: '', at, providers: [], prices: [], consecutiveFailures: 0, polled: false, staleAfterMs: 30 * 60_000 };
  const first = evaluate(base, tick, { rules, destinations: [], defaultFailingPolls: 2 });
  const second = evaluate(first.state, { ...tick, at: new Date(at.getTime() + 60_000) }, { rules, destinations: [], defaultFailingPolls: 2 });
  assert.deepEqual([first.alerts.map((a) => a.kind), second.alerts.map((a) => a.kind)], [['stale'], []]);
  const after = poll({ a: { cw: 1, fw: 1 } }, ok);
  assert.deepEqual(evaluate(second.state, { ...after, at: new Date(at.getTime() + 120_000) }, { rules, destinations: [], defaultFailingPolls: 2 }).alerts.map((a) => a.kind), ['recovered']);
});

test('the same poll evaluated twice from the same state gives the same alerts and keys', () => {
  const rules: AlertRule[] = [{ name: 'drop', type: 'price-drop', percent: 1 }];
  const { state } = run(rules, [poll({ a: { cw: 1000, fw: 1200 } })]);
  const next = poll({ a: { cw: 900, fw: 1200 } });
  const once = evaluate(state, next, { rules, destinations: ['d'], defaultFailingPolls: 3 });
  const twice = evaluate(state, next, { rules, destinations: ['d'], defaultFailingPolls: 3 });
  assert.equal(once.alerts.length, 1);
  assert.deepEqual(twice.alerts, once.alerts);
  assert.equal(state.best.a, 1000, 'the input state is not changed');
});

test('a stale or failing alert without a committed poll keeps its key when evaluated again later (crash before the state was saved)', () => {
  const rules: AlertRule[] = [{ name: 'fail', type: 'failing', polls: 1 }, { name: 'stale', type: 'stale' }];
  const ctx = { rules, destinations: ['d'], defaultFailingPolls: 2 };
  const base = run(rules, [poll({ a: { cw: 1, fw: 1 } })]).state;
  const at = new Date(Date.parse(base.lastCompleteAt ?? '') + 31 * 60_000);
  const tick: Observation = { run: '', at, providers: [], prices: [], consecutiveFailures: 0, polled: false, staleAfterMs: 30 * 60_000 };
  const first = evaluate(base, tick, ctx).alerts;
  const again = evaluate(base, { ...tick, at: new Date(at.getTime() + 60_000) }, ctx).alerts; // the next minute's check, after a restart
  assert.deepEqual([first.map((a) => a.kind), again.map((a) => a.key)], [['stale'], first.map((a) => a.key)]);
  const failed: Observation = { ...tick, polled: true, consecutiveFailures: 1, at: new Date(at.getTime() + 5_000) };
  const f1 = evaluate(base, failed, ctx).alerts.filter((a) => a.kind === 'failing');
  const f2 = evaluate(base, { ...failed, at: new Date(at.getTime() + 65_000) }, ctx).alerts.filter((a) => a.kind === 'failing');
  assert.equal(f1.length, 1);
  assert.deepEqual(f2.map((a) => a.key), f1.map((a) => a.key));
  // A later episode of the same condition is a new alert: a new key.
  const cleared = evaluate(evaluate(evaluate(base, failed, ctx).state, { ...failed, consecutiveFailures: 0 }, ctx).state, failed, ctx).alerts.filter((a) => a.kind === 'failing');
  assert.equal(cleared.length, 1);
  assert.notEqual(cleared[0]?.key, f1[0]?.key);
});
