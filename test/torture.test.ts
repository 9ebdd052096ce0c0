// Fast versions of the torture run (npm run torture has the full counts): every fault injected
// for real, the store's invariants checked after it. Needs root (tmpfs mounts), as CI has.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockProvider, type MockProvider } from '../src/mock/server.js';
import { diskFullPoll, killLoop, logDirFull, readOnlyAtStart, storeBrokenWhileRunning, type FaultResult } from './faults.js';
import { tempDir } from './helpers.js';

async function simulator(t: { after(fn: () => unknown): void }): Promise<MockProvider> {
  const mock = await startMockProvider({ movies: 60, latencyMs: 60, failRate: 0.1, seed: 13 });
  t.after(() => mock.close());
  return mock;
}

function assertSurvived(result: FaultResult): void {
  assert.equal(result.survived, result.injected, `${result.fault}: ${result.notes.join('\n')}`);
  assert.equal(result.committedPollsLost, 0);
  assert.equal(result.partialFilesSeen, 0);
}

test('kill loop: SIGKILL a poll or the daemon at 6 random moments; no committed poll lost, no partial file', async (t) => {
  const mock = await simulator(t);
  assertSurvived(await killLoop(mock, tempDir(t), 6, 20261124));
});

test('DATA_DIR full: the poll fails with one clear line, staging cleaned, earlier polls intact, then succeeds', async (t) => {
  assertSurvived(await diskFullPoll(await simulator(t), tempDir(t)));
});

test('DATA_DIR full under the daemon: polls fail, the daemon goes on and succeeds once space is freed', async (t) => {
  assertSurvived(await storeBrokenWhileRunning(await simulator(t), tempDir(t), 'full'));
});

test('DATA_DIR turned read-only under the daemon: polls fail, no crash, then succeed again', async (t) => {
  assertSurvived(await storeBrokenWhileRunning(await simulator(t), tempDir(t), 'read-only'));
});

test('LOG_DIR full under the daemon: it keeps collecting, and log files resume once space is freed', async (t) => {
  assertSurvived(await logDirFull(await simulator(t), tempDir(t)));
});

test('read-only DATA_DIR or LOG_DIR at start: exit 78 naming the setting', async (t) => {
  const mock = await simulator(t);
  assertSurvived(await readOnlyAtStart(mock, tempDir(t), 'DATA_DIR'));
  assertSurvived(await readOnlyAtStart(mock, tempDir(t), 'LOG_DIR'));
});
