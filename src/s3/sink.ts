// The daemon's S3 sink: side work that never blocks or fails a poll. A loop in the background
// checks the server (conditional writes honoured?), takes the prefix's lease, aborts multipart
// uploads a crash left, then runs shipping passes: after each commit and compaction (nudge), and
// again after a failure with capped backoff, so an outage of hours or a bucket unreachable at
// start is caught up in order once it answers. While idle it lists one shipped day a minute, so
// objects deleted or replaced by hand are shipped again. Its state shows in /healthz (`s3`, and
// degraded once more than s3.maxLagPolls polls wait, counted from the local store whatever its
// requests are doing), /metrics and the log; retention asks it which days are not shipped yet.
// Every request has a deadline, and a stop ends within the time it is given.
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import client from 'prom-client';
import { errorMessage } from '../runtime/errors.js';
import type { Logger } from '../log/log.js';
import { createS3Client, s3Problem, statusOf } from './client.js';
import { Lease, LeaseLostError, LeaseRefusedError, LeaseUnreadableError, deleteStaleProbes, probeConditionalWrites } from './lease.js';
import { ShipLog, storeId } from './ship-log.js';
import { ShipperState, pending, reconcile, reconcileDay, shipPass, type PassHooks } from './shipper.js';
import { s3Url, type S3Settings } from './settings.js';

export interface S3Status {
  target: string;
  state: 'starting' | 'shipping' | 'idle' | 'retrying' | 'refused' | 'stopped';
  pendingPolls: number;
  pendingObjects: number;
  pendingBytes: number;
  shippedObjects: number;
  lastShippedAt: string | null;
  lastError: string | null;
}

/** What the sink writes into the daemon's health state (the same object /healthz reads). */
export interface HealthTarget {
  degraded: Record<string, string>;
  s3?: S3Status;
}

export interface SinkOptions {
  root: string;
  settings: S3Settings;
  logger: Logger;
  registry?: client.Registry;
  health?: HealthTarget;
  /** Backoff after a failed pass: from min, doubling, capped at max. */
  retryMs?: { min: number; max: number };
  /** Tests: the SDK's tries per request (default 4). */
  maxAttempts?: number;
  /** Tests: the base of each request's deadline (client.ts, DEADLINE_BASE_MS). */
  deadlineMs?: number;
  /** Tests: the wait between passes (a simulated clock: hours of outage in a moment); default a timer a nudge ends early. */
  sleep?: (ms: number) => Promise<void>;
  /** Tests: called after each object (kill points). */
  afterObject?: PassHooks['afterObject'];
}

/** How long a stop takes at most when not told (the daemon gives it what is left of shutdown.graceMs). */
const STOP_WAIT_MS = 5_000;
/** Idle passes check the store this often even without a nudge (a `poll` run beside the daemon), and list one shipped day. */
export const IDLE_MS = 60_000;
/** A line repeated by every retry (the same failure, the same lease holder) is logged again only this often. */
const REPEAT_LOG_MS = 15 * 60_000;

export class S3Sink {
  readonly client: S3Client;
  private readonly lease: Lease;
  private readonly bucket: string;
  private log: ShipLog | null = null;
  private ready = false;
  /** Shipping to a server that ignores conditional writes, as s3.allowWithoutConditionalWrites allows: no lease. */
  private unleased = false;
  private stopping = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private nudged = false;
  private loop: Promise<void> | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private failures = 0;
  /** What the last error line was about (the line, or the lease holder refusing), and when it was logged. */
  private lastLogged: { about: string; at: number } | null = null;
  private readonly state: ShipperState;
  /** Days named by nudge() (a compaction's) that the next listing looks at again. */
  private readonly dirty = new Set<string>();
  /** The day the next idle check lists (days in the log, newest first, round and round). */
  private checkCursor: string | null = null;
  /** Every request sent (retries included), for the benchmark's requests per poll. */
  requests = 0;
  readonly status: S3Status;
  private readonly metrics: { shipped: client.Counter; bytes: client.Counter; errors: client.Counter; pendingPolls: client.Gauge; pendingObjects: client.Gauge } | null;

  constructor(private readonly options: SinkOptions) {
    const { settings } = options;
    if (settings.bucket === null) throw new Error('S3Sink needs s3.bucket');
    this.bucket = settings.bucket;
    this.state = new ShipperState(options.root);
    this.client = createS3Client(settings, { maxAttempts: options.maxAttempts, stop: this.abort.signal, logger: options.logger, deadlineMs: options.deadlineMs });
    this.client.middlewareStack.add((next) => (args) => {
      this.requests++;
      return next(args);
    }, { step: 'finalizeRequest', name: 'countRequests' });
    this.lease = new Lease(this.client, this.bucket, settings.prefix, settings.leaseSeconds);
    this.status = { target: `${s3Url(settings)}${settings.endpoint !== null ? ` at ${settings.endpoint}` : ''}`, state: 'starting', pendingPolls: 0, pendingObjects: 0, pendingBytes: 0, shippedObjects: 0, lastShippedAt: null, lastError: null };
    const registers = options.registry ? [options.registry] : [];
    this.metrics = options.registry
      ? {
          shipped: new client.Counter({ name: 'collector_s3_shipped_objects_total', help: 'Objects uploaded to S3.', registers }),
          bytes: new client.Counter({ name: 'collector_s3_shipped_bytes_total', help: 'Bytes uploaded to S3.', registers }),
          errors: new client.Counter({ name: 'collector_s3_errors_total', help: 'Shipping passes that failed (retried with backoff).', registers }),
          pendingPolls: new client.Gauge({ name: 'collector_s3_pending_polls', help: 'Committed polls (or compacted days) not yet shipped.', registers }),
          pendingObjects: new client.Gauge({ name: 'collector_s3_pending_objects', help: 'Committed files not yet shipped.', registers }),
        }
      : null;
  }

  /** Null when s3.bucket is unset (no shipping). */
  static fromSettings(options: SinkOptions): S3Sink | null {
    return options.settings.bucket === null ? null : new S3Sink(options);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * A poll committed or days were compacted (`days`: the ones to list again): ship now (returns at
   * once). The lag is counted now, whatever the pass in flight is waiting for.
   */
  nudge(days: Iterable<string> = []): void {
    for (const d of days) this.dirty.add(d);
    this.nudged = true;
    this.wake?.();
    this.publish();
  }

  /**
   * Stops by `deadline` (epoch ms) whatever the endpoint does: every request in flight is aborted at
   * once (an unfinished upload leaves nothing; the next start redoes it), then the lease is released
   * with what time is left (if none, it expires by itself).
   */
  async stop(deadline = Date.now() + STOP_WAIT_MS): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.wake?.();
    if (this.renewTimer) clearInterval(this.renewTimer);
    const left = () => Math.max(0, deadline - Date.now());
    const within = (work: Promise<unknown> | null, ms: number) => Promise.race([work?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    await within(this.loop, left() / 2);
    await within(this.renewing, left() / 2);
    if (left() > 0) {
      // A client of its own, bounded by what is left (its credentials too, if they must be fetched).
      const releasing = createS3Client(this.options.settings, { maxAttempts: 1, stop: AbortSignal.timeout(left()), logger: this.options.logger });
      const released = this.lease.release(releasing).catch((err: unknown) => this.options.logger.warn(`s3: could not release the lease at stop (${errorMessage(err).split('\n')[0] ?? ''}); it expires by itself in s3.leaseSeconds`));
      await within(released, left());
      releasing.destroy();
    }
    this.status.state = 'stopped';
    this.client.destroy();
  }

  /**
   * Retention's guard: true keeps a day (it holds polls not shipped yet) unless
   * s3.retentionDropsUnshipped, which removes it and logs how many polls the bucket never got.
   */
  retentionGuard(): (dt: string) => boolean {
    const told = new Set<string>();
    return (dt) => {
      if (!this.log) return !this.options.settings.retentionDropsUnshipped; // nothing known yet: keep unless told
      this.state.refresh([dt]); // about to be removed: listed again, whatever wrote into it
      const left = pending(this.state, this.options.settings.prefix, this.log, [dt]);
      if (left.objects === 0) return false; // all shipped
      if (!this.options.settings.retentionDropsUnshipped) return true;
      if (!told.has(dt)) {
        told.add(dt);
        this.options.logger.warn(`retention: removing day ${dt} with ${left.polls} poll(s) not shipped to S3 (s3.retentionDropsUnshipped is true); the bucket will never have them`, { dt, polls: left.polls });
      }
      return false;
    };
  }

  /** Lists what may have changed in the local store (the days nudge() named, today's, new ones). */
  private refresh(): void {
    this.state.refresh(this.dirty);
    this.dirty.clear();
  }

  private async run(): Promise<void> {
    const { min, max } = this.options.retryMs ?? { min: 1_000, max: 300_000 };
    // First, and local only: the lag and retention's guard need the log even while S3 is out of reach
    // (if it cannot be opened, prepare() tries again with the backoff and says why).
    this.log = await ShipLog.open(this.options.root, this.status.target).catch(() => null);
    this.publish();
    let delay = 0;
    while (!this.stopping) {
      const idle = (await this.sleep(delay)) && delay === IDLE_MS; // a quiet minute, not a retry's backoff
      if (this.stopping) break;
      this.nudged = false;
      try {
        await this.prepare();
        if (idle) await this.checkOneDay();
        this.status.state = 'shipping';
        this.publish();
        this.refresh();
        const result = await shipPass(this.client, this.bucket, this.options.settings.prefix, this.state, this.log as ShipLog, {
          beforeWrite: () => this.fence(),
          signal: this.abort.signal,
          afterObject: (e) => {
            if (e.kind === 'uploaded') {
              this.status.shippedObjects++;
              this.status.lastShippedAt = new Date().toISOString();
              this.metrics?.shipped.inc();
              this.metrics?.bytes.inc(e.bytes);
            }
            return this.options.afterObject?.(e);
          },
        });
        if (result.uploaded + result.deleted > 0) this.options.logger.info('s3: shipped', { ...result, target: this.status.target });
        if (this.lastLogged !== null) this.options.logger.info('s3: shipping works again', { target: this.status.target });
        this.failures = 0;
        this.lastLogged = null;
        this.status.lastError = null;
        this.status.state = 'idle';
        delay = this.nudged ? 0 : IDLE_MS;
      } catch (err) {
        if (this.stopping) break;
        this.failures++;
        this.metrics?.errors.inc();
        const refused = err instanceof LeaseRefusedError || err instanceof LeaseLostError || err instanceof LeaseUnreadableError || err instanceof ConditionalWritesIgnored;
        if (err instanceof LeaseLostError) this.ready = false; // take it again (and say so) before shipping more
        const line = refused ? err.message : s3Problem(err, this.options.settings);
        this.status.lastError = line;
        this.status.state = refused ? 'refused' : 'retrying';
        // Once per holder or per failure, then at a bounded rate: the refusal's line names the lease's expiry, new at each renewal.
        const about = err instanceof LeaseRefusedError ? `lease held by ${err.holderId}` : line;
        if (this.lastLogged?.about !== about || Date.now() - this.lastLogged.at >= REPEAT_LOG_MS) {
          this.options.logger.error(`${line}${refused ? '' : ` (${errorMessage(err).split('\n')[0] ?? ''})`}`.slice(0, 1000), { target: this.status.target, failures: this.failures });
          this.lastLogged = { about, at: Date.now() };
        }
        delay = Math.min(max, min * 2 ** Math.min(this.failures - 1, 20));
      } finally {
        this.publish();
      }
    }
  }

  /** Once per start (and after losing the lease): the server check, the lease, stale multipart uploads, the ship log. */
  private async prepare(): Promise<void> {
    if (this.ready) {
      if (!this.unleased && !this.lease.held) {
        await this.renewLease();
        this.lease.assertHeld();
      }
      return;
    }
    const { settings, logger } = this.options;
    this.log ??= await ShipLog.open(this.options.root, this.status.target);
    const honoured = await probeConditionalWrites(this.client, this.bucket, settings.prefix, await storeId(this.options.root));
    if (!honoured && !settings.allowWithoutConditionalWrites) throw new ConditionalWritesIgnored(`s3: the server at ${settings.endpoint ?? 'AWS'} ignores conditional writes (a second PUT with If-None-Match: * overwrote the first): its lease cannot keep a second collector off ${s3Url(settings)}, so nothing is shipped; use a server that honours them (AWS S3, MinIO, Ceph RGW) or set s3.allowWithoutConditionalWrites=true if only this collector will ever use the prefix`);
    if (!honoured) logger.warn(`s3: the server at ${settings.endpoint ?? 'AWS'} ignores conditional writes; shipping anyway (s3.allowWithoutConditionalWrites): nothing keeps a second collector off ${s3Url(settings)}`);
    else await this.lease.acquire();
    if (honoured && this.renewTimer === null) {
      this.renewTimer = setInterval(() => void this.renewLease(), (settings.leaseSeconds * 1000) / 3);
      this.renewTimer.unref();
    }
    this.unleased = !honoured; // no lease to check: the user said so
    await this.abortStaleUploads();
    const probes = await deleteStaleProbes(this.client, this.bucket, settings.prefix);
    if (probes > 0) logger.warn('s3: deleted probe keys that crashes of other collectors left', { count: probes });
    const { learned, forgotten } = await reconcile(this.client, this.bucket, settings.prefix, this.log);
    this.state.settled.clear(); // the log may have learned or forgotten anything: every day is looked at again
    if (learned + forgotten > 0) logger.info('s3: the ship log now agrees with the bucket', { learned, forgotten });
    this.ready = true;
    logger.info('s3: shipping the store', { target: this.status.target, conditionalWrites: honoured, lease: honoured ? this.lease.key : null });
  }

  private fence(): void {
    if (!this.unleased) this.lease.assertHeld();
  }

  private renewLease(): Promise<void> {
    // One renewal at a time: two racing on one ETag, the loser's 412 would read as a takeover.
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    if (!this.ready || this.stopping) return;
    try {
      await this.lease.renew();
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.ready = false;
        this.status.state = 'refused';
        this.status.lastError = err.message;
        this.options.logger.error(err.message);
        this.publish();
      } // other errors: the next renewal tries again; writes stop by themselves once it is too old
    }
  }

  /** Multipart uploads a crash left under the prefix: ours (we hold the lease), never to be completed. */
  private async abortStaleUploads(): Promise<void> {
    const Prefix = this.options.settings.prefix === '' ? undefined : `${this.options.settings.prefix}/`;
    let out;
    try {
      out = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix }));
    } catch (err) {
      if (statusOf(err) === 501) return; // a server without multipart listing (s3rver) has none to abort
      throw err;
    }
    for (const u of out.Uploads ?? []) {
      if (u.Key === undefined || u.UploadId === undefined) continue;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
      this.options.logger.warn('s3: aborted an unfinished multipart upload a crash left', { key: u.Key });
    }
  }

  /** Pending counts into the status, metrics and /healthz. */
  private publish(): void {
    if (this.log) {
      this.refresh();
      const p = pending(this.state, this.options.settings.prefix, this.log);
      this.status.pendingPolls = p.polls;
      this.status.pendingObjects = p.objects;
      this.status.pendingBytes = p.bytes;
      this.metrics?.pendingPolls.set(p.polls);
      this.metrics?.pendingObjects.set(p.objects);
    }
    const health = this.options.health;
    if (!health) return;
    health.s3 = { ...this.status };
    const lagging = this.status.pendingPolls > this.options.settings.maxLagPolls;
    if (this.status.state === 'refused' || lagging || (this.status.lastError !== null && this.failures > 1)) {
      health.degraded.s3 = `s3: lagging ${this.status.pendingPolls} polls${this.status.lastError !== null ? ` (${this.status.lastError})` : ''}`;
    } else {
      delete health.degraded.s3;
    }
  }

  /** Waits `ms` unless nudged; true when the whole wait passed without a nudge (an idle minute). */
  private async sleep(ms: number): Promise<boolean> {
    if (this.nudged || ms === 0) return false;
    if (this.options.sleep) {
      await this.options.sleep(ms);
      return !this.nudged;
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), ms);
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.wake = null;
        resolve(idle);
      };
      this.wake = () => done(false);
    });
  }

  /**
   * The idle check: one shipped day listed (one LIST per table), newest first and round again, so
   * that an object deleted or overwritten by hand is noticed within days-in-the-log minutes and
   * shipped again by this pass.
   */
  private async checkOneDay(): Promise<void> {
    const log = this.log as ShipLog;
    const days = log.days().reverse();
    if (days.length === 0) return;
    const at = this.checkCursor === null ? 0 : days.findIndex((d) => d < (this.checkCursor as string));
    const dt = days[at < 0 ? 0 : at] as string;
    this.checkCursor = dt;
    const { learned, forgotten } = await reconcileDay(this.client, this.bucket, this.options.settings.prefix, log, dt);
    this.dirty.add(dt); // the local day is listed again too
    if (learned + forgotten > 0) this.state.settled.delete(dt);
    if (learned + forgotten > 0) this.options.logger.warn('s3: a day in the bucket changed outside this collector; what is missing or changed is shipped again', { dt, changed: learned, missing: forgotten });
  }

  /** One pass now, outside the loop (tests, the benchmark): prepare if needed, then ship. */
  async shipNow(): Promise<ReturnType<typeof shipPass>> {
    await this.prepare();
    this.refresh();
    return shipPass(this.client, this.bucket, this.options.settings.prefix, this.state, this.log as ShipLog, { beforeWrite: () => this.fence(), signal: this.abort.signal, afterObject: this.options.afterObject });
  }

  /** The idle check of one day, outside the loop (tests). */
  async checkNow(): Promise<void> {
    await this.prepare();
    await this.checkOneDay();
  }

  /** Pending counts as now (tests). */
  pendingNow(): { polls: number; objects: number } {
    this.publish();
    return { polls: this.status.pendingPolls, objects: this.status.pendingObjects };
  }
}

export class ConditionalWritesIgnored extends Error {
  override name = 'ConditionalWritesIgnored';
}
