// The logging interface every capability takes. agent/log builds it on winston; tests may
// pass a logger that records lines. `fields` become JSON keys; never put secrets in them.
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (standalone CLI commands that print their own output). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
