// A second process for the S3 tests: `ship` runs the real sink's passes over a store until one
// finds nothing left (the kill loop SIGKILLs it at random moments); `hold` takes the prefix's
// lease and keeps it until killed (another collector, for the lease tests). Its log lines go to
// stderr as JSON.
import winston from 'winston';
import { Lease } from '../src/s3/lease.js';
import type { S3Settings } from '../src/s3/settings.js';
import { S3Sink } from '../src/s3/sink.js';

const { mode, root, settings } = JSON.parse(process.argv[2] ?? '{}') as { mode: 'ship' | 'hold'; root: string; settings: S3Settings };
const logger = winston.createLogger({ level: 'warn', transports: [new winston.transports.Stream({ stream: process.stderr })] });

if (mode === 'hold') {
  const sink = new S3Sink({ root, settings, logger });
  const lease = new Lease(sink.client, settings.bucket ?? '', settings.prefix, settings.leaseSeconds);
  await lease.acquire();
  process.stdout.write('held\n');
  setInterval(() => void lease.renew(), (settings.leaseSeconds * 1000) / 3);
} else {
  const sink = new S3Sink({ root, settings, logger, afterObject: (e) => void process.stdout.write(`${e.kind} ${e.key}\n`) });
  for (;;) {
    const r = await sink.shipNow();
    if (r.uploaded + r.deleted === 0) break;
  }
  await sink.stop();
  process.stdout.write('done\n');
}
