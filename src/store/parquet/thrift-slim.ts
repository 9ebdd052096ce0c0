// thrift as the Parquet writer uses it: its types, buffered and framed transports and compact
// protocol (and the Int64 and Q it re-exports), without the rest of its index: the client and
// server connections over HTTP, WebSocket (ws), XHR and TCP, which load node:http, node:https,
// node:tls and ws (about 0.08 s of CPU at every one-shot poll's start, a tenth of it). Put in
// Node's CommonJS cache under thrift's own file before @dsnp/parquetjs requires it; any other
// member asked of it is an error that names this file. Imported first by lib.ts.
import Module from 'node:module';
import path from 'node:path';

const require = Module.createRequire(import.meta.url);
// thrift as @dsnp/parquetjs resolves it (npm keeps one copy: both pin 0.23.0).
const index = require.resolve('thrift', { paths: [path.dirname(require.resolve('@dsnp/parquetjs/dist/lib/util.js'))] });
const cache = require.cache as Record<string, NodeModule | undefined>;

if (cache[index] === undefined) {
  const fromThrift = Module.createRequire(index); // its files, and its node-int64 and q
  const used: Record<string, unknown> = {
    Thrift: fromThrift('./thrift.js'),
    TBufferedTransport: fromThrift('./buffered_transport.js'),
    TFramedTransport: fromThrift('./framed_transport.js'),
    TCompactProtocol: fromThrift('./compact_protocol.js'),
    InputBufferUnderrunError: fromThrift('./input_buffer_underrun_error.js'),
    Int64: fromThrift('node-int64'),
    Q: fromThrift('q'),
  };
  const slim = new Proxy(used, {
    get(target, name) {
      if (typeof name !== 'string' || name in target || name === '__esModule' || name === 'default' || name === 'then') return target[name as string];
      throw new Error(`thrift.${name} is not loaded: the collector loads only the part of thrift Parquet uses (src/store/parquet/thrift-slim.ts)`);
    },
  });
  const entry = new Module(index);
  entry.filename = index;
  entry.loaded = true;
  entry.exports = slim;
  cache[index] = entry;
}
