// The report page's script, as text inlined into the page (no module loader, no network): it
// renders the report JSON (answer first, then a uPlot chart per film, then data health) with
// DOM text nodes only, and on the daemon's page asks api/status and api/report (If-None-Match)
// every few seconds, re-rendering when a new poll was committed and flagging stale or failing
// data. The URLs are relative, so the page also works behind a proxy's sub-path.
export const PAGE_SCRIPT = String.raw`
'use strict';
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const CONFIG = JSON.parse(document.getElementById('page-config').textContent);
let CHARTS = [];
let REPORT = null;
let plots = [];

function el(tag, props, children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') e.textContent = v;
    else if (k === 'className') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children || []) e.appendChild(c);
  return e;
}
const money = (amount) => (amount === null || amount === undefined ? '-' : String(amount)); // decimal strings, exact
function age(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return d + 'd ' + h + 'h';
  if (h > 0) return h + 'h ' + String(m).padStart(2, '0') + 'm';
  return m > 0 ? m + 'm' : seconds + 's';
}
const minute = (iso) => iso.slice(0, 16).replace('T', ' ') + 'Z';
function table(headers, rows, numeric) {
  const head = el('tr', {}, headers.map((h, i) => el('th', { className: numeric[i] ? 'num' : '', text: h })));
  const body = rows.length > 0
    ? rows.map((r) => el('tr', {}, r.map((c, i) => el('td', { className: numeric[i] ? 'num' : '', text: c }))))
    : [el('tr', {}, [el('td', { colspan: String(headers.length), text: '(nothing)' })])];
  return el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]);
}
function fill(id, nodes) {
  const box = document.getElementById(id);
  box.replaceChildren(...nodes);
}

function renderAnswer(report) {
  const providers = [...new Set(report.best_prices.flatMap((f) => Object.keys(f.prices)))].sort();
  fill('best-prices', [
    el('h2', { text: 'Best price per film' }),
    el('p', { className: 'note', text: "Each provider's latest answered poll; saving = against the next cheapest provider." }),
    table(['film', ...providers, 'cheapest', 'saving'], report.best_prices.map((f) => [
      f.year ? f.title + ' (' + f.year + ')' : f.title,
      ...providers.map((p) => money(f.prices[p])),
      f.only_on ? f.only_on + ' only' : f.cheapest,
      money(f.saving),
    ]), [false, ...providers.map(() => true), false, true]),
  ]);
  const c = report.cheapest_provider;
  const cheapestFilm = report.cheapest_film;
  fill('cheapest', [
    el('h2', { text: 'Cheapest provider over the ' + c.films_compared + ' films every provider sells: ' + (c.cheapest || 'none (tie or nothing to compare)') }),
    table(['provider', 'total', 'cheapest for (films)', 'prices as of'], [
      ...Object.keys(c.totals).map((p) => {
        const at = report.prices_as_of[p];
        return [p, money(c.totals[p]), String(c.cheapest_for[p] || 0), at ? minute(at.started_at) : ''];
      }),
      ...(c.cheapest_for.tie ? [['tie', '', String(c.cheapest_for.tie), '']] : []),
    ], [false, true, true, false]),
    el('p', { text: cheapestFilm ? 'Cheapest film: ' + cheapestFilm.title + ' at ' + money(cheapestFilm.price) + ' from ' + cheapestFilm.provider + '.' : 'Cheapest film: none yet.' }),
  ]);
}

function renderCharts(charts) {
  for (const p of plots) p.destroy();
  plots = [];
  CHARTS = charts;
  const root = document.getElementById('charts');
  root.replaceChildren();
  for (const chart of charts) {
    const box = el('div', { className: 'chart' });
    box.dataset.film = chart.film_key;
    box.dataset.providers = chart.providers.join(',');
    box.dataset.points = String(chart.data.slice(1).reduce((n, line) => n + line.filter((v) => v !== null).length, 0));
    root.appendChild(box);
    plots.push(new uPlot({
      title: chart.title,
      width: 420,
      height: 220,
      scales: { x: { time: true } },
      series: [{}, ...chart.providers.map((p, i) => ({ label: p, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true } }))],
      axes: [{}, { label: 'price' }],
    }, chart.data, box));
  }
  if (charts.length === 0) root.appendChild(el('p', { text: '(no prices in this period)' }));
}

function renderHealth(report) {
  const h = report.health;
  fill('health', [
    el('h2', { text: 'Data health' }),
    el('p', { id: 'last-complete', text: 'Last complete poll: ' + (h.last_complete_poll ? minute(h.last_complete_poll) : 'none') }),
    el('h3', { text: 'Polls per day by status' }),
    table(['dt', 'complete', 'partial', 'failed'], h.polls_per_day.map((d) => [d.dt, String(d.complete), String(d.partial), String(d.failed)]), [false, true, true, true]),
    el('h3', { text: 'Completeness per provider (films committed / listed)' }),
    table(['provider', 'polls', 'complete', 'listed', 'fetched', 'failed', 'rejected', 'completeness'],
      h.completeness.map((c) => [c.provider, String(c.polls), String(c.complete_polls), String(c.listed), String(c.fetched), String(c.failed), String(c.rejected), (100 * c.completeness).toFixed(1) + '%']),
      [false, true, true, true, true, true, true, true]),
    el('h3', { text: 'Rejects by reason' }),
    table(['reason', 'provider', 'count'], h.rejects_by_reason.map((r) => [r.reason, r.provider, String(r.count)]), [false, false, true]),
    el('h3', { text: 'Latest poll per provider' }),
    table(['provider', 'status', 'started', 'error'], h.latest_polls.map((l) => [l.provider, l.status, minute(l.started_at), l.error || '']), [false, false, false, false]),
  ]);
}

/** The daemon's alerts (api/status): the latest alerts with their delivery, and each rule's firing conditions. */
function renderAlerts(view) {
  if (!view || (view.rules.length === 0 && view.latest.length === 0)) return fill('alerts', []);
  fill('alerts', [
    el('h2', { text: 'Alerts' }),
    table(['when', 'rule', 'alert', 'delivery'], view.latest.map((a) => [minute(a.created_at), a.rule, a.message,
      a.deliveries.map((d) => d.destination + ' ' + d.status + (d.status !== 'sent' && d.last_error ? ' (' + d.last_error + ')' : '')).join(', ') || 'no destination']), [false, false, false, false]),
  ].concat(view.rules.length === 0 ? [] : [
    el('h3', { text: 'Rules' }),
    table(['rule', 'type', 'firing now'], view.rules.map((r) => [r.name, r.type, r.firing.join(', ') || '-']), [false, false, false]),
  ]));
}

function render(report, charts) {
  REPORT = report;
  renderAnswer(report);
  renderCharts(charts);
  renderHealth(report);
}

/** The banner: data-state is the worst of error, failing, stale, waiting, ok. */
function showStatus(state, lines, stale) {
  const box = document.getElementById('status');
  box.dataset.state = state;
  box.dataset.stale = String(Boolean(stale));
  box.replaceChildren(...lines.map((l) => el('div', { text: l })));
}

if (!CONFIG.live) {
  const data = JSON.parse(document.getElementById('page-data').textContent);
  render(data.report, data.charts);
  // The alerts table of the window (report --html): no rule state, delivery as recorded then.
  renderAlerts({ rules: [], latest: (data.report.alerts || []).map((a) => Object.assign({}, a, { deliveries: Object.keys(a.delivery).map((d) => ({ destination: d, status: a.delivery[d], last_error: null })) })) });
  showStatus('ok', ['Generated ' + data.report.generated_at + ' from the store at ' + data.report.store + '; history since ' + data.report.filters.since + '. Prices in the provider\'s currency (AUD in practice).']);
} else {
  let etag = null;
  let reportError = null;
  let status = null;
  const query = location.search;
  async function getJson(path, tag) {
    const headers = tag ? { 'if-none-match': tag } : {};
    const res = await fetch(path + query, { headers, cache: 'no-store' });
    if (res.status === 304) return { status: 304 };
    if (!res.ok) return { status: res.status, error: (await res.text()).trim() };
    return { status: res.status, etag: res.headers.get('etag'), body: await res.json() };
  }
  async function refresh() {
    const s = await fetch('api/status', { cache: 'no-store' });
    status = await s.json();
    status.skew = Date.parse(status.now) - Date.now();
    renderAlerts(status.alerts);
    reportError = null;
    if (status.run !== null) {
      const r = await getJson('api/report', etag);
      if (r.error) reportError = r.error;
      else if (r.status === 200) {
        const c = await getJson('api/charts', null);
        if (c.error) reportError = c.error;
        else {
          render(r.body, c.body.charts);
          etag = r.etag;
        }
      }
    }
    judge();
  }
  function judge() {
    if (!status) return;
    const now = Date.now() + status.skew;
    const lines = [];
    let state = 'ok';
    let stale = false;
    const rank = { ok: 0, waiting: 1, stale: 2, failing: 3, error: 4 };
    const worse = (s) => { if (rank[s] > rank[state]) state = s; };
    const interval = status.schedule.interval_seconds;
    const failedProviders = REPORT ? REPORT.health.latest_polls.filter((l) => l.status === 'failed') : [];
    if (status.run === null) {
      worse('waiting');
      lines.push('No committed poll yet' + (status.polling ? ': the first poll is running.' : '; next poll ' + (status.schedule.next_run || 'not scheduled') + '.'));
    }
    if (status.last_poll && status.last_poll.status === 'failed') {
      worse('failing');
      lines.push('FAILING: the last poll failed (' + status.consecutive_failures + ' in a row)' + (failedProviders.length ? ': ' + failedProviders.map((l) => l.provider + ': ' + (l.error || 'failed')).join('; ') : '') + '.');
    } else if (failedProviders.length > 0) {
      worse('failing');
      lines.push('FAILING: the latest poll of ' + failedProviders.map((l) => l.provider + ' failed (' + (l.error || 'no reason given') + ')').join('; ') + '.');
    }
    if (status.problem) { worse('failing'); lines.push(status.problem); }
    if (status.s3) lines.push(status.s3); // side work: said, never makes the page failing
    if (REPORT) {
      const last = REPORT.health.last_complete_poll;
      const ageSeconds = last ? (now - Date.parse(last)) / 1000 : Infinity;
      if (interval && ageSeconds > 2 * interval) {
        worse('stale');
        stale = true;
        lines.push('STALE: ' + (last ? 'the last complete poll was ' + age(ageSeconds) + ' ago' : 'no complete poll yet') + ', more than two schedule intervals (' + age(interval) + ' each).');
      }
      if (state === 'ok') lines.push('Up to date: last complete poll ' + age(ageSeconds) + ' ago; polls on "' + status.schedule.cron + '" (' + status.schedule.timezone + '), next ' + (status.schedule.next_run ? minute(status.schedule.next_run) : 'not scheduled') + '.');
    }
    const err = reportError || status.report_error;
    if (err) { worse('error'); lines.push('The report could not be computed: ' + err); }
    lines.push('Updated ' + new Date(now).toISOString().slice(11, 19) + 'Z; this page refreshes itself.');
    showStatus(state, lines, stale);
  }
  // A third of the schedule interval, between 1 and 5 seconds: a new poll shows within seconds.
  const period = () => Math.min(5000, Math.max(1000, ((status && status.schedule.interval_seconds) || 15) * 1000 / 3));
  async function tick() {
    try {
      await refresh();
    } catch (e) {
      showStatus('error', ['The collector does not answer (' + e.message + '); retrying.']);
    }
    setTimeout(tick, period());
  }
  void tick();
}
`;
