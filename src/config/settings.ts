// Every setting: its default, env name, validation. Precedence (lowest first):
// defaults < config file (--config, else CONFIG_FILE, else ./config/config.json) < env < flags.
// Any problem becomes a ConfigError (exit 78) with one line per problem.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import jsonc from 'jsonc-parser';
import { validateDetailed } from 'node-cron';
import { ConfigError, errorMessage } from '../runtime/errors.js';
import { REDACTED, addVocabulary, redact, redactLine, redactUrlCredentials, registerSecret, secretForms } from '../runtime/redact.js';
import { alertsSchema, redactedAlerts, resolveAlerts, type AlertSettings } from '../alerts/config.js';
import { S3_FORMATS, redactedS3, resolveS3Settings, s3SettingsSchema, type S3Settings } from '../s3/settings.js';
import { integerFormat } from './formats.js';
import { setDuckdbMemoryMB } from '../runtime/duckdb-memory.js';
import type { FieldClass, SchemaPolicy } from '../records/types.js';

export type RunOnStart = 'missed' | 'always' | 'never';

export interface Settings {
  schedule: { cron: string; timezone: string; runOnStart: RunOnStart };
  providers: string[];
  api: { baseUrl: string; token: string | null; tokenFile: string | null; tokenHeader: string };
  http: { timeoutMs: number; retries: number; concurrency: number; maxBodyBytes: number; maxListBodyBytes: number; maxRetryDelayMs: number };
  poll: { deadlineMs: number };
  schema: { policy: Record<FieldClass, SchemaPolicy> };
  store: { dir: string; retentionDays: number; compactAfterMinutes: number; duckdbMemoryMB: number };
  log: { dir: string; level: string; maxFiles: string; maxSize: string };
  health: { port: number; host: string; maxConsecutiveFailures: number; headersTimeoutMs: number; idleTimeoutMs: number; maxConnections: number };
  shutdown: { graceMs: number };
  alerts: AlertSettings;
  s3: S3Settings;
}

export const DEFAULT_CONFIG_FILE = path.join('config', 'config.json');
const PROVIDER_NAME = /^[a-z0-9_-]+$/;
const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];
const SCHEMA_POLICIES: SchemaPolicy[] = ['record', 'reject-record', 'fail-provider'];

convict.addFormats({
  'cron-expression': {
    validate(value: unknown) {
      if (typeof value !== 'string') throw new Error('expected a cron expression string such as "*/15 * * * *"');
      const result = validateDetailed(value);
      if (!result.valid) {
        const why = result.errors.map((e) => e.message).join('; ');
        throw new Error(`${why}; expected a cron expression of 5 fields (or 6 with leading seconds), e.g. "*/15 * * * *"`);
      }
    },
  },
  timezone: {
    validate(value: unknown) {
      try {
        if (typeof value !== 'string' || value === '') throw new Error('empty');
        // The default needs no look-up: the first Intl time-zone look-up costs ~50 ms of CPU (every `poll` pays it).
        if (value !== 'UTC') new Intl.DateTimeFormat('en-US', { timeZone: value });
      } catch {
        throw new Error('expected an IANA time zone name such as "UTC" or "Australia/Sydney"');
      }
    },
  },
  'http-url': {
    validate(value: unknown) {
      let url: URL;
      try {
        url = new URL(String(value));
      } catch {
        throw new Error('expected an absolute http(s) URL such as "https://example.com/api/"');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new Error('expected an http: or https: URL');
      }
      // The provider paths are appended to it: a query or fragment would swallow them.
      if (url.search !== '' || url.hash !== '') throw new Error('expected a base URL without a query (?...) or fragment (#...)');
    },
  },
  'provider-names': {
    validate(value: unknown) {
      if (!Array.isArray(value) || value.length === 0) {
        throw new Error('expected a non-empty list of provider names such as ["cinemaworld","filmworld"]');
      }
      for (const name of value) {
        if (typeof name !== 'string' || !PROVIDER_NAME.test(name)) {
          throw new Error(`provider name ${JSON.stringify(name)} is not safe for a path; expected ${PROVIDER_NAME}`);
        }
      }
      if (new Set(value).size !== value.length) throw new Error('expected each provider name once');
    },
    coerce: (value: string) => value.split(',').map((s) => s.trim()),
  },
  'header-name': {
    validate(value: unknown) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9-]+$/.test(value)) {
        throw new Error('expected an HTTP header name such as "x-access-token"');
      }
    },
  },
  'log-max-files': {
    validate(value: unknown) {
      if (typeof value !== 'string' || !/^[1-9]\d*d?$/.test(value)) {
        throw new Error('expected a file count such as "10" or an age in days such as "14d"');
      }
    },
  },
  'log-max-size': {
    validate(value: unknown) {
      // winston-daily-rotate-file silently ignores anything else (e.g. "20mb"): reject it here.
      if (typeof value !== 'string' || !/^[1-9]\d*[kmg]$/.test(value)) {
        throw new Error('expected a size such as "500k", "20m" or "1g"');
      }
    },
  },
  'non-empty-string': {
    validate(value: unknown) {
      if (typeof value !== 'string' || value.trim() === '') throw new Error('expected a non-empty string');
    },
  },
  'positive-int': integerFormat('positive-int', 1, Number.MAX_SAFE_INTEGER, 'a whole number of at least 1'),
  'non-negative-int': integerFormat('non-negative-int', 0, Number.MAX_SAFE_INTEGER, 'a whole number of at least 0'),
  port: integerFormat('port', 0, 65535, 'a TCP port from 0 to 65535 (0 turns it off)'),
  'duckdb-memory-mb': {
    ...integerFormat('duckdb-memory-mb', 0, 1_048_576, ''),
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value > 1_048_576 || (value !== 0 && value < 16)) {
        throw new Error('expected a whole number of MB: 0 (a quarter of the container\'s memory limit) or from 16 to 1048576');
      }
    },
  },
  ...S3_FORMATS,
});

/** The convict schema: every setting, its env name, default and doc (docs/settings.md's tables are generated from it: npm run docs:settings). */
export function settingsSchema() {
  return {
    schedule: {
      cron: { doc: 'When to poll (node-cron; a leading seconds field is allowed).', format: 'cron-expression', default: '*/15 * * * *', env: 'SCHEDULE_CRON' },
      timezone: { doc: 'Time zone the cron expression is read in.', format: 'timezone', default: 'UTC', env: 'SCHEDULE_TIMEZONE' },
      runOnStart: { doc: 'Poll at start: missed (no poll yet, or a tick was missed), always, never.', format: ['missed', 'always', 'never'], default: 'missed', env: 'RUN_ON_START' },
    },
    providers: { doc: 'Provider names; paths <name>/movies and <name>/movie/{id} under api.baseUrl.', format: 'provider-names', default: ['cinemaworld', 'filmworld'] },
    api: {
      baseUrl: { doc: 'Base URL of the provider API.', format: 'http-url', default: 'https://webjetapitest.azurewebsites.net/api/', env: 'PROVIDER_BASE_URL' },
      token: { doc: 'Access token sent in api.tokenHeader.', format: 'non-empty-string', default: null as string | null, nullable: true, sensitive: true, env: 'API_TOKEN' },
      tokenFile: { doc: 'File holding the token (Docker secret); used when api.token is unset.', format: 'non-empty-string', default: null as string | null, nullable: true, env: 'API_TOKEN_FILE' },
      tokenHeader: { doc: 'Header that carries the token.', format: 'header-name', default: 'x-access-token', env: 'API_TOKEN_HEADER' },
    },
    http: {
      timeoutMs: { doc: 'Time limit of one HTTP attempt.', format: 'positive-int', default: 10000, env: 'HTTP_TIMEOUT_MS' },
      retries: { doc: 'Retries of a transient failure.', format: 'non-negative-int', default: 5, env: 'HTTP_RETRIES' },
      concurrency: { doc: 'Requests in flight per provider.', format: 'positive-int', default: 8, env: 'HTTP_CONCURRENCY' },
      maxBodyBytes: { doc: 'Largest response body accepted (a film\'s detail, an error).', format: 'positive-int', default: 10 * 1024 * 1024, env: 'HTTP_MAX_BODY_BYTES' },
      // A list entry is ~150 bytes: 100,000 films are ~15 MB, over the detail cap.
      maxListBodyBytes: { doc: 'Largest list body accepted (the list of every film).', format: 'positive-int', default: 100 * 1024 * 1024, env: 'HTTP_MAX_LIST_BODY_BYTES' },
      maxRetryDelayMs: { doc: 'Cap on one retry delay, Retry-After included.', format: 'positive-int', default: 30000, env: 'HTTP_MAX_RETRY_DELAY_MS' },
    },
    poll: {
      deadlineMs: { doc: 'A whole poll\'s time limit.', format: 'positive-int', default: 300000, env: 'POLL_DEADLINE_MS' },
    },
    // What a change in the shape of a provider's answers does to the poll, per field class (docs/schema.md).
    schema: {
      policy: {
        required: { doc: 'A change in a required field (ID, Title, Price; a list entry\'s ID): record (the poll commits, raw kept), reject-record (the film goes to rejects), fail-provider (the provider\'s poll fails).', format: SCHEMA_POLICIES, default: 'record', env: 'SCHEMA_POLICY_REQUIRED' },
        mapped: { doc: 'A change in another field stored in a column (Year, Runtime, Genre, ...): record, reject-record or fail-provider.', format: SCHEMA_POLICIES, default: 'record', env: 'SCHEMA_POLICY_MAPPED' },
        extra: { doc: 'A new field, or a change in a field no column holds (kept in raw): record, reject-record or fail-provider.', format: SCHEMA_POLICIES, default: 'record', env: 'SCHEMA_POLICY_EXTRA' },
      },
    },
    store: {
      dir: { doc: 'Root of the Parquet store.', format: 'non-empty-string', default: './data', env: 'DATA_DIR' },
      retentionDays: { doc: 'Days of dt partitions to keep (0 keeps everything).', format: 'non-negative-int', default: 0, env: 'RETENTION_DAYS' },
      compactAfterMinutes: { doc: 'Minutes after a UTC day ends before the daemon compacts it (a grace period for a late poll).', format: 'non-negative-int', default: 60, env: 'COMPACT_AFTER_MINUTES' },
      duckdbMemoryMB: {
        doc: 'Memory one DuckDB (a report, a compaction) may use before it spills into _staging; 0: a quarter of the container\'s limit, 64 to 256 MB.',
        format: 'duckdb-memory-mb', default: 0, env: 'DUCKDB_MEMORY_MB',
      },
    },
    log: {
      dir: { doc: 'Folder of the rotated JSON log files.', format: 'non-empty-string', default: './logs', env: 'LOG_DIR' },
      level: { doc: 'Lowest level logged.', format: LOG_LEVELS, default: 'info', env: 'LOG_LEVEL' },
      maxFiles: { doc: 'Log files kept: a count or days ("14d").', format: 'log-max-files', default: '14d', env: 'LOG_MAX_FILES' },
      maxSize: { doc: 'Size at which a log file rotates.', format: 'log-max-size', default: '20m', env: 'LOG_MAX_SIZE' },
    },
    health: {
      port: { doc: 'Port of the page, /api/*, /healthz and /metrics (0 = off).', format: 'port', default: 8080, env: 'HEALTH_PORT' },
      host: { doc: 'Address of the page, /api/*, /healthz and /metrics.', format: 'non-empty-string', default: '0.0.0.0', env: 'HEALTH_HOST' },
      maxConsecutiveFailures: { doc: '/healthz answers 503 once more polls than this have failed in a row.', format: 'non-negative-int', default: 3, env: 'HEALTH_MAX_CONSECUTIVE_FAILURES' },
      headersTimeoutMs: { doc: 'A connection that has not sent a whole request head within this is closed (silent or slow clients).', format: 'positive-int', default: 10000, env: 'HEALTH_HEADERS_TIMEOUT_MS' },
      idleTimeoutMs: { doc: 'A keep-alive connection idle this long after an answer is closed.', format: 'positive-int', default: 5000, env: 'HEALTH_IDLE_TIMEOUT_MS' },
      maxConnections: { doc: 'Connections open at once on the port; more are closed at once.', format: 'positive-int', default: 100, env: 'HEALTH_MAX_CONNECTIONS' },
    },
    shutdown: {
      graceMs: { doc: 'On SIGTERM/SIGINT, how long a running poll may go on before it is aborted (nothing of it committed).', format: 'non-negative-int', default: 20000, env: 'SHUTDOWN_GRACE_MS' },
    },
    alerts: alertsSchema(),
    s3: s3SettingsSchema(),
  };
}

// The settings' names, env names and docs are words of the collector's own text: their pieces are
// not redacted as pieces of a secret (see MIN_SECRET_FRAGMENT in redact.ts).
addVocabulary(JSON.stringify(settingsSchema()));

export interface LoadOptions {
  /** --config PATH */
  configFile?: string;
  /** The prototype's `--apikey x-access-token=<token>` form. */
  apikey?: string;
  /** Values from command-line flags, by setting path (e.g. 'store.dir'). */
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** start and poll refuse to run without a token. */
  requireToken?: boolean;
}

export interface LoadedConfig {
  settings: Settings;
  /** The config file that was read, if any (the daemon watches it). */
  file: string | null;
  /** Problems that do not stop the collector (a token file others can read); check-config prints them, start and poll log them. */
  warnings: string[];
}

/** Loads, validates and resolves the configuration; throws ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  // An empty variable (API_TOKEN= in an .env file) means unset, not "the empty string".
  const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter(([, v]) => v !== undefined && v !== ''));
  const config = convict(settingsSchema(), { env, args: [] });
  const problems: string[] = [];

  const file = resolveConfigFile(options.configFile ?? env.CONFIG_FILE, cwd);
  if (file) {
    const values = readConfigFile(file);
    // convict throws a TypeError on some shapes (an object where a value belongs): check first.
    const shape = shapeProblems(values, settingsSchema());
    if (shape.length > 0) throw new ConfigError(shape);
    try {
      config.load(values);
    } catch (err) {
      // Not convict's message: it can quote the value it choked on.
      throw new ConfigError([`config file: "${file}" has a shape the loader cannot take (${err instanceof Error ? err.name : 'error'}); expected a JSON object of settings as in the README`]);
    }
  }

  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) config.set(key, value);
  }
  if (options.apikey !== undefined) {
    const eq = options.apikey.indexOf('=');
    if (eq <= 0 || eq === options.apikey.length - 1) {
      problems.push('--apikey: expected HEADER=TOKEN, e.g. --apikey x-access-token=<token>');
    } else {
      config.set('api.tokenHeader', options.apikey.slice(0, eq));
      config.set('api.token', options.apikey.slice(eq + 1));
    }
  }

  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    problems.push(...convictProblems(errorMessage(err)));
  }
  if (problems.length > 0) {
    // The token may sit in another setting by mistake (a value is quoted when it is wrong): hide it there too.
    const token = config.get('api.token') as unknown;
    const s3Keys = [config.get('s3.accessKeyId') as unknown, config.get('s3.secretAccessKey') as unknown].map((v) => (typeof v === 'string' ? v : null));
    const secrets = secretForms([typeof token === 'string' ? token : null, ...s3Keys]);
    throw new ConfigError(problems.map((p) => redactLine(p, secrets)));
  }

  const settings = config.getProperties() as Settings;
  const warnings: string[] = [];
  settings.api.token = resolveToken(settings, cwd, options.requireToken ?? false, warnings);
  registerSecret(settings.api.token);
  settings.alerts = resolveAlerts(settings.alerts, cwd);
  for (const secret of resolveS3Settings(settings.s3, cwd)) registerSecret(secret);
  setDuckdbMemoryMB(settings.store.duckdbMemoryMB);
  return { settings, file, warnings };
}

function resolveConfigFile(explicit: string | undefined, cwd: string): string | null {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new ConfigError([`config file: "${explicit}" not found; expected an existing JSON file (--config or CONFIG_FILE)`]);
    }
    return file;
  }
  const fallback = path.resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(fallback) ? fallback : null;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, ''); // a byte-order mark (Windows editors) is not a JSON error
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([`config file: cannot read "${file}" (${code}); expected a readable JSON file`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never the parser's own message: V8 quotes the text around the error, which may be the token.
    throw new ConfigError([`config file: "${file}" is not valid JSON: ${jsonSyntaxError(text)}; fix it there (its text is not shown here: it may hold the token)`]);
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigError([`config file: "${file}" holds ${kindOf(parsed)}; expected a JSON object of settings`]);
  }
  return parsed;
}

/** What a JSON value is, without its content (which may be the token). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** What the JSON parser could not read, for a text that JSON.parse refused: where (line, column) and what, never the text. */
const JSON_ERRORS: Record<string, string> = {
  InvalidSymbol: 'an unexpected character (a value without double quotes?)',
  InvalidNumberFormat: 'a malformed number',
  UnexpectedEndOfNumber: 'a malformed number',
  PropertyNameExpected: 'expected a name in double quotes (a trailing or doubled comma?)',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected a colon',
  CommaExpected: 'expected a comma',
  CloseBraceExpected: 'expected a closing }',
  CloseBracketExpected: 'expected a closing ]',
  EndOfFileExpected: 'more text after the end of the settings object',
  InvalidCommentToken: 'a comment (JSON allows none)',
  UnexpectedEndOfComment: 'a comment (JSON allows none)',
  UnexpectedEndOfString: 'a string that is not closed (a missing double quote?)',
  InvalidUnicode: 'a malformed \\u escape',
  InvalidEscapeCharacter: 'a malformed escape sequence',
  InvalidCharacter: 'a control character (a tab or line break?) inside a string',
};

function jsonSyntaxError(text: string): string {
  if (text.trim() === '') return 'the file is empty';
  const errors: jsonc.ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return 'the parser gave no position'; // JSON.parse and jsonc-parser disagree: not seen
  const what = JSON_ERRORS[jsonc.printParseErrorCode(first.error)] ?? 'a syntax error';
  if (first.offset >= text.trimEnd().length) return `the file ends early (cut short?) at line ${lineColumn(text, first.offset)}: ${what}`;
  return `${what} at line ${lineColumn(text, first.offset)}`;
}

/** "3, column 14" for an offset into the text (both counted from 1). */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}, column ${offset - before.lastIndexOf('\n')}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Where the file's nesting disagrees with the schema's: unknown keys, groups that are not objects, values that are. */
function shapeProblems(values: Record<string, unknown>, node: object, prefix = ''): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const setting = `${prefix}${key}`;
    const child = (node as Record<string, unknown>)[key];
    if (!isPlainObject(child)) {
      problems.push(`${setting}: unknown setting; remove it or check its spelling (see docs/settings.md)`);
    } else if ('default' in child) {
      if (isPlainObject(value)) problems.push(`${setting}: expected a single value (${String(child.doc ?? '')}), got an object`);
    } else if (!isPlainObject(value)) {
      // Its kind, not its value: a token put at the wrong level would be quoted.
      problems.push(`${setting}: expected an object of settings, got ${kindOf(value)}`);
    } else {
      problems.push(...shapeProblems(value, child, `${setting}.`));
    }
  }
  return problems;
}

/** convict reports all problems in one message, a line each; make each line name the setting first. */
function convictProblems(message: string): string[] {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
      if (undeclared) return `${undeclared[1]}: unknown setting; remove it or check its spelling (see docs/settings.md)`;
      // convict says "must be of type String" for a missing required value.
      return line.replace(/: value was /, ', value was ');
    });
}

function resolveToken(settings: Settings, cwd: string, required: boolean, warnings: string[]): string | null {
  // Trimmed as the file's is: `echo tok > .env` and editors leave a newline, which no header may carry.
  let token = settings.api.token === null ? null : settings.api.token.trim();
  if (token === '') throw new ConfigError(['api.token: holds only whitespace; expected the token (API_TOKEN)']);
  if (token === null && settings.api.tokenFile !== null) {
    const file = path.resolve(cwd, settings.api.tokenFile);
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
      throw new ConfigError([`api.tokenFile: cannot read "${settings.api.tokenFile}" (${code}); expected a readable file holding the token`]);
    }
    if (token === '') throw new ConfigError([`api.tokenFile: "${settings.api.tokenFile}" is empty; expected the token in it`]);
    const warning = tokenFileModeWarning(file);
    if (warning) warnings.push(warning);
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (token !== null && /[\x00-\x1f\x7f]/.test(token)) {
    const where = settings.api.token === null ? `api.tokenFile: "${settings.api.tokenFile ?? ''}"` : 'api.token (API_TOKEN)';
    throw new ConfigError([`${where}: the token holds a control character (a line break inside it?); expected it on one line`]);
  }
  if (required && token === null) {
    throw new ConfigError(['api.token: not set; expected a token in API_TOKEN, API_TOKEN_FILE, the config file or --apikey x-access-token=<token>']);
  }
  return token;
}

/**
 * A token file other users can read (mode & 0o004) is a warning, not an error. Group-readable is
 * left alone: 0640 with a group is how a service account is given a secret it does not own.
 */
function tokenFileModeWarning(file: string): string | null {
  let mode: number;
  try {
    mode = statSync(file).mode; // follows a symlink (Kubernetes secrets are links): the target's mode counts
  } catch {
    return null; // it was just read: a vanished file is not worth a second message
  }
  if ((mode & 0o004) === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `api.tokenFile: "${file}" is readable by other users (mode ${octal}); run chmod 600 ${file}`;
}

/** The settings as check-config shows them: the token's value replaced, and any user:password in the base URL. */
export function redactedSettings(settings: Settings): Settings {
  const { token } = settings.api;
  // The token (or a piece of it) pasted into another setting, and URL userinfo, are hidden too.
  const hidden = redact({ ...settings, api: { ...settings.api, token: null }, alerts: redactedAlerts(settings.alerts), s3: redactedS3(settings.s3) }, secretForms([token, settings.s3.accessKeyId, settings.s3.secretAccessKey]));
  return { ...hidden, api: { ...hidden.api, baseUrl: withoutUserinfo(hidden.api.baseUrl), token: token === null ? null : REDACTED } };
}

/** A URL with its username and password replaced, as the WHATWG parser reads them (so `user:p@ss@host` too). */
function withoutUserinfo(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.username === '' && url.password === '') return raw;
    return `${url.protocol}//${REDACTED}@${url.host}${url.pathname}${url.search}${url.hash}`;
  } catch {
    return redactUrlCredentials(raw);
  }
}
