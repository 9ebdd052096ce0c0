// The rules' memory between polls (previous best prices, lists, which conditions fired), kept in
// `<store>/_alerts/state.json`: written whole (temp, fsync, rename) right after a poll's alerts are
// in the outbox (before the alerts table), so a crash in between re-evaluates the poll from the
// old state, which yields the same alerts with the same keys (the outbox ignores keys it holds).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/log.js';
import { readMarkerOrSetAside, writeMarker } from '../store/durable.js';
import { emptyState, type RuleState } from './rules.js';

export const ALERTS_DIR = '_alerts';

export const alertsDir = (root: string): string => path.join(root, ALERTS_DIR);
const stateFile = (root: string) => path.join(alertsDir(root), 'state.json');

export async function loadState(root: string, logger?: Logger): Promise<RuleState> {
  // A missing file starts the rules afresh: the next poll is their baseline. A corrupt one too, said loudly and kept aside.
  const state = await readMarkerOrSetAside<RuleState>(stateFile(root), (v) => v.version === 1 && typeof v.lastRun === 'string' && typeof v.fired === 'object', (aside, why) => {
    logger?.warn(`alerts: ${stateFile(root)} is unreadable (${why}); moved to ${aside}; the rules start afresh: the next poll is their baseline, and conditions that already fired may fire again`, { file: stateFile(root), movedTo: aside });
  });
  return state ?? emptyState();
}

export async function saveState(root: string, state: RuleState): Promise<void> {
  mkdirSync(alertsDir(root), { recursive: true });
  await writeMarker(stateFile(root), state);
}
