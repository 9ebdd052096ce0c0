// The report: the store's answers assembled into one documented JSON shape, and rendered as
// 80-column tables or CSV. Prices are in currency units (cents / 100) in every output, exact:
// computed on BIGINT cents (bigint), written as decimal strings with two decimals ("12.50").
import type { ReportFilters, StoreReader } from './queries.js';
import { assembleReport, type Money, type Report, type ReportData } from './assemble.js';
import type { ReportView } from './view.js';
import { csvCell, terminalText } from './text.js';
import { alertsSection, alertsTable } from '../alerts/report.js';
import { Outbox } from '../alerts/outbox.js';
import { schemaTable } from './schema-section.js';

import { SECTIONS, type Section } from './sections.js';

export { SECTIONS, type Section };
export { assembleReport, pickSection, units, type Money, type Report, type ReportData } from './assemble.js';

export async function loadReportData(reader: StoreReader, store: string, filters: Pick<ReportFilters, 'since' | 'provider'>): Promise<ReportData> {
  const window = { since: filters.since, provider: filters.provider };
  return {
    generated_at: new Date(),
    store,
    since: filters.since,
    provider: filters.provider ?? null,
    films: await reader.bestPrices(window),
    history: await reader.history(window),
    currentPolls: await reader.currentPolls(window),
    health: await reader.health(window),
    schemaChanges: await reader.schemaChanges(window),
    alerts: await alertsSection(store, window, await Outbox.read(store)),
  };
}

/** The whole report for these filters and view (the CLI; the daemon keeps the data and cuts views per request). */
export async function buildReport(reader: StoreReader, store: string, filters: ReportFilters, view: Omit<ReportView, 'film'> = {}): Promise<Report> {
  return assembleReport(await loadReportData(reader, store, filters), { ...view, film: filters.film });
}

// ---- rendering -------------------------------------------------------------------------

const WIDTH = 80;
const money = (amount: Money | null | undefined) => amount ?? '-';

/** A poll's time to the minute, as tables show it. */
const minute = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')}Z`;

/** An age in its two largest units: 45s, 12m, 3h 05m, 2d 4h. */
export function age(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m` : `${seconds}s`;
}

/**
 * Fixed-width table; one column (the first unless `shrink` says) shrinks with an ellipsis so the
 * whole fits in 80 columns. Cells are provider text: control characters are shown as escapes so
 * that none reaches the terminal and each row stays one line.
 */
export function formatTable(rawHeaders: string[], rawRows: string[][], numeric: boolean[], shrink = 0): string {
  const headers = rawHeaders.map(terminalText);
  const rows = rawRows.map((r) => r.map(terminalText));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rest = widths.reduce((a, b, i) => (i === shrink ? a : a + b + 2), 0);
  widths[shrink] = Math.max(8, Math.min(widths[shrink] ?? 0, WIDTH - rest));
  const cell = (text: string, i: number) => {
    const w = widths[i] ?? 0;
    const t = text.length > w ? `${text.slice(0, w - 1)}…` : text;
    return numeric[i] ? t.padStart(w) : t.padEnd(w);
  };
  return [headers, ...rows].map((r) => r.map(cell).join('  ').trimEnd()).join('\n');
}

export interface SectionTable {
  title: string;
  headers: string[];
  rows: string[][];
  numeric: boolean[];
  /** The column that shrinks to fit 80 columns (default: the first). */
  shrink?: number;
  /** Extra columns the CSV carries beyond the table's (a table has no room for them). */
  csvExtra?: { headers: string[]; rows: string[][] };
}

export function sectionRows(report: Report, section: Section): SectionTable[] {
  const providers = [...new Set(report.best_prices.flatMap((f) => Object.keys(f.prices)))].sort();
  const asOf = {
    title: 'Prices as of: each provider\'s latest answered poll (no failed call)',
    headers: ['provider', 'run', 'polled at', 'age'],
    numeric: [false, false, false, true],
    rows: Object.entries(report.prices_as_of).map(([p, c]) => (c ? [p, c.run, minute(c.started_at), age(c.age_seconds)] : [p, 'no answered poll', '', ''])),
  };
  switch (section) {
    case 'best-prices':
      return [{
        title: 'Best price per film (each provider\'s latest answered poll)',
        headers: ['film', ...providers, 'cheapest', 'saving'],
        numeric: [false, ...providers.map(() => true), false, true],
        rows: report.best_prices.map((f) => [
          f.year ? `${f.title} (${f.year})` : f.title,
          ...providers.map((p) => money(f.prices[p])),
          f.only_on ? `${f.only_on} only` : f.cheapest,
          money(f.saving),
        ]),
        csvExtra: {
          headers: providers.flatMap((p) => [`${p} run`, `${p} polled_at`]),
          rows: report.best_prices.map((f) => providers.flatMap((p) => [f.as_of[p]?.run ?? '', f.as_of[p]?.polled_at ?? ''])),
        },
      }, asOf];
    case 'cheapest': {
      const c = report.cheapest_provider;
      return [{
        title: `Cheapest provider over the ${c.films_compared} films every provider sells: ${c.cheapest ?? 'none (tie or nothing to compare)'}`,
        headers: ['provider', 'total', 'cheapest for (films)', 'prices as of'],
        numeric: [false, true, true, false],
        rows: [
          ...Object.keys(c.totals).map((p) => {
            const at = report.prices_as_of[p];
            return [p, money(c.totals[p]), String(c.cheapest_for[p] ?? 0), at ? `${minute(at.started_at)} (${age(at.age_seconds)})` : ''];
          }),
          ...(c.cheapest_for.tie ? [['tie', '', String(c.cheapest_for.tie), '']] : []),
        ],
      }, {
        title: 'Cheapest film (lowest best price across providers)',
        headers: ['film', 'provider', 'price', 'polled at'],
        numeric: [false, false, true, false],
        rows: report.cheapest_film ? [[report.cheapest_film.title, report.cheapest_film.provider, money(report.cheapest_film.price), minute(report.cheapest_film.as_of.polled_at)]] : [],
        csvExtra: { headers: ['run'], rows: report.cheapest_film ? [[report.cheapest_film.as_of.run]] : [] },
      }];
    }
    case 'history':
      return [{
        title: `Price history since ${report.filters.since.slice(0, 10)}`,
        headers: ['film', 'provider', 'first', 'last', 'min', 'max', 'changes'],
        numeric: [false, false, true, true, true, true, true],
        rows: report.price_history.map((h) => [h.title, h.provider, money(h.first), money(h.last), money(h.min), money(h.max), String(h.changes)]),
      }];
    case 'health': {
      const h = report.health;
      return [{
        title: 'Polls per day by status',
        headers: ['dt', 'complete', 'partial', 'failed'],
        numeric: [false, true, true, true],
        rows: h.polls_per_day.map((d) => [d.dt, String(d.complete), String(d.partial), String(d.failed)]),
      }, {
        title: 'Completeness per provider (films committed / listed)',
        headers: ['provider', 'polls', 'complete', 'listed', 'fetched', 'failed', 'rejected', 'completeness'],
        numeric: [false, true, true, true, true, true, true, true],
        rows: h.completeness.map((c) => [c.provider, String(c.polls), String(c.complete_polls), String(c.listed), String(c.fetched), String(c.failed), String(c.rejected), `${(100 * c.completeness).toFixed(1)}%`]),
      }, {
        title: `Rejects by reason; last complete poll: ${h.last_complete_poll ?? 'none'}`,
        headers: ['reason', 'provider', 'count'],
        numeric: [false, false, true],
        rows: h.rejects_by_reason.map((r) => [r.reason, r.provider, String(r.count)]),
      }, {
        title: 'Latest poll per provider',
        headers: ['provider', 'status', 'started', 'error'],
        numeric: [false, false, false, false],
        shrink: 3,
        rows: h.latest_polls.map((l) => [l.provider, l.status, minute(l.started_at), l.error ?? '']),
      }];
    }
    case 'schema':
      return [schemaTable(report.schema_changes)];
    case 'alerts':
      return [alertsTable(report.alerts)];
  }
}

export function renderTables(report: Report, sections: readonly Section[]): string {
  return sections
    .flatMap((s) => sectionRows(report, s))
    .map((t) => `${terminalText(t.title)}\n${t.rows.length > 0 ? formatTable(t.headers, t.rows, t.numeric, t.shrink) : '(nothing)'}\n`)
    .join('\n');
}

/** CSV of one section's first table, with its CSV-only columns (cells neutralised by csvCell); a
 * missing price is an empty cell, not the tables' `-`. */
export function renderCsv(report: Report, section: Section): string {
  const table = sectionRows(report, section)[0];
  if (!table) return '';
  const rows = table.rows.map((r, i) => [...r.map((v, j) => (table.numeric[j] && v === '-' ? '' : v)), ...(table.csvExtra?.rows[i] ?? [])]);
  const headers = [...table.headers, ...(table.csvExtra?.headers ?? [])];
  return [headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}
