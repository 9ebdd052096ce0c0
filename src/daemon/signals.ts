// The daemon's process signals and last-resort handlers. Nothing kills the daemon silently: a
// stray rejection is logged and the daemon goes on; an uncaught exception leaves state unknown,
// so it is logged, the log flushed, and the process exits 1. SIGHUP reloads the configuration;
// SIGTERM and SIGINT stop.
import { EXIT, errorMessage } from '../runtime/errors.js';
import type { LogHandle } from '../log/log.js';

export interface SignalHandlers {
  reload: () => void;
  stop: (signal: NodeJS.Signals) => void;
}

/** Installs the handlers; returns what stops listening for SIGHUP (once stopping, a reload means nothing). */
export function handleProcessSignals(log: LogHandle, handlers: SignalHandlers): { stopReloading: () => void } {
  process.on('unhandledRejection', (reason) => log.logger.error(`unhandled rejection: ${errorMessage(reason)}`));
  process.on('uncaughtException', (err) => {
    log.logger.error(`uncaught exception, exiting: ${errorMessage(err)}`, err);
    void log.close().finally(() => process.exit(EXIT.failed));
  });
  const onHangup = () => handlers.reload();
  const onStop = (signal: NodeJS.Signals) => handlers.stop(signal);
  process.on('SIGHUP', onHangup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return { stopReloading: () => process.off('SIGHUP', onHangup) };
}
