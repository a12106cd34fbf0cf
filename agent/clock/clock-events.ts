// When to measure at once: the OS says the wall clock may have been set (native watcher), or a
// drift check sees the wall clock jump against the continuous clock (a step the notification
// missed: on macOS only Libc's settimeofday() posts it), or the continuous clock ran ahead of
// the monotonic one (the machine slept: on wake the clock may be far off until the OS resyncs).
// Both clocks of that pair are the addon's (mach_continuous_time/mach_absolute_time,
// CLOCK_BOOTTIME/CLOCK_MONOTONIC), never process.hrtime, which counts sleep on macOS.
import {
  continuousClock,
  monotonicClock,
  wallClock,
  watchClockChanges,
  type ClockChangeEvent,
} from '../../native/clock.js';
import type { ClockEventReason } from './codes.js';

export type { ClockEventReason };

/** The clocks the drift check reads; the native ones unless a test injects others. */
export interface DriftClocks {
  wall(): number;
  /** Never steps, counts sleep. */
  continuous(): number;
  /** Never steps, stops during sleep. */
  monotonic(): number;
}

export interface ClockEventsOptions {
  onEvent(reason: ClockEventReason, detail: { jumpMs?: number; sleptMs?: number }): void;
  /** The OS watcher stopped working (the drift check goes on); `error` says why. */
  onWatchFailed?(error: string): void;
  /** How often the drift check runs. */
  checkIntervalMs?: number;
  /** A change of wall − continuous beyond this is a step. */
  jumpThresholdMs?: number;
  /** Continuous − monotonic growing by more than this means the machine slept. */
  wakeThresholdMs?: number;
  /** Injected for tests; default is the native watcher. */
  watch?: (callback: (event: ClockChangeEvent) => void) => { stop(): void };
  /** Injected for tests; default is the native clocks. */
  clocks?: DriftClocks;
}

export interface Baseline {
  wallMinusContinuous: number;
  continuousMinusMonotonic: number;
}

const nativeClocks: DriftClocks = { wall: wallClock, continuous: continuousClock, monotonic: monotonicClock };

// The clocks are read one after another; if the thread is preempted in between (common on
// busy or virtual machines) the pair looks like a jump. So the wall and monotonic clocks are
// bracketed by two continuous-clock reads and the tightest of a few tries is kept, as chrony
// does for its clock pairs.
const pairWindowMs = 0.02;
const pairTries = 5;

export function readBaseline(clocks: DriftClocks = nativeClocks): Baseline {
  let best: { window: number; baseline: Baseline } | undefined;
  for (let i = 0; i < pairTries; i++) {
    const before = clocks.continuous();
    const wall = clocks.wall();
    const monotonic = clocks.monotonic();
    const after = clocks.continuous();
    const continuous = (before + after) / 2;
    const window = after - before;
    if (!best || window < best.window) {
      best = {
        window,
        baseline: { wallMinusContinuous: wall - continuous, continuousMinusMonotonic: continuous - monotonic },
      };
    }
    if (window <= pairWindowMs) break;
  }
  return best!.baseline;
}

/**
 * What happened between two baselines: `jumpMs` is how far the wall clock moved against the
 * continuous clock (a step), `sleptMs` how much longer the continuous clock ran than the
 * monotonic one (time asleep: continuous − monotonic is the total sleep since boot on both OSes).
 */
export function drift(previous: Baseline, now: Baseline): { jumpMs: number; sleptMs: number } {
  return {
    jumpMs: now.wallMinusContinuous - previous.wallMinusContinuous,
    sleptMs: now.continuousMinusMonotonic - previous.continuousMinusMonotonic,
  };
}

export function watchClockEvents(options: ClockEventsOptions): { stop(): void } {
  const checkIntervalMs = options.checkIntervalMs ?? 10_000;
  const jumpThresholdMs = options.jumpThresholdMs ?? 1000;
  const wakeThresholdMs = options.wakeThresholdMs ?? 5000;
  const clocks = options.clocks ?? nativeClocks;
  let stopped = false;
  let baseline = readBaseline(clocks);

  const subscription = (options.watch ?? watchClockChanges)((event) => {
    if (stopped) return;
    if (event.kind === 'watch_failed') {
      options.onWatchFailed?.(event.error);
      return;
    }
    // "The clock may have been set": on Linux this also comes on resume, so say wake when the
    // pair shows a sleep. The baseline restarts from the new clock: the step is reported.
    const now = readBaseline(clocks);
    const { jumpMs, sleptMs } = drift(baseline, now);
    baseline = now;
    if (sleptMs > wakeThresholdMs) options.onEvent('wake', { sleptMs });
    else options.onEvent('clock_set', { jumpMs });
  });

  const timer = setInterval(() => {
    const now = readBaseline(clocks);
    const { jumpMs, sleptMs } = drift(baseline, now);
    baseline = now;
    if (sleptMs > wakeThresholdMs) options.onEvent('wake', { sleptMs });
    else if (Math.abs(jumpMs) > jumpThresholdMs) options.onEvent('clock_jump', { jumpMs });
  }, checkIntervalMs);
  // The drift check alone must not keep the process alive.
  timer.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      subscription.stop();
    },
  };
}
