// Issue 21, `agentctl status` within 1.15 × `node -e 0`: agentd renders the human view
// (`status.text`) in the style agentctl asks for, and agentctl only connects, asks and prints.
// The text must be exactly what agentctl would render from agentd's status answer; the
// arguments come from any local user; an agentd older than status.text still gets its status
// rendered by agentctl itself.
/* eslint-disable no-control-regex -- the tests look for colour codes */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderStatusIn, statusExitCode } from '../../agent/cli/status.js';
import { ControlServer } from '../../agent/control/server.js';
import { silentLogger } from '../../agent/log/logger.js';
import {
  agentctl,
  agentctlPath,
  createAgentFixture,
  eventually,
  requestOnce,
  type AgentFixture,
} from '../helpers/agent.js';

const ansi = /\u001b\[[0-9;]*m/;

async function startAgent(t: { teardown(fn: () => Promise<void> | void): void }): Promise<AgentFixture> {
  const fixture = createAgentFixture('tg-status-text-');
  t.teardown(() => fixture.cleanup());
  // A configuration problem, so that the summary has a problem to render and the exit code is 2.
  fixture.writeConfig({ Mode: 'observe', WarnThresholdSeconds: 'soon' });
  await fixture.start();
  return fixture;
}

async function statusAnswer(socketPath: string): Promise<Record<string, unknown>> {
  const response = await requestOnce(socketPath, { request: 'status' });
  return response.result as Record<string, unknown>;
}

async function statusText(socketPath: string, args: unknown): Promise<{ text: string; exit_code: number }> {
  const response = await requestOnce(socketPath, { request: 'status.text', args });
  if (response.ok !== true) throw new Error(JSON.stringify(response));
  return response.result as { text: string; exit_code: number };
}

/** A ControlServer in this process playing an agentd: only the requests `setup` gives it. */
async function startServer(
  t: { teardown(fn: () => Promise<void> | void): void },
  setup: (server: ControlServer) => void,
): Promise<ControlServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-status-text-server-'));
  const server = new ControlServer({ socketPath: path.join(dir, 'run', 'agent.sock'), logger: silentLogger });
  setup(server);
  await server.start();
  t.teardown(async () => {
    await server.stop(100);
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

test('status.text is the human view agentctl renders from the same status answer, with its exit code', async (t) => {
  const fixture = await startAgent(t);
  const style = { colour: false, columns: 80 };
  // Uptime moves between two requests: compare answers taken within the same second.
  const pair = await eventually(async () => {
    const status = await statusAnswer(fixture.socketPath);
    const text = await statusText(fixture.socketPath, { ...style, verbose: false });
    return text.text === renderStatusIn(status, style) ? { status, text } : undefined;
  }, 'status.text equal to the local rendering of status');
  t.is(pair.text.exit_code, statusExitCode(pair.status));
  t.is(pair.text.exit_code, 2);
  t.regex(pair.text.text, /^Healthy: no/);
  t.regex(pair.text.text, /config_problem/);
  t.false(ansi.test(pair.text.text));
  t.false(/Jobs/.test(pair.text.text), 'no internals without verbose');

  const verbose = await statusText(fixture.socketPath, { ...style, verbose: true });
  t.regex(verbose.text, /^ {2}Jobs/m);
  const coloured = await statusText(fixture.socketPath, { columns: 80, colour: true, verbose: false });
  t.regex(coloured.text, /Healthy: \u001b\[31mno/);

  // What agentctl prints is that text, and it exits with that code.
  const human = await agentctl(['status', '--socket', fixture.socketPath], { env: { COLUMNS: '60' } });
  t.is(human.code, 2, human.stderr);
  t.regex(human.stdout, /^Healthy: no/);
  for (const line of human.stdout.split('\n')) t.true(line.length <= 60, `${line.length}: ${line}`);
});

test('status.text arguments come from any local user: columns clamped to 40-80, colour and verbose only when true', async (t) => {
  const fixture = await startAgent(t);
  const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));
  for (const [columns, width] of [
    [1e9, 80],
    [-5, 40],
    [10, 40],
    [55, 55],
  ] as const) {
    const answer = await statusText(fixture.socketPath, { columns, colour: false });
    t.true(widest(answer.text) <= width, `columns ${columns}: ${widest(answer.text)}`);
  }
  for (const args of [{ columns: '80' }, { columns: 39.5 }, { columns: null }, {}, { colour: 'yes', verbose: 1 }]) {
    const answer = await statusText(fixture.socketPath, args);
    t.true(widest(answer.text) <= 80, JSON.stringify(args));
    t.false(ansi.test(answer.text), `no colour: ${JSON.stringify(args)}`);
    t.false(/Jobs/.test(answer.text), `not verbose: ${JSON.stringify(args)}`);
  }
});

test('an agentd older than status.text: agentctl renders its status answer itself, exit code included', async (t) => {
  const fixture = await startAgent(t);
  const status = await statusAnswer(fixture.socketPath);
  const older = await startServer(t, (server) => server.handle('status', () => status, { mutating: false }));
  const result = await agentctl(['status', '--socket', older.socketPath], { env: { COLUMNS: '80' } });
  t.is(result.code, statusExitCode(status), result.stderr);
  t.is(result.stdout, `${renderStatusIn(status, { colour: false, columns: 80 })}\n`);
});

test('a status.text answer of the wrong shape is an error (exit 1), never printed', async (t) => {
  for (const answer of [{ text: 'Healthy: yes', exit_code: 7 }, { text: 42, exit_code: 0 }, 'Healthy: yes', null]) {
    const server = await startServer(t, (s) => s.handle('status.text', () => answer, { mutating: false }));
    const result = await agentctl(['status', '--socket', server.socketPath]);
    t.is(result.code, 1, JSON.stringify(answer));
    t.is(result.stdout, '');
    t.regex(result.stderr, /answered status\.text with an answer of the wrong shape/);
  }
});

test('agentctl writes the whole status text to a pipe, and a reader that has gone (| head -0) is no error', async (t) => {
  const fixture = await startAgent(t);
  // Whole: the verbose view, through a pipe, is exactly agentd's text.
  const expected = await statusText(fixture.socketPath, { columns: 80, colour: false, verbose: true });
  const piped = await agentctl(['status', '--verbose', '--socket', fixture.socketPath], { env: { COLUMNS: '80' } });
  t.is(piped.code, 2, piped.stderr);
  t.is(piped.stdout.split('\n')[0], expected.text.split('\n')[0]);
  t.is(piped.stdout.split('\n').length, expected.text.split('\n').length + 1);
  // Gone: stdout's reader closed before agentctl writes. The exit code still says what status found.
  const child = spawn(process.execPath, [agentctlPath, 'status', '--socket', fixture.socketPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.is(code, 2, stderr);
  t.is(stderr, '');
});
