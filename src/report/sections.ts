// The report's sections; a module of its own so the CLI can declare --section without loading DuckDB.
export const SECTIONS = ['best-prices', 'cheapest', 'history', 'health', 'schema', 'alerts'] as const;
export type Section = (typeof SECTIONS)[number];
