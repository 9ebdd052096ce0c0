// Running the real daemon (`movies-collector start`) as a child process in tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import type { MockProvider } from '../src/mock/server.js';
import { CLI, cleanEnv } from './helpers.js';

export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

export interface DaemonProcess {
  child: ChildProcess;
  lines: LogLine[];
  healthPort: number;
  data: string;
  /** Resolves with the next log line that matches; rejects after timeoutMs. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  count(match: (line: LogLine) => boolean): number;
  /** Resolves once `n` lines in all (seen or to come) match. */
  waitForCount(match: (line: LogLine) => boolean, n: number, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export async function startDaemon(t: { after(fn: () => unknown): void }, mock: Pick<MockProvider, 'url' | 'token'>, cwd: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
  const healthPort = await freePort();
  const data = path.join(cwd, 'data');
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd,
    env: cleanEnv({
      API_TOKEN: mock.token, PROVIDER_BASE_URL: mock.url, DATA_DIR: data, LOG_DIR: path.join(cwd, 'logs'),
      HEALTH_PORT: String(healthPort), HEALTH_HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env,
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let buffered = '';
  child.stderr?.setEncoding('utf8'); // whole characters, even when one spans two chunks
  child.stderr?.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 'raw', message: text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waitFor = (match: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
  return {
    child, lines, healthPort, data, waitFor,
    count: (match) => lines.filter(match).length,
    async waitForCount(match, n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.filter(match).length < n) await waitFor(match, Math.max(1, deadline - Date.now()));
    },
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}

export const pollDone = (l: LogLine) => /^poll (complete|partial|failed):/.test(l.message);
export const isMessage = (re: RegExp) => (l: LogLine) => re.test(l.message);
