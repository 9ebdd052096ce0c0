// Benchmark of the alerts outbox (figures, not a test): the real outbox and delivery code with two
// webhook destinations on 127.0.0.1, `live` (answers 200) and `dead` (answers 503 forever), fed
// alerts in batches like polls, each batch delivered to `live` before the next. Prints the bytes
// written per alert delivered to `live` while the backlog of `dead` grows: counted at the file
// calls (node:fs wrapped before the outbox is loaded) and as the kernel counts them for this
// process (/proc/self/io write_bytes: pages dirtied, so at least 4 KB per fsynced write).
// Written to run unchanged against the 0.3 outbox (one JSON file rewritten whole) for the figures before.
// Usage: npm run bench:outbox [-- --alerts 1000 --batch 10 --at 100,500,1000]
import { once } from 'node:events';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import winston from 'winston';

const { values } = parseArgs({ options: { alerts: { type: 'string', default: '1000' }, batch: { type: 'string', default: '10' }, at: { type: 'string', default: '100,500,1000' }, window: { type: 'string', default: '100' } } });
const total = Number(values.alerts);
const batch = Number(values.batch);
const marks = values.at.split(',').map(Number);
const windowSize = Number(values.window);
const root = mkdtempSync(path.join(os.tmpdir(), 'bench-outbox-'));

// Bytes written to files under `root`, at the calls the outbox and the rule state make.
let fileBytes = 0;
const under = (p: unknown) => typeof p === 'string' && p.startsWith(root);
const size = (data: unknown) => (typeof data === 'string' ? Buffer.byteLength(data) : ArrayBuffer.isView(data) ? data.byteLength : 0);
const handles = new WeakSet<object>();
const promises = fs.promises as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
for (const name of ['writeFile', 'appendFile']) {
  const original = promises[name];
  if (!original) continue;
  promises[name] = (file: unknown, data: unknown, ...rest: unknown[]) => {
    if (under(file)) fileBytes += size(data);
    return original.call(fs.promises, file, data, ...rest);
  };
}
const open = promises.open;
if (open) {
  promises.open = async (file: unknown, ...rest: unknown[]) => {
    const handle = (await open.call(fs.promises, file, ...rest)) as object;
    if (under(file)) handles.add(handle);
    return handle;
  };
}
const sync = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of ['writeFileSync', 'appendFileSync']) {
  const original = sync[name];
  if (!original) continue;
  sync[name] = (file: unknown, data: unknown, ...rest: unknown[]) => {
    if (under(file)) fileBytes += size(data);
    return original.call(fs, file, data, ...rest);
  };
}
syncBuiltinESMExports();
// FileHandle.write, once a handle exists to find its prototype.
{
  const probe = await fs.promises.open(path.join(root, '.probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  await probe.close();
  for (const name of ['write', 'writeFile', 'appendFile']) {
    const original = proto[name];
    if (!original) continue;
    proto[name] = function (this: object, data: unknown, ...rest: unknown[]) {
      if (handles.has(this)) fileBytes += size(data);
      return original.call(this, data, ...rest);
    };
  }
}

/** Bytes this process made the kernel write to storage (pages dirtied), from /proc/self/io. */
function writeBytes(): number {
  try {
    return Number(/^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// Typed loosely: the 0.3 outbox (open(root, logger?), save()) and this one (open(root, owner), recorded()).
interface Entry { alert: { key: string }; unrecorded?: string }
interface OutboxLike {
  entries: readonly Entry[];
  add(alerts: unknown[], now: Date, batch: string): Promise<unknown[]>;
  pending(): Array<{ delivery: { destination: string } }>;
  unrecorded(): Map<string, Entry[]>;
  recorded?(entries: Entry[]): Promise<void>;
  idle?(): Promise<void>;
}
interface DelivererLike { kick(): void; idle(): Promise<void>; stop(): Promise<void> }
const { Outbox } = (await import('../src/alerts/outbox.js')) as unknown as { Outbox: { open(root: string, owner: unknown): Promise<OutboxLike>; read?: unknown } };
const { Deliverer } = (await import('../src/alerts/delivery.js')) as unknown as { Deliverer: new (outbox: OutboxLike, settings: () => unknown, logger: winston.Logger, metrics: null) => DelivererLike };

async function receiver(status: number): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const live = await receiver(200);
const dead = await receiver(503);
const logger = winston.createLogger({ silent: true });
const settings = {
  rules: [], timeoutMs: 2000, maxRetryDelayMs: 1000, outboxDays: 7, maxResponseBytes: 1024,
  destinations: [{ name: 'live', type: 'webhook', url: `${live.url}/hook/k3v9x2q7` }, { name: 'dead', type: 'webhook', url: `${dead.url}/hook/d8w1z5r4` }],
};
const isNew = typeof Outbox.read === 'function';
const outbox = await Outbox.open(root, isNew ? { logger } : logger);
const deliverer = new Deliverer(outbox, () => settings, logger, null);

const livePending = () => outbox.pending().filter((p) => p.delivery.destination === 'live').length;
const deadPending = () => outbox.pending().filter((p) => p.delivery.destination === 'dead').length;
const at = new Date('2026-12-04T10:00:00Z');

function alert(i: number) {
  const film = `tt${String(1000000 + (i % 300)).padStart(7, '0')}`;
  const title = `The Film Number ${i % 300} of the Catalogue`;
  return {
    key: `${i.toString(16).padStart(8, '0')}${'0'.repeat(24)}`, rule: 'drop', kind: 'price-drop', film_key: film, title, provider: i % 2 ? 'cinemaworld' : 'filmworld',
    old_value: 2999, new_value: 2499, message: `${title}: best price 29.99 → 24.99 (-16.7%) at ${i % 2 ? 'cinemaworld' : 'filmworld'}`,
    run: `20261204T1000${String(i % 60).padStart(2, '0')}.000Z-0000abcd`, created_at: new Date(at.getTime() + i * 1000).toISOString(), destinations: ['live', 'dead'],
  };
}

console.log(`bench:outbox ${isNew ? 'outbox.jsonl (log)' : 'outbox.json (0.3: rewritten whole)'}: ${total} alerts in batches of ${batch}, to live (200) and dead (503); ${root}`);
console.log('dead backlog | bytes per delivered alert, file calls | write_bytes (kernel) | window');
const start = { file: fileBytes, kernel: writeBytes() };
let windowStart = { file: fileBytes, kernel: writeBytes(), delivered: 0 };
let delivered = 0;
for (let i = 0; i < total; i += batch) {
  const alerts = Array.from({ length: Math.min(batch, total - i) }, (_, k) => alert(i + k));
  await outbox.add(alerts, new Date(), `b${i}`);
  // The alerts table is written after the outbox (service.ts): the outbox learns it.
  const entries = [...outbox.unrecorded().values()].flat();
  if (outbox.recorded) await outbox.recorded(entries);
  else for (const e of entries) delete e.unrecorded;
  while (livePending() > 0) {
    deliverer.kick();
    await deliverer.idle();
    if (livePending() > 0) await new Promise((r) => setTimeout(r, 5));
  }
  await outbox.idle?.();
  const before = delivered;
  delivered = i + alerts.length;
  for (const mark of marks) {
    if (before < mark - windowSize + 1 && delivered >= mark - windowSize + 1) windowStart = { file: fileBytes, kernel: writeBytes(), delivered: before };
    if (before < mark && delivered >= mark) {
      const n = delivered - windowStart.delivered;
      const perFile = (fileBytes - windowStart.file) / n;
      const perKernel = (writeBytes() - windowStart.kernel) / n;
      console.log(`${String(deadPending()).padStart(12)} | ${String(Math.round(perFile)).padStart(36)} | ${String(Math.round(perKernel)).padStart(20)} | alerts ${windowStart.delivered + 1}-${delivered}`);
    }
  }
}
await deliverer.stop();
await outbox.idle?.();
const n = delivered;
console.log(`all ${n} alerts: ${Math.round((fileBytes - start.file) / n)} bytes per delivered alert (file calls), ${Math.round((writeBytes() - start.kernel) / n)} (write_bytes); files: ${fs.readdirSync(path.join(root, '_alerts')).map((f) => `${f} ${fs.statSync(path.join(root, '_alerts', f)).size} B`).join(', ')}`);
live.close();
dead.close();
rmSync(root, { recursive: true, force: true });
