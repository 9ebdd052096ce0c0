// The README's alerts example is what a newcomer copies: it must validate as written, on any
// machine. Its config block goes into config/config.json of a fresh folder (the checkout, for the
// CLI), and the check-config command the README gives runs there with the environment it names.
// The Docker-secrets form beside it is marked for Docker and validates where its files exist.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Destination {
  name: string;
  type: string;
  url?: string;
  urlFile?: string;
  secret?: string;
  secretFile?: string;
}

interface AlertsConfig {
  alerts: { rules: unknown[]; destinations: Destination[] };
}

function alertsSection(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Alerts\n');
  assert.ok(start >= 0, 'the README has an Alerts section');
  return readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
}

/** The fenced blocks of a language, in order, with the text before each. */
function blocks(section: string, lang: string): Array<{ body: string; before: string }> {
  const found: Array<{ body: string; before: string }> = [];
  const fence = new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  let last = 0;
  for (const m of section.matchAll(fence)) {
    found.push({ body: m[1] ?? '', before: section.slice(last, m.index) });
    last = (m.index ?? 0) + m[0].length;
  }
  return found;
}

/** `A=1 B=2 node dist/src/cli.js check-config ...` → its environment and the CLI's arguments. */
function parseCommand(line: string): { env: Record<string, string>; args: string[] } {
  const words = line.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] !== undefined && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const word = words.shift() as string;
    env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  assert.deepEqual(words.slice(0, 2), ['node', 'dist/src/cli.js'], `the README's command runs the built CLI: ${line}`);
  return { env, args: words.slice(2) };
}

/** A folder standing for the checkout: config/config.json holds `config`. */
function checkout(t: { after(fn: () => void): void }, config: string): string {
  const dir = tempDir(t, 'mc-readme-alerts-');
  mkdirSync(path.join(dir, 'config'));
  writeFileSync(path.join(dir, 'config', 'config.json'), config);
  return dir;
}

function readmeExample() {
  const section = alertsSection();
  const [example, dockerForm] = blocks(section, 'json');
  assert.ok(example && dockerForm, 'the Alerts section has the example and the Docker-secrets form');
  const command = blocks(section, 'sh').map((b) => b.body.trim()).find((b) => /check-config/.test(b));
  assert.ok(command, 'the Alerts section says how to check the example');
  return { section, example, dockerForm, command: parseCommand(command) };
}

test('the README\'s alerts example, copied as written into config/config.json, passes the check-config it gives (exit 0), outside Docker', async (t) => {
  const { example, command } = readmeExample();
  const config = JSON.parse(example.body) as AlertsConfig;
  const dir = checkout(t, example.body);
  assert.ok(command.args.includes('check-config'));
  const result = await runCli(command.args, { cwd: dir, env: command.env });
  assert.equal(result.code, 0, `README's alerts example: ${result.stderr}`);
  assert.match(result.stderr, /configuration is valid \(config file: .*config\/config\.json\)/);
  for (const d of config.alerts.destinations) assert.match(result.stderr, new RegExp(`\\b${d.name}\\b`), `check-config lists destination ${d.name}`);
  // The URLs' secret parts and the signing key are shown redacted, nowhere as written.
  for (const d of config.alerts.destinations) {
    const secrets = [d.secret, d.url && new URL(d.url).pathname.slice(1)].filter((s): s is string => typeof s === 'string' && s !== '');
    for (const s of secrets) assert.ok(!`${result.stdout}${result.stderr}`.includes(s), `${d.name}: a secret of the example is printed`);
  }
  // check-config creates nothing.
  assert.ok(!existsSync(path.join(dir, 'data')) && !existsSync(path.join(dir, 'logs')));
});

test('the README\'s Docker-secrets form is marked for Docker, fails outside it as the README says, and validates where its files exist', async (t) => {
  const { example, dockerForm, command } = readmeExample();
  assert.match(dockerForm.before, /Docker only/, 'the Docker-secrets form is marked as for Docker');
  const form = JSON.parse(dockerForm.body) as Destination;
  assert.match(form.urlFile ?? '', /^\/run\/secrets\//);
  assert.match(form.secretFile ?? '', /^\/run\/secrets\//);
  const config = JSON.parse(example.body) as AlertsConfig;
  const inline = config.alerts.destinations.find((d) => d.name === form.name);
  assert.ok(inline?.url && inline.secret, `the example has the inline form of ${form.name}`);
  const withForm = (d: Destination): AlertsConfig => ({ alerts: { ...config.alerts, destinations: config.alerts.destinations.map((x) => (x.name === d.name ? d : x)) } });

  // As written, outside a container that mounts them: the exit and the line the README quotes.
  if (!existsSync(form.urlFile as string)) {
    const dir = checkout(t, JSON.stringify(withForm(form), null, 2));
    const result = await runCli(command.args, { cwd: dir, env: command.env });
    assert.equal(result.code, 78, result.stderr);
    assert.ok(result.stderr.includes(`cannot read "${form.urlFile}"`), result.stderr);
    const quoted = /`check-config` exits 78: `([^`]+)`/.exec(dockerForm.before.replace(/\s+/g, ' '));
    assert.ok(quoted && result.stderr.includes(quoted[1] as string), `the README quotes check-config's line: ${quoted?.[1]}`);
  }

  // Where the secrets exist (their folder moved into the checkout), the same check passes.
  const dir = checkout(t, '{}');
  const secrets = path.join(dir, 'run', 'secrets');
  mkdirSync(secrets, { recursive: true });
  const moved = { ...form, urlFile: path.join(dir, form.urlFile as string), secretFile: path.join(dir, form.secretFile as string) };
  writeFileSync(moved.urlFile, `${inline.url}\n`);
  writeFileSync(moved.secretFile, `${inline.secret}\n`);
  writeFileSync(path.join(dir, 'config', 'config.json'), JSON.stringify(withForm(moved), null, 2));
  const result = await runCli(command.args, { cwd: dir, env: command.env });
  assert.equal(result.code, 0, result.stderr);
});
