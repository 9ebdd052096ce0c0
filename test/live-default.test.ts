// Issue 19, item 7: the page's own answer (/api/report without parameters) is always served from
// its cache, however many distinct windows (?since=) another client makes the daemon compute (a
// ?film= search is cut from the window's answer in memory, so it no longer computes anything). The
// report process is replaced by a slow stand-in here: what is tested is the cache and its queue.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import winston from 'winston';
import { LiveReport } from '../src/report/live.js';
import type { WorkerInput, WorkerOutput } from '../src/report/live-worker.js';
import { DEFAULT_SINCE } from '../src/report/params.js';
import type { ReportData } from '../src/report/report.js';
import { tempDir } from './helpers.js';

const logger = winston.createLogger({ silent: true });
const commit = (root: string, run: string) => mkdirSync(path.join(root, 'runs', `dt=${run.slice(0, 4)}-${run.slice(4, 6)}-${run.slice(6, 8)}`, `run=${run}`), { recursive: true });

test('the default view is answered from its cache while a flood of ?since= windows keeps the queue full, across commits', async (t) => {
  const root = tempDir(t);
  commit(root, '20260101T000000.000Z-00000001');
  const slow = (input: WorkerInput): Promise<WorkerOutput> =>
    new Promise((resolve) => setTimeout(() => resolve({ kind: 'ok', data: { query: input.query } as unknown as ReportData, charts: Promise.resolve({}), ms: 20 }), 20));
  const live = new LiveReport(root, logger, slow);
  const page = { since: DEFAULT_SINCE };
  assert.equal((await live.answer(page)).kind, 'ok', 'the first answer is waited for');

  const kinds: string[] = [];
  let n = 0;
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 8; i++) void live.answer({ since: `${1 + n++}h` });
    if (round === 20) {
      commit(root, '20260102T000000.000Z-00000002');
      live.refresh();
    }
    kinds.push((await live.answer(page)).kind);
    await new Promise((r) => setTimeout(r, 15));
  }
  assert.deepEqual([...new Set(kinds)], ['ok'], `default view answers: ${kinds.join(' ')}`);
});
