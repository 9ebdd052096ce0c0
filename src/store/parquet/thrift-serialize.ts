// The bytes of a thrift struct in the compact protocol, as @dsnp/parquetjs's serializeThrift
// makes them (page headers, column chunks, the footer), for less CPU: its transport and thrift's
// TCompactProtocol allocate a Buffer for every byte and varint written (a daemon poll's six files
// spent ~20 ms there). The protocol is thrift's own (field headers, booleans, zigzag, collections);
// only its lowest writes (a byte, a varint, a string's bytes) go straight into one growing buffer.
// Files stay byte for byte the same (test/row-buffer.test.ts compares them with the library's).
import { createRequire } from 'node:module';

interface Int64Like { buffer: Buffer }
interface Protocol {
  trans: unknown;
  writeByte(b: number): void;
  writeVarint32(n: number): void;
  writeVarint64(n: number | Int64Like): void;
  writeStringOrBinary(name: string, encoding: BufferEncoding, arg: unknown): void;
}

// Declared at the versions @dsnp/parquetjs 1.8.8 depends on (npm keeps one copy of each). Loaded
// by require: neither ships type declarations, and only these two members are used.
const require = createRequire(import.meta.url);
const thrift = require('thrift') as { TCompactProtocol: new (trans: unknown) => Protocol };
const Int64 = require('node-int64') as new (n: number) => Int64Like;

class ByteSink {
  buf = Buffer.allocUnsafe(256);
  length = 0;

  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b & 0xff;
  }

  /** TBufferedTransport's write, for the protocol's other writes (a double, a uuid). */
  write(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
}

/** The key parquetjs's generated thrift classes keep their write method under. */
const WRITE = Symbol.for('write');

export function serializeCompact(obj: object): Buffer {
  const sink = new ByteSink();
  const protocol = new thrift.TCompactProtocol(sink);
  protocol.writeByte = (b) => sink.byte(b);
  protocol.writeVarint32 = (n) => {
    // As thrift's writeVarint32: 7 bits a byte, low first (n is a zigzagged or unsigned 32-bit value).
    sink.reserve(5);
    while ((n & ~0x7f) !== 0) {
      sink.buf[sink.length++] = (n & 0x7f) | 0x80;
      n = n >>> 7;
    }
    sink.buf[sink.length++] = n;
  };
  protocol.writeVarint64 = (value) => {
    // As thrift's writeVarint64, on the Int64's big-endian halves.
    const n = typeof value === 'number' ? new Int64(value) : value;
    let hi = n.buffer.readUInt32BE(0);
    let lo = n.buffer.readUInt32BE(4);
    sink.reserve(10);
    while ((lo & ~0x7f) !== 0 || hi !== 0) {
      sink.buf[sink.length++] = (lo & 0x7f) | 0x80;
      const mask = hi << 25;
      lo = lo >>> 7;
      hi = hi >>> 7;
      lo = lo | mask;
    }
    sink.buf[sink.length++] = lo;
  };
  const writeStringOrBinary = protocol.writeStringOrBinary.bind(protocol);
  protocol.writeStringOrBinary = (name, encoding, arg) => {
    if (typeof arg !== 'string') return writeStringOrBinary(name, encoding, arg);
    const length = Buffer.byteLength(arg, encoding);
    protocol.writeVarint32(length);
    sink.reserve(length);
    sink.length += sink.buf.write(arg, sink.length, length, encoding);
  };
  (obj as Record<symbol, (protocol: Protocol) => void>)[WRITE]?.call(obj, protocol);
  return Buffer.from(sink.buf.subarray(0, sink.length));
}
