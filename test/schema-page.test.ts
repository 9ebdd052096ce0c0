// Where shape changes are seen on the daemon (issue 29): /api/report?section=schema, and a line on
// the live page (and the `report --html` page) per provider whose answers changed shape in the
// window; no line when none did. A real daemon serves a store whose polls recorded changes;
// headless Chromium reads the page, and axe-core finds nothing with the line shown.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { startMockProvider } from '../src/mock/server.js';
import type { Report } from '../src/report/report.js';
import { isMessage, startDaemon } from './daemon-helpers.js';
import { openTab } from './browser.js';
import { runCli, tempDir } from './helpers.js';
import { writeDriftStore } from './schema-fixture.js';
import { writePoll } from './store-fixture.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const YEARLY = '0 0 1 1 *';

/** The page's shape-change lines once the sections of the first load are drawn (they arrive together). */
async function driftLines(tab: Page): Promise<{ hidden: boolean; lines: string[] }> {
  await tab.waitForSelector('#health h2', { timeout: 30_000 });
  return tab.$eval('#schema-drift', (e) => ({ hidden: (e as HTMLElement).hidden, lines: [...e.querySelectorAll('p')].map((p) => p.textContent) }));
}

const minute = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')}Z`;

test('/api/report?section=schema and the page\'s line per provider that changed shape (live and report --html); axe-core finds nothing', { timeout: 180_000 }, async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const cwd = tempDir(t);
  const store = await writeDriftStore(path.join(cwd, 'data'));
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await d.waitFor(isMessage(/^daemon started/), 30_000);
  const origin = `http://127.0.0.1:${d.healthPort}`;

  const res = await fetch(`${origin}/api/report?section=schema`);
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as Partial<Report>;
  assert.deepEqual(Object.keys(body).sort(), ['filters', 'generated_at', 'page', 'schema_changes', 'store']);
  assert.deepEqual(body.schema_changes?.map((c) => `${c.provider} ${c.path} ${c.kind} ${c.run}`), [
    `filmworld Genre new-field ${store.latestRun}`, `filmworld Rated missing-field ${store.latestRun}`, `filmworld Movies[].Poster new-field ${store.latestRun}`,
    `cinemaworld Price type-change ${store.priceRun}`,
  ]);
  const cli = await runCli(['report', '--format', 'json', '--section', 'schema'], { cwd, env: { DATA_DIR: d.data } });
  assert.deepEqual((JSON.parse(cli.stdout) as Report).schema_changes, body.schema_changes, 'the same rows as report --section schema');
  const provider = (await (await fetch(`${origin}/api/report?section=schema&provider=cinemaworld`)).json()) as Report;
  assert.deepEqual(provider.schema_changes.map((c) => c.path), ['Price']);

  const since = minute(body.filters?.since ?? '');
  const expected = [
    `cinemaworld's answers changed shape: 1 change since ${since} (Price: string:numeric → string) — report --section schema`,
    `filmworld's answers changed shape: 3 changes since ${since} (Genre: new string; Rated: missing (was string); Movies[].Poster: new string) — report --section schema`,
  ];
  const { tab, errors } = await openTab(t);
  await tab.goto(`${origin}/`);
  assert.deepEqual(await driftLines(tab), { hidden: false, lines: expected });
  assert.deepEqual(errors, []);
  // axe-core in a tab of its own that lets it inject its script (bypassCSP), with the lines shown.
  const { tab: axeTab } = await openTab(t, { bypassCSP: true });
  await axeTab.goto(`${origin}/`);
  assert.equal((await driftLines(axeTab)).lines.length, 2);
  await axeTab.addScriptTag({ content: AXE });
  const violations = await axeTab.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; nodes: unknown[] }> }> } }).axe;
    return (await axe.run()).violations.map((v) => `${v.id} (${v.nodes.length})`);
  });
  assert.deepEqual(violations, [], 'axe-core: 0 violations');
  assert.equal(await d.stop(), 0);

  // report --html: the same lines from the data the page holds; a window without the Price change shows filmworld's only.
  const sinceless = (line: string) => line.replace(/ since \d{4}-\d{2}-\d{2} \d{2}:\d{2}Z \(/, ' since … (');
  for (const [args, providers] of [[[], ['cinemaworld', 'filmworld']], [['--since', '2h'], ['filmworld']]] as Array<[string[], string[]]>) {
    const file = path.join(cwd, `page-${args.length}.html`);
    const written = await runCli(['report', '--html', file, '--section', 'schema', ...args], { cwd, env: { DATA_DIR: d.data } });
    assert.equal(written.code, 0, written.stderr);
    const { tab: frozen, errors: frozenErrors } = await openTab(t);
    await frozen.goto(`file://${file}`);
    const shown = await driftLines(frozen);
    assert.equal(shown.hidden, false);
    assert.deepEqual(shown.lines.map(sinceless), expected.filter((l) => providers.some((p) => l.startsWith(`${p}'s`))).map(sinceless));
    assert.deepEqual(frozenErrors, []);
  }
});

test('no change in the window: no line on the page, an empty section on /api/report', { timeout: 180_000 }, async (t) => {
  const mock = await startMockProvider();
  t.after(() => mock.close());
  const cwd = tempDir(t);
  await writePoll(path.join(cwd, 'data'), new Date(Date.now() - 60_000), 'complete', 3);
  const d = await startDaemon(t, mock, cwd, { SCHEDULE_CRON: YEARLY, RUN_ON_START: 'never' });
  await d.waitFor(isMessage(/^daemon started/), 30_000);
  const origin = `http://127.0.0.1:${d.healthPort}`;
  const res = await fetch(`${origin}/api/report?section=schema`);
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as Report).schema_changes, []);
  const { tab, errors } = await openTab(t);
  await tab.goto(`${origin}/`);
  assert.deepEqual(await driftLines(tab), { hidden: true, lines: [] });
  assert.deepEqual(errors, []);
  assert.equal(await d.stop(), 0);
});
