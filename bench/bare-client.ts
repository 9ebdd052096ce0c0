// The benchmark's yardstick: the least a correct client must do for the same load, with undici's
// Pool and nothing else. For each provider (in parallel): GET the list until it answers 200 with
// JSON, then every film with `--concurrency` workers, each attempt a Pool.request whose body is
// read whole and parsed; a failed attempt is retried at once (no backoff: CPU per attempt is the
// figure, and waiting costs none). Prints one JSON line: attempts, CPU and wall of the work.
// Usage: node dist/bench/bare-client.js --url U [--concurrency C]
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { url: { type: 'string' }, concurrency: { type: 'string', default: '8' } } });
const base = new URL(values.url ?? '');
const concurrency = Number(values.concurrency);
const headers = { 'x-access-token': 'mock-token', accept: 'application/json' };
let attempts = 0;

async function getJson(pool: Pool, path: string): Promise<unknown> {
  for (;;) {
    attempts++;
    const res = await pool.request({ path, method: 'GET', headers });
    const text = await res.body.text();
    if (res.statusCode === 200) {
      try {
        return JSON.parse(text);
      } catch {
        // retried, as a cut-off body would be
      }
    } else if (res.statusCode < 500) {
      throw new Error(`HTTP ${res.statusCode} for ${path}`);
    }
  }
}

async function provider(name: string): Promise<number> {
  const pool = new Pool(base.origin, { connections: concurrency });
  const list = (await getJson(pool, `${base.pathname}${name}/movies`)) as { Movies: Array<{ ID: string }> };
  const ids = list.Movies.map((m) => m.ID);
  let next = 0;
  let got = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        await getJson(pool, `${base.pathname}${name}/movie/${encodeURIComponent(id)}`);
        got++;
      }
    }),
  );
  await pool.close();
  return got;
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const films = await Promise.all(['cinemaworld', 'filmworld'].map(provider));
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ attempts, films: films.reduce((a, b) => a + b, 0), cpuMs: (cpu.user + cpu.system) / 1000, wallMs })}\n`);
