// The daemon's wiring, in one place. Capabilities plug in through the returned Daemon:
//   daemon.scheduler.every('clock', ms, job)      a periodic job (runNow(name, reason) for "now")
//   daemon.status.section('clock', () => object)  a section of `agentctl status --json`
//   daemon.control.handle('measure', h, { mutating: true })   a control request
//   daemon.on('config', (change) => …)            a configuration reload changed keys
//   daemon.logger.child('clock')                  a logger with its os_log category
import { EventEmitter } from 'node:events';
import type { Capability } from '../capability.js';
import { adminSocketPath, systemConfigFiles } from '../config/defaults.js';
import { keyTable } from '../config/keys.js';
import { describeConfig, loadConfig, primarySource, type AgentConfig, type ResolvedConfig } from '../config/load.js';
import { ControlServer } from '../control/server.js';
import { statusText } from '../cli/status.js';
import { redactFields } from '../log/redact.js';
import { createAgentLogger, type AgentLogger } from '../log/winston.js';
import { watchConfigFiles, type ConfigWatch } from './config-watch.js';
import { removeStaleTemporaryFiles } from '../state/state-file.js';
import { lastGoodConfig, lastGoodDocument, restoredConfig, type LastGoodConfigFile } from './last-good.js';
import { acquireInstanceLock, type InstanceLock } from './lock.js';
import { readPermissions } from './permissions.js';
import { Scheduler } from './scheduler.js';
import { StatusRegistry } from './status.js';
import { Bus } from './bus.js';
import { productVersion } from '../version.js';

export interface DaemonOptions {
  /** `--config FILE`: replaces the system preference files (development, tests). */
  configFile?: string;
  /** Log to the console too (foreground runs). Default: when stderr is a terminal. */
  console?: boolean;
  /** Write to the OS log (os_log / syslog). Default true. */
  osLog?: boolean;
  /** Debounce for configuration file changes. */
  configDebounceMs?: number;
  /** `--state-dir DIR`: replaces StateDirectory (development, tests). */
  stateDirectory?: string;
  /** Attached in order before the control sockets open, so the first status has every section. */
  capabilities?: readonly Capability[];
}

export interface ConfigChange {
  config: AgentConfig;
  previous: AgentConfig;
  changed: string[];
  problems: string[];
}

export interface ReloadResult {
  reason: string;
  changed: string[];
  problems: string[];
  kept_previous: boolean;
}

export interface Daemon {
  readonly version: string;
  /** The configuration in force (replaced on reload: read it when needed, do not keep it). */
  readonly config: AgentConfig;
  readonly resolved: ResolvedConfig;
  readonly logger: AgentLogger;
  readonly scheduler: Scheduler;
  readonly status: StatusRegistry;
  readonly control: ControlServer;
  /** Topics and events shared between capabilities (agent/daemon/bus.ts). */
  readonly bus: Bus;
  on(event: 'config', listener: (change: ConfigChange) => void): this;
  on(event: 'stopping', listener: () => void): this;
  /** Re-reads the configuration; what changed is logged and emitted as 'config'. */
  reload(reason: string): Promise<ReloadResult>;
  /** Stops accepting, finishes in-flight work, flushes logs, removes sockets, releases the lock. */
  stop(): Promise<void>;
}

class AgentDaemon extends EventEmitter implements Daemon {
  readonly version = productVersion();
  readonly scheduler: Scheduler;
  readonly status = new StatusRegistry();
  readonly bus: Bus;
  readonly control: ControlServer;
  private readonly startedAt = Date.now();
  private lastReloadAt: number | null = null;
  private lastProblems: string[];
  private watch: ConfigWatch | null = null;
  private stopped: Promise<void> | null = null;
  private reloading: Promise<ReloadResult> | null = null;

  constructor(
    private current: ResolvedConfig,
    readonly logger: AgentLogger,
    private readonly lock: InstanceLock,
    private readonly options: DaemonOptions,
    private readonly lastGood: LastGoodConfigFile,
  ) {
    super();
    this.lastProblems = current.problems;
    this.scheduler = new Scheduler(logger.child('scheduler'));
    this.bus = new Bus((where, error) =>
      logger.error('a bus listener failed', { where, error: (error as Error).message }),
    );
    this.control = new ControlServer({ socketPath: current.config.ControlSocketPath, logger: logger.child('control') });
  }

  get config(): AgentConfig {
    return this.current.config;
  }

  get resolved(): ResolvedConfig {
    return this.current;
  }

  async start(): Promise<void> {
    this.status.section('daemon', () => this.daemonSection());
    this.status.section('permissions', () => readPermissions());
    // Read-only answers, for any local user: no secret, no URL credentials (agent/log/redact.ts).
    this.control.handle('status', async () => redactFields(await this.status.collect()), { mutating: false });
    // `agentctl status`'s human view, rendered here from the same redacted answer (statusText).
    this.control.handle(
      'status.text',
      async (args) => statusText(redactFields(await this.status.collect()) as Record<string, unknown>, args),
      { mutating: false },
    );
    this.control.handle(
      'config',
      () =>
        redactFields({ files: this.current.files, problems: this.lastProblems, keys: describeConfig(this.current) }),
      { mutating: false },
    );
    this.control.handle('reload', () => this.reload('control request'), { mutating: true });
    for (const capability of this.options.capabilities ?? []) {
      try {
        await capability.attach?.(this);
      } catch (error) {
        // One broken capability must not take the others (or status) down with it.
        this.logger.error(`capability ${capability.name} could not start`, {
          capability: capability.name,
          error: (error as Error).message,
        });
      }
    }
    await this.control.start();
    const watched = this.options.configFile ? [this.options.configFile] : [...systemConfigFiles];
    this.watch = watchConfigFiles(
      watched,
      (file) => void this.reload(`${file} changed`),
      this.options.configDebounceMs ?? 500,
    );
    this.logger.info('agentd started', {
      version: this.version,
      pid: process.pid,
      config_source: primarySource(this.current),
      mode: this.config.Mode,
      control_socket: this.control.socketPath,
    });
    this.logProblems(this.current.problems);
    await this.saveLastGood(this.current);
  }

  /** Keeps the configuration in force for the next start. */
  private async saveLastGood(resolved: ResolvedConfig): Promise<void> {
    try {
      await this.lastGood.write(lastGoodDocument(resolved));
    } catch (error) {
      this.logger.error(`the last good configuration could not be saved (${(error as Error).message})`, {
        file: this.lastGood.path,
      });
    }
  }

  reload(reason: string): Promise<ReloadResult> {
    // Reloads never run concurrently; one that arrives during another runs after it.
    const run = async (): Promise<ReloadResult> => {
      const previous = this.current;
      const loaded = await loadConfig({ configFile: this.options.configFile, previous, isolated: true });
      const next: ResolvedConfig = {
        config: { ...loaded.config },
        sources: { ...loaded.sources },
        files: loaded.files,
        problems: loaded.problems,
      };
      const { keys, names } = keyTable();
      for (const name of names) {
        if (keys[name]!.restart && !sameValue(next.config[name], previous.config[name])) {
          next.problems.push(
            `${name} changed to ${JSON.stringify(next.config[name])}; it takes effect when the daemon restarts (keeping ${JSON.stringify(previous.config[name])})`,
          );
          (next.config as Record<string, unknown>)[name] = previous.config[name];
          next.sources[name] = previous.sources[name]!;
        }
      }
      const changed = names.filter((name) => !sameValue(next.config[name], previous.config[name]));
      this.current = next;
      this.lastProblems = next.problems;
      this.lastReloadAt = Date.now();
      this.logger.info('configuration reloaded', {
        reason,
        changed,
        kept_previous: loaded.keptPrevious,
        config_source: primarySource(next),
      });
      this.logProblems(next.problems);
      if (!loaded.keptPrevious) await this.saveLastGood(next);
      if (changed.includes('LogLevel')) this.logger.setLevel(next.config.LogLevel);
      if (changed.length > 0) {
        const change: ConfigChange = {
          config: next.config,
          previous: previous.config,
          changed,
          problems: next.problems,
        };
        try {
          this.emit('config', change);
        } catch (error) {
          this.logger.error('a capability failed to apply the new configuration', { error: (error as Error).message });
        }
      }
      return { reason, changed, problems: next.problems, kept_previous: loaded.keptPrevious };
    };
    const queued = (this.reloading ?? Promise.resolve()).catch(() => undefined).then(run);
    this.reloading = queued;
    return queued;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.logger.info('agentd stopping', { running_jobs: this.scheduler.runningJobs() });
      this.emit('stopping');
      this.watch?.close();
      await Promise.all([this.control.stop(), this.scheduler.stop()]);
      await this.reloading?.catch(() => undefined);
      this.logger.info('agentd stopped');
      await this.logger.close();
      this.lock.release();
    })();
    return this.stopped;
  }

  private daemonSection(): Record<string, unknown> {
    return {
      version: this.version,
      pid: process.pid,
      uptime_s: Math.floor((Date.now() - this.startedAt) / 1000),
      started_at: new Date(this.startedAt).toISOString(),
      mode: this.config.Mode,
      config_source: primarySource(this.current),
      config_files: this.current.files,
      config_problems: this.lastProblems,
      last_reload_at: this.lastReloadAt === null ? null : new Date(this.lastReloadAt).toISOString(),
      control_socket: this.control.socketPath,
      admin_socket: adminSocketPath(this.control.socketPath),
      log_file: this.logger.file,
      // Why the file log is off (an unsafe log directory or file: docs/security.md), else null.
      log_problem: this.logger.fileProblem,
      control: this.control.load(),
      state_directory: this.config.StateDirectory,
      rss_bytes: process.memoryUsage.rss(),
      jobs: this.scheduler.status(),
    };
  }

  private logProblems(problems: string[]): void {
    for (const problem of problems) this.logger.warn(`configuration problem: ${problem}`, { category: 'config' });
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Loads the configuration, takes the instance lock, opens the logs and the control sockets. */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const fixState = <T extends ResolvedConfig>(loaded: T): T => {
    if (options.stateDirectory === undefined) return loaded;
    return {
      ...loaded,
      config: { ...loaded.config, StateDirectory: options.stateDirectory },
      sources: { ...loaded.sources, StateDirectory: '--state-dir' },
    };
  };
  // Parsed in a child process, bounded (agent/config/bounded-parse.ts): no file stops the daemon.
  const fresh = fixState(await loadConfig({ configFile: options.configFile, isolated: true }));
  const lock = acquireInstanceLock(fresh.config.StateDirectory);
  let logger: AgentLogger | undefined;
  try {
    const stale = removeStaleTemporaryFiles(fresh.config.StateDirectory);
    const lastGood = lastGoodConfig(fresh.config.StateDirectory);
    // A profile that does not parse, or keys that do not validate, fall back to the last good
    // values of the previous run, not to the defaults: an MDM pushing a broken profile must not
    // silently drop a fleet from enforce to observe.
    const previous = lastGood.read();
    const resolved =
      fresh.problems.length > 0 && previous.status === 'ok'
        ? fixState(
            await loadConfig({
              configFile: options.configFile,
              previous: restoredConfig(previous.value),
              isolated: true,
            }),
          )
        : fresh;
    logger = createAgentLogger({
      directory: resolved.config.LogDirectory,
      level: resolved.config.LogLevel,
      console: options.console ?? process.stderr.isTTY === true,
      subsystem: options.osLog === false ? null : 'com.trustguard.agent',
      audit: true,
    });
    if (stale.length > 0) logger.info('removed temporary files of an interrupted write', { files: stale });
    if (previous.status === 'corrupt')
      logger.warn(`the last good configuration could not be read (${previous.reason})`, { file: lastGood.path });
    const daemon = new AgentDaemon(resolved, logger, lock, options, lastGood);
    await daemon.start();
    return daemon;
  } catch (error) {
    logger?.error('agentd could not start', { error: (error as Error).message });
    await logger?.close();
    lock.release();
    throw error;
  }
}
