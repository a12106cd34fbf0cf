// Clock capability (native/clock.h): wall and continuous clocks, the kernel's NTP status,
// and clock-change events.
import { describe, expectNoArguments, native } from './addon.js';

/** The kernel's NTP discipline state, as the kernel reports it (advisory only). */
export interface KernelTimeStatus {
  /** TIME_OK=0, TIME_INS=1, TIME_DEL=2, TIME_OOP=3, TIME_WAIT=4, TIME_ERROR=5. */
  state: number;
  maxErrorUs: number;
  estErrorUs: number;
  /** STA_* flags; null where the OS does not report them (macOS ntp_gettime). */
  statusFlags: number | null;
  /** The kernel PLL's current offset; null where the OS does not report it. */
  offsetUs: number | null;
}

export interface ClockChangeEvent {
  kind: 'clock_set';
  /** Wall clock (Unix ms) and continuous clock (ms) read on the OS thread when it fired. */
  wallMs: number;
  continuousMs: number;
}

export interface ClockChangeSubscription {
  stop(): void;
}

interface NativeClockWatch {
  stop(): void;
}

interface ClockAddon {
  wallClock(): number;
  continuousClock(): number;
  kernelTimeStatus(): KernelTimeStatus;
  ClockWatch: new (callback: (event: ClockChangeEvent) => void) => NativeClockWatch;
}

/** Wall clock as Unix time in milliseconds, read by the OS (CFAbsoluteTimeGetCurrent / clock_gettime). */
export function wallClock(...args: unknown[]): number {
  expectNoArguments('wallClock', args);
  return native<ClockAddon>().wallClock();
}

/** Milliseconds on a clock that never steps and counts through sleep (mach_continuous_time / CLOCK_BOOTTIME). */
export function continuousClock(...args: unknown[]): number {
  expectNoArguments('continuousClock', args);
  return native<ClockAddon>().continuousClock();
}

export function kernelTimeStatus(...args: unknown[]): KernelTimeStatus {
  expectNoArguments('kernelTimeStatus', args);
  return native<ClockAddon>().kernelTimeStatus();
}

// Live subscriptions are referenced here so that garbage collection cannot end them silently.
const live = new Set<NativeClockWatch>();

/**
 * Calls `callback` each time the wall clock is set. The subscription keeps the process alive
 * until `stop()` is called.
 */
export function watchClockChanges(callback: (event: ClockChangeEvent) => void, ...rest: unknown[]): ClockChangeSubscription {
  if (typeof callback !== 'function') {
    throw new TypeError(`watchClockChanges(callback) expects a function, got ${describe(callback)}`);
  }
  if (rest.length !== 0) throw new TypeError(`watchClockChanges() takes one argument, got ${rest.length + 1}`);
  const watch = new (native<ClockAddon>().ClockWatch)((event) => callback(event));
  live.add(watch);
  return {
    stop() {
      if (!live.delete(watch)) return;
      watch.stop();
    },
  };
}
