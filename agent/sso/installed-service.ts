// `sso.installed`, a read-only control request (any local user, on the 0666 socket): on macOS,
// agentd runs `/usr/bin/profiles show -output stdout-xml` as root (device profiles are root's to
// read: Apple's profiles(1) man page, "show" needs root for the computer-level profiles), has
// the parser process read and reduce it (installed-task.ts) and answers only the allow-listed
// keys of the com.apple.extensiblesso payloads (installed.ts). `agentctl doctor sso` without
// --profile asks it, so no sudo is needed.
//
// Hardening (docs/security.md, "The SSO doctor's peers"):
//  - the program is an absolute path; its output is read up to 16 MB and it is killed at its
//    deadline; no shell, no argument from the caller (the request takes none);
//  - one answer, shared by every caller, is kept for cacheMs (60 s): however often local users
//    ask, root runs `profiles` at most once per cacheMs, and callers who ask while it runs wait
//    for that same run;
//  - the program path and the platform can be changed only through the options of
//    attachSsoInstalled, which only code gives (the tests): no configuration key, environment
//    variable or request argument reaches them.
import { execFile } from 'node:child_process';
import { askParserProcess } from '../config/bounded-parse.js';
import type { Daemon } from '../daemon/daemon.js';
import { checkInstalled, type InstalledAnswer } from './installed.js';
import type { InstalledRequest, InstalledTaskAnswer } from './installed-task.js';

export const installedRequestName = 'sso.installed';
const profilesProgram = '/usr/bin/profiles';
const maxOutputBytes = 16 * 1024 * 1024; // installed-task.ts maxOutputBytes

export interface InstalledOptions {
  /** Default /usr/bin/profiles. Tests only: code sets it, nothing the daemon reads from outside. */
  program?: string;
  /** Default process.platform. Tests only. */
  platform?: NodeJS.Platform;
  /** How long one answer is kept (default 60 s). */
  cacheMs?: number;
  /** The command's deadline (default 20 s) and the parser's (default 20 s). */
  commandTimeoutMs?: number;
  parseTimeoutMs?: number;
  now?: () => number;
}

export interface InstalledReader {
  /** The cached answer, or a new one (at most one run at a time, at most one per cacheMs). */
  read(): Promise<InstalledAnswer>;
  /** How many times the program was run (for tests and status). */
  runs(): number;
}

function runProfiles(program: string, timeoutMs: number): Promise<Buffer | string> {
  return new Promise((resolve) => {
    execFile(
      program,
      ['show', '-output', 'stdout-xml'],
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: maxOutputBytes,
        encoding: 'buffer',
        env: { LC_ALL: 'C' },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
        if (e.code === 'ENOENT') return resolve(`${program} not found`);
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
          return resolve(`${program} wrote more than ${maxOutputBytes} bytes; it was stopped`);
        if (e.killed || e.signal === 'SIGKILL') return resolve(`${program} did not finish within ${timeoutMs} ms`);
        const why = Buffer.isBuffer(stderr) ? stderr.toString('utf8').trim().split('\n').slice(-1)[0] : '';
        resolve(`${program} exited with ${String(e.code ?? e.signal)}${why ? `: ${why.slice(0, 200)}` : ''}`);
      },
    );
  });
}

export function installedReader(options: InstalledOptions = {}): InstalledReader {
  const program = options.program ?? profilesProgram;
  const platform = options.platform ?? process.platform;
  const cacheMs = options.cacheMs ?? 60_000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 20_000;
  const parseTimeoutMs = options.parseTimeoutMs ?? 20_000;
  const now = options.now ?? Date.now;
  let cached: { answer: InstalledAnswer; at: number } | null = null;
  let running: Promise<InstalledAnswer> | null = null;
  let runs = 0;

  const fresh = async (): Promise<InstalledAnswer> => {
    const readAt = new Date(now()).toISOString();
    if (platform !== 'darwin')
      return {
        code: 'installed_not_macos',
        message: `the daemon runs on ${platform}: there are no installed configuration profiles to read`,
        read_at: readAt,
      };
    runs++;
    const output = await runProfiles(program, commandTimeoutMs);
    if (typeof output === 'string')
      return { code: 'installed_command_failed', message: output.replace(/\p{Cc}/gu, ' '), read_at: readAt };
    let answer: InstalledTaskAnswer;
    try {
      const request: InstalledRequest = { task: 'sso_installed', bytes: new Uint8Array(output) };
      answer = await askParserProcess<InstalledTaskAnswer>(request, parseTimeoutMs);
    } catch (error) {
      return { code: 'installed_unparsable', message: (error as Error).message.slice(0, 300), read_at: readAt };
    }
    // It crossed a process boundary: the same allow-list and bounds again.
    const checked = answer?.ok === true ? checkInstalled(answer) : null;
    if (!checked)
      return {
        code: 'installed_unparsable',
        message:
          answer?.ok === false && typeof answer.message === 'string'
            ? answer.message.slice(0, 400)
            : 'the parser process gave an answer of the wrong shape',
        read_at: readAt,
      };
    return { code: 'ok', read_at: readAt, as_root: process.getuid?.() === 0, ...checked };
  };

  return {
    runs: () => runs,
    read() {
      if (cached && now() - cached.at < cacheMs) return Promise.resolve(cached.answer);
      if (running) return running;
      running = fresh()
        .catch((error: unknown): InstalledAnswer => ({
          code: 'installed_command_failed',
          message: String((error as Error)?.message ?? error).slice(0, 300),
          read_at: new Date(now()).toISOString(),
        }))
        .then((answer) => {
          // Kept from when it was read: a failure too, or a failing `profiles` would run on every request.
          cached = { answer, at: now() };
          running = null;
          return answer;
        });
      return running;
    },
  };
}

/** Registers `sso.installed` (read-only) with the daemon. */
export function attachSsoInstalled(daemon: Daemon, options: InstalledOptions = {}): InstalledReader {
  const reader = installedReader(options);
  const deadline = (options.commandTimeoutMs ?? 20_000) + (options.parseTimeoutMs ?? 20_000) + 5_000;
  daemon.control.handle(installedRequestName, () => reader.read(), { mutating: false, timeoutMs: deadline });
  return reader;
}
