// Typed wrapper around the addon. Every argument is checked here, before it reaches C++,
// so that a wrong call is a TypeError and never a crash.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

interface Addon {
  wallClock(): number;
  continuousClock(): number;
  kernelTimeStatus(): KernelTimeStatus;
  ClockWatch: new (callback: (event: ClockChangeEvent) => void) => NativeClockWatch;
  osLog(subsystem: string, category: string, level: OsLogLevel, message: string): void;
  tryLockExclusive(fd: number): boolean;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function loadAddon(): Addon {
  const candidates = ['Release', 'Debug'].map((dir) => path.join(packageRoot, 'build', dir, 'trustguard.node'));
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new Error(`TrustGuard's native addon is not built (looked for ${candidates[0]}). Run: npm ci`);
  }
  return createRequire(import.meta.url)(found) as Addon;
}

let addon: Addon | undefined;
function native(): Addon {
  addon ??= loadAddon();
  return addon;
}

function expectNoArguments(name: string, args: unknown[]): void {
  if (args.length !== 0) throw new TypeError(`${name}() takes no arguments, got ${args.length}`);
}

/** Wall clock as Unix time in milliseconds, read by the OS (CFAbsoluteTimeGetCurrent / clock_gettime). */
export function wallClock(...args: unknown[]): number {
  expectNoArguments('wallClock', args);
  return native().wallClock();
}

/** Milliseconds on a clock that never steps and counts through sleep (mach_continuous_time / CLOCK_BOOTTIME). */
export function continuousClock(...args: unknown[]): number {
  expectNoArguments('continuousClock', args);
  return native().continuousClock();
}

export function kernelTimeStatus(...args: unknown[]): KernelTimeStatus {
  expectNoArguments('kernelTimeStatus', args);
  return native().kernelTimeStatus();
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
  const watch = new (native().ClockWatch)((event) => callback(event));
  live.add(watch);
  return {
    stop() {
      if (!live.delete(watch)) return;
      watch.stop();
    },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** The OS log's levels: os_log_type_t on macOS, syslog priorities on Linux (notice for "default"). */
export type OsLogLevel = 'debug' | 'info' | 'default' | 'error' | 'fault';
const osLogLevels: readonly string[] = ['debug', 'info', 'default', 'error', 'fault'];

/**
 * Writes one message to the OS log: os_log on macOS (subsystem/category, "%{public}s"),
 * syslog(3) on Linux (ident = subsystem, facility LOG_DAEMON, "[category] message").
 */
export function osLog(subsystem: string, category: string, level: OsLogLevel, message: string, ...rest: unknown[]): void {
  for (const [name, value] of [['subsystem', subsystem], ['category', category], ['message', message]] as const) {
    if (typeof value !== 'string') throw new TypeError(`osLog: ${name} must be a string, got ${describe(value)}`);
  }
  if (subsystem === '' || category === '') throw new TypeError('osLog: subsystem and category must not be empty');
  if (typeof level !== 'string' || !osLogLevels.includes(level)) {
    throw new TypeError(`osLog: level must be one of ${osLogLevels.join(', ')}, got ${JSON.stringify(level)}`);
  }
  if (rest.length !== 0) throw new TypeError(`osLog() takes four arguments, got ${rest.length + 4}`);
  // C strings end at NUL: make it visible instead of silently cutting the message.
  native().osLog(subsystem, category, level, message.replaceAll('\0', '\\0'));
}

/**
 * flock(fd, LOCK_EX | LOCK_NB): true when this process now holds the lock, false when another
 * process does. The OS drops the lock when the process exits, however it exits.
 */
export function tryLockExclusive(fd: number, ...rest: unknown[]): boolean {
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`tryLockExclusive: fd must be a non-negative integer, got ${String(fd)}`);
  if (rest.length !== 0) throw new TypeError(`tryLockExclusive() takes one argument, got ${rest.length + 1}`);
  return native().tryLockExclusive(fd);
}
