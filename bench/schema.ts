// Schema-drift check cost (figures, not a test; issue 29): what the check adds per detail answer,
// against what normalizing the same answer costs, in the same run. 2 × N synthetic films of the
// simulator, each body parsed once (as the client hands it on); the check runs with every policy
// `record` (no per-answer comparison) and with `reject-record` (each answer compared with the shape).
// Usage: npm run bench:schema [-- --films 5000 --rounds 5]
import { parseArgs } from 'node:util';
import { Catalogue, MOCK_PROVIDERS } from '../src/mock/catalogue.js';
import { normalizeDetail } from '../src/records/normalize.js';
import { ShapeTracker, type KnownShape, type Policies } from '../src/schema/drift.js';

const { values } = parseArgs({ options: { films: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '5' } } });
const films = Number(values.films);
const rounds = Number(values.rounds);
const catalogue = new Catalogue(1, films, 0);
const answers = MOCK_PROVIDERS.flatMap((provider) => catalogue.filmsOf(provider).map((film) => {
  const body = JSON.stringify(catalogue.detailBody(provider, film, 0));
  return { provider, id: Catalogue.id(provider, film), body, json: JSON.parse(body) as Record<string, unknown> };
}));

/** The shape a first poll establishes, as the next polls compare with. */
function established(): KnownShape {
  const tracker = new ShapeTracker('p', 'detail', new Map(), RECORD, (t) => t);
  for (const a of answers.slice(0, 100)) tracker.add(a.json);
  const known: KnownShape = new Map();
  for (const row of tracker.changes(new Date())) known.set(row.path, new Map(row.new_type.split('|').map((t) => [t, 'record'])));
  return known;
}
const RECORD: Policies = { required: 'record', mapped: 'record', extra: 'record' };
const STRICT: Policies = { required: 'reject-record', mapped: 'reject-record', extra: 'reject-record' };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const polledAt = new Date();
const results = { normalize: [] as number[], record: [] as number[], strict: [] as number[] };
for (let round = 0; round < rounds + 1; round++) {
  const n = time(() => { for (const a of answers) normalizeDetail({ provider: a.provider, requestedId: a.id, body: a.body, json: a.json, httpStatus: 200, polledAt, fetchedAt: polledAt }); });
  const r = time(() => { const t = new ShapeTracker('p', 'detail', established(), RECORD, (x) => x); for (const a of answers) t.add(a.json); t.changes(polledAt); });
  const s = time(() => { const t = new ShapeTracker('p', 'detail', established(), STRICT, (x) => x); for (const a of answers) t.add(a.json); t.changes(polledAt); });
  if (round === 0) continue; // warm-up
  results.normalize.push(n);
  results.record.push(r);
  results.strict.push(s);
}
const perAnswer = (ms: number) => `${((ms * 1000) / answers.length).toFixed(2)} µs`;
console.log(`== schema check: ${answers.length} detail answers (2 × ${films} films), median of ${rounds}`);
for (const [name, ms] of Object.entries(results).map(([k, v]) => [k, median(v)] as const)) {
  console.log(`${name.padEnd(10)} ${ms.toFixed(1).padStart(8)} ms  ${perAnswer(ms).padStart(10)} per answer  ${(ms / median(results.normalize)).toFixed(2)}× normalize`);
}
