// The daemon's report routes on the health port: / (the page), /api/report (the same JSON as
// `report --format json`), /api/charts (the page's chart data) and /api/status (schedule and
// poll state, for the page's stale and failing banners). Answers come from LiveReport's cache,
// with validators from the last commit; bad query parameters get 400 naming the parameter.
import type { AlertsView } from '../alerts/service.js';
import type http from 'node:http';
import { errorMessage } from '../runtime/errors.js';
import { knownSecrets, redactText } from '../runtime/redact.js';
import { LIVE_PAGE, LIVE_PAGE_CSP } from '../report/html.js';
import { etagOf, type LiveAnswer, type LiveReport } from '../report/live.js';
import { ParamError, parseReportQuery, type ParamName, type ReportQuery } from '../report/params.js';
import { assembleReport, pickSection } from '../report/assemble.js';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void> | void;

/** What /api/status tells the page besides the report (the daemon's view, never cached). */
export interface DaemonStatus {
  schedule: { cron: string; timezone: string; /** Seconds between the next two scheduled polls: "stale" is older than two. */ interval_seconds: number | null; next_run: string | null };
  last_poll: { run: string; status: string; finished_at: string } | null;
  consecutive_failures: number;
  polling: boolean;
  problem: string | null;
  /** Rules' state and the latest alerts with their delivery (src/alerts/service.ts); null when the daemon has none open. */
  alerts?: AlertsView | null;
  /** The S3 sink's lag or trouble (`s3: lagging N polls ...`), shown on the page; null when fine or off. */
  s3?: string | null;
}

const FILTERS: ParamName[] = ['since', 'provider', 'film'];
/** /api/report's parameters: the filters, a section, and the view of the film lists. */
const REPORT_PARAMS: ParamName[] = [...FILTERS, 'section', 'sort', 'limit', 'offset'];

function text(res: http.ServerResponse, status: number, line: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(`${redactText(line, knownSecrets())}\n`);
}

/** A JSON answer; a string body is redacted here (a Buffer is a cached answer, redacted when it was encoded). */
function json(res: http.ServerResponse, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(typeof body === 'string' ? redactText(body, knownSecrets()) : body);
}

/** The query, or null after answering 400 with the line that names the parameter. */
function query(res: http.ServerResponse, url: URL, allowed: ParamName[]): ReportQuery | null {
  try {
    return parseReportQuery(url.searchParams, allowed);
  } catch (err) {
    if (!(err instanceof ParamError)) throw err;
    text(res, 400, `bad request: ${err.message}`);
    return null;
  }
}

/** True when the client's copy is current (If-None-Match first; If-Modified-Since only without it, to the second). */
function notModified(req: http.IncomingMessage, etag: string, lastModified: Date): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    const bare = (tag: string) => tag.trim().replace(/^W\//, '');
    return inm.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
  }
  // Only an HTTP-date, and none from the future (RFC 9110 13.1.3): Date.parse reads "99999" as a
  // year, and a date past any commit would answer 304 to every later commit.
  const raw = req.headers['if-modified-since'] ?? '';
  const ims = HTTP_DATE.test(raw) ? Date.parse(raw) : NaN;
  return !Number.isNaN(ims) && ims <= Date.now() && Math.floor(lastModified.getTime() / 1000) * 1000 <= ims;
}

/** IMF-fixdate, the form every current client sends (Sun, 06 Nov 1994 08:49:37 GMT). */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * An answer's bodies as bytes, redacted and encoded once per view: a 5 MB report is not re-encoded
 * for every request. Bounded per answer (a client paging through 10,000 films makes one per page).
 */
const bytes = new WeakMap<LiveAnswer, Map<string, Buffer>>();
const MAX_BODIES_PER_ANSWER = 64;
async function encoded(answer: LiveAnswer, variant: string, make: () => string | Promise<string>): Promise<Buffer> {
  let byVariant = bytes.get(answer);
  if (!byVariant) bytes.set(answer, (byVariant = new Map()));
  let body = byVariant.get(variant);
  if (!body) {
    body = Buffer.from(redactText(await make(), knownSecrets()));
    byVariant.set(variant, body);
    if (byVariant.size > MAX_BODIES_PER_ANSWER) byVariant.delete(byVariant.keys().next().value as string);
  }
  return body;
}

/** /api/report's body for one view of the answer (search, sort, page, section). */
function reportBody(answer: LiveAnswer, q: ReportQuery): string {
  const report = assembleReport(answer.data, { film: q.film, sort: q.sort, limit: q.limit, offset: q.offset });
  return JSON.stringify(q.section ? pickSection(report, q.section) : report);
}

/** /api/charts's body: one film's chart (`film` is its exact key), or every film's, by title. */
async function chartsBody(answer: LiveAnswer, q: ReportQuery): Promise<string> {
  const charts = await answer.charts;
  if (q.film !== undefined) {
    const chart = charts[q.film];
    return `{"charts":[${chart ?? ''}]}`;
  }
  const titles = new Map(answer.data.history.map((h) => [h.film_key, h.title]));
  const keys = Object.keys(charts).sort((a, b) => (titles.get(a) ?? a).localeCompare(titles.get(b) ?? b));
  return `{"charts":[${keys.map((k) => charts[k]).join(',')}]}`;
}

/** Answers an /api/ route from the cached answer: 503 before the first commit, 500 if the report failed, else 200 or 304. */
async function answerRoute(
  live: LiveReport, nextRun: () => string | null, req: http.IncomingMessage, res: http.ServerResponse, q: ReportQuery, variant: string, make: (answer: LiveAnswer) => string | Promise<string>,
): Promise<void> {
  const result = await live.answer(q);
  if (result.kind === 'empty') {
    text(res, 503, `no committed poll in the store yet: the report appears after the first poll (next: ${nextRun() ?? 'not scheduled'})`, { 'retry-after': '5' });
    return;
  }
  if (result.kind === 'failed') {
    text(res, 500, `report failed: ${result.message}`);
    return;
  }
  if (result.kind === 'busy') {
    text(res, 503, 'busy: other reports are being computed; try again in a few seconds', { 'retry-after': '5' });
    return;
  }
  const { answer } = result;
  const validators = { etag: etagOf(answer.run, variant), 'last-modified': answer.committedAt.toUTCString(), 'cache-control': 'no-cache' };
  if (notModified(req, validators.etag, answer.committedAt)) {
    res.writeHead(304, validators).end();
    return;
  }
  let body: Buffer;
  try {
    body = await encoded(answer, variant, () => make(answer));
  } catch (err) {
    // The charts of an answer failed (its report process died after sending the data).
    text(res, 500, `report failed: ${errorMessage(err).split('\n')[0] ?? ''}`);
    return;
  }
  json(res, body, validators);
}

export function liveRoutes(live: LiveReport, status: () => DaemonStatus): Record<string, Route> {
  const nextRun = () => status().schedule.next_run;
  return {
    '/': (_req, res, url) => {
      // The page passes its own query string on to the API: checked here too, so a bad one is a 400 at once.
      if (!query(res, url, FILTERS)) return;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': LIVE_PAGE_CSP,
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      }).end(LIVE_PAGE);
    },
    '/api/report': async (req, res, url) => {
      const q = query(res, url, REPORT_PARAMS);
      if (!q) return;
      const variant = `report:${JSON.stringify([q.section ?? null, q.film ?? null, q.sort ?? null, q.limit ?? null, q.offset ?? null])}`;
      await answerRoute(live, nextRun, req, res, q, variant, (answer) => reportBody(answer, q));
    },
    '/api/charts': async (req, res, url) => {
      const q = query(res, url, FILTERS);
      if (!q) return;
      await answerRoute(live, nextRun, req, res, q, `charts:${q.film ?? ''}`, (answer) => chartsBody(answer, q));
    },
    '/api/status': (_req, res, url) => {
      if (!query(res, url, [])) return;
      const version = live.version;
      json(res, JSON.stringify({
        now: new Date().toISOString(),
        run: version?.run ?? null,
        committed_at: version?.committedAt.toISOString() ?? null,
        report_error: live.error,
        ...status(),
      }), { 'cache-control': 'no-store' });
    },
  };
}
