// The report page: one self-contained document (uPlot and the page script inlined, no fetches
// from elsewhere) showing the answer first: the best-price table (searched, sorted, one page of
// 50 at a time) beside the price-history charts of the films opened (one line per provider), the
// biggest moves of the window, then the cheapest provider and data health. `report --html FILE`
// writes it with the data inside; the daemon serves it at / without data, and its script asks
// the daemon's /api/ endpoints for what the screen shows.
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
  td { overflow-wrap: anywhere; }
  th, .num, td:has(> button) { white-space: nowrap; overflow-wrap: normal; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .note { color: #595959; }
  button, input { font: inherit; }
  button:focus-visible, input:focus-visible, [tabindex]:focus-visible { outline: 3px solid #1f5fbf; outline-offset: 2px; }
  .controls { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem; margin: 0.5rem 0; }
  #search { padding: 3px 6px; width: 22rem; max-width: 100%; }
  th button.sort { border: 0; padding: 0; background: none; color: inherit; font-weight: 700; cursor: pointer; text-decoration: underline dotted; }
  th[aria-sort] button.sort { text-decoration: underline; }
  .chart-toggle { padding: 0 8px; }
  .chart-toggle[aria-expanded="true"] { background: #dbe7f8; border-color: #1f5fbf; }
  .down { color: #17702f; }
  .up { color: #b42318; }
  .catalogue { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 1rem 2rem; }
  #best-prices { flex: 1 1 34rem; min-width: 0; overflow-x: auto; }
  #charts-panel { flex: 0 1 470px; position: sticky; top: 0; max-height: 100vh; overflow-y: auto; }
  #charts-panel h2 { margin-top: 0; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
  .chart { border: 1px solid #eee; padding: 0.5rem; }
  .chart-close { float: right; }
  .moves { display: flex; flex-wrap: wrap; gap: 0 2rem; }
  .drift { padding: 0.5rem 1rem; margin: 0 0 1rem; border-left: 6px solid #ff7f0e; background: #fff6ea; }
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
<main>
<h1>${escapeHtml(title)}</h1>
<div id="status" data-state="waiting">Loading…</div>
<div id="schema-drift" hidden></div>
<section id="catalogue" aria-labelledby="catalogue-title">
<h2 id="catalogue-title">Best price per film</h2>
<p class="note">Each provider's latest answered poll; saving = against the next cheapest provider; change = the best price now against the best price at the start of the window.</p>
<div class="controls">
<label for="search">Search films</label>
<input type="search" id="search" maxlength="200" autocomplete="off" spellcheck="false" aria-describedby="search-hint">
<span id="search-hint" class="note">part of a title (case and accents ignored) or a film key</span>
</div>
<nav class="controls" aria-label="Pages of the best-price table">
<button type="button" id="prev" disabled>Previous 50</button>
<span id="range" aria-live="polite">Loading…</span>
<button type="button" id="next" disabled>Next 50</button>
</nav>
<div class="catalogue">
<div id="best-prices"><table><thead id="films-head"></thead><tbody id="films"></tbody></table></div>
<section id="charts-panel" aria-labelledby="charts-title" tabindex="0">
<h2 id="charts-title">Price history</h2>
<p id="charts-empty" class="note">A film's "chart" button draws its prices in the window here, one line per provider.</p>
<div class="charts" id="charts"></div>
</section>
</div>
</section>
<section id="moves"></section>
<section id="cheapest"></section>
<section id="health"></section>
<section id="alerts"></section>
</main>
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
