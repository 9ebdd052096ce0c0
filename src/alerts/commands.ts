// `movies-collector alerts` (the rules and destinations, redacted) and `alerts test [DESTINATION]`
// (one test alert, sent at once to each chosen destination; exit 0 when every one accepted it).
import { randomBytes } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import { EXIT, UserError } from '../runtime/errors.js';
import { redactedAlerts, shownUrl } from './config.js';
import { buildRequest } from './destinations.js';
import type { Alert } from './rules.js';
import { send } from './send.js';

/** The listing: one line per rule and per destination. */
export function describeAlerts(settings: Settings): string {
  const { rules, destinations } = redactedAlerts(settings.alerts);
  const lines = [`rules (${rules.length}):`];
  for (const r of rules) {
    const what = Object.entries(r).filter(([k]) => !['name', 'type', 'destinations'].includes(k)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
    lines.push(`  ${r.name}: ${r.type}${what ? ` ${what}` : ''} -> ${(r.destinations ?? destinations.map((d) => d.name)).join(', ') || '(no destination: recorded in the store only)'}`);
  }
  lines.push(`destinations (${destinations.length}):`);
  for (const d of destinations) lines.push(`  ${d.name}: ${d.type} ${d.url ?? ''}${d.secret ? ' (signed)' : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Sends one test alert to `name` (or every destination); returns the exit code and one line per destination. */
export async function sendTestAlert(settings: Settings, name: string | undefined): Promise<{ code: number; lines: string[] }> {
  const all = settings.alerts.destinations;
  if (all.length === 0) throw new UserError('alerts test: no destination in alerts.destinations; add one (see docs/alerts.md)', EXIT.config);
  const chosen = name === undefined ? all : all.filter((d) => d.name === name);
  if (chosen.length === 0) throw new UserError(`alerts test: no destination named "${name ?? ''}"; expected one of ${all.map((d) => d.name).join(', ')}`, EXIT.config);
  const now = new Date();
  const alert: Alert = {
    key: `test-${randomBytes(8).toString('hex')}`, rule: 'test', kind: 'test', film_key: null, title: null, provider: null, old_value: null, new_value: null,
    message: 'movies-collector test alert: this destination receives alerts', run: '', created_at: now.toISOString(), destinations: chosen.map((d) => d.name),
  };
  const lines: string[] = [];
  let code: number = EXIT.ok;
  for (const d of chosen) {
    const outcome = await send(buildRequest(d, alert), settings.alerts);
    const where = `${d.name} (${d.type} ${shownUrl(d.url)})`;
    if (outcome.ok) {
      lines.push(`${where}: delivered (HTTP ${outcome.status})`);
    } else {
      code = EXIT.failed;
      lines.push(`${where}: not delivered: ${outcome.error}${outcome.retry ? ' (the daemon would try again)' : ''}`);
    }
  }
  return { code, lines };
}
