// Fills @dsnp/parquetjs's row buffer (ParquetWriter.rowBuffer) directly, one row at a time, in
// place of its shredRecord: that generic shredder builds a map of column objects and a Set per
// column for every row and was 90 % of a write's CPU. The buffer this fills is the one shredRecord
// fills (same levels, values, distinct values and counts; a text column's values as strings, which
// its encoder turns into the same bytes), so the library's own page, row group and footer encoders
// write byte-identical files (test/row-buffer.test.ts checks that).
// Only the shapes our schemas use are supported, and any other shape is refused when the filler
// is built: top-level primitive columns (required or optional) and 3-level LISTs
// (optional or required group → repeated `list` → required `element`), whose value may be given
// in parquetjs's shape, `{ list: [{ element }] }`, or as a plain array of the elements (it saves an
// object per element; `libraryRow` turns it into the library's shape). The deep imports are the
// library's own (the version is pinned exactly at 1.8.8).
import { getParquetTypeDataObject, type PageData, type ParquetField, type ParquetSchema, type ParquetType, type RecordBuffer } from './lib.js';

type Row = Record<string, unknown>;

interface Leaf {
  /** The row's key (the top-level field). */
  name: string;
  /** The column key in the buffer (the path joined by commas, as parquetjs keys it). */
  key: string;
  required: boolean;
  /** A LIST column: the value is an array of elements, `{ list: [{ element }] }`, or null. */
  list: boolean;
  /** Definition levels: of the top field (null below it), and of a present value. */
  dTop: number;
  dValue: number;
  /** Repetition level of a list's second and later items. */
  rItem: number;
  /** Whether the column keeps min/max statistics: only then are distinct values needed. */
  statistics: boolean;
  /**
   * A UTF8 column without statistics: a string is kept as it is. Its only reader is the PLAIN
   * encoder, which calls Buffer.from on every value (a copy of the Buffer toPrimitive would have
   * made): the same UTF-8 bytes, without a Buffer per value held until the row group is written.
   */
  text: boolean;
  toPrimitive: (value: unknown) => unknown;
}

/** Writes rows of one schema into a parquetjs row buffer, as its shredRecord would. */
export class RowBufferFiller {
  private readonly leaves: Leaf[];
  private readonly paths: string[];

  constructor(schema: ParquetSchema) {
    this.paths = schema.fieldList.map((f) => f.path.join(','));
    this.leaves = schema.fieldList.filter((f) => !f.isNested).map((f) => leafOf(schema, f));
  }

  /** Appends one row to `buffer`. Throws like shredRecord (missing required field, bad value); the buffer is then unusable. */
  append(buffer: RecordBuffer, row: Row): void {
    const columns = buffer.columnData ?? this.init(buffer);
    for (const leaf of this.leaves) {
      // The columns were made for this schema's paths in init.
      const column = columns[leaf.key] as Column;
      const value = row[leaf.name];
      if (value === undefined || value === null) {
        if (leaf.required) throw new Error(`missing required field: ${leaf.name}`);
        push(column, 0, 0);
      } else if (!leaf.list) {
        if (typeof value === 'object' && (Array.isArray(value) || ArrayBuffer.isView(value))) throw new Error(`unsupported value for ${leaf.name}`);
        pushValue(leaf, column, 0, value);
      } else if (Array.isArray(value)) {
        // Our shorthand: the list's elements themselves.
        if (value.length === 0) push(column, 0, leaf.dTop);
        for (let i = 0; i < value.length; i++) {
          const element: unknown = value[i];
          if (element === undefined || element === null) throw new Error('missing required field: element');
          pushValue(leaf, column, i === 0 ? 0 : leaf.rItem, element);
        }
      } else {
        if (typeof value !== 'object') throw new Error(`unsupported value for ${leaf.name}: expected a list`);
        const items = (value as { list?: unknown }).list;
        if (items === undefined || items === null || (Array.isArray(items) && items.length === 0)) {
          push(column, 0, leaf.dTop); // an empty list
          continue;
        }
        const all: unknown[] = Array.isArray(items) ? items : [items];
        for (let i = 0; i < all.length; i++) {
          const element = (all[i] as { element?: unknown } | null)?.element;
          if (element === undefined || element === null) throw new Error('missing required field: element');
          pushValue(leaf, column, i === 0 ? 0 : leaf.rItem, element);
        }
      }
    }
    buffer.rowCount = (buffer.rowCount ?? 0) + 1;
    buffer.pageRowCount = (buffer.pageRowCount ?? 0) + 1;
  }

  /** The row in parquetjs's own shape (a LIST column as `{ list: [{ element }] }`), for its appendRow. */
  libraryRow(row: Row): Row {
    let copy: Row | null = null;
    for (const leaf of this.leaves) {
      const value = row[leaf.name];
      if (leaf.list && Array.isArray(value)) {
        copy ??= { ...row };
        copy[leaf.name] = { list: value.map((element: unknown) => ({ element })) };
      }
    }
    return copy ?? row;
  }

  /** The empty buffer shredRecord makes before its first row (nested fields included). */
  private init(buffer: RecordBuffer): Record<string, PageData> {
    buffer.rowCount = 0;
    buffer.pageRowCount = 0;
    buffer.columnData = {};
    buffer.pages = {};
    for (const path of this.paths) {
      buffer.columnData[path] = { dlevels: [], rlevels: [], values: [], distinct_values: new Set(), count: 0 };
      buffer.pages[path] = [];
    }
    return buffer.columnData;
  }
}

type Column = Required<Pick<PageData, 'rlevels' | 'dlevels' | 'values' | 'distinct_values' | 'count'>>;

function push(column: Column, r: number, d: number): void {
  column.rlevels.push(r);
  column.dlevels.push(d);
  column.count++;
}

function pushValue(leaf: Leaf, column: Column, r: number, value: unknown): void {
  if (leaf.statistics) column.distinct_values.add(value);
  if (leaf.text && typeof value === 'string') {
    (column.values as unknown[]).push(value);
    push(column, r, leaf.dValue);
    return;
  }
  // PageData types values as number[]; they are whatever the type's toPrimitive returns (Buffer, bigint, number).
  (column.values as unknown[]).push(leaf.toPrimitive(value));
  push(column, r, leaf.dValue);
}

function leafOf(schema: ParquetSchema, field: ParquetField): Leaf {
  const unsupported = (): Error => new Error(`parquet column ${field.path.join('.')}: a shape the row buffer filler does not support`);
  const type = (field.originalType ?? field.primitiveType) as ParquetType;
  const statistics = field.statistics !== false;
  // PLAIN is the library's default and the only encoding our schemas use.
  const text = type === 'UTF8' && !statistics && (field.encoding ?? 'PLAIN') === 'PLAIN';
  const common = { key: field.path.join(','), statistics, text, toPrimitive: getParquetTypeDataObject(type, field).toPrimitive };
  const [name, middle, last] = field.path;
  if (name === undefined) throw unsupported();
  if (field.path.length === 1) {
    if (field.repetitionType === 'REPEATED') throw unsupported();
    return { ...common, name, required: field.repetitionType === 'REQUIRED', list: false, dTop: 0, dValue: field.dLevelMax, rItem: 0 };
  }
  const top = schema.fields[name];
  const group = top?.fields?.[middle ?? ''];
  const ok =
    field.path.length === 3 && middle === 'list' && top !== undefined && top.repetitionType !== 'REPEATED' && Object.keys(top.fields ?? {}).length === 1 &&
    group?.repetitionType === 'REPEATED' && Object.keys(group.fields ?? {}).length === 1 && last === 'element' && field.repetitionType === 'REQUIRED';
  if (!ok || !top || !group) throw unsupported();
  return { ...common, name, required: top.repetitionType === 'REQUIRED', list: true, dTop: top.dLevelMax, dValue: field.dLevelMax, rItem: group.rLevelMax };
}
