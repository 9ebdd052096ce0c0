// thrift (parquetjs's page headers and footers) calls the deprecated `new Buffer()`. For each of
// the first 10,000 such calls Node captures a stack trace to see whether the caller lives in
// node_modules, where it stays silent (DEP0005): ~0.2 s of CPU per process, measured. Node stops
// checking for good once it has shown the warning: it is "shown" here once, from our own code, with
// deprecation warnings muted for that one call, so nothing is printed and every later check is
// skipped. Other deprecation warnings are untouched (the setting is restored at once).
// (Installed inside a node_modules folder itself, the collector's call is silent too: no saving, no harm.)

let settled = false;

export function settleBufferDeprecation(): void {
  if (settled) return;
  settled = true;
  const before = process.noDeprecation;
  process.noDeprecation = true;
  try {
    // The deprecated call is the point: it spends Node's one DEP0005 warning.
    new Buffer(0);
  } finally {
    process.noDeprecation = before;
  }
}
