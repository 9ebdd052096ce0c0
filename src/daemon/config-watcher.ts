// Live configuration: the config file is checked for edits (a stat each second: works on bind
// mounts, where inotify may not) and re-read on a change or SIGHUP. An invalid file changes
// nothing (logged with its problems); a setting that needs a restart keeps its old value (logged,
// without the value: the token is among them); anything else is handed to the daemon.
import { statSync } from 'node:fs';
import { ConfigError, errorMessage } from '../runtime/errors.js';
import type { Logger } from '../log/log.js';
import { loadConfig, type LoadOptions, type Settings } from '../config/settings.js';

/** Settings that cannot change under a running daemon: it says so and keeps the old value. */
const RESTART_ONLY = ['store.dir', 'log.dir', 'log.maxFiles', 'log.maxSize', 'health.port', 'health.host', 'api.token', 'api.tokenFile', 'api.tokenHeader', 's3.bucket', 's3.prefix', 's3.endpoint', 's3.accessKeyId', 's3.secretAccessKey'] as const;
/** How often the config file is checked for edits. */
const CONFIG_CHECK_MS = 1000;

export class ConfigWatcher {
  private stamp: string;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: string,
    private readonly loadOptions: LoadOptions,
    private readonly logger: Logger,
    /** The settings in force now, and where a valid change goes. */
    private readonly current: () => Settings,
    private readonly apply: (next: Settings, why: string) => void,
  ) {
    this.stamp = this.stampOfFile();
  }

  /** Polled against a stamp taken when the settings were read: fs.watchFile would miss an edit made before its own first stat. */
  start(): void {
    this.timer = setInterval(() => {
      const stamp = this.stampOfFile();
      if (stamp !== this.stamp) {
        this.stamp = stamp;
        this.reload('config file changed');
      }
    }, CONFIG_CHECK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Re-reads the config file; a valid change is applied, an invalid file changes nothing. */
  reload(why: string): void {
    let next: Settings;
    try {
      next = loadConfig(this.loadOptions).settings;
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [errorMessage(err)];
      this.logger.error(`config reload rejected (${why}); keeping the current configuration: ${problems.join('; ')}`, { problems });
      return;
    }
    const old = this.current();
    for (const key of RESTART_ONLY) {
      const [group, name] = key.split('.') as [keyof Settings, string];
      const before = (old[group] as unknown as Record<string, unknown>)[name];
      const after = (next[group] as unknown as Record<string, unknown>)[name];
      if (before !== after) {
        this.logger.warn(`config reload: ${key} changed but needs a restart to take effect; keeping the current value`, { setting: key });
        (next[group] as unknown as Record<string, unknown>)[name] = before;
      }
    }
    this.apply(next, why);
  }

  /** What identifies the config file's version: an edit, a replacement or a removal changes it. */
  private stampOfFile(): string {
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'absent';
    }
  }
}
