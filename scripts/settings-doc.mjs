// docs/settings.md's tables, generated from the convict schema (src/config/settings.ts, with the
// s3.* and alerts.* parts): every setting, its env name, its default, its doc and its allowed
// values. The prose around the tables is written by hand; the tables sit between the two markers
// below and are replaced whole. Needs `npm run build` first (it reads the compiled schema).
//
//   npm run docs:settings                      rewrites the tables in docs/settings.md
//   node scripts/settings-doc.mjs --check      exit 1 when docs/settings.md is stale (the test runs it)
//   ... --file PATH                            another copy of the doc (tests)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settingsSchema } from '../dist/src/config/settings.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BEGIN = '<!-- settings tables: generated from the schema by `npm run docs:settings`; edit the schema (or NOTES in scripts/settings-doc.mjs), not these lines -->';
export const END = '<!-- end of the generated settings tables -->';

/**
 * What a reader needs beyond the schema's one-line doc (which the collector also quotes in its
 * errors, and whose words its redaction knows), by setting. A note for a setting the schema no
 * longer has fails the generation.
 */
const NOTES = {
  'schedule.cron': '5 fields, or 6 with leading seconds (`*/10 * * * * *`). An edit of the config file is applied by the running daemon within a second ([operations.md](operations.md#the-daemon-start)).',
  'schedule.timezone': 'An IANA name, e.g. `Australia/Sydney`.',
  providers: 'Names match `^[a-z0-9_-]+$`. Config file only (no environment variable).',
  'api.baseUrl': 'The simulator: `http://127.0.0.1:<port>/api/`. No query or fragment (the provider paths are appended).',
  'api.token': 'Trimmed (a trailing newline from `echo` or an `.env` editor is dropped; a control character inside is a config error). `start`, `poll` and `check-config` refuse to run without a token (api.token or api.tokenFile).',
  'api.tokenFile': 'Trimmed. A file other users can read (mode & 0o004) gets a warning (`run chmod 600 FILE`) from `check-config`, `start` and `poll`; group-readable is not warned about (0640 with a group is how a service user is given a secret).',
  'http.maxListBodyBytes': 'About 200 bytes a film: the default takes about 500,000 films.',
  'log.dir': 'Must be writable (else exit 78).',
  'log.maxSize': 'A number and `k`, `m` or `g`: `500k`, `20m`, `1g`.',
  'health.port': '`start` refuses a port in use (exit 78); `check-config` only warns (a running daemon holds it).',
  'health.host': 'Compose publishes the port on 127.0.0.1 only (`HEALTH_BIND` in `.env`). A name that does not resolve or an address not on this machine is a config error (78) naming health.host.',
  'health.maxConsecutiveFailures': 'At once for a store or log folder that cannot be written.',
  'shutdown.graceMs': 'Keep compose\'s `stop_grace_period` longer.',
  'alerts.rules': 'Types `price-drop`, `target-price`, `cheapest-change`, `listing`, `failing`, `stale`, `partial`, `schema-change` ([alerts.md](alerts.md#rules-alertsrules-alert_rules)). Applied live.',
  'alerts.destinations': 'The fields of each type: [alerts.md](alerts.md#destinations-alertsdestinations-alert_destinations). `urlFile` / `secretFile` read the URL and the signing secret from files (Docker secrets).',
  'alerts.timeoutMs': 'The answer included. At most 600000 (10 minutes).',
  'alerts.maxRetryDelayMs': 'At most 86400000 (24 hours).',
  's3.bucket': 'See [s3.md](s3.md).',
  's3.prefix': 'No leading slash (`""`: the bucket\'s root).',
  's3.endpoint': 'E.g. `http://127.0.0.1:7480` (Ceph radosgw). No `user:password@` (refused, exit 78: the keys go in s3.accessKeyId/s3.secretAccessKey).',
  's3.forcePathStyle': 'Keys are addressed as `endpoint/bucket/key`.',
  's3.accessKeyId': 'With s3.secretAccessKey (both or neither); neither: the AWS default chain (`AWS_ACCESS_KEY_ID`..., `~/.aws`, a container or instance role).',
  's3.accessKeyIdFile': 'Trimmed; used when s3.accessKeyId is unset.',
  's3.secretAccessKeyFile': 'Trimmed; used when s3.secretAccessKey is unset.',
  's3.leaseSeconds': 'A dead holder\'s lease is taken over once it has expired (at once only if it certainly exited: same boot and pid namespace).',
  's3.maxLagPolls': 'Its line: `s3: lagging N polls`.',
  's3.retentionDropsUnshipped': 'By default, days not yet shipped are kept until they are.',
  's3.allowWithoutConditionalWrites': 'The lease then cannot keep a second collector out of the prefix.',
};

const BOOLEAN_FORMATS = new Set(['strict-boolean']);

const isLeaf = (node) => node !== null && typeof node === 'object' && 'default' in node && 'doc' in node;

/** [group, [[name, leaf]...]] in schema order; a top-level setting is a group of its own; deeper settings (schema.policy.required) in their top group. */
function groups(schema) {
  const leaves = (prefix, node) => (isLeaf(node) ? [[prefix, node]] : Object.entries(node).flatMap(([k, child]) => leaves(`${prefix}.${k}`, child)));
  return Object.entries(schema).map(([key, node]) => [key, leaves(key, node)]);
}

/** A default as the doc writes it: none (null), numbers and booleans bare, anything else in code. */
export function shownDefault(value) {
  if (value === null) return 'none';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `\`${typeof value === 'string' ? (value === '' ? '""' : value) : JSON.stringify(value)}\``;
}

const cell = (text) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function description(name, leaf) {
  const parts = [leaf.doc];
  if (Array.isArray(leaf.format)) parts.push(`One of ${leaf.format.map((v) => `\`${v}\``).join(', ')}.`);
  if (BOOLEAN_FORMATS.has(leaf.format)) parts.push('`true`, `false`, `1` or `0`.');
  if (leaf.sensitive) parts.push('Sensitive: redacted in every output.');
  if (NOTES[name]) parts.push(NOTES[name]);
  return parts.join(' ');
}

/** The generated part, markers included. */
export function settingsTables(schema = settingsSchema()) {
  const all = groups(schema);
  const names = new Set(all.flatMap(([, leaves]) => leaves.map(([name]) => name)));
  const stray = Object.keys(NOTES).filter((name) => !names.has(name));
  if (stray.length > 0) throw new Error(`scripts/settings-doc.mjs: NOTES for settings the schema does not have: ${stray.join(', ')}`);
  const out = [BEGIN];
  for (const [group, leaves] of all) {
    out.push('', `### \`${group}\``, '', '| setting | env | default | |', '|---|---|---|---|');
    for (const [name, leaf] of leaves) {
      out.push(`| \`${name}\` | ${leaf.env ? `\`${leaf.env}\`` : '—'} | ${cell(shownDefault(leaf.default))} | ${cell(description(name, leaf))} |`);
    }
  }
  out.push('', END);
  return out.join('\n');
}

/** The doc with its generated part replaced; throws when the markers are missing. */
export function updatedDoc(text, schema) {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin === -1 || end < begin) throw new Error('docs/settings.md: the markers of the generated tables are missing (see scripts/settings-doc.mjs)');
  return `${text.slice(0, begin)}${settingsTables(schema)}${text.slice(end + END.length)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--file');
  const file = at === -1 ? path.join(ROOT, 'docs', 'settings.md') : path.resolve(args[at + 1] ?? '');
  const text = readFileSync(file, 'utf8');
  const next = updatedDoc(text);
  const shown = path.relative(process.cwd(), file) || file;
  if (args.includes('--check')) {
    if (next !== text) {
      console.error(`${shown} is stale: its settings tables differ from the schema; run npm run docs:settings`);
      process.exit(1);
    }
    console.log(`${shown} is up to date`);
  } else if (next !== text) {
    writeFileSync(file, next);
    console.log(`${shown}: settings tables rewritten`);
  } else {
    console.log(`${shown} is up to date`);
  }
}
