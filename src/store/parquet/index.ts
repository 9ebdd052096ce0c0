// The Parquet writer, behind one door. The rest of the collector writes Parquet only through this
// module: a schema (ParquetSchema, UTC_MILLIS for instants), then a file opened, rows appended,
// closed or discarded (ParquetFileWriter, or writeParquetFile for a whole file). Behind it:
// @dsnp/parquetjs 1.8.8 (lib.ts, the only module importing it), a faster filler of its row buffer
// (row-buffer.ts), a faster thrift serializer (thrift-serialize.ts) and the logical types its
// footer leaves out (footer.ts), installed into the library by the writer's first open (install.ts).
export { ParquetFileWriter, ROW_GROUP_SIZE, writeParquetFile } from './file.js';
export { UTC_MILLIS } from './footer.js';
export { ParquetSchema } from './lib.js';
