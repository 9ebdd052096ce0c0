// winston: readable console output (JSON when not a terminal) on stderr, so stdout stays for
// command output, and daily-rotated JSON lines in log.dir with a stable current.log link.
// Every secret's value is replaced before any transport sees a line.
import { once } from 'node:events';
import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import { errorMessage } from '../runtime/errors.js';
import { removePrunedArchives, repairLogAudit } from './audit.js';
import { redact, secretForms } from '../runtime/redact.js';
import { ensureWritableDir, writeProbe } from '../runtime/writable-dir.js';

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

/** The file transport's names: collector-YYYY-MM-DD.log, rotated by size to .log.1, .log.2, gzipped to .gz. */
const LOG_FILE = /^collector-\d{4}-\d{2}-\d{2}\.log(\.\d+)?(\.gz)?$/;
export const CURRENT_LOG = 'current.log';

const redactFormat = (secrets: string[]) => winston.format((info) => redact(info, secrets))();

export function createLogger(options: LogOptions): LogHandle {
  const dir = path.resolve(options.dir);
  ensureWritableDir(dir, 'log.dir', 'LOG_DIR');
  // The URL-encoded form too: a token can reach a line inside a URL. Pieces of 6+ characters and URL userinfo too (redact.ts).
  const secrets = secretForms(options.secrets);
  const base = winston.format.combine(
    winston.format.errors({ stack: true }),
    redactFormat(secrets),
    winston.format.timestamp(),
  );
  const pretty = (options.consoleFormat ?? (process.stderr.isTTY ? 'pretty' : 'json')) === 'pretty';

  const console = new winston.transports.Console({
    stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
    format: pretty
      ? winston.format.combine(winston.format.colorize(), winston.format.printf(prettyLine))
      : winston.format.json(),
  });
  const logger = winston.createLogger({ level: options.level, format: base, transports: [console] });

  // A full or broken log.dir must not stop the collector: the failed file transport is dropped, the
  // console goes on, and every FILE_RETRY_MS a probe write checks whether the folder takes lines again.
  let file: DailyRotateFile | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closing = false;
  const onFileError = (failed: DailyRotateFile) => (err: unknown) => {
    if (file !== failed) return; // already dropped (its stream and proxy both report)
    file = null;
    // Its later errors (closing a destroyed stream) must neither throw nor make winston add it back
    // (winston re-adds a transport that reports an error after removal: winstonjs/winston#1364).
    failed.removeAllListeners('error').on('error', () => undefined);
    logger.remove(failed);
    failed.emit(DROPPED); // a close() waiting for this transport's flush stops waiting
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    process.stderr.write(`log.dir: cannot write log files in ${dir} (${code}); logging to the console only, retrying every ${FILE_RETRY_MS / 1000} s\n`);
    if (!closing) retry = setTimeout(reopen, FILE_RETRY_MS).unref();
  };
  const auditFile = path.join(dir, '.audit.json');
  const attachFile = () => {
    let repaired: string | null;
    try {
      repaired = repairLogAudit(auditFile, LOG_FILE, options.maxFiles);
    } catch (err) {
      repaired = `log.dir: cannot rebuild the unreadable log audit ${auditFile} (${errorMessage(err)}); old log files may not be pruned`;
    }
    const transport = new DailyRotateFile({
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
      auditFile,
      format: winston.format.json(),
    });
    file = transport;
    // The transport's own errors (a failed rotation) reach the logger's 'error' handler below.
    // file-stream-rotator re-emits its file stream's errors on this proxy, which has no listener of its
    // own: an ENOSPC there would be an uncaught exception. (logStream is not in the package's types.)
    (transport as unknown as { logStream: NodeJS.EventEmitter }).logStream.on('error', onFileError(transport));
    logger.add(transport);
    if (repaired) logger.warn(repaired);
    try {
      const pruned = removePrunedArchives(auditFile, LOG_FILE);
      if (pruned.length > 0) logger.info(`log.dir: removed ${pruned.length} old log files beyond log.maxFiles`, { files: pruned });
    } catch (err) {
      logger.warn(`log.dir: cannot remove old log files (${errorMessage(err)})`);
    }
  };
  const reopen = () => {
    retry = null;
    if (closing) return;
    if (writeProbe(dir, 64 * 1024) !== null) { // room for a few log lines again?
      retry = setTimeout(reopen, FILE_RETRY_MS).unref();
      return;
    }
    dropTornLine(path.join(dir, CURRENT_LOG));
    attachFile();
    logger.warn(`log.dir: writing log files in ${dir} again; lines logged meanwhile went to the console only`);
  };
  // The logger re-emits its transports' errors; without a listener they would be thrown.
  logger.on('error', (err: unknown, transport: unknown) => {
    if (transport instanceof DailyRotateFile) onFileError(transport)(err);
  });
  attachFile();

  let closed: Promise<void> | null = null;
  return {
    logger,
    close() {
      // Order matters (PITFALLS §5): the logger's 'finish' fires before the file is flushed. The
      // transport's next 'finish' comes from its file stream's end() callback, i.e. once flushed;
      // the stream's own 'finish' event never fires when nothing was written.
      closed ??= (async () => {
        closing = true;
        if (retry) clearTimeout(retry);
        const loggerDone = once(logger, 'finish');
        logger.end();
        await loggerDone;
        const open = file;
        if (!open) return; // dropped after an error: its stream is destroyed, nothing will finish
        const fileDone = Promise.race([once(open, 'finish'), once(open, DROPPED)]);
        open.close?.();
        await fileDone;
      })();
      return closed;
    },
  };
}

const DROPPED = 'movies-collector:dropped';

/** How often a failed log.dir is tried again. */
const FILE_RETRY_MS = 10_000;

/**
 * A write cut short by the full disk leaves half a line at the end of the file: cut it off, so every
 * line parses as JSON again (the whole line went to the console).
 */
function dropTornLine(file: string): void {
  try {
    const fd = openSync(file, 'r+');
    try {
      const { size } = fstatSync(fd);
      const tail = Buffer.alloc(Math.min(size, 64 * 1024));
      const read = readSync(fd, tail, 0, tail.length, size - tail.length);
      const lastNewline = tail.lastIndexOf(0x0a);
      if (read === 0 || lastNewline === read - 1 || lastNewline < 0) return; // whole lines, or one too long to judge
      ftruncateSync(fd, size - tail.length + lastNewline + 1);
    } finally {
      closeSync(fd);
    }
  } catch {
    // no current file yet, or unreadable: the new transport starts its own
  }
}

function prettyLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, stack, ...meta } = info;
  const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
  const trace = typeof stack === 'string' && level.includes('debug') ? `\n${stack}` : '';
  return `${String(timestamp)} ${level} ${String(message)}${extra}${trace}`;
}
