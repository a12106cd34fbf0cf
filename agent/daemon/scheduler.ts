// Runs the daemon's periodic jobs (clock measurements, trust checks, telemetry flushes,
// heartbeats). One job never overlaps itself: a runNow() during a run queues exactly one
// follow-up run. stop() aborts the jobs' signal and waits for the runs in flight.
import type { Logger } from '../log/logger.js';

export interface JobContext {
  /** Why this run happens: "interval", "start", or what runNow() was given. */
  reason: string;
  /** Aborted when the daemon shuts down: long jobs should stop early. */
  signal: AbortSignal;
}

export type Job = (context: JobContext) => Promise<void> | void;

export interface JobOptions {
  /** Run once right away (default true). */
  immediate?: boolean;
}

export interface JobStatus {
  interval_s: number;
  running: boolean;
  runs: number;
  last_run_at: string | null;
  last_reason: string | null;
  last_duration_ms: number | null;
  last_error: string | null;
  next_run_at: string | null;
}

interface Entry {
  name: string;
  intervalMs: number;
  job: Job;
  timer: NodeJS.Timeout | null;
  nextRunAt: number | null;
  running: Promise<void> | null;
  /** A follow-up run requested while running; all its callers wait for it. */
  queued: { reason: string; done: Promise<void>; resolve: () => void } | null;
  runs: number;
  lastRunAt: number | null;
  lastReason: string | null;
  lastDurationMs: number | null;
  lastError: string | null;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  /** Runs `job` every `intervalMs` (measured from the start of one run to the next). */
  every(name: string, intervalMs: number, job: Job, options: JobOptions = {}): void {
    if (this.entries.has(name)) throw new Error(`job "${name}" is already scheduled`);
    checkInterval(intervalMs);
    const entry: Entry = {
      name,
      intervalMs,
      job,
      timer: null,
      nextRunAt: null,
      running: null,
      queued: null,
      runs: 0,
      lastRunAt: null,
      lastReason: null,
      lastDurationMs: null,
      lastError: null,
    };
    this.entries.set(name, entry);
    if (options.immediate ?? true) void this.runNow(name, 'start');
    else this.arm(entry, intervalMs);
  }

  /** Changes a job's interval (e.g. after a configuration reload); the next run is re-timed. */
  setInterval(name: string, intervalMs: number): void {
    const entry = this.get(name);
    checkInterval(intervalMs);
    if (entry.intervalMs === intervalMs) return;
    entry.intervalMs = intervalMs;
    if (!entry.running) this.arm(entry, Math.max(0, (entry.lastRunAt ?? Date.now()) + intervalMs - Date.now()));
  }

  /**
   * Runs the job now (or right after the run in progress) and resolves when that run has
   * finished. Never rejects: a job's failure is logged and shown in status.
   */
  runNow(name: string, reason: string): Promise<void> {
    const entry = this.get(name);
    if (this.stopped) return Promise.resolve();
    if (entry.running) {
      if (!entry.queued) {
        let resolve!: () => void;
        const done = new Promise<void>((r) => (resolve = r));
        entry.queued = { reason, done, resolve };
      }
      return entry.queued.done;
    }
    return this.start(entry, reason);
  }

  status(): Record<string, JobStatus> {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const out: Record<string, JobStatus> = {};
    for (const e of this.entries.values()) {
      out[e.name] = {
        interval_s: e.intervalMs / 1000,
        running: e.running !== null,
        runs: e.runs,
        last_run_at: iso(e.lastRunAt),
        last_reason: e.lastReason,
        last_duration_ms: e.lastDurationMs,
        last_error: e.lastError,
        next_run_at: iso(e.nextRunAt),
      };
    }
    return out;
  }

  /** Stops timers, aborts the jobs' signal and waits for the runs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const e of this.entries.values()) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      e.nextRunAt = null;
      e.queued?.resolve();
      e.queued = null;
    }
    await Promise.all([...this.entries.values()].map((e) => e.running));
  }

  runningJobs(): string[] {
    return [...this.entries.values()].filter((e) => e.running).map((e) => e.name);
  }

  private get(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no job named "${name}"`);
    return entry;
  }

  private arm(entry: Entry, delayMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (this.stopped) return;
    entry.nextRunAt = Date.now() + delayMs;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      void this.runNow(entry.name, 'interval');
    }, delayMs);
  }

  private start(entry: Entry, reason: string): Promise<void> {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.nextRunAt = null;
    const startedAt = Date.now();
    const started = performance.now();
    entry.lastRunAt = startedAt;
    entry.lastReason = reason;
    const run = (async () => {
      try {
        await entry.job({ reason, signal: this.abort.signal });
        entry.lastError = null;
      } catch (error) {
        entry.lastError = (error as Error).message ?? String(error);
        this.logger.error(`job ${entry.name} failed`, { job: entry.name, reason, error: entry.lastError });
      } finally {
        entry.runs += 1;
        entry.lastDurationMs = Math.round(performance.now() - started);
      }
    })();
    entry.running = run.then(() => {
      entry.running = null;
      const queued = entry.queued;
      entry.queued = null;
      if (queued && !this.stopped) {
        void this.start(entry, queued.reason).then(queued.resolve);
      } else {
        queued?.resolve();
        this.arm(entry, Math.max(0, startedAt + entry.intervalMs - Date.now()));
      }
    });
    return entry.running;
  }
}

function checkInterval(ms: number): void {
  if (!Number.isFinite(ms) || ms < 10) throw new RangeError(`a job interval must be at least 10 ms, got ${ms}`);
}

/**
 * Resolves with the work's result, or with undefined as soon as the job's signal aborts (the
 * daemon is stopping: a round cut short is no evidence, and agentd must exit within 5 s).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
