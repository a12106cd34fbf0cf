// Log capability (native/log.h): one write to the OS log.
import { describe, native } from './addon.js';

/** The OS log's levels: os_log_type_t on macOS, syslog priorities on Linux (notice for "default"). */
export type OsLogLevel = 'debug' | 'info' | 'default' | 'error' | 'fault';
const osLogLevels: readonly string[] = ['debug', 'info', 'default', 'error', 'fault'];

interface LogAddon {
  osLog(subsystem: string, category: string, level: OsLogLevel, message: string): void;
}

/**
 * Writes one message to the OS log: os_log on macOS (subsystem/category, "%{public}s"),
 * syslog(3) on Linux (ident = subsystem, facility LOG_DAEMON, "[category] message").
 */
export function osLog(
  subsystem: string,
  category: string,
  level: OsLogLevel,
  message: string,
  ...rest: unknown[]
): void {
  for (const [name, value] of [
    ['subsystem', subsystem],
    ['category', category],
    ['message', message],
  ] as const) {
    if (typeof value !== 'string') throw new TypeError(`osLog: ${name} must be a string, got ${describe(value)}`);
  }
  if (subsystem === '' || category === '') throw new TypeError('osLog: subsystem and category must not be empty');
  if (typeof level !== 'string' || !osLogLevels.includes(level)) {
    throw new TypeError(`osLog: level must be one of ${osLogLevels.join(', ')}, got ${JSON.stringify(level)}`);
  }
  if (rest.length !== 0) throw new TypeError(`osLog() takes four arguments, got ${rest.length + 4}`);
  // C strings end at NUL: make it visible instead of silently cutting the message.
  native<LogAddon>().osLog(subsystem, category, level, message.replaceAll('\0', '\\0'));
}
