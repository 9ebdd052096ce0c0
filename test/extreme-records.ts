// Records with every value class the store must keep exactly: nulls in every optional field, empty
// and unicode lists, the INT64 extremes, emoji, fullwidth forms and U+FFFD. Shared by the writer's
// byte-identity tests and the compaction tests.
import { INT64_MAX } from '../src/records/normalize.js';
import type { MovieRecord, RejectRecord, RunRecord } from '../src/records/types.js';

export const EXTREME_POLLED_AT = new Date(Date.UTC(2026, 10, 23, 10, 15, 0, 123));
export const TEXTS = ['😀 Smile', 'Ｆｕｌｌ width', 'Bad \uFFFD byte', 'Plain', '𝐌𝐚𝐭𝐡 letters', 'naïve café', ''];

/** Movie records with every optional field null in some rows, empty and unicode lists, and the INT64 extremes. */
export function extremeMovies(n: number, polledAt = EXTREME_POLLED_AT): MovieRecord[] {
  return Array.from({ length: n }, (_, i): MovieRecord => {
    const text = TEXTS[i % TEXTS.length] ?? '';
    const sparse = i % 3 === 0;
    return {
      film_key: `tt${String(i).padStart(7, '0')}`,
      provider_movie_id: `cw${i}`,
      title: `${text} ${i}`,
      year: sparse ? null : 1900 + (i % 130),
      rated: sparse ? null : text,
      released: sparse ? null : new Date(Date.UTC(1939 + (i % 90), i % 12, 1 + (i % 28))),
      runtime_minutes: sparse ? null : 60 + (i % 150),
      genres: i % 5 === 0 ? null : i % 5 === 1 ? [] : [text, 'Drama'],
      director: sparse ? null : `Director ${text}`,
      writers: i % 4 === 0 ? null : [`W ${i}`],
      actors: i % 7 === 0 ? [] : ['A', text, `B ${i}`],
      plot: sparse ? null : `Plot ${i} ${text}`.repeat(1 + (i % 4)),
      language: sparse ? null : 'English',
      country: null,
      awards: i % 2 ? null : 'N/A',
      poster: sparse ? null : `https://img.example.invalid/${i}.jpg`,
      metascore: sparse ? null : i % 101,
      rating: sparse ? null : (i % 100) / 10,
      votes: i % 11 === 0 ? INT64_MAX : sparse ? null : BigInt(i * 1000),
      type: sparse ? null : 'movie',
      price_cents: i % 13 === 0 ? INT64_MAX : i % 17 === 0 ? 0n : BigInt(1999 + i),
      warnings: i % 6 === 0 ? [`Runtime: "${text}" is not a number`] : [],
      polled_at: polledAt, // one Date for the whole poll, as runPoll passes it
      fetched_at: new Date(polledAt.getTime() + i),
      raw: JSON.stringify({ ID: `cw${i}`, Title: text, Price: '19.99' }),
    };
  });
}

export function extremeRejects(n: number, polledAt = EXTREME_POLLED_AT): RejectRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    provider_movie_id: i % 4 === 0 ? null : `cw${i}`, reason: `Price: ${TEXTS[i % TEXTS.length] ?? ''} is not a decimal`, http_status: i % 3 === 0 ? null : 200,
    polled_at: polledAt, fetched_at: new Date(polledAt.getTime() + i), raw: `{"Title":"${TEXTS[i % TEXTS.length] ?? ''}"}`,
  }));
}

export function extremeRuns(n: number, polledAt = EXTREME_POLLED_AT): RunRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    provider: i % 2 ? 'filmworld' : 'cinemaworld', status: 'partial', started_at: polledAt, finished_at: new Date(polledAt.getTime() + 1000 * i),
    duration_ms: i === 0 ? INT64_MAX : BigInt(1000 * i), listed: i, fetched: i, failed: 0, rejected: 0, retries: 2 ** 31 - 1, responses: '{"200":1}',
    error: i % 2 ? null : 'list call failed: 😀', collector_version: 'test',
  }));
}

