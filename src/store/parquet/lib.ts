// The parts of @dsnp/parquetjs the collector uses. Its index also loads its reader, which loads
// the AWS S3 client and bloom-filter readers (~0.15 s of CPU and ~20 MB at every start): the
// collector only writes Parquet (DuckDB reads it), so only the writer and the schema are loaded.
// Deep paths of the pinned 1.8.8 (the package has no "exports" map; parquet-footer.ts does the same).
import { ParquetEnvelopeWriter, ParquetWriter } from '@dsnp/parquetjs/dist/lib/writer.js';
import { ParquetSchema } from '@dsnp/parquetjs/dist/lib/schema.js';
import { settleBufferDeprecation } from './buffer-deprecation.js';

// Writing pages calls thrift's `new Buffer()`: see buffer-deprecation.ts.
settleBufferDeprecation();

export { ParquetEnvelopeWriter, ParquetSchema, ParquetWriter };
