// Shape changes the simulator can make mid-run (`configure({ drift })`, `mock-provider --drift`),
// each as a real provider might: what the schema-drift check must see once, and a user be told of.
export const MOCK_DRIFTS = ['new-field', 'renamed-field', 'price-text', 'null-half', 'ratings-array', 'ratings-object', 'list-field'] as const;
export type MockDrift = (typeof MOCK_DRIFTS)[number];

/** A detail body with the drifts applied (`index`: the film's place in the catalogue, for "half the films"). */
export function driftDetail(body: Record<string, string>, drifts: readonly MockDrift[], index: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  for (const drift of drifts) {
    switch (drift) {
      case 'new-field': out.Currency = 'USD'; break;
      case 'renamed-field': out.Synopsis = out.Plot; delete out.Plot; break;
      case 'price-text': out.Price = `$${String(body.Price)}`; break;
      case 'null-half': if (index % 2 === 0) out.Rated = null; break;
      case 'ratings-array': out.Ratings = [{ Source: 'Internet Movie Database', Value: `${String(body.Rating)}/10` }]; break;
      case 'ratings-object': out.Ratings = { Source: 'Internet Movie Database', Value: `${String(body.Rating)}/10` }; break;
      case 'list-field': break;
    }
  }
  return out;
}

/** A list entry with the drifts applied. */
export function driftListEntry(entry: Record<string, string>, drifts: readonly MockDrift[]): Record<string, unknown> {
  return drifts.includes('list-field') ? { ...entry, Price: 'from 9.99' } : entry;
}
