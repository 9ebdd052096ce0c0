// The shape of one provider answer: every field path it holds, with the JSON type of its value.
// Pure functions, no state: drift.ts compares these with what earlier polls established.
//
// Paths: object keys joined by ".", "[]" for the elements of an array (`Ratings[].Source`), and a
// key that is not a plain name JSON-quoted (`"a.b"`). Depth: three levels of nesting below the
// answer (`a.b.c`, `Ratings[].Source`); deeper values count as their level-3 parent's type. The
// provider API is flat today (every value a string); three levels see a nested object or an array
// of objects appear and change inside, while a hostile answer nested thousands deep costs nothing.
//
// Types: JSON's (number, boolean, null, object, array), with strings split by what they hold, since
// this API sends numbers as text: "string:numeric" ("12.50", "915,459", "2005"), "string:empty"
// ("", "N/A": the API's way to say nothing), and "string" for any other text. A price turning from
// "12.50" into "$12.50" is then a type change, as a user would call it. "missing": the field is
// absent from an answer whose parent object is there.

export type ShapeType = 'string' | 'string:numeric' | 'string:empty' | 'number' | 'boolean' | 'null' | 'object' | 'array' | 'missing';

export const MAX_DEPTH = 3;
/** Paths read from one answer at most: a hostile answer with a million keys is read this far. */
export const MAX_PATHS_PER_ANSWER = 200;
/** Longest key kept in a path (cut with "…"): keys are names, not data. */
const MAX_KEY_LENGTH = 64;

const NUMERIC = /^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function typeOf(value: unknown): ShapeType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string': {
      const text = value.trim();
      if (text === '' || text === 'N/A') return 'string:empty';
      return NUMERIC.test(text) ? 'string:numeric' : 'string';
    }
    case 'number': return 'number';
    case 'boolean': return 'boolean';
    default: return 'object';
  }
}

/** A key as a path segment. */
export function keySegment(key: string): string {
  const cut = key.length > MAX_KEY_LENGTH ? `${key.slice(0, MAX_KEY_LENGTH)}…` : key;
  return PLAIN_KEY.test(cut) ? cut : JSON.stringify(cut);
}

export const childPath = (parent: string, key: string): string => (parent === '' ? keySegment(key) : `${parent}.${keySegment(key)}`);
export const elementsPath = (parent: string): string => `${parent}[]`;

/**
 * The container a path's field sits in: `Ratings[].Source` → `Ratings[]`, `a.b` → `a`, `Price` → ''
 * (the answer itself); null for the elements of an array (`Genre[]`), which are never "missing".
 */
export function parentOf(path: string): string | null {
  if (path.endsWith('[]')) return null;
  if (!path.endsWith('"')) {
    const dot = path.lastIndexOf('.');
    return dot < 0 ? '' : path.slice(0, dot);
  }
  // A quoted last segment: find its opening quote (one not escaped by a backslash).
  for (let i = path.length - 2; i >= 0; i--) {
    if (path[i] !== '"') continue;
    let slashes = 0;
    for (let j = i - 1; j >= 0 && path[j] === '\\'; j--) slashes++;
    if (slashes % 2 === 0) return i === 0 ? '' : path.slice(0, i - 1);
  }
  return '';
}

export interface AnswerShape {
  /** Each path seen, with its types and a value showing each (first seen). */
  fields: Map<string, Map<ShapeType, unknown>>;
  /** Containers (objects) present: '' for the answer, `a`, `Ratings[]` (an array holding objects). */
  containers: Set<string>;
  /** Paths left unread past MAX_PATHS_PER_ANSWER. */
  truncated: boolean;
}

/** The shape of one answer (an object: a detail body, or one entry of the list at `root` `Movies[]`). */
export function shapeOf(answer: Record<string, unknown>, root = ''): AnswerShape {
  const shape: AnswerShape = { fields: new Map(), containers: new Set([root]), truncated: false };
  let paths = 0;
  const see = (path: string, value: unknown): boolean => {
    if (paths >= MAX_PATHS_PER_ANSWER) {
      shape.truncated = true;
      return false;
    }
    let types = shape.fields.get(path);
    if (!types) {
      types = new Map();
      shape.fields.set(path, types);
      paths++;
    }
    const type = typeOf(value);
    if (!types.has(type)) types.set(type, value);
    return true;
  };
  const walk = (container: string, value: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      const elements = elementsPath(container);
      for (const element of value) {
        if (!see(elements, element)) return;
        if (depth < MAX_DEPTH && isObject(element)) shape.containers.add(elements); // a container whose fields are read
        walk(elements, element, depth + 1);
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const path = childPath(container, key);
        if (!see(path, child)) return;
        if (depth < MAX_DEPTH && isObject(child)) shape.containers.add(path);
        walk(path, child, depth + 1);
      }
    }
  };
  walk(root, answer, 1);
  return shape;
}

/** A JSON object (not an array, not null): what an answer, and a container of fields, is. */
export const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A value as a short example: its JSON, cut to `max` characters. */
export function exampleOf(value: unknown, max = 80): string {
  const text = preview(value, max);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** JSON of a value one level deep ({"a":"x","b":{…}}): never the whole of a value nested or large without bound. */
function preview(value: unknown, max: number): string {
  const scalar = (v: unknown): string => {
    if (Array.isArray(v)) return '[…]';
    if (v !== null && typeof v === 'object') return '{…}';
    return JSON.stringify(typeof v === 'string' && v.length > max ? v.slice(0, max) : v) ?? String(v);
  };
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(scalar).join(',')}${value.length > 8 ? ',…' : ''}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).slice(0, 8).map(([k, v]) => `${JSON.stringify(k.slice(0, max))}:${scalar(v)}`);
    return `{${entries.join(',')}${Object.keys(value).length > 8 ? ',…' : ''}}`;
  }
  return scalar(value);
}
