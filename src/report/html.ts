// `report --html FILE`: one self-contained page (no network fetches) with the report's tables
// and a price-history chart per film, one line per provider, drawn by uPlot inlined into the page.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SeriesPoint } from './queries.js';
import { SECTIONS, sectionRows, type Report } from './report.js';

const require = createRequire(import.meta.url);
const asset = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside <script>: "</script>" or "<!--" in a title must not end the script. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

export interface ChartData {
  film_key: string;
  title: string;
  providers: string[];
  /** uPlot's aligned data: x (Unix seconds, with milliseconds: polls under a second apart must not share a slot), then one price array per provider (null where not polled). */
  data: Array<Array<number | null>>;
}

export function chartData(report: Report, series: SeriesPoint[]): ChartData[] {
  const titles = new Map(report.price_history.map((h) => [h.film_key, h.title]));
  const byFilm = new Map<string, SeriesPoint[]>();
  for (const p of series) {
    const points = byFilm.get(p.film_key);
    if (points) points.push(p);
    else byFilm.set(p.film_key, [p]);
  }
  return [...byFilm.entries()]
    .map(([film_key, points]) => {
      const providers = [...new Set(points.map((p) => p.provider))].sort();
      const xs = [...new Set(points.map((p) => p.polled_at.getTime() / 1000))].sort((a, b) => a - b);
      const index = new Map(xs.map((x, i) => [x, i]));
      const ys = providers.map(() => xs.map((): number | null => null));
      for (const p of points) {
        const row = ys[providers.indexOf(p.provider)];
        const i = index.get(p.polled_at.getTime() / 1000);
        if (row && i !== undefined) row[i] = p.price / 100;
      }
      return { film_key, title: titles.get(film_key) ?? film_key, providers, data: [xs, ...ys] };
    })
    .sort((a, b) => a.title.localeCompare(b.title));
}

export function renderHtml(report: Report, charts: ChartData[]): string {
  const tables = SECTIONS.flatMap((s) => sectionRows(report, s))
    .map((t) => {
      const head = t.headers.map((h, i) => `<th class="${t.numeric[i] ? 'num' : ''}">${escapeHtml(h)}</th>`).join('');
      const body = t.rows.map((r) => `<tr>${r.map((c, i) => `<td class="${t.numeric[i] ? 'num' : ''}">${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
      return `<h2>${escapeHtml(t.title)}</h2>\n<table><thead><tr>${head}</tr></thead><tbody>${body || `<tr><td colspan="${t.headers.length}">(nothing)</td></tr>`}</tbody></table>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>movies-collector report</title>
<style>${asset('uPlot.min.css')}</style>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; margin-bottom: 1rem; }
  th, td { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
  .chart { border: 1px solid #eee; padding: 0.5rem; }
</style>
</head>
<body>
<h1>movies-collector report</h1>
<p>Store <code>${escapeHtml(report.store)}</code>, generated ${escapeHtml(report.generated_at)}, history since ${escapeHtml(report.filters.since)}. Prices in the provider's currency (AUD in practice).</p>
<h2>Price history per film</h2>
<div class="charts" id="charts"></div>
${tables}
<script>${asset('uPlot.iife.min.js')}</script>
<script>
const CHARTS = ${scriptJson(charts)};
const COLOURS = ${scriptJson(COLOURS)};
const root = document.getElementById('charts');
for (const chart of CHARTS) {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.film = chart.film_key;
  box.dataset.providers = chart.providers.join(',');
  root.appendChild(box);
  new uPlot({
    title: chart.title,
    width: 420,
    height: 220,
    scales: { x: { time: true } },
    series: [{}, ...chart.providers.map((p, i) => ({ label: p, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true } }))],
    axes: [{}, { label: 'price' }],
  }, chart.data, box);
}
</script>
</body>
</html>
`;
}
