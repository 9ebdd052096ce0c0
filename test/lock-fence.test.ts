// Issue 19, item 5: the store lock as a fence. A holder checks that it still holds the lock right
// before each step that makes something visible (commit renames, retention's deletes); once
// another collector took the lock over, that check throws and nothing changes in the store.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import { applyRetention } from '../src/store/retention.js';
import { LOCK_DIR, LOCK_INFO, LockLostError, acquireStoreLock } from '../src/store/lock.js';
import { tempDir } from './helpers.js';

const logger = winston.createLogger({ silent: true });

async function lockIn(root: string) {
  const lost: string[] = [];
  const lock = await acquireStoreLock(root, { command: 'poll', waitMs: 0, onLost: (why) => lost.push(why) });
  return { lock, lost };
}

test('assertHeld passes while the lock is ours and throws once another collector names itself in _LOCK.json', async (t) => {
  const root = tempDir(t);
  const { lock } = await lockIn(root);
  t.after(() => lock.release());
  lock.assertHeld();
  writeFileSync(path.join(root, LOCK_INFO), JSON.stringify({ pid: 4242, host: 'elsewhere', command: 'start', since: new Date().toISOString() }));
  assert.throws(() => lock.assertHeld(), LockLostError);
});

test('assertHeld throws when the lock folder was replaced, even before the new holder wrote _LOCK.json', async (t) => {
  const root = tempDir(t);
  const { lock } = await lockIn(root);
  t.after(() => lock.release());
  rmdirSync(path.join(root, LOCK_DIR));
  mkdirSync(path.join(root, LOCK_DIR)); // a takeover: a new folder, _LOCK.json not yet rewritten
  assert.throws(() => lock.assertHeld(), LockLostError);
});

test('retention deletes nothing once the lock is lost', async (t) => {
  const root = tempDir(t);
  const { lock } = await lockIn(root);
  t.after(() => lock.release());
  const old = path.join(root, 'runs', 'dt=2000-01-01', 'run=x');
  mkdirSync(old, { recursive: true });
  writeFileSync(path.join(root, LOCK_INFO), JSON.stringify({ pid: 4242, host: 'elsewhere', command: 'start', since: new Date().toISOString() }));
  await assert.rejects(applyRetention(root, 1, new Date(), logger, () => lock.assertHeld()), LockLostError);
  assert.ok(existsSync(old), 'the expired partition is still there');
});
