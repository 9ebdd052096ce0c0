// Deterministic randomness for the simulator: the same seed and keys give the same numbers,
// whatever order requests arrive in.

/** FNV-1a over the keys: a 32-bit hash to seed a generator from (seed, film, provider, ...). */
function hashKeys(keys: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of keys.join('\u0000')) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, well-known 32-bit PRNG; returns numbers in [0, 1). */
export function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator keyed by the seed and any labels, independent of every other key. */
export function keyed(seed: number, ...keys: Array<string | number>): () => number {
  return generator(hashKeys([seed, ...keys]));
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}
