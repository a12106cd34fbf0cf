// The capability contract. Each capability folder (agent/<name>/) exports one descriptor from
// its index.ts; agent/capabilities.ts lists them. agentd attaches them, agentctl builds its
// commands and help from their metadata, and `status` renders their sections: neither
// agent/daemon nor agent/cli names a capability.
//
// index.ts stays light: it is imported by `agentctl status` and `agentctl --help`, which must
// start at once. Command code, the configuration keys (zod) and the daemon-side service are
// behind the descriptor's loaders and imported only when used.
import type { KeySpec } from './config/key-spec.js';
import type { Daemon } from './daemon/daemon.js';
import type { ExitCode } from './exit-codes.js';

/** A flag of an agentctl command, e.g. `--json` or `--ntp <host[:port]>`. */
export interface FlagSpec {
  /** Long name without dashes: 'json', 'dry-run'. */
  name: string;
  /** Placeholder of a flag that takes a value ('<file>'); absent for a boolean flag. */
  value?: string;
  description: string;
  /** The flag may be given several times; its value is then an array. */
  multiple?: boolean;
  choices?: readonly string[];
  required?: boolean;
  /** The value is an integer in this range (parsed to a number). */
  integer?: { min: number; max: number };
}

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes the rest of the arguments. */
  variadic?: boolean;
}

export type FlagValue = boolean | string | number | string[] | number[] | undefined;

export interface CommandInput {
  /** Positional arguments, in order. */
  args: string[];
  /** Flags by name ('dry-run', not 'dryRun'); absent flags are undefined. */
  flags: Record<string, FlagValue>;
}

/** What a command's file exports (loaded on demand). Returns the process exit code. */
export interface CommandModule {
  run(input: CommandInput): Promise<number>;
}

/** An agentctl command: metadata only; its code is behind load(). */
export interface CommandDescriptor {
  /** 'time', or 'config show' for a subcommand of a group. */
  name: string;
  summary: string;
  args?: readonly ArgSpec[];
  flags?: readonly FlagSpec[];
  /** Refuses to run unless root (mutating commands). */
  needsRoot: boolean;
  /** Talks to the running daemon (and says so in one sentence when it is unreachable). */
  needsDaemon: boolean;
  /** Its exit codes, for `--help`: [code, when]. */
  exits?: ReadonlyArray<readonly [number, string]>;
  load(): Promise<CommandModule>;
}

/** How bad a problem is: an error is broken now, a warning will be or weakens the agent. */
export type ProblemSeverity = 'error' | 'warning';

/**
 * One problem of `agentctl status` (and `status --json` `problems[]`): a stable code from the
 * section's `problemCodes` (documented in docs/codes.md), one sentence for a person, and the fix.
 * Any problem makes `status` exit 2.
 */
export interface Problem {
  code: string;
  severity: ProblemSeverity;
  sentence: string;
  fix: string;
}

/** One section of `agentctl status`. `S` is the section's JSON shape (snake_case keys). */
export interface StatusSection<S = Record<string, unknown>> {
  /** Its key in `status --json`. */
  key: string;
  title: string;
  /** What the human output says when the daemon sends no such section. */
  absent: string;
  /** The human summary as label → value rows; the JSON keeps every field. Default: the JSON. */
  view?(section: S): Record<string, unknown>;
  /** This section's contribution to the exit code; the status exit code is the largest. */
  exitCode?(section: S): ExitCode;
  /** The section's problems (none when healthy); keep it light, it runs on status's path. */
  problems?(section: S): Problem[];
  /** Every code `problems` can give (the docs/codes.md test reads it). */
  problemCodes?: readonly string[];
  /** Rows of `view` that are internals, shown only with `status --verbose`. */
  verbose?: readonly string[];
}

/** The result of one doctor check, as `santactl doctor` and Kolide's doctor grade them. */
export type CheckStatus = 'passing' | 'warning' | 'failing' | 'error' | 'info';

export interface CheckResult {
  status: CheckStatus;
  /** A stable code (docs/codes.md, "Doctor checks"); `ok` when passing. */
  code: string;
  /** One sentence: what was found. */
  message: string;
  /** What to do; empty when passing. */
  fix?: string;
}

/**
 * What every check may read, gathered once by `agentctl doctor` (checks are pure functions of
 * it, except those that must ask the network: the telemetry request).
 */
export interface DoctorContext {
  /** The configuration in force (the daemon's, else the files'). */
  config: Record<string, unknown>;
  /** Where each key's value came from ('default', a file, 'last good'). */
  sources: Record<string, string>;
  /** Configuration problems. */
  configProblems: string[];
  /** `status --json` of the running daemon, or null when it is not reachable. */
  status: Record<string, unknown> | null;
  /** Why `status` is null, in a few words. */
  statusError?: string;
  /**
   * Asks the daemon one read-only request (no arguments) on the socket agentctl chose, with its
   * own deadline; rejects when the daemon cannot be reached. Absent when there is no daemon to ask.
   */
  ask?(request: string, timeoutMs: number): Promise<DaemonAnswer>;
  /** Aborted when the check's deadline passes. */
  signal: AbortSignal;
  /** Progress for a terminal ("asking 3 time sources… 2 answered"). */
  progress(text: string): void;
}

/** The daemon's answer to one control request (agent/control/protocol.ts ControlResponse). */
export type DaemonAnswer = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/** One row of `agentctl doctor`. */
export interface DoctorCheck {
  /** Its name in the table and the JSON: 'clock', 'trust targets'. */
  name: string;
  /** Its deadline; past it the check is an `error` with code `check_timeout`. */
  deadlineMs: number;
  /** Every code it can give besides `ok` (docs/codes.md). */
  codes: readonly string[];
  run(context: DoctorContext): Promise<CheckResult> | CheckResult;
}

export interface SessionOptions {
  /** `agentd --session --config FILE` (development, tests); otherwise the system preferences. */
  configFile?: string;
}

/** The configuration keys a capability owns, loaded only where configuration is read. */
export interface ConfigContribution {
  keys: Record<string, KeySpec>;
  /** Cross-key rules; each problem names every key involved. */
  relations?(config: Record<string, unknown>): Array<{ keys: string[]; message: string }>;
}

export interface Capability {
  name: string;
  /** Its configuration keys (lazily imported: zod is not on `status`'s path). */
  config?(): Promise<ConfigContribution>;
  /** Its sections of `agentctl status`, in display order. */
  status?: readonly StatusSection<never>[];
  /** Its agentctl commands. */
  commands?: readonly CommandDescriptor[];
  /** Its rows of `agentctl doctor` (loaded only by doctor and flare). */
  doctor?(): Promise<readonly DoctorCheck[]>;
  /**
   * Plugs into a running daemon: jobs (daemon.scheduler), status sections (daemon.status),
   * control requests (daemon.control), configuration changes (daemon.on('config')), events
   * for telemetry and other capabilities (daemon.bus). Imports its service code itself.
   */
  attach?(daemon: Daemon): Promise<void>;
  /**
   * Per-user work in a login session: `agentd --session`, which the per-user LaunchAgent runs
   * as the logged-in user (no lock, no control sockets). Runs once and returns the exit code
   * (0 unless it could not run at all: launchd restarts the agent after a failure).
   */
  session?(options: SessionOptions): Promise<number>;
}
