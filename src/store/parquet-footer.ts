// @dsnp/parquetjs 1.8.8 keeps a field's `logicalType` in its schema but its footer encoder writes
// only the legacy converted_type, so no reader ever sees TIMESTAMP(isAdjustedToUTC = true): DuckDB
// and Polars read a naive TIMESTAMP. This extends one writer: the footer the library encodes is
// decoded, each field's logicalType is set on its schema element, and the footer is encoded again
// before it is written. The converted_type stays, for readers older than logical types (the spec
// asks writers to keep both; TIMESTAMP_MILLIS is the legacy twin of TIMESTAMP(UTC, MILLIS)).
// The deep imports are the library's own thrift classes and codec (pinned at 1.8.8).
import type parquet from '@dsnp/parquetjs';
import thrift from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';
import { decodeThrift, serializeThrift } from '@dsnp/parquetjs/dist/lib/util.js';

const MAGIC = 'PAR1';

/** TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS): an instant, read as TIMESTAMP WITH TIME ZONE. */
export const UTC_MILLIS = new thrift.LogicalType({
  TIMESTAMP: new thrift.TimestampType({ isAdjustedToUTC: true, unit: new thrift.TimeUnit({ MILLIS: new thrift.MilliSeconds() }) }),
});

/**
 * A file footer (FileMetaData, its 4-byte length, "PAR1") with the logicalType of every field of
 * `schema` that has one. parquetjs writes the schema root, then `schema.fieldList` in order.
 */
export function withLogicalTypes(footer: Buffer, schema: parquet.ParquetSchema): Buffer {
  const length = footer.readUInt32LE(footer.length - 8);
  if (footer.subarray(footer.length - 4).toString() !== MAGIC || length !== footer.length - 8) {
    throw new Error('parquet footer: unexpected layout (has @dsnp/parquetjs changed?)');
  }
  const meta = new thrift.FileMetaData();
  decodeThrift(meta, footer.subarray(0, length));
  schema.fieldList.forEach((field, i) => {
    const element = meta.schema[i + 1];
    if (element?.name !== field.name) throw new Error(`parquet footer: schema element ${i + 1} is not ${field.name}`);
    if (field.logicalType) element.logicalType = field.logicalType;
  });
  const body = serializeThrift(meta);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(body.length, 0);
  tail.write(MAGIC, 4);
  return Buffer.concat([body, tail]);
}

/** Makes `writer` write its fields' logical types into the footer when it is closed. */
export function writeLogicalTypes(writer: parquet.ParquetWriter): void {
  const envelope = writer.envelopeWriter;
  if (!envelope) throw new Error('parquet writer already closed');
  const writeFooter = envelope.writeFooter.bind(envelope);
  // writeFooter encodes the footer and passes it to writeSection once: amend it on the way.
  envelope.writeFooter = (userMetadata) => {
    const writeSection = envelope.writeSection;
    envelope.writeSection = (buf) => writeSection.call(envelope, withLogicalTypes(buf, envelope.schema));
    try {
      return writeFooter(userMetadata);
    } finally {
      envelope.writeSection = writeSection;
    }
  };
}
