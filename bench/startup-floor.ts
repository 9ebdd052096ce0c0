// The floor a one-shot poll cannot go under while it uses the owner's libraries (issue 30): the
// modules of them a healthy 13-film poll loads, imported with Node's compile cache on, and
// nothing done. bench/startup.ts runs it beside `node -e 0` and the real poll. axios is not here:
// a poll loads it at its first failed call only (providers/client.ts).
import module from 'node:module';

const enable = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
enable?.();
const require = module.createRequire(import.meta.url);
await import('../src/store/parquet/thrift-slim.js'); // as the writer loads thrift: without its connections
for (const id of [
  'commander', 'convict', 'jsonc-parser', 'node-cron', // the CLI and the settings
  'winston', 'winston-daily-rotate-file', // the logger
  'proper-lockfile', // the store lock
  'undici/lib/dispatcher/pool.js', // the transport
  '@dsnp/parquetjs/dist/lib/writer.js', '@dsnp/parquetjs/dist/lib/schema.js', '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js', // the writer (thrift)
]) {
  require(id);
}
await import('hyparquet'); // the latest prices, read back for price_changes
