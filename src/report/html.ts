// The report page: one self-contained document (uPlot and the page script inlined, no fetches
// from elsewhere) showing the answer first, a price-history chart per film (one line per
// provider), then data health. `report --html FILE` writes it with the data inside; the daemon
// serves it at / without data, and its script asks the daemon's /api/ endpoints.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PAGE_SCRIPT } from './page-script.js';
import type { ChartData } from './charts.js';
import type { Report } from './report.js';

const require = createRequire(import.meta.url);
const asset = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside <script>: "</script>" or "<!--" in a title must not end the script. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; margin-bottom: 1rem; }
  th, td { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .note { color: #666; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
  .chart { border: 1px solid #eee; padding: 0.5rem; }
  #status { padding: 0.5rem 1rem; margin-bottom: 1rem; border-left: 6px solid #2ca02c; background: #f3faf3; }
  #status[data-state="waiting"] { border-color: #999; background: #f6f6f6; }
  #status[data-state="stale"] { border-color: #ff7f0e; background: #fff6ea; }
  #status[data-state="failing"], #status[data-state="error"] { border-color: #d62728; background: #fdeeee; font-weight: 600; }
`;

/** The page's inline elements: the same bytes in the file and on the daemon, so their hashes are fixed. */
const UPLOT_CSS = asset('uPlot.min.css');
const UPLOT_JS = asset('uPlot.iife.min.js');

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The daemon page's Content-Security-Policy: nothing from outside the page itself; its own inline
 * scripts and styles by hash; requests only to its own origin (/api/...).
 */
export const LIVE_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(UPLOT_JS)} ${hash(PAGE_SCRIPT)}`,
  `style-src ${hash(UPLOT_CSS)} ${hash(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function page(title: string, config: object, data: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${UPLOT_CSS}</style>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div id="status" data-state="waiting">Loading…</div>
<section id="best-prices"></section>
<section id="cheapest"></section>
<h2>Price history per film</h2>
<div class="charts" id="charts"></div>
<section id="health"></section>
<section id="alerts"></section>
<script type="application/json" id="page-config">${scriptJson(config)}</script>
${data}<script>${UPLOT_JS}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** `report --html FILE`: the page with its data inside (opens offline, no requests). */
export function renderHtml(report: Report, charts: ChartData[]): string {
  return page('movies-collector report', { live: false }, `<script type="application/json" id="page-data">${scriptJson({ report, charts })}</script>\n`);
}

/** The daemon's page at /: no data inside; its script asks /api/status and /api/report. */
export const LIVE_PAGE = page('movies-collector: live report', { live: true }, '');
