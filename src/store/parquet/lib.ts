// The parts of @dsnp/parquetjs the collector uses, and the only module that imports it. Its index
// also loads its reader, which loads the AWS S3 client and bloom-filter readers (~0.15 s of CPU and
// ~20 MB at every start): the collector only writes Parquet (DuckDB reads it), so only the writer,
// the schema, the type codecs and the thrift classes are loaded. Deep paths of the pinned 1.8.8
// (the package has no "exports" map).
import './thrift-slim.js'; // first: thrift without its connections, before the writer requires it
import { createRequire } from 'node:module';
import { ParquetEnvelopeWriter, ParquetWriter } from '@dsnp/parquetjs/dist/lib/writer.js';
import { ParquetSchema } from '@dsnp/parquetjs/dist/lib/schema.js';
import { getParquetTypeDataObject } from '@dsnp/parquetjs/dist/lib/types.js';
import thrift from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';

export type { PageData, ParquetField, ParquetType } from '@dsnp/parquetjs/dist/lib/declare.js';
export type { RecordBuffer } from '@dsnp/parquetjs/dist/lib/shred.js';
export { ParquetEnvelopeWriter, ParquetSchema, ParquetWriter, getParquetTypeDataObject, thrift };

/** The library's util module object: its writer calls `serializeThrift` through it at each call, so replacing it there takes effect. */
export const util = createRequire(import.meta.url)('@dsnp/parquetjs/dist/lib/util.js') as { serializeThrift: (obj: object) => Buffer };
