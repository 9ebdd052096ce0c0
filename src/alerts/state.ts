// The rules' memory between polls (previous best prices, lists, which conditions fired), kept in
// `<store>/_alerts/state.json`: written whole (temp, fsync, rename) right after a poll's alerts are
// in the outbox (before the alerts table), so a crash in between re-evaluates the poll from the
// old state, which yields the same alerts with the same keys (the outbox ignores keys it holds).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readMarker, writeMarker } from '../store/durable.js';
import { emptyState, type RuleState } from './rules.js';

export const ALERTS_DIR = '_alerts';

export const alertsDir = (root: string): string => path.join(root, ALERTS_DIR);
const stateFile = (root: string) => path.join(alertsDir(root), 'state.json');

export async function loadState(root: string): Promise<RuleState> {
  // A missing or torn file starts the rules afresh: the next poll is their baseline (no alert from it).
  const state = await readMarker<RuleState>(stateFile(root), (v) => v.version === 1 && typeof v.lastRun === 'string' && typeof v.fired === 'object');
  return state ?? emptyState();
}

export async function saveState(root: string, state: RuleState): Promise<void> {
  mkdirSync(alertsDir(root), { recursive: true });
  await writeMarker(stateFile(root), state);
}
