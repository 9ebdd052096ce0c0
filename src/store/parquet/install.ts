// The one place the collector changes @dsnp/parquetjs's behaviour for the whole process, called by
// the writer before its first file (never on import): every thrift struct the library serializes
// goes through serializeWithLogicalTypes (the same bytes, less CPU; footers gain their logical
// types), and Node's one DEP0005 warning is spent silently (see buffer-deprecation.ts).
import { settleBufferDeprecation } from './buffer-deprecation.js';
import { serializeWithLogicalTypes } from './footer.js';
import { util } from './lib.js';

let installed = false;

export function installParquetWriter(): void {
  if (installed) return;
  installed = true;
  settleBufferDeprecation();
  util.serializeThrift = serializeWithLogicalTypes;
}
