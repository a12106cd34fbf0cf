// The daemon's logger on winston: JSON lines to <LogDirectory>/agent.log with size-based
// rotation (rotating-file.ts), audit records (entries with `audit: true`, such as the keychain
// scrub's) also to <LogDirectory>/audit.log with its own rotation, which nothing else writes:
// a flood of other lines cannot rotate the audit records away (issue 17 item 9), the console when running in the foreground, and the OS log (os_log on macOS,
// syslog on Linux) through the addon. Every transport sees only redacted entries.
// A log directory or file that root must not trust (agent/fs-safety.ts) disables the file log
// only: the refusal goes to the OS log and the console, and `fileProblem` carries it to status.
import path from 'node:path';
import winston from 'winston';
import Transport from 'winston-transport';
import { osLog, type OsLogLevel } from '../../native/log.js';
import type { Logger } from './logger.js';
import { isAgentLogSubsystem, LogCategories, type AgentLogSubsystem } from './os-log.js';
import { redactFields, redactMessage } from './redact.js';
import { RotatingFileTransport } from './rotating-file.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface AgentLoggerOptions {
  directory: string;
  level: LogLevel;
  /** Also write human-readable lines to stderr (foreground runs). */
  console: boolean;
  /** The os_log subsystem / syslog ident (the agent's own only); null disables the OS log. */
  subsystem: AgentLogSubsystem | null;
  /** Rotation: bytes per file and files kept (agent.log, agent1.log, …). */
  maxBytes?: number;
  maxFiles?: number;
  /** Also write audit.log (the daemon; a session's logger does not). */
  audit?: boolean;
  /** Rotation of audit.log (audit records only): bytes per file and files kept. */
  auditMaxBytes?: number;
  auditMaxFiles?: number;
}

export interface AgentLogger extends Logger {
  /** A logger whose entries carry `category` (the os_log category). */
  child(category: string): Logger;
  setLevel(level: LogLevel): void;
  readonly file: string;
  /** audit.log: the audit records only. */
  readonly auditFile: string;
  /** Why the file log is off (an unsafe log directory or file), or null when it is written. */
  readonly fileProblem: string | null;
  /** Flushes every transport and closes the file. */
  close(): Promise<void>;
}

const redactFormat = winston.format((info) => {
  const clean = redactFields({ ...info }) as winston.Logform.TransformableInfo;
  if (typeof clean.message === 'string') clean.message = redactMessage(clean.message);
  // winston keys its level on symbols, which Object spread keeps but redactFields does not.
  for (const symbol of Object.getOwnPropertySymbols(info))
    (clean as unknown as Record<symbol, unknown>)[symbol] = (info as unknown as Record<symbol, unknown>)[symbol];
  return clean;
});

/** Only the entries marked `audit: true` (what the audit log file takes). */
const auditOnly = winston.format((info) => (info.audit === true ? info : false));

const osLevels: Record<string, OsLogLevel> = { debug: 'debug', info: 'default', warn: 'default', error: 'error' };

/** Hands each entry to the OS log; a failure there must never stop the other transports. */
class OsLogTransport extends Transport {
  private readonly categories = new LogCategories();

  constructor(private readonly subsystem: AgentLogSubsystem) {
    super();
    if (!isAgentLogSubsystem(subsystem)) throw new TypeError(`not one of the agent's log subsystems: ${subsystem}`);
  }

  override log(info: Record<string, unknown>, next: () => void): void {
    try {
      const { level, message, category, timestamp: _t, ...fields } = info;
      const rest = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
      osLog(
        this.subsystem,
        this.categories.categoryFor(category),
        osLevels[String(level)] ?? 'default',
        `${String(message)}${rest}`,
      );
    } catch {
      // The OS log is best effort; the file log has the entry.
    }
    next();
  }
}

export function createAgentLogger(options: AgentLoggerOptions): AgentLogger {
  const file = path.join(options.directory, 'agent.log');
  let fileTransport: RotatingFileTransport | null = null;
  let fileProblem: string | null = null;
  try {
    fileTransport = new RotatingFileTransport({
      file,
      maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
      maxFiles: options.maxFiles ?? 5,
    });
    fileTransport.format = winston.format.combine(winston.format.timestamp(), winston.format.json());
  } catch (error) {
    fileProblem = `the file log is off: ${(error as Error).message}`;
  }
  const auditFile = path.join(options.directory, 'audit.log');
  let auditTransport: RotatingFileTransport | null = null;
  if (fileTransport && options.audit) {
    try {
      auditTransport = new RotatingFileTransport({
        file: auditFile,
        maxBytes: options.auditMaxBytes ?? 10 * 1024 * 1024,
        maxFiles: options.auditMaxFiles ?? 5,
      });
      auditTransport.format = winston.format.combine(auditOnly(), winston.format.timestamp(), winston.format.json());
      // Audit records are kept whatever LogLevel says.
      auditTransport.level = 'debug';
    } catch (error) {
      fileProblem = `the audit log is off: ${(error as Error).message}`;
    }
  }
  const transports: Transport[] = fileTransport ? [fileTransport] : [];
  if (auditTransport) transports.push(auditTransport);
  if (options.console) {
    transports.push(
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'debug'],
        format: winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss' }),
          winston.format.printf(({ timestamp, level, message, category, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level.padEnd(5)} [${String(category ?? 'agent')}] ${String(message)}${extra}`;
          }),
        ),
      }),
    );
  }
  if (options.subsystem) transports.push(new OsLogTransport(options.subsystem));
  // winston warns on the console when it has no transport at all; a silent one keeps it quiet.
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  const logger = winston.createLogger({ level: options.level, format: redactFormat(), transports, exitOnError: false });
  if (fileProblem) logger.error(fileProblem, { category: 'agent', code: 'unsafe_log_path' });

  const wrap = (category: string): Logger => ({
    debug: (message, fields) => logger.debug(message, { category, ...fields }),
    info: (message, fields) => logger.info(message, { category, ...fields }),
    warn: (message, fields) => logger.warn(message, { category, ...fields }),
    error: (message, fields) => logger.error(message, { category, ...fields }),
  });
  let closed: Promise<void> | undefined;
  return {
    ...wrap('agent'),
    child: wrap,
    setLevel(level) {
      logger.level = level;
    },
    file,
    auditFile,
    fileProblem,
    close() {
      closed ??= new Promise<void>((resolve) => {
        // File writes are synchronous: once the logger's stream has finished, all is on disk.
        const cap = setTimeout(resolve, 2000);
        logger.once('finish', () => {
          clearTimeout(cap);
          fileTransport?.close();
          auditTransport?.close();
          resolve();
        });
        logger.end();
      });
      return closed;
    },
  };
}
