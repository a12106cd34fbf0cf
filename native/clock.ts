// Clock capability (native/clock.h): wall, continuous and monotonic clocks, the kernel's NTP
// status, and clock-change events.
import { describe, expectNoArguments, native } from './addon.js';

/** The kernel's NTP discipline state, as the kernel reports it (advisory only). */
export interface KernelTimeStatus {
  /** TIME_OK=0, TIME_INS=1, TIME_DEL=2, TIME_OOP=3, TIME_WAIT=4, TIME_ERROR=5. */
  state: number;
  maxErrorUs: number;
  estErrorUs: number;
  /** STA_* flags (STA_UNSYNC = 0x40: the kernel considers itself unsynchronised). */
  statusFlags: number;
  /** The kernel PLL's current offset, microseconds. */
  offsetUs: number;
}

/**
 * What the OS watcher reports. `clock_set` means "the wall clock may have been set: measure
 * now" — on macOS Libc's settimeofday() posted com.apple.system.clock_set (possibly one post for
 * several sets); on Linux CLOCK_REALTIME was set or the machine resumed. `watch_failed` means
 * the watcher stopped working and reports nothing more (the drift check still covers steps).
 * The stamps are read on the watcher's thread when its handler ran, i.e. shortly after the
 * event, not at the moment the clock was set.
 */
export type ClockChangeEvent =
  | { kind: 'clock_set'; wallMs: number; continuousMs: number }
  | { kind: 'watch_failed'; error: string; wallMs: number; continuousMs: number };

export interface ClockChangeSubscription {
  stop(): void;
}

interface NativeClockWatch {
  stop(): void;
}

interface ClockAddon {
  wallClock(): number;
  continuousClock(): number;
  monotonicClock(): number;
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

/**
 * Milliseconds on a clock that never steps and stops while the machine sleeps
 * (mach_absolute_time / CLOCK_MONOTONIC). continuousClock() − monotonicClock() is the time slept
 * since boot. Not process.hrtime(): on macOS libuv reads mach_continuous_time for it.
 */
export function monotonicClock(...args: unknown[]): number {
  expectNoArguments('monotonicClock', args);
  return native<ClockAddon>().monotonicClock();
}

/** The kernel's NTP state, read without changing it (ntp_adjtime / adjtimex with modes = 0). */
export function kernelTimeStatus(...args: unknown[]): KernelTimeStatus {
  expectNoArguments('kernelTimeStatus', args);
  return native<ClockAddon>().kernelTimeStatus();
}

// Live subscriptions are referenced here so that garbage collection cannot end them silently.
const live = new Set<NativeClockWatch>();

/**
 * Calls `callback` for each clock-change event until `stop()`; never after `stop()` returned,
 * even for an event the OS delivered before. The subscription keeps the process alive until
 * `stop()` is called. Do not expect one event per step: see ClockChangeEvent.
 */
export function watchClockChanges(
  callback: (event: ClockChangeEvent) => void,
  ...rest: unknown[]
): ClockChangeSubscription {
  if (typeof callback !== 'function') {
    throw new TypeError(`watchClockChanges(callback) expects a function, got ${describe(callback)}`);
  }
  if (rest.length !== 0) throw new TypeError(`watchClockChanges() takes one argument, got ${rest.length + 1}`);
  // The binding drops what is still queued once stop() ran; this check says the same in JS.
  const watch: NativeClockWatch = new (native<ClockAddon>().ClockWatch)((event) => {
    if (live.has(watch)) callback(event);
  });
  live.add(watch);
  return {
    stop() {
      if (!live.delete(watch)) return;
      watch.stop();
    },
  };
}
