// winston: readable console output (JSON when not a terminal) on stderr, so stdout stays for
// command output, and daily-rotated JSON lines in log.dir with a stable current.log link.
// Every secret's value is replaced before any transport sees a line.
import { once } from 'node:events';
import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import { ensureWritableDir } from './writable-dir.js';

export type Logger = winston.Logger;

export interface LogOptions {
  dir: string;
  level: string;
  maxFiles: string;
  maxSize: string;
  /** Values that must never appear in a log line (the API token). */
  secrets: Array<string | null>;
  /** Console output; defaults to JSON unless stderr is a terminal. */
  consoleFormat?: 'pretty' | 'json';
}

export interface LogHandle {
  logger: Logger;
  /** Flushes every line to disk; call before the process exits. */
  close(): Promise<void>;
}

export const REDACTED = '[redacted]';
export const CURRENT_LOG = 'current.log';

/** Replaces each secret anywhere in a string, array or plain object (messages, stacks, URLs, meta). */
export function redact<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') {
    let out: string = value;
    for (const secret of secrets) out = out.split(secret).join(REDACTED);
    return out as T;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets)) as T;
  if (value instanceof Error) {
    const copy = new Error(redact(value.message, secrets));
    copy.name = value.name;
    copy.stack = value.stack === undefined ? undefined : redact(value.stack, secrets);
    return copy as T;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(value)) {
      out[key] = redact((value as Record<string | symbol, unknown>)[key], secrets);
    }
    return out as T;
  }
  return value;
}

const redactFormat = (secrets: string[]) => winston.format((info) => redact(info, secrets))();

export function createLogger(options: LogOptions): LogHandle {
  const dir = path.resolve(options.dir);
  ensureWritableDir(dir, 'log.dir', 'LOG_DIR');
  // The URL-encoded form too: a token can reach a line inside a URL.
  const secrets = options.secrets
    .filter((s): s is string => typeof s === 'string' && s !== '')
    .flatMap((s) => [...new Set([s, encodeURIComponent(s)])]);
  const base = winston.format.combine(
    winston.format.errors({ stack: true }),
    redactFormat(secrets),
    winston.format.timestamp(),
  );
  const pretty = (options.consoleFormat ?? (process.stderr.isTTY ? 'pretty' : 'json')) === 'pretty';

  const file = new DailyRotateFile({
    dirname: dir,
    filename: 'collector-%DATE%.log',
    datePattern: 'YYYY-MM-DD',
    utc: true,
    maxSize: options.maxSize,
    maxFiles: options.maxFiles,
    zippedArchive: true,
    createSymlink: true,
    symlinkName: CURRENT_LOG,
    // A fixed audit file name: the default one hashes the options, so any change would orphan old logs from pruning.
    auditFile: path.join(dir, '.audit.json'),
    format: winston.format.json(),
  });
  const console = new winston.transports.Console({
    stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
    format: pretty
      ? winston.format.combine(winston.format.colorize(), winston.format.printf(prettyLine))
      : winston.format.json(),
  });
  const logger = winston.createLogger({ level: options.level, format: base, transports: [console, file] });
  // A full or broken log.dir must not stop the collector: say so once on stderr, keep the console.
  let fileFailed = false;
  const onFileError = (err: unknown) => {
    if (fileFailed) return;
    fileFailed = true;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    process.stderr.write(`log.dir: cannot write log files in ${dir} (${code}); logging to the console only until restart\n`);
  };
  file.on('error', onFileError);
  logger.on('error', onFileError);
  // file-stream-rotator re-emits its file stream's errors on this proxy, which has no listener of its
  // own: an ENOSPC there would be an uncaught exception. (logStream is not in the package's types.)
  (file as unknown as { logStream: NodeJS.EventEmitter }).logStream.on('error', onFileError);

  let closed: Promise<void> | null = null;
  return {
    logger,
    close() {
      // Order matters (PITFALLS §5): the logger's 'finish' fires before the file is flushed. The
      // transport's next 'finish' comes from its file stream's end() callback, i.e. once flushed;
      // the stream's own 'finish' event never fires when nothing was written.
      closed ??= (async () => {
        const loggerDone = once(logger, 'finish');
        logger.end();
        await loggerDone;
        if (fileFailed) return; // its stream is destroyed: nothing will finish
        const fileDone = once(file, 'finish');
        file.close?.();
        await fileDone;
      })();
      return closed;
    },
  };
}

function prettyLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, stack, ...meta } = info;
  const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
  const trace = typeof stack === 'string' && level.includes('debug') ? `\n${stack}` : '';
  return `${String(timestamp)} ${level} ${String(message)}${extra}${trace}`;
}
