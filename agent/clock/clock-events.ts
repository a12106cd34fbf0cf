// When to measure at once: the OS says the wall clock was set (native watcher), or a drift
// check sees the wall clock jump against the continuous clock (a step the notification
// missed), or the continuous clock ran ahead of the monotonic one (the machine slept: on
// wake the clock may be far off until the OS resyncs).
import { continuousClock, wallClock, watchClockChanges, type ClockChangeEvent } from '../../native/clock.js';
import type { ClockEventReason } from './codes.js';

export type { ClockEventReason };

export interface ClockEventsOptions {
  onEvent(reason: ClockEventReason, detail: { jumpMs?: number; sleptMs?: number }): void;
  /** How often the drift check runs. */
  checkIntervalMs?: number;
  /** A change of wall − continuous beyond this is a step. */
  jumpThresholdMs?: number;
  /** Continuous − monotonic growing by more than this means the machine slept. */
  wakeThresholdMs?: number;
  /** Injected for tests; default is the native watcher. */
  watch?: (callback: (event: ClockChangeEvent) => void) => { stop(): void };
}

interface Baseline {
  wallMinusContinuous: number;
  continuousMinusMonotonic: number;
}

function monotonicMs(): number {
  // process.hrtime is CLOCK_MONOTONIC / mach_absolute_time: it stops while the machine sleeps.
  return Number(process.hrtime.bigint()) / 1e6;
}

// The clocks are read one after another; if the thread is preempted in between (common on
// busy or virtual machines) the pair looks like a jump. So the wall clock is bracketed by two
// continuous-clock reads and the tightest of a few tries is kept, as chrony does for its
// clock pairs.
const pairWindowMs = 0.02;
const pairTries = 5;

function readBaseline(): Baseline {
  let best: { window: number; baseline: Baseline } | undefined;
  for (let i = 0; i < pairTries; i++) {
    const before = continuousClock();
    const wall = wallClock();
    const monotonic = monotonicMs();
    const after = continuousClock();
    const continuous = (before + after) / 2;
    const window = after - before;
    if (!best || window < best.window) {
      best = { window, baseline: { wallMinusContinuous: wall - continuous, continuousMinusMonotonic: continuous - monotonic } };
    }
    if (window <= pairWindowMs) break;
  }
  return best!.baseline;
}

export function watchClockEvents(options: ClockEventsOptions): { stop(): void } {
  const checkIntervalMs = options.checkIntervalMs ?? 10_000;
  const jumpThresholdMs = options.jumpThresholdMs ?? 1000;
  const wakeThresholdMs = options.wakeThresholdMs ?? 5000;
  let baseline = readBaseline();

  const subscription = (options.watch ?? watchClockChanges)(() => {
    // The step is already reported: the drift check starts from the new clock.
    baseline = readBaseline();
    options.onEvent('clock_set', {});
  });

  const timer = setInterval(() => {
    const now = readBaseline();
    const jumpMs = now.wallMinusContinuous - baseline.wallMinusContinuous;
    const sleptMs = now.continuousMinusMonotonic - baseline.continuousMinusMonotonic;
    baseline = now;
    if (sleptMs > wakeThresholdMs) options.onEvent('wake', { sleptMs });
    else if (Math.abs(jumpMs) > jumpThresholdMs) options.onEvent('clock_jump', { jumpMs });
  }, checkIntervalMs);
  // The drift check alone must not keep the process alive.
  timer.unref();

  return {
    stop() {
      clearInterval(timer);
      subscription.stop();
    },
  };
}
