// @dsnp/parquetjs 1.8.8 keeps a field's `logicalType` in its schema but its footer encoder writes
// only the legacy converted_type, so no reader ever sees TIMESTAMP(isAdjustedToUTC = true): DuckDB
// and Polars read a naive TIMESTAMP. This extends one writer: while it writes its footer, each
// schema element of the footer's FileMetaData gets its field's logicalType just before the library
// serializes it (once; decoding and re-encoding the finished footer cost a daemon poll ~10 ms).
// The converted_type stays, for readers older than logical types (the spec asks writers to keep
// both; TIMESTAMP_MILLIS is the legacy twin of TIMESTAMP(UTC, MILLIS)).
import { thrift, type ParquetSchema, type ParquetWriter } from './lib.js';
import { serializeCompact } from './thrift-serialize.js';

/** TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS): an instant, read as TIMESTAMP WITH TIME ZONE. */
export const UTC_MILLIS = new thrift.LogicalType({
  TIMESTAMP: new thrift.TimestampType({ isAdjustedToUTC: true, unit: new thrift.TimeUnit({ MILLIS: new thrift.MilliSeconds() }) }),
});

/** The schema whose footer is being encoded right now (footer encoding is synchronous), else null. */
let encoding: ParquetSchema | null = null;

/** Serializes a thrift struct as the library's serializeThrift does, adding logical types to a footer being written. */
export function serializeWithLogicalTypes(obj: object): Buffer {
  if (encoding !== null && obj instanceof thrift.FileMetaData) setLogicalTypes(obj, encoding);
  return serializeCompact(obj);
}

/** parquetjs writes the schema root, then `schema.fieldList` in order. */
function setLogicalTypes(meta: InstanceType<typeof thrift.FileMetaData>, schema: ParquetSchema): void {
  schema.fieldList.forEach((field, i) => {
    const element = meta.schema[i + 1];
    if (element?.name !== field.name) throw new Error(`parquet footer: schema element ${i + 1} is not ${field.name} (has @dsnp/parquetjs changed?)`);
    if (field.logicalType) element.logicalType = field.logicalType;
  });
}

/** Makes `writer` write its fields' logical types into the footer when it is closed. */
export function writeLogicalTypes(writer: ParquetWriter): void {
  const envelope = writer.envelopeWriter;
  if (!envelope) throw new Error('parquet writer already closed');
  const writeFooter = envelope.writeFooter.bind(envelope);
  // writeFooter encodes the footer (FileMetaData through serializeThrift) synchronously, then starts its write.
  envelope.writeFooter = (userMetadata) => {
    encoding = envelope.schema;
    try {
      return writeFooter(userMetadata);
    } finally {
      encoding = null;
    }
  };
}
