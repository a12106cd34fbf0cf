// Asking the OS to correct the clock: one configured command, run without a shell, bounded in
// time and output, and its result kept for the audit log and the state file. The decision when
// to run it (confident estimate, rate limit) is the guardrail's.
import { spawn } from 'node:child_process';
import { checkExecutable, UnsafePathError } from '../fs-safety.js';
import type { RemediationCode } from './codes.js';

/** `{server}` in an argument is replaced by the host of an agreeing NTP server. */
export const serverPlaceholder = '{server}';

/**
 * macOS ships `sntp`, which steps the clock from one server (-S: step, -s: slew when small).
 * Elsewhere there is no single right tool (chrony, systemd-timesyncd, ntpd…), so an admin
 * configures one; null means "not configured".
 */
export function defaultRemediationCommand(platform: NodeJS.Platform): string[] | null {
  return platform === 'darwin' ? ['/usr/bin/sntp', '-sS', serverPlaceholder] : null;
}

export interface RemediationRecord {
  at_ms: number;
  argv: string[];
  /** Exit status; null when the command could not start or was killed. */
  exit_code: number | null;
  signal: string | null;
  /** stdout and stderr interleaved, at most `maxOutputBytes`, then "…". */
  output: string;
  /** Why it did not run or did not finish (spawn error, timeout); null when it exited. */
  error: string | null;
  /** Why it did not succeed, as a stable code (codes.ts); null when it exited 0. */
  code: RemediationCode | null;
  duration_ms: number;
}

export const defaultRemediationIntervalMs = 15 * 60 * 1000;

/**
 * True when a remediation may run now. The distance is taken both ways: remediation steps the
 * wall clock, so right after a backward step `now` may lie before the last attempt.
 */
export function remediationAllowed(
  lastAtMs: number | null,
  nowMs: number,
  intervalMs = defaultRemediationIntervalMs,
): boolean {
  return lastAtMs === null || Math.abs(nowMs - lastAtMs) >= intervalMs;
}

function remediationCode(spawnFailed: boolean, timedOut: boolean, exitCode: number | null): RemediationCode | null {
  if (spawnFailed) return 'spawn_failed';
  if (timedOut) return 'killed_timeout';
  if (exitCode === null) return 'killed_signal';
  return exitCode === 0 ? null : 'exit_nonzero';
}

/** Why root must not run `file`, or null when it may (or when it does not exist: spawn says so). */
export function untrustedProgram(file: string): string | null {
  try {
    checkExecutable(file);
    return null;
  } catch (error) {
    if (error instanceof UnsafePathError && error.code === 'missing') return null;
    return error instanceof Error ? error.message : String(error);
  }
}

export async function runRemediation(
  argv: readonly string[],
  options: { nowMs: number; timeoutMs?: number; maxOutputBytes?: number },
): Promise<RemediationRecord> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxOutput = options.maxOutputBytes ?? 4096;
  const started = process.hrtime.bigint();
  const elapsed = () => Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  const [file, ...args] = argv;
  // Refused before it ran: nothing started, no output.
  const refused = (code: RemediationCode, error: string): RemediationRecord => ({
    at_ms: options.nowMs,
    argv: [...argv],
    exit_code: null,
    signal: null,
    output: '',
    error,
    code,
    duration_ms: 0,
  });
  if (!file) return refused('command_empty', 'remediation command is empty');
  // Root runs only an absolute path to a root-owned program nobody else can write, checked
  // again right before it runs (the configuration was checked when it was read). A missing
  // program is left to spawn, which reports it as spawn_failed.
  const untrusted = untrustedProgram(file);
  if (untrusted) return refused('command_untrusted', untrusted);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const collect = (chunk: Buffer) => {
      if (size >= maxOutput) {
        truncated = true;
        return;
      }
      chunks.push(chunk.subarray(0, maxOutput - size));
      if (chunk.length > maxOutput - size) truncated = true;
      size += Math.min(chunk.length, maxOutput - size);
    };
    let spawnError: string | null = null;
    let timedOut = false;
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => {
      spawnError = `could not run ${file}: ${err.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString('utf8') + (truncated ? '…' : '');
      const failure = remediationCode(spawnError !== null, timedOut, code);
      resolve({
        at_ms: options.nowMs,
        argv: [...argv],
        exit_code: spawnError ? null : code,
        signal,
        output,
        error: spawnError ?? (timedOut ? `killed after ${timeoutMs} ms` : null),
        code: failure,
        duration_ms: elapsed(),
      });
    });
  });
}
