// The report page's script, as text inlined into the page (no module loader, no network but the
// daemon's own /api/): it renders with DOM text nodes only. What the first screen needs does not
// grow with the catalogue: the best-price table is one page of 50 rows, searched, sorted and paged
// by the daemon (`film`, `sort`, `limit`, `offset` on /api/report?section=best-prices); the
// biggest moves are two 10-row history answers; a film's chart is fetched when it is opened
// (/api/charts?film=KEY); a line per provider whose answers changed shape in the window comes
// from the schema section. A catalogue that fits on one page (13 films) has every chart open, as
// before. On the daemon's page it asks api/status and the table (If-None-Match) every few
// seconds and reloads the current view when a new poll was committed, flagging stale or failing
// data. `report --html` holds every row and chart: the same view is computed here instead. The
// URLs are relative, so the page also works behind a proxy's sub-path.
export const PAGE_SCRIPT = String.raw`
'use strict';
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
/** Rows per page of the best-price table; also the most charts open at once. */
const PAGE_SIZE = 50;
const MOVES = 10;
const CONFIG = JSON.parse(document.getElementById('page-config').textContent);
/** The data of the charts drawn, in the panel's order. */
let CHARTS = [];
/** The health section, for the banner. */
let HEALTH = null;

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
const $ = (id) => document.getElementById(id);
const money = (amount) => (amount === null || amount === undefined ? '-' : String(amount)); // decimal strings, exact
const count = (n) => Number(n).toLocaleString('en-US');
function age(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return d + 'd ' + h + 'h';
  if (h > 0) return h + 'h ' + String(m).padStart(2, '0') + 'm';
  return m > 0 ? m + 'm' : seconds + 's';
}
const minute = (iso) => iso.slice(0, 16).replace('T', ' ') + 'Z';
function table(headers, rows, numeric) {
  const head = el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', className: numeric[i] ? 'num' : '', text: h })));
  const body = rows.length > 0
    ? rows.map((r) => el('tr', {}, r.map((c, i) => el('td', { className: numeric[i] ? 'num' : '', text: c }))))
    : [el('tr', {}, [el('td', { colspan: String(headers.length), text: '(nothing)' })])];
  return el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]);
}
function fill(id, nodes) {
  $(id).replaceChildren(...nodes);
}

// ---- money: decimal strings compared and subtracted exactly, in cents -------------------------
function cents(amount) {
  if (amount === null || amount === undefined) return null;
  const m = /^([-\u2212+]?)(\d+)(?:\.(\d*))?$/.exec(String(amount).trim());
  if (!m) return null;
  const c = BigInt(m[2]) * 100n + BigInt(((m[3] || '') + '00').slice(0, 2));
  return m[1] === '-' || m[1] === '\u2212' ? -c : c;
}
function units(c) {
  const abs = c < 0n ? -c : c;
  return (c < 0n ? '-' : '') + String(abs / 100n) + '.' + String(abs % 100n).padStart(2, '0');
}
/** A change as shown: its sign always, and a class (down: cheaper, up: dearer). */
function changeCell(amount) {
  const c = cents(amount);
  if (c === null) return el('td', { className: 'num', text: '-' });
  return el('td', { className: 'num ' + (c < 0n ? 'down' : c > 0n ? 'up' : ''), text: c > 0n ? '+' + units(c) : units(c) });
}
const lowest = (prices) => Object.values(prices || {}).map(cents).filter((c) => c !== null).reduce((a, b) => (a === null || b < a ? b : a), null);
const filmName = (f) => (f.year ? f.title + ' (' + f.year + ')' : f.title);

// ---- the view: search, sort and page of the best-price table ----------------------------------
const SORTS = [
  { key: 'film', label: 'film', first: 'film' },
  { key: 'price', label: 'best price', first: 'price' },
  { key: 'saving', label: 'saving', first: '-saving' },
  { key: 'change', label: 'change', first: 'change' },
];
const view = { film: '', sort: 'film', offset: 0 };
let total = 0;
let providers = null;
/** Films in the catalogue (the table's total without a search; null until seen). */
let catalogueSize = null;
/** While the catalogue fits on one page, the charts of the rows shown are open (until a chart is opened or closed by hand). */
let autoCharts = true;

function sortButton(key, label) {
  const b = el('button', { type: 'button', className: 'sort', 'data-sort': key }, [el('span', { text: label }), el('span', { className: 'arrow', 'aria-hidden': 'true' })]);
  b.addEventListener('click', () => {
    const s = SORTS.find((x) => x.key === key);
    view.sort = view.sort === key ? '-' + key : view.sort === '-' + key ? key : s.first;
    view.offset = 0;
    showSort();
    void loadTable();
  });
  return b;
}
const SORT_BUTTONS = Object.fromEntries(SORTS.map((s) => [s.key, sortButton(s.key, s.label)]));

/** aria-sort on the sorted column's header, an arrow beside its name. */
function showSort() {
  const key = view.sort.replace(/^-/, '');
  const descending = view.sort.startsWith('-');
  for (const s of SORTS) {
    const b = SORT_BUTTONS[s.key];
    const th = b.closest('th');
    const active = s.key === key;
    b.querySelector('.arrow').textContent = active ? (descending ? ' \u25BC' : ' \u25B2') : '';
    b.setAttribute('aria-label', 'sort by ' + s.label);
    if (th) {
      if (active) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }
}

/** The table's head: built again only when the providers change (the sort buttons keep focus). */
function tableHead(names) {
  const same = providers && providers.length === names.length && providers.every((p, i) => p === names[i]);
  if (same) return;
  providers = names;
  const th = (child, numeric) => el('th', { scope: 'col', className: numeric ? 'num' : '' }, [child]);
  const text = (t) => document.createTextNode(t);
  $('films-head').replaceChildren(el('tr', {}, [
    th(SORT_BUTTONS.film, false),
    ...names.map((p) => th(text(p), true)),
    th(SORT_BUTTONS.price, true),
    th(text('cheapest'), false),
    th(SORT_BUTTONS.saving, true),
    th(SORT_BUTTONS.change, true),
    th(text('chart'), false),
  ]));
  showSort();
}

/** One page of the best-price table: body = the best-prices section with its page object. */
function renderTable(body) {
  const rows = body.best_prices;
  const page = body.page || { offset: 0, limit: null, best_prices_total: rows.length };
  total = page.best_prices_total;
  view.offset = page.offset || 0;
  const names = Object.keys(body.prices_as_of || {}).length > 0
    ? Object.keys(body.prices_as_of).sort()
    : [...new Set(rows.flatMap((f) => Object.keys(f.prices)))].sort();
  tableHead(names);
  const focused = document.activeElement && document.activeElement.classList.contains('chart-toggle') && $('films').contains(document.activeElement)
    ? document.activeElement.dataset.film : null;
  const cols = names.length + 6;
  $('films').replaceChildren(...(rows.length > 0 ? rows.map((f) => {
    const best = lowest(f.prices);
    return el('tr', {}, [
      el('td', { text: filmName(f) }),
      ...names.map((p) => el('td', { className: 'num', text: money(f.prices[p]) })),
      el('td', { className: 'num best', text: best === null ? '-' : units(best) }),
      el('td', { text: f.only_on ? f.only_on + ' only' : f.cheapest }),
      el('td', { className: 'num', text: money(f.saving) }),
      changeCell(f.change),
      el('td', {}, [chartToggle(f.film_key, f.title)]),
    ]);
  }) : [el('tr', {}, [el('td', { colspan: String(cols), text: view.film ? 'No film matches this search.' : '(nothing)' })])]));
  if (focused !== null) {
    const again = [...$('films').querySelectorAll('.chart-toggle')].find((b) => b.dataset.film === focused);
    if (again) again.focus();
  }
  const shown = rows.length;
  const range = total === 0 ? (view.film ? 'No film matches.' : 'No films.')
    : (shown === 0 ? 'none of ' : (view.offset + 1) + '\u2013' + (view.offset + shown) + ' of ') + count(total) + (total === 1 ? ' film' : ' films') + (view.film ? ' matching the search' : '');
  if ($('range').textContent !== range) $('range').textContent = range; // a live region: said again only when it changes
  // The view on screen, said on the table's box (the page's tests wait for it).
  const box = $('best-prices');
  box.dataset.film = view.film;
  box.dataset.sort = view.sort;
  box.dataset.offset = String(view.offset);
  box.dataset.total = String(total);
  $('prev').disabled = view.offset === 0;
  $('next').disabled = view.offset + shown >= total;
  syncToggles();
  // A catalogue that fits on one page keeps every chart of the table open, as before.
  if (!view.film) catalogueSize = total;
  if (autoCharts && catalogueSize !== null && catalogueSize <= PAGE_SIZE) {
    setOpen(rows.map((f) => ({ key: f.film_key, title: f.title })));
  }
  // The catalogue shrank under the page: show its last page.
  if (shown === 0 && total > 0 && view.offset > 0) {
    view.offset = Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE;
    void loadTable();
  }
}

// ---- charts: fetched per film when opened, drawn with uPlot in the side panel -----------------
/** Open charts, newest first: { key, title, box, host, plot, data, id }. */
let open = [];
let chartIds = 0;

function chartToggle(key, title) {
  const b = el('button', { type: 'button', className: 'chart-toggle', 'aria-expanded': 'false', 'aria-label': 'chart of ' + title, text: 'chart' });
  b.dataset.film = key;
  b.dataset.title = title;
  b.addEventListener('click', () => {
    autoCharts = false;
    const was = open.find((c) => c.key === key);
    if (was) setOpen(open.filter((c) => c !== was));
    else {
      setOpen([{ key, title }, ...open].slice(0, PAGE_SIZE));
      const added = open.find((c) => c.key === key);
      if (added) added.box.scrollIntoView({ block: 'nearest' });
    }
  });
  return b;
}

/** Every chart toggle on the page says whether its film's chart is open, and which box it controls. */
function syncToggles() {
  for (const b of document.querySelectorAll('.chart-toggle')) {
    const c = open.find((x) => x.key === b.dataset.film);
    b.setAttribute('aria-expanded', String(Boolean(c)));
    if (c) b.setAttribute('aria-controls', c.id);
    else b.removeAttribute('aria-controls');
  }
}

/** Makes the panel show these films' charts in this order: new ones fetched, closed ones dropped. */
function setOpen(wanted) {
  const next = wanted.map((w) => open.find((c) => c.key === w.key) || newChart(w.key, w.title));
  for (const c of open) if (!next.includes(c)) { if (c.plot) c.plot.destroy(); c.box.remove(); }
  open = next;
  const root = $('charts');
  open.forEach((c, i) => { if (root.children[i] !== c.box) root.insertBefore(c.box, root.children[i] || null); });
  $('charts-empty').hidden = open.length > 0;
  CHARTS = open.map((c) => c.data).filter(Boolean);
  syncToggles();
  const fresh = open.filter((c) => c.state === 'new');
  for (const c of fresh) { c.state = 'loading'; void loadChart(c); }
}

function newChart(key, title) {
  const id = 'chart-' + (++chartIds);
  const host = el('div');
  const close = el('button', { type: 'button', className: 'chart-close', 'aria-label': 'close the chart of ' + title, text: 'close' });
  const box = el('div', { className: 'chart', id, role: 'group', 'aria-label': 'price history of ' + title }, [close, host]);
  box.dataset.film = key;
  const c = { key, title, id, box, host, plot: null, data: null, state: 'new' };
  close.addEventListener('click', () => {
    autoCharts = false;
    setOpen(open.filter((x) => x !== c));
    const toggle = [...document.querySelectorAll('.chart-toggle')].find((b) => b.dataset.film === key);
    if (toggle) toggle.focus();
  });
  host.appendChild(el('p', { className: 'note', text: 'Loading the chart of ' + title + '\u2026' }));
  return c;
}

function drawChart(c, chart) {
  if (c.plot) { c.plot.destroy(); c.plot = null; }
  c.data = chart;
  c.host.replaceChildren();
  if (!chart) {
    c.box.dataset.points = '0';
    c.host.appendChild(el('p', { text: c.title + ': no prices in this period.' }));
  } else {
    c.box.dataset.providers = chart.providers.join(',');
    c.box.dataset.points = String(chart.data.slice(1).reduce((n, line) => n + line.filter((v) => v !== null).length, 0));
    c.plot = new uPlot({
      title: chart.title,
      width: 420,
      height: 220,
      scales: { x: { time: true } },
      series: [{}, ...chart.providers.map((p, i) => ({ label: p, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true } }))],
      axes: [{}, { label: 'price' }],
    }, chart.data, c.host);
  }
  CHARTS = open.map((x) => x.data).filter(Boolean);
}

function chartFailed(c, message) {
  c.host.replaceChildren(el('p', { text: 'The chart of ' + c.title + ' could not be loaded: ' + message }));
}

// ---- the other sections ----------------------------------------------------------------------
/** The largest drops and rises in the window: history rows (film, provider) by last − first. */
function renderMoves(drops, rises) {
  const part = (heading, rows, keep) => {
    const shown = rows.filter((h) => cents(h.last) !== null && cents(h.first) !== null && keep(cents(h.last) - cents(h.first)));
    const body = shown.length > 0 ? shown.map((h) => el('tr', {}, [
      el('td', { text: h.title }),
      el('td', { text: h.provider }),
      el('td', { className: 'num', text: money(h.first) }),
      el('td', { className: 'num', text: money(h.last) }),
      changeCell(units(cents(h.last) - cents(h.first))),
      el('td', {}, [chartToggle(h.film_key, h.title)]),
    ])) : [el('tr', {}, [el('td', { colspan: '6', text: '(none in this period)' })])];
    const head = el('tr', {}, ['film', 'provider', 'first', 'last', 'change', 'chart'].map((h, i) => el('th', { scope: 'col', className: i >= 2 && i <= 4 ? 'num' : '', text: h })));
    return [el('h3', { text: heading }), el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)])];
  };
  fill('moves', [
    el('h2', { text: 'Biggest moves in the window' }),
    el('p', { className: 'note', text: 'Per film and provider: the last price in the window against the first, over the whole catalogue.' }),
    el('div', { className: 'moves' }, [
      el('div', {}, part('Largest drops', drops, (c) => c < 0n)),
      el('div', {}, part('Largest rises', rises, (c) => c > 0n)),
    ]),
  ]);
  syncToggles();
}

function renderCheapest(report) {
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

function renderHealth(report) {
  const h = report.health;
  HEALTH = h;
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

/** What changed at one path, in words: "Price: string:numeric → string", "Genre: new string", "Rated: missing (was string)". */
function schemaWhat(c) {
  if (c.kind === 'new-field') return c.path + ': new ' + c.new_type;
  if (c.kind === 'missing-field') return c.path + ': missing (was ' + (c.old_type || '?') + ')';
  return c.path + ': ' + (c.old_type || '?') + ' \u2192 ' + c.new_type;
}

/** One line per provider whose answers changed shape in the window (the schema section); nothing when none did. */
function renderSchema(body) {
  const byProvider = new Map();
  for (const c of (body && body.schema_changes) || []) {
    if (c.kind === 'baseline') continue; // a provider's first shape is no change
    if (!byProvider.has(c.provider)) byProvider.set(c.provider, []);
    byProvider.get(c.provider).push(c);
  }
  const since = body && body.filters ? minute(body.filters.since) : '';
  const lines = [...byProvider.keys()].sort().map((provider) => {
    const list = byProvider.get(provider);
    const shown = list.slice(0, 3).map(schemaWhat).join('; ') + (list.length > 3 ? '; and ' + (list.length - 3) + ' more' : '');
    return el('p', { className: 'drift', text: provider + '\'s answers changed shape: ' + list.length + (list.length === 1 ? ' change' : ' changes')
      + ' since ' + since + ' (' + shown + ') \u2014 report --section schema' });
  });
  fill('schema-drift', lines);
  $('schema-drift').hidden = lines.length === 0;
}

/** The daemon's alerts (api/status): the latest alerts with their delivery, and each rule's firing conditions. */
function renderAlerts(v) {
  if (!v || (v.rules.length === 0 && v.latest.length === 0)) return fill('alerts', []);
  fill('alerts', [
    el('h2', { text: 'Alerts' }),
    table(['when', 'rule', 'alert', 'delivery'], v.latest.map((a) => [minute(a.created_at), a.rule, a.message,
      a.deliveries.map((d) => d.destination + ' ' + d.status + (d.status !== 'sent' && d.last_error ? ' (' + d.last_error + ')' : '')).join(', ') || 'no destination']), [false, false, false, false]),
  ].concat(v.rules.length === 0 ? [] : [
    el('h3', { text: 'Rules' }),
    table(['rule', 'type', 'firing now'], v.rules.map((r) => [r.name, r.type, r.firing.join(', ') || '-']), [false, false, false]),
  ]));
}

/** The banner: data-state is the worst of error, failing, stale, waiting, ok. */
function showStatus(state, lines, stale) {
  const box = $('status');
  box.dataset.state = state;
  box.dataset.stale = String(Boolean(stale));
  box.replaceChildren(...lines.map((l) => el('div', { text: l })));
}

// ---- where the data comes from -----------------------------------------------------------------
/** Title text as searched: case and accents ignored ("Café" matches "cafe"). */
const fold = (s) => String(s).normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();

/** report --html: every row and chart is in the page; the view is computed here. */
function frozenSource(data) {
  const report = data.report;
  const charts = new Map(data.charts.map((c) => [c.film_key, c]));
  const folded = new Map();
  const foldedTitle = (f) => { let t = folded.get(f); if (t === undefined) folded.set(f, (t = fold(f.title))); return t; };
  // The report's lists by title (as the daemon keeps them), whatever order report --sort gave them.
  const embedded = (report.page && report.page.sort) || 'film';
  const byTitle = (list) => (embedded === 'film' ? list : embedded === '-film' ? [...list].reverse()
    : list.map((x, i) => ({ x, i })).sort((a, b) => a.x.title.localeCompare(b.x.title) || a.i - b.i).map((e) => e.x));
  const rows = byTitle(report.best_prices);
  const history = byTitle(report.price_history);
  const KEYS = { price: (f) => lowest(f.prices), saving: (f) => cents(f.saving), change: (f) => cents(f.change) };
  /** Stable: equal keys keep the title order; a missing value sorts last either way. */
  function sorted(list, sort, keys) {
    const key = sort.replace(/^-/, '');
    const sign = sort.startsWith('-') ? -1 : 1;
    if (key === 'film') return sign === 1 ? list : [...list].reverse();
    const of = keys[key];
    return list.map((x, i) => ({ x, i, k: of(x) })).sort((a, b) => {
      if (a.k === null || b.k === null) return a.k === b.k ? a.i - b.i : a.k === null ? 1 : -1;
      return (a.k < b.k ? -sign : a.k > b.k ? sign : 0) || a.i - b.i;
    }).map((e) => e.x);
  }
  return {
    table() {
      const q = fold(view.film);
      const found = view.film ? rows.filter((f) => f.film_key === view.film || foldedTitle(f).includes(q)) : rows;
      const list = sorted(found, view.sort, KEYS);
      const offset = Math.min(view.offset, Math.max(0, Math.floor((list.length - 1) / PAGE_SIZE) * PAGE_SIZE));
      return {
        best_prices: list.slice(offset, offset + PAGE_SIZE), prices_as_of: report.prices_as_of,
        page: { sort: view.sort, offset, limit: PAGE_SIZE, best_prices_total: list.length, price_history_total: history.length },
      };
    },
    moves(sort) {
      return sorted(history, sort, { change: (h) => cents(h.last) - cents(h.first) }).slice(0, MOVES);
    },
    chart(key) {
      return charts.get(key) || null;
    },
  };
}

let frozen = null;
let loadChart = async () => {};
let loadTable = async () => {};
/** After the search changed (the daemon's page keeps it in the address bar). */
let searched = () => {};

if (!CONFIG.live) {
  const data = JSON.parse($('page-data').textContent);
  frozen = frozenSource(data);
  if (data.report.page && data.report.page.sort) view.sort = data.report.page.sort;
  loadTable = async () => renderTable(frozen.table());
  loadChart = async (c) => { c.state = 'done'; drawChart(c, frozen.chart(c.key)); };
  renderCheapest(data.report);
  renderHealth(data.report);
  renderSchema(data.report);
  renderMoves(frozen.moves('change'), frozen.moves('-change'));
  void loadTable();
  // The alerts table of the window (report --html): no rule state, delivery as recorded then.
  renderAlerts({ rules: [], latest: (data.report.alerts || []).map((a) => Object.assign({}, a, { deliveries: Object.keys(a.delivery).map((d) => ({ destination: d, status: a.delivery[d], last_error: null })) })) });
  showStatus('ok', ['Generated ' + data.report.generated_at + ' from the store at ' + data.report.store + '; history since ' + data.report.filters.since + '. Prices in the provider\'s currency (AUD in practice).']);
} else {
  // The page's own filters (since, provider) go with every request; film is the search.
  const pageQuery = new URLSearchParams(location.search);
  const filters = {};
  for (const k of ['since', 'provider']) if (pageQuery.has(k)) filters[k] = pageQuery.get(k);
  if (pageQuery.get('film')) view.film = pageQuery.get('film');
  const url = (path, params) => {
    const q = new URLSearchParams(filters);
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    return path + (s ? '?' + s : '');
  };
  /** The last answer per URL with its ETag: asked again with If-None-Match, a 304 reuses it. */
  const answers = new Map();
  async function getJson(u) {
    const had = answers.get(u);
    const res = await fetch(u, { headers: had ? { 'if-none-match': had.etag } : {}, cache: 'no-store' });
    if (res.status === 304 && had) {
      answers.delete(u);
      answers.set(u, had);
      return { changed: false, body: had.body };
    }
    if (!res.ok) return { status: res.status, error: (await res.text()).trim() || 'HTTP ' + res.status };
    const body = await res.json();
    const etag = res.headers.get('etag');
    answers.delete(u);
    if (etag) answers.set(u, { etag, body });
    while (answers.size > 200) answers.delete(answers.keys().next().value);
    return { changed: true, body };
  }
  const tableUrl = () => url('api/report', { section: 'best-prices', film: view.film, sort: view.sort === 'film' ? null : view.sort, limit: PAGE_SIZE, offset: view.offset || null });
  let status = null;
  let tableTicket = 0;
  let tableError = null;
  /** The current view of the table; true when its answer was new. */
  loadTable = async () => {
    if (!status || status.run === null) return false; // asked again once there is a report
    const ticket = ++tableTicket;
    const r = await getJson(tableUrl());
    if (ticket !== tableTicket) return false;
    // A search the daemon refuses (400) is said beside the table; anything else is the report's error.
    tableError = r.error && r.status !== 400 ? r.error : null;
    if (r.error) { $('range').textContent = (r.status === 400 ? 'This search cannot be run: ' : 'The table could not be loaded: ') + r.error; return false; }
    renderTable(r.body);
    return r.changed;
  };
  loadChart = async (c) => {
    const r = await getJson(url('api/charts', { film: c.key }));
    if (!open.includes(c)) return;
    c.state = 'done';
    if (r.error) return chartFailed(c, r.error);
    if (r.changed || !c.data) drawChart(c, r.body.charts.find((x) => x.film_key === c.key) || null);
  };

  let reportError = null;
  /** After a failed answer everything is asked again, even if the table's answer is unchanged. */
  let incomplete = true;
  /** The commit the other sections and the open charts were last asked for. */
  let loadedRun = null;
  async function reload() {
    const changed = await loadTable();
    if (tableError) return tableError;
    // A new commit shows in the table's answer (its ETag), or in status first: the table may
    // have been fetched for a new view already, and a 304 then says nothing about the rest.
    if (!changed && !incomplete && loadedRun === status.run) return null;
    loadedRun = status.run;
    const [cheapest, health, drops, rises, schema] = await Promise.all([
      getJson(url('api/report', { section: 'cheapest' })),
      getJson(url('api/report', { section: 'health' })),
      getJson(url('api/report', { section: 'history', sort: 'change', limit: MOVES })),
      getJson(url('api/report', { section: 'history', sort: '-change', limit: MOVES })),
      getJson(url('api/report', { section: 'schema' })),
    ]);
    const failed = [cheapest, health, drops, rises, schema].find((r) => r.error);
    if (!cheapest.error) renderCheapest(cheapest.body);
    if (!health.error) renderHealth(health.body);
    if (!schema.error) renderSchema(schema.body);
    if (!drops.error && !rises.error) renderMoves(drops.body.price_history, rises.body.price_history);
    await Promise.all(open.filter((c) => c.state === 'done').map((c) => loadChart(c)));
    incomplete = Boolean(failed);
    return failed ? failed.error : null;
  }
  async function refresh() {
    const s = await fetch('api/status', { cache: 'no-store' });
    status = await s.json();
    status.skew = Date.parse(status.now) - Date.now();
    renderAlerts(status.alerts);
    reportError = status.run === null ? null : await reload();
    if (reportError) incomplete = true;
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
    const failedProviders = HEALTH ? HEALTH.latest_polls.filter((l) => l.status === 'failed') : [];
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
    if (HEALTH) {
      const last = HEALTH.last_complete_poll;
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
  /** The search in the address bar too, so a reload or a shared link keeps it. */
  searched = () => {
    const q = new URLSearchParams(filters);
    if (view.film) q.set('film', view.film);
    const s = q.toString();
    history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
  };
  void tick();
}

// ---- controls --------------------------------------------------------------------------------
$('search').value = view.film;
let typing = null;
function search() {
  clearTimeout(typing);
  const text = $('search').value.trim();
  if (text === view.film) return;
  view.film = text;
  view.offset = 0;
  searched();
  void loadTable();
}
$('search').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(search, 150); });
$('search').addEventListener('keydown', (e) => { if (e.key === 'Enter') search(); });
$('prev').addEventListener('click', () => { view.offset = Math.max(0, view.offset - PAGE_SIZE); void loadTable(); });
$('next').addEventListener('click', () => { if (view.offset + PAGE_SIZE < total) { view.offset += PAGE_SIZE; void loadTable(); } });
`;
