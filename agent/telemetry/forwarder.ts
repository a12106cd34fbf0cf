// Drains a Spool into an Exporter, with fleet manners: flushes at randomised times (so that
// 50,000 devices configured alike do not flush together), batches capped in records and bytes,
// a drain rate capped by a token bucket (a device back from an outage does not dump its
// backlog at once), retries only when the exporter says the failure is temporary — after the
// collector's Retry-After, else exponential backoff with full jitter up to an hour — and a
// batch the collector refuses for good is counted as dead-lettered and passed over.
//
// The spool's cursor advances only after the exporter reported the batch delivered (or
// dead-lettered): a crash mid-send resends that one batch (a duplicate, never a loss).
import type { Logger } from '../log/logger.js';
import { fullJitterDelay, MAX_BACKOFF_MS, retryAfterDelay } from './backoff.js';
import { boundText } from './collector-text.js';
import type { Spool, SpoolRecord } from './spool.js';

export type SendOutcome =
  /** The collector took the batch (HTTP 2xx). `rejected`: records it reported dropping (partialSuccess); `unreadable`: records we could not encode. */
  | { kind: 'delivered'; rejected?: number; unreadable?: number }
  /** A temporary failure: keep the batch, try again later. */
  | { kind: 'retry'; code: string; status?: number; retryAfterMs?: number; detail?: string }
  /** A permanent refusal: count the batch as dead-lettered and move on. */
  | { kind: 'dead_letter'; code: string; status?: number; detail?: string };

/** What a destination implements: one attempt to deliver one batch. Must not throw (a throw is a retry). */
export interface Exporter {
  send(records: SpoolRecord[], signal: AbortSignal): Promise<SendOutcome>;
}

export interface ForwarderOptions {
  spool: Spool;
  exporter: Exporter;
  batchMaxRecords: number;
  /** Payload bytes per batch (before encoding). */
  batchMaxBytes: number;
  /** Drain rate cap, records per second (the bucket holds one batch). */
  maxRecordsPerSecond: number;
  /** Mean time between flushes; each wait is uniform in [0.5, 1.5) × this. */
  flushIntervalMs: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  random?: () => number;
  logger?: Logger;
}

export type ForwarderState = 'idle' | 'sending' | 'backing_off' | 'stopped';

export interface ForwarderStatus {
  state: ForwarderState;
  /** Wall-clock ISO times, for people. */
  last_attempt_at: string | null;
  last_success_at: string | null;
  next_attempt_at: string | null;
  last_error: { code: string; status: number | null; detail: string | null; at: string } | null;
  consecutive_failures: number;
  batches_sent: number;
}

/** Counter names kept in the spool's cursor. */
export const counterNames = { sent: 'sent', deadLettered: 'dead_lettered', rejected: 'rejected_by_collector' } as const;

class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private rate: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
  }

  setRate(rate: number): void {
    this.refill();
    this.rate = rate;
  }

  /** Milliseconds to wait before `n` tokens are there (0: take them now). */
  wait(n: number): number {
    this.refill();
    const need = Math.min(n, this.capacity);
    return this.tokens >= need ? 0 : Math.ceil(((need - this.tokens) / this.rate) * 1000);
  }

  take(n: number): void {
    this.refill();
    this.tokens -= Math.min(n, this.capacity);
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

/** A count an exporter reported, as an integer from 0 to `max`. */
function clampCount(n: number | undefined, max: number): number {
  if (n === undefined || !Number.isFinite(n) || n <= 0) return 0;
  return Math.min(Math.floor(n), Math.max(0, max));
}

/** Details are stored and shown: bounded whatever the exporter did (the OTLP one also scrubs them). */
function boundDetail(detail: string | undefined): string | null {
  return detail === undefined ? null : boundText(detail);
}

export class Forwarder {
  private state: ForwarderState = 'idle';
  private readonly random: () => number;
  private readonly bucket: TokenBucket;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextAt: number | null = null;
  private loop: Promise<void> | null = null;
  private attempt = 0;
  private lastAttemptAt: number | null = null;
  private lastSuccessAt: number | null = null;
  private lastError: ForwarderStatus['last_error'] = null;
  private batches = 0;

  constructor(private options: ForwarderOptions) {
    this.random = options.random ?? Math.random;
    this.bucket = new TokenBucket(options.maxRecordsPerSecond, options.batchMaxRecords);
  }

  /** Starts the loop; the first flush comes after a random part of one interval. */
  start(firstDelayMs = this.random() * this.options.flushIntervalMs): void {
    if (this.loop) return;
    this.nextAt = Date.now() + firstDelayMs;
    this.loop = this.run();
  }

  /** A new exporter (configuration changed); the next attempt uses it. */
  setExporter(exporter: Exporter): void {
    this.options = { ...this.options, exporter };
  }

  setLimits(limits: Partial<Pick<ForwarderOptions, 'flushIntervalMs' | 'maxRecordsPerSecond'>>): void {
    this.options = { ...this.options, ...limits };
    if (limits.maxRecordsPerSecond) this.bucket.setRate(limits.maxRecordsPerSecond);
  }

  /**
   * Flush now. While backing off after a failure the wait is kept unless `force` (an admin's
   * explicit request), so that the fleet's manners survive automatic triggers.
   */
  kick(options: { force?: boolean } = {}): void {
    if (this.state === 'stopped') return;
    if (this.state === 'backing_off' && !options.force) return;
    if (this.state === 'sending') return;
    this.nextAt = Date.now();
    this.wake?.();
  }

  status(): ForwarderStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      state: this.state,
      last_attempt_at: iso(this.lastAttemptAt),
      last_success_at: iso(this.lastSuccessAt),
      next_attempt_at: this.state === 'sending' ? null : iso(this.nextAt),
      last_error: this.lastError,
      consecutive_failures: this.attempt,
      batches_sent: this.batches,
    };
  }

  /** Stops the loop, aborting a send in flight (its batch stays in the spool). */
  async stop(): Promise<void> {
    this.state = 'stopped';
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.state !== 'stopped') {
      await this.sleepUntilNext();
      if (this.isStopped()) return;
      try {
        await this.drain();
      } catch (error) {
        // A spool failure (disk): keep the records, try again later.
        this.fail({ kind: 'retry', code: 'spool_io_error', detail: (error as Error).message });
      }
    }
  }

  private sleepUntilNext(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.wake = null;
        resolve();
      };
      this.wake = done;
      const delay = Math.max(0, (this.nextAt ?? Date.now()) - Date.now());
      if (delay === 0) queueMicrotask(done);
      else this.timer = setTimeout(done, Math.min(delay, 2 ** 31 - 1));
    });
  }

  private async drain(): Promise<void> {
    this.state = 'sending';
    for (;;) {
      const batch = await this.options.spool.peek({
        maxRecords: this.options.batchMaxRecords,
        maxBytes: this.options.batchMaxBytes,
      });
      if (this.isStopped()) return;
      if (batch.length === 0) break;
      const wait = this.bucket.wait(batch.length);
      if (wait > 0) await this.pause(wait);
      if (this.isStopped()) return;
      this.bucket.take(batch.length);
      this.lastAttemptAt = Date.now();
      let outcome: SendOutcome;
      try {
        outcome = await this.options.exporter.send(batch, this.abort.signal);
      } catch (error) {
        outcome = { kind: 'retry', code: 'exporter_error', detail: (error as Error).message };
      }
      if (this.isStopped()) return;
      const last = batch.at(-1)!.seq;
      if (outcome.kind === 'retry') {
        this.fail(outcome);
        return;
      }
      if (outcome.kind === 'delivered') {
        // Whatever an exporter (or the collector behind it) says, the counts stay within the batch.
        const unreadable = clampCount(outcome.unreadable, batch.length);
        const rejected = clampCount(outcome.rejected, batch.length - unreadable);
        this.lastSuccessAt = Date.now();
        this.attempt = 0;
        this.batches++;
        await this.options.spool.ack(last, {
          [counterNames.sent]: batch.length - unreadable - rejected,
          [counterNames.rejected]: rejected,
          [counterNames.deadLettered]: unreadable,
        });
        if (unreadable > 0)
          this.lastError = {
            code: 'record_unreadable',
            status: null,
            detail: `${unreadable} records could not be read`,
            at: new Date().toISOString(),
          };
      } else {
        this.lastError = {
          code: outcome.code,
          status: outcome.status ?? null,
          detail: boundDetail(outcome.detail),
          at: new Date().toISOString(),
        };
        await this.options.spool.ack(last, { [counterNames.deadLettered]: batch.length });
        this.options.logger?.warn('telemetry batch dead-lettered', {
          code: outcome.code,
          status: outcome.status,
          records: batch.length,
          first_sequence: batch[0]!.seq,
          last_sequence: last,
        });
      }
    }
    this.state = 'idle';
    this.nextAt = Date.now() + this.options.flushIntervalMs * (0.5 + this.random());
  }

  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private fail(outcome: Extract<SendOutcome, { kind: 'retry' }>): void {
    if (this.isStopped()) return;
    const delay =
      outcome.retryAfterMs !== undefined
        ? retryAfterDelay(outcome.retryAfterMs, this.random)
        : fullJitterDelay(
            this.attempt,
            this.random,
            this.options.backoffBaseMs ?? 1000,
            this.options.backoffCapMs ?? MAX_BACKOFF_MS,
          );
    this.attempt++;
    this.lastError = {
      code: outcome.code,
      status: outcome.status ?? null,
      detail: boundDetail(outcome.detail),
      at: new Date().toISOString(),
    };
    this.options.logger?.info('telemetry send failed; will retry', {
      code: outcome.code,
      status: outcome.status,
      retry_in_ms: delay,
      consecutive_failures: this.attempt,
    });
    this.state = 'backing_off';
    this.nextAt = Date.now() + delay;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
