// Schema drift: each poll's answers, per provider and source (list entries, detail bodies),
// compared with the shape that provider's committed polls established. A change is a path seen
// for the first time (new-field), a known field absent from answers whose parent is there
// (missing-field), or a field holding a type it never held (type-change). Each change is
// recorded once: the poll that sees it commits a schema_changes row, and from then on the type is
// part of the shape. The policy decides what a change does to the poll (see docs/schema.md).
import type { FieldClass, SchemaChangeKind, SchemaChangeRecord, SchemaPolicy, ShapeSource } from '../records/types.js';
import { exampleOf, parentOf, shapeOf, type ShapeType } from './shape.js';

export type Policies = Readonly<Record<FieldClass, SchemaPolicy>>;

/** What a record cannot be made without (normalize.ts rejects an answer lacking one). */
const REQUIRED: Readonly<Record<ShapeSource, ReadonlySet<string>>> = {
  detail: new Set(['ID', 'Title', 'Price']),
  list: new Set(['Movies[].ID']),
};
/** The other detail fields normalize.ts stores in columns. */
const MAPPED = new Set(['Year', 'Rated', 'Released', 'Runtime', 'Genre', 'Director', 'Writer', 'Actors', 'Plot', 'Language', 'Country', 'Awards', 'Poster', 'Metascore', 'Rating', 'Votes', 'Type']);

export function fieldClass(source: ShapeSource, path: string): FieldClass {
  if (REQUIRED[source].has(path)) return 'required';
  return source === 'detail' && MAPPED.has(path) ? 'mapped' : 'extra';
}

/** Where each source's paths start: a list entry's fields are `Movies[].ID`. */
export const SOURCE_ROOT: Readonly<Record<ShapeSource, string>> = { list: 'Movies[]', detail: '' };

/** One provider's established shape for one source: path → each type it held → the policy it was recorded under. */
export type KnownShape = Map<string, Map<string, SchemaPolicy>>;

/** Distinct paths tracked per provider and source: past it, new paths are counted, not recorded (a provider keying objects by data). */
export const MAX_KNOWN_PATHS = 500;

const TYPE_ORDER: readonly ShapeType[] = ['string', 'string:numeric', 'string:empty', 'number', 'boolean', 'null', 'object', 'array', 'missing'];
export const joinTypes = (types: Iterable<string>): string =>
  [...types].sort((a, b) => TYPE_ORDER.indexOf(a as ShapeType) - TYPE_ORDER.indexOf(b as ShapeType) || a.localeCompare(b)).join('|');

/** Adds a committed row to a shape: its types join the path's (a type recorded under `record` stays accepted). */
export function absorb(known: KnownShape, row: Pick<SchemaChangeRecord, 'path' | 'new_type' | 'action'>): void {
  let types = known.get(row.path);
  if (!types) {
    types = new Map();
    known.set(row.path, types);
  }
  for (const type of row.new_type.split('|')) {
    if (type === '') continue;
    if (types.get(type) !== 'record') types.set(type, row.action);
  }
}

/** Why an answer is turned away under a reject-record or fail-provider policy. */
export interface Deviation {
  policy: Exclude<SchemaPolicy, 'record'>;
  reason: string;
}

interface TypeSeen {
  count: number;
  example: unknown;
}

/**
 * One provider's answers of one source in one poll. `add` takes each answer as it arrives and says
 * whether a non-record policy turns it away; `changes` gives the rows the poll commits.
 */
export class ShapeTracker {
  private answers = 0;
  private readonly present = new Map<string, number>();
  private readonly types = new Map<string, Map<string, TypeSeen>>();
  private readonly containers = new Map<string, number>();
  private readonly enforcing: boolean;
  /** Paths as redacted (a secret echoed in a key): the shape stores them so. */
  private readonly redactedPaths = new Map<string, string>();
  untracked = 0;

  constructor(
    readonly provider: string,
    readonly source: ShapeSource,
    private readonly known: KnownShape,
    private readonly policies: Policies,
    private readonly redact: (text: string) => string,
  ) {
    // A first poll establishes the shape: nothing deviates from a shape not yet known.
    this.enforcing = known.size > 0 && Object.values(policies).some((p) => p !== 'record');
  }

  add(answer: Record<string, unknown>): Deviation | null {
    const shape = shapeOf(answer, SOURCE_ROOT[this.source]);
    this.answers++;
    if (!shape.truncated) {
      for (const container of shape.containers) {
        const count = this.containers.get(container);
        if (count !== undefined || this.containers.size < MAX_KNOWN_PATHS * 2) this.containers.set(container, (count ?? 0) + 1);
      }
    }
    for (const [path, types] of shape.fields) {
      let seen = this.types.get(path);
      if (!seen) {
        // A poll holds at most this many distinct paths: answers keyed by data cannot fill memory.
        if (this.types.size >= MAX_KNOWN_PATHS * 2) {
          this.untracked++;
          continue;
        }
        seen = new Map();
        this.types.set(path, seen);
      }
      this.present.set(path, (this.present.get(path) ?? 0) + 1);
      for (const [type, value] of types) {
        const entry = seen.get(type);
        if (entry) entry.count++;
        else seen.set(type, { count: 1, example: value });
      }
    }
    if (!this.enforcing) return null;
    let found: Deviation | null = null;
    const consider = (path: string, what: string): void => {
      const policy = this.policies[fieldClass(this.source, path)];
      // The first deviation names the answer's (the shallowest path), unless a later one fails the provider.
      if (policy === 'record' || found?.policy === 'fail-provider' || found?.policy === policy) return;
      found = { policy, reason: `schema change: ${this.source} field ${this.redactPath(path)} ${what}; schema.policy.${fieldClass(this.source, path)} is ${policy}` };
    };
    for (const [path, types] of shape.fields) {
      const known = this.lookup(path);
      for (const [type, value] of types) {
        if (known ? covers(known, type, true) : this.underNewElements(path)) continue;
        const was = known ? accepted(known) : [];
        // A path recorded but never accepted (its change was turned away) is still new.
        if (was.length === 0) consider(path, `is new (${type}, e.g. ${this.redact(exampleOf(value, 40))})`);
        else consider(path, `changed type (${joinTypes(was)} → ${type}, e.g. ${this.redact(exampleOf(value, 40))})`);
      }
    }
    if (!shape.truncated) {
      for (const [path, types] of this.known) {
        // Missing counts only for a field the shape accepted: one never accepted is not expected.
        if (types.get('missing') === 'record' || accepted(types).length === 0) continue;
        const parent = parentOf(path);
        if (parent !== null && shape.containers.has(parent) && !shape.fields.has(path) && !this.knownUnder(shape.fields, path)) consider(path, 'is missing');
      }
    }
    return found;
  }

  /** The rows this poll commits: the first shape seen (baseline), or each change. */
  changes(detectedAt: Date): SchemaChangeRecord[] {
    if (this.answers === 0) return [];
    const paths = new Set([...this.types.keys(), ...[...this.known.keys()].filter((p) => !this.types.has(p))]);
    const baseline = this.known.size === 0;
    const rows: SchemaChangeRecord[] = [];
    const row = (path: string, kind: SchemaChangeKind, oldType: string | null, newType: string, example: unknown, count: number): void => {
      const action = kind === 'baseline' ? 'record' : this.policies[fieldClass(this.source, path)];
      rows.push({
        provider: this.provider, source: this.source, path: this.redactPath(path), kind, field_class: fieldClass(this.source, path),
        old_type: oldType, new_type: newType, example: example === undefined ? null : this.redact(exampleOf(example)),
        share: count / this.answers, answers: this.answers, action, detected_at: detectedAt,
      });
    };
    let tracked = this.known.size;
    for (const path of paths) {
      const seen = new Map(this.types.get(path) ?? []);
      const parent = parentOf(path);
      const missing = parent === null ? 0 : (this.containers.get(parent) ?? 0) - (this.present.get(path) ?? 0);
      if (missing > 0) seen.set('missing', { count: missing, example: undefined });
      const known = this.lookup(path);
      if (!known) {
        if (seen.size === 0) continue;
        if (tracked >= MAX_KNOWN_PATHS) {
          this.untracked++;
          continue;
        }
        tracked++;
        const shown = [...seen.entries()].find(([type]) => type !== 'missing')?.[1];
        // The first elements of an array known empty are its structure, not a new field.
        row(path, baseline || this.underNewElements(path) ? 'baseline' : 'new-field', null, joinTypes(seen.keys()), shown?.example, this.present.get(path) ?? 0);
        continue;
      }
      for (const [type, { count, example }] of seen) {
        if (covers(known, type, false)) {
          // A change turned away before, now seen under a record policy: accepted, and kept so (a baseline row).
          if (known.has(type) && known.get(type) !== 'record' && this.policies[fieldClass(this.source, path)] === 'record') {
            row(path, 'baseline', joinTypes(known.keys()), type, example, count);
          }
          continue;
        }
        row(path, type === 'missing' ? 'missing-field' : 'type-change', joinTypes(known.keys()), type, example, count);
      }
    }
    // Below a field that is new or changed type, the fields are its new structure, not changes of
    // their own: kept as baseline rows (the shape can be folded back), told once through the parent.
    const changed = new Set(rows.filter((r) => r.kind === 'new-field' || r.kind === 'type-change').map((r) => r.path));
    for (const r of rows) if (r.kind !== 'baseline' && hasAncestorIn(r.path, changed)) r.kind = 'baseline';
    return rows;
  }

  /** The path is, or is below, the elements of an array the shape knows only empty (`Tags[]` of a known `Tags` array). */
  private underNewElements(path: string): boolean {
    for (let p: string | null = path; p !== null; p = ancestorOf(p)) {
      if (p.endsWith('[]') && !this.lookup(p) && this.lookup(p.slice(0, -2))?.has('array') === true) return true;
    }
    return false;
  }

  private lookup(path: string): Map<string, SchemaPolicy> | undefined {
    return this.known.get(path) ?? this.known.get(this.redactPath(path));
  }

  /** A known path stored redacted, present in this answer under its unredacted key. */
  private knownUnder(fields: Map<string, unknown>, storedPath: string): boolean {
    for (const [path, redacted] of this.redactedPaths) if (redacted === storedPath && path !== storedPath && fields.has(path)) return true;
    return false;
  }

  private redactPath(path: string): string {
    let redacted = this.redactedPaths.get(path);
    if (redacted === undefined) {
      redacted = this.redact(path);
      if (this.redactedPaths.size < MAX_KNOWN_PATHS * 4) this.redactedPaths.set(path, redacted);
    }
    return redacted;
  }
}

function hasAncestorIn(path: string, paths: ReadonlySet<string>): boolean {
  for (let up = ancestorOf(path); up !== null; up = ancestorOf(up)) if (paths.has(up)) return true;
  return false;
}

/** The field a path sits below: `Ratings[].Source` → `Ratings[]` → `Ratings`; null at the top. */
function ancestorOf(path: string): string | null {
  const up = path.endsWith('[]') ? path.slice(0, -2) : parentOf(path);
  return up === '' || up === null ? null : up;
}

/**
 * The shape holds `type` at a path (accepted, if `onlyAccepted`). An empty string ("", "N/A") is
 * no change where the field held text: the API's way to say nothing, as null is.
 */
function covers(types: Map<string, SchemaPolicy>, type: string, onlyAccepted: boolean): boolean {
  const holds = (t: string) => types.has(t) && (!onlyAccepted || types.get(t) === 'record');
  return holds(type) || (type === 'string:empty' && (holds('string') || holds('string:numeric')));
}

/** The types a shape accepts for a path (recorded under `record`). */
function accepted(types: Map<string, SchemaPolicy>): string[] {
  return [...types].filter(([, action]) => action === 'record').map(([type]) => type);
}
