// Binding the daemon's port, and the one config-error line naming the setting at fault when it
// cannot be bound; check-config's probe of the same address.
import { once } from 'node:events';
import net from 'node:net';
import { ConfigError } from '../runtime/errors.js';

export async function listen(server: net.Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
}

/** Errors of listen() that are the address's fault, not the port's: a name that does not resolve, an address not on this machine. */
const HOST_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

/** The setting to blame for a failed listen(), in one config-error line. */
export function listenProblem(err: unknown, port: number, host: string): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  if (HOST_ERRORS.has(code)) {
    return new ConfigError([`health.host: cannot listen on "${host}" (${code}); expected an address of this machine or a name that resolves to one, such as 0.0.0.0, 127.0.0.1 or :: (HEALTH_HOST)`]);
  }
  return new ConfigError([`health.port: cannot listen on ${port} (${code}); expected a free port, or 0 to turn the endpoint off (HEALTH_PORT)`]);
}

/**
 * check-config's test of what start will do with health.*: the host is bound on a free port (so
 * it resolves and is local), then the port itself. A port in use is not an error here (a running
 * daemon holds it); it returns a note instead. Throws a ConfigError naming the setting at fault.
 */
export async function probeHealthAddress(port: number, host: string): Promise<string | null> {
  if (port === 0) return null; // the endpoint is off: start binds nothing
  for (const tryPort of [0, port]) {
    const server = net.createServer();
    try {
      await listen(server, tryPort, host);
    } catch (err) {
      if (tryPort !== 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        return `health.port: ${port} on ${host} is in use right now (by a running daemon?); start needs it free`;
      }
      throw listenProblem(err, port, host);
    }
    server.close();
    await once(server, 'close');
  }
  return null;
}
