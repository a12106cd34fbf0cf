// Real agentd processes in temporary directories, and the real agentctl. Every daemon a test
// starts is stopped by PID in the test's teardown (t.teardown(fixture.cleanup)).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentdNodeOptions } from '../../agent/daemon/node-options.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/ (the compiled tree). */
export const distRoot = path.resolve(here, '..', '..');
export const agentdPath = path.join(distRoot, 'agent', 'daemon', 'agentd.cjs');
export const agentctlPath = path.join(distRoot, 'agent', 'cli', 'agentctl.cjs');

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, collecting its output. */
export function runProgram(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A program that exits without reading its input makes the write fail with EPIPE: not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** The real agentctl, as this user (or through a prefix such as setpriv). */
export function agentctl(
  args: string[],
  options: { prefix?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  const prefix = options.prefix ?? [];
  const argv = [...prefix.slice(1), process.execPath, agentctlPath, ...args];
  return runProgram(prefix[0] ?? process.execPath, prefix.length ? argv : [agentctlPath, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
}

export interface RunningAgent {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export interface AgentFixture {
  dir: string;
  configFile: string;
  stateDir: string;
  logDir: string;
  socketPath: string;
  logFile: string;
  /** Writes the configuration file: the fixture's paths plus `values`. JSON unless told. */
  writeConfig(values: Record<string, unknown>, options?: { raw?: string | Buffer }): void;
  start(extraArgs?: string[]): Promise<RunningAgent>;
  /** Starts agentd and returns when it has exited (for refusals). */
  startExpectingExit(extraArgs?: string[]): Promise<CommandResult>;
  ctl(args: string[]): Promise<CommandResult>;
  logLines(): Array<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

export function createAgentFixture(prefix = 'tg-agent-'): AgentFixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // Traversable by others: the root-only tests connect as nobody.
  chmodSync(dir, 0o755);
  const stateDir = path.join(dir, 'state');
  const logDir = path.join(dir, 'logs');
  const socketPath = path.join(dir, 'run', 'agent.sock');
  const configFile = path.join(dir, 'agent.json');
  // No time sources unless a test names them: tests never depend on the internet.
  const paths = {
    StateDirectory: stateDir,
    LogDirectory: logDir,
    ControlSocketPath: socketPath,
    NTPServers: [],
    HTTPSTimeURLs: [],
    NTPSampleSpacingMilliseconds: 0,
  };
  const running = new Set<RunningAgent>();

  const fixture: AgentFixture = {
    dir,
    configFile,
    stateDir,
    logDir,
    socketPath,
    logFile: path.join(logDir, 'agent.log'),
    writeConfig(values, options = {}) {
      // Written beside and renamed, as MDM does, so the daemon never reads half a file.
      const temp = `${configFile}.tmp`;
      writeFileSync(temp, options.raw ?? JSON.stringify({ ...paths, ...values }, null, 2));
      chmodSync(temp, 0o644);
      renameSync(temp, configFile);
    },
    async start(extraArgs = []) {
      if (!existsSync(configFile)) fixture.writeConfig({});
      const child = spawn(
        process.execPath,
        [...agentdNodeOptions, agentdPath, '--config', configFile, '--state-dir', stateDir, ...extraArgs],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      const agent: RunningAgent = { child, pid: child.pid!, exited, output: () => output };
      running.add(agent);
      void exited.then(() => running.delete(agent));
      await waitForStatus(socketPath, exited, () => output);
      return agent;
    },
    async startExpectingExit(extraArgs = []) {
      return runProgram(process.execPath, [...agentdNodeOptions, agentdPath, '--config', configFile, ...extraArgs]);
    },
    ctl(args) {
      return agentctl(args);
    },
    logLines() {
      if (!existsSync(fixture.logFile)) return [];
      return readFileSync(fixture.logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async cleanup() {
      for (const agent of running) {
        agent.child.kill('SIGKILL');
        await agent.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Sends one raw line (or raw bytes) to a socket and collects everything until the server closes or `ms` passes. */
export function rawExchange(
  socketPath: string,
  payload: string | Buffer,
  options: { endAfterWrite?: boolean; waitMs?: number } = {},
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let text = '';
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closedByServer });
    };
    const timer = setTimeout(() => finish(false), options.waitMs ?? 3000);
    socket.on('connect', () => {
      socket.write(payload);
      if (options.endAfterWrite) socket.end();
    });
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE/ECONNRESET: the server hung up on us, which is an allowed answer.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') finish(true);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}

/** One request over the socket, parsed. */
export async function requestOnce(socketPath: string, request: unknown): Promise<Record<string, unknown>> {
  // Wait past the daemon's own handler deadline (15 s): a reload on a loaded machine can take
  // more than the 3 s a raw exchange waits, and an empty answer would be no answer at all.
  const { text } = await rawExchange(socketPath, `${JSON.stringify(request)}\n`, {
    endAfterWrite: true,
    waitMs: 20_000,
  });
  const line = text.split('\n')[0]!;
  return JSON.parse(line) as Record<string, unknown>;
}

async function waitForStatus(socketPath: string, exited: Promise<unknown>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 400; i++) {
    if (gone) throw new Error(`agentd exited during start-up:\n${output()}`);
    if (existsSync(`${socketPath}.admin`)) {
      try {
        const response = await requestOnce(socketPath, { request: 'status' });
        if (response.ok === true) return;
      } catch {
        // not yet listening
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`agentd did not answer on ${socketPath} within 10 s:\n${output()}`);
}

/** Polls `check` until it returns a value other than undefined (for asynchronous effects such as a reload). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  tries = 200,
  everyMs = 50,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The daemon's status once `ok` holds for it. Whenever a clock round has ended without it, asks
 * for another round (`measure`, admin socket): on a loaded machine a round can lose a reply, and
 * the next scheduled one of a test (MeasureIntervalSeconds 3600) is an hour away. For a test's
 * setup only, never for the behaviour it tests. A timeout names `what` and shows the clock.
 */
export async function measuredUntil(
  fixture: AgentFixture,
  what: string,
  ok: (status: Record<string, Record<string, unknown>>) => boolean,
): Promise<Record<string, Record<string, unknown>>> {
  const status = async () =>
    (await requestOnce(fixture.socketPath, { request: 'status' })).result as Record<string, Record<string, unknown>>;
  let last: Record<string, Record<string, unknown>> | undefined;
  const measured = () => Number(last?.clock?.measurements ?? 0) >= 1;
  for (let round = 0; round < 10; round++) {
    // Up to 10 s for the first round, then 3 s after each round for what follows from it.
    let polls = round === 0 ? 200 : 60;
    for (; polls > 0; polls--) {
      last = await status();
      if (ok(last)) return last;
      if (measured() && polls > 60) polls = 60;
      await new Promise((r) => setTimeout(r, 50));
    }
    await requestOnce(`${fixture.socketPath}.admin`, { request: 'measure' });
  }
  throw new Error(`timed out waiting for ${what}; the clock: ${JSON.stringify(last?.clock ?? null)}`);
}

/** Human output with the wrapped continuation lines of its tables joined (agentctl wraps at 80 columns). */
export function unwrapped(text: string): string {
  return text.replace(/\n\s+\|\s+/g, ' ').replace(/\n {6,}(?=\S)/g, ' ');
}
