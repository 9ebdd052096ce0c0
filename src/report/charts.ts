// The price-history charts' data: per film, uPlot's aligned arrays (one x axis of poll times, one
// price line per provider). Computed by the report process (live-worker.ts) and by `report --html`.
import type { SeriesPoint } from './queries.js';

export interface ChartData {
  film_key: string;
  title: string;
  providers: string[];
  /** uPlot's aligned data: x (Unix seconds, with milliseconds: polls under a second apart must not share a slot), then one price array per provider (null where not polled). */
  data: Array<Array<number | null>>;
}

/** Charts of the films in `series`, titled from `titles` (film_key → title), by title. */
export function chartData(titles: ReadonlyMap<string, string>, series: SeriesPoint[]): ChartData[] {
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
