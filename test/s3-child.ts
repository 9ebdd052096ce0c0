// A second process for the S3 tests: `ship` runs the real sink's passes over a store until one
// finds nothing left (the kill loop SIGKILLs it at random moments); `hold` takes the prefix's
// lease and keeps it until killed (another collector, for the lease tests), or prints `refused`
// and exits 2; `await` tries again every 200 ms until it holds it; `ship-hold` ships its store once, then keeps the sink's lease until killed (a
// collector that dies holding it). Its log lines go to stderr as JSON.
import winston from 'winston';
import { Lease, LeaseRefusedError } from '../src/s3/lease.js';
import type { S3Settings } from '../src/s3/settings.js';
import { S3Sink } from '../src/s3/sink.js';

const { mode, root, settings } = JSON.parse(process.argv[2] ?? '{}') as { mode: 'ship' | 'hold' | 'await' | 'ship-hold'; root: string; settings: S3Settings };
const logger = winston.createLogger({ level: 'warn', transports: [new winston.transports.Stream({ stream: process.stderr })] });

if (mode === 'hold' || mode === 'await') {
  const sink = new S3Sink({ root, settings, logger });
  const lease = new Lease(sink.client, settings.bucket ?? '', settings.prefix, settings.leaseSeconds);
  for (;;) {
    try {
      await lease.acquire();
      break;
    } catch (err) {
      if (!(err instanceof LeaseRefusedError)) throw err;
      if (mode === 'hold') {
        process.stdout.write(`refused ${err.message}\n`);
        process.exit(2);
      }
      process.stdout.write('waiting\n');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  process.stdout.write(`held ${process.pid} ${Date.now()}\n`);
  setInterval(() => void lease.renew(), (settings.leaseSeconds * 1000) / 3);
} else if (mode === 'ship-hold') {
  const sink = new S3Sink({ root, settings, logger });
  await sink.shipNow(); // takes the lease; the sink renews it from now on
  process.stdout.write('held\n');
  setInterval(() => undefined, 60_000); // the renewal timer does not keep a process alive
} else {
  const sink = new S3Sink({ root, settings, logger, afterObject: (e) => void process.stdout.write(`${e.kind} ${e.key}\n`) });
  for (;;) {
    const r = await sink.shipNow();
    if (r.uploaded + r.deleted === 0) break;
  }
  await sink.stop();
  process.stdout.write('done\n');
}
