// The local attacker of the hardening tests: the `nobody` user, reached with
// `setpriv --reuid=nobody --regid=nogroup --clear-groups` (root runs the tests). Every path is
// in the test's own temporary folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProgram, type CommandResult } from './agent.js';
import { hasCommand, missing } from './system.js';

export const nobodyPrefix = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] as const;

/** Why the attacker cannot be played here (not root, not Linux, no setpriv), or undefined. */
export const needsNobody: string | undefined =
  missing('root', 'linux') ?? (hasCommand('setpriv') ? undefined : 'setpriv');

/** `[needs …]` for a test title when the attacker cannot be played. */
export const nobodyTitle = (title: string) => `${title}${needsNobody ? ` [needs ${needsNobody}]` : ''}`;

export function nobodyIds(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2]);
  return { uid, gid };
}

/** Runs a program as nobody to completion. */
export function asNobody(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CommandResult> {
  return runProgram(nobodyPrefix[0], [...nobodyPrefix.slice(1), command, ...args], {
    env: { PATH: process.env.PATH, HOME: '/nonexistent', ...options.env },
    input: options.input,
  });
}

/** Runs a CommonJS script with node as nobody to completion. */
export function nobodyNode(script: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return asNobody(process.execPath, ['-e', script], options);
}

/** Starts a long-running node script as nobody (stop it with kill in teardown). */
export function spawnNobodyNode(script: string): ChildProcess {
  return spawn(nobodyPrefix[0], [...nobodyPrefix.slice(1), process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: '/nonexistent' },
  });
}

/** Resolves with the first stdout line of `child` that matches, or rejects when it exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${out}${err}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d) => (err += d));
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before a line matching ${pattern}: ${out}${err}`));
    });
  });
}

/** A root-owned 0755 temporary folder (traversable by nobody), removed in teardown. */
export function tempFolder(t: { teardown(fn: () => void): void }, prefix = 'tg-hardening-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The resident set of a process in MB (Linux /proc). */
export function rssMB(pid: number): number {
  const status = spawnSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }).stdout;
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}
