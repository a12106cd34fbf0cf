import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { statusSections } from '../../agent/cli/status.js';
import { createAgentFixture, eventually, requestOnce } from '../helpers/agent.js';

test('agentctl status --json reports the daemon fields from a real agentd', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  fx.writeConfig({ Mode: 'remediate' });
  const agent = await fx.start();
  const result = await fx.ctl(['status', '--json', '--config', fx.configFile]);
  const status = JSON.parse(result.stdout) as {
    healthy: boolean;
    daemon: Record<string, unknown>;
    permissions: Record<string, unknown>;
  };
  // No time sources in the fixture: once measured, the clock is uncertain, a problem (exit 2).
  t.is(result.code, status.healthy ? 0 : 2, result.stderr);
  t.is(
    status.daemon.version,
    JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version,
  );
  t.is(status.daemon.pid, agent.pid);
  t.true(Number.isInteger(status.daemon.uptime_s) && (status.daemon.uptime_s as number) >= 0);
  t.is(status.daemon.config_source, fx.configFile);
  t.is(status.daemon.mode, 'remediate');
  t.is(status.daemon.control_socket, fx.socketPath);
  t.deepEqual(status.daemon.config_problems, []);
  if (process.platform === 'darwin')
    t.regex(
      String(status.permissions.full_disk_access),
      /^(authorized|denied|not determined|restricted|unknown \(.*\))$/,
    );
  else t.is(status.permissions.full_disk_access, 'not applicable');
  // Keys are snake_case all the way down.
  const keys = (value: unknown): string[] =>
    Array.isArray(value)
      ? value.flatMap(keys)
      : value && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) => [k, ...keys(v)])
        : [];
  for (const key of keys(status)) t.regex(key, /^[a-z][a-z0-9_]*$/);

  const human = await fx.ctl(['status', '--socket', fx.socketPath]);
  t.is(human.code, /^Healthy: yes/.test(human.stdout) ? 0 : 2, human.stderr);
  for (const section of statusSections().map((s) => s.title)) t.true(human.stdout.includes(`>>> ${section}`), section);
  t.regex(human.stdout, /Mode +\| remediate/);
  t.regex(human.stdout, /Last reload +\| Never/);
  t.false(human.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');
});

test('SIGTERM: agentd exits 0, removes its sockets and flushes its log', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  const agent = await fx.start();
  agent.child.kill('SIGTERM');
  const { code, signal } = await agent.exited;
  t.is(code, 0, agent.output());
  t.is(signal, null);
  t.false(existsSync(fx.socketPath));
  t.false(existsSync(`${fx.socketPath}.admin`));
  const messages = fx.logLines().map((l) => l.message);
  // In-flight jobs may still log between the two; nothing comes after 'agentd stopped'.
  t.is(messages.at(-1), 'agentd stopped');
  t.true(messages.includes('agentd stopping'));
});

test('a second agentd on the same state directory refuses to start, naming the first', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  const first = await fx.start();
  const second = await fx.startExpectingExit();
  t.is(second.code, 1);
  t.regex(second.stderr, new RegExp(`another agentd \\(pid ${first.pid}\\) is already running`));
  t.true(second.stderr.includes(fx.stateDir));
  // The first one is unharmed.
  t.is((await requestOnce(fx.socketPath, { request: 'status' })).ok, true);
});

test('after kill -9 a new agentd starts on the same state directory (no stale lock, stale sockets replaced)', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  const first = await fx.start();
  first.child.kill('SIGKILL');
  await first.exited;
  t.true(existsSync(fx.socketPath), 'the killed daemon left its socket behind');
  const second = await fx.start();
  const status = await requestOnce(fx.socketPath, { request: 'status' });
  t.is((status.result as { daemon: { pid: number } }).daemon.pid, second.pid);
});

test('daemon down: agentctl status exits 1 with one sentence naming the socket and how to start the daemon', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  const result = await fx.ctl(['status', '--socket', fx.socketPath]);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.true(result.stderr.includes(fx.socketPath));
  t.regex(result.stderr, /not reachable.*start it with/);
  t.is(result.stderr.trim().split('\n').length, 1);
});

test('a configuration with an unknown key, a wrong type and an out-of-range value: the running daemon logs each and keeps its previous values', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  fx.writeConfig({ Mode: 'enforce', WarnThresholdSeconds: 20, MeasureIntervalSeconds: 120 });
  const agent = await fx.start();
  fx.writeConfig({ Mode: 'enforce', WarnThresholdSeconds: 100000, MeasureIntervalSeconds: 'often', Colour: 'blue' });
  agent.child.kill('SIGHUP');
  const problems = await eventually(() => {
    const lines = fx.logLines().filter((l) => String(l.message).startsWith('configuration problem'));
    return lines.length >= 3 ? lines.map((l) => String(l.message)) : undefined;
  }, 'the reload to log its problems');
  t.true(
    problems.some((p) => p.includes('Colour is not a known key')),
    problems.join('\n'),
  );
  t.true(
    problems.some((p) => p.includes('WarnThresholdSeconds must be') && p.includes('100000')),
    problems.join('\n'),
  );
  t.true(
    problems.some((p) => p.includes('MeasureIntervalSeconds must be') && p.includes('often')),
    problems.join('\n'),
  );
  const shown = await fx.ctl(['config', 'show', '--json', '--config', fx.configFile]);
  t.is(shown.code, 0, shown.stderr);
  const config = JSON.parse(shown.stdout) as {
    origin: string;
    keys: Record<string, { value: unknown; source: string }>;
  };
  t.is(config.origin, 'daemon');
  t.is(config.keys.WarnThresholdSeconds!.value, 20);
  t.regex(config.keys.WarnThresholdSeconds!.source, /last good/);
  t.is(config.keys.MeasureIntervalSeconds!.value, 120);
  t.is(config.keys.Mode!.value, 'enforce');
  const status = JSON.parse((await fx.ctl(['status', '--json', '--socket', fx.socketPath])).stdout) as {
    daemon: { config_problems: string[]; last_reload_at: string | null };
  };
  t.is(status.daemon.config_problems.length, 3);
  t.not(status.daemon.last_reload_at, null);
});

test('a configuration file that does not parse keeps the last good configuration in force', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  fx.writeConfig({ Mode: 'enforce' });
  const agent = await fx.start();
  fx.writeConfig({}, { raw: '<?xml version="1.0"?><plist><dict><key>Mode</key><string>observe' });
  agent.child.kill('SIGHUP');
  await eventually(
    () =>
      fx.logLines().some((l) => String(l.message).includes('keeping the last good configuration')) ? true : undefined,
    'the parse failure to be logged',
  );
  const status = await requestOnce(fx.socketPath, { request: 'status' });
  t.is((status.result as { daemon: { mode: string } }).daemon.mode, 'enforce');
});

test('after a restart, a broken preference file or an invalid key falls back to the last good configuration, not the defaults', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  fx.writeConfig({ Mode: 'enforce', LogLevel: 'debug' });
  let agent = await fx.start();
  agent.child.kill('SIGTERM');
  t.is((await agent.exited).code, 0);

  // The MDM pushes a profile that does not parse while the daemon is down.
  fx.writeConfig({}, { raw: '<?xml version="1.0"?><plist><dict><key>Mode</key><string>observe' });
  agent = await fx.start();
  const status = await fx.ctl(['status', '--json', '--socket', fx.socketPath]);
  const daemon = (JSON.parse(status.stdout) as { daemon: { mode: string; config_problems: string[] } }).daemon;
  t.is(daemon.mode, 'enforce');
  t.true(
    daemon.config_problems.some((p) => /does not parse.*keeping the last good configuration/.test(p)),
    JSON.stringify(daemon.config_problems),
  );
  const human = await fx.ctl(['status', '--socket', fx.socketPath]);
  t.regex(human.stdout, /last good configuration/);
  const shown = await fx.ctl(['config', 'show', '--json', '--socket', fx.socketPath]);
  t.regex((JSON.parse(shown.stdout) as { keys: { Mode: { source: string } } }).keys.Mode.source, /\(last good\)$/);
  agent.child.kill('SIGTERM');
  t.is((await agent.exited).code, 0);

  // A profile that parses but whose Mode is wrong keeps the last good Mode, and says so.
  fx.writeConfig({ Mode: 'enforcing', LogLevel: 'info' });
  agent = await fx.start();
  const again = (
    JSON.parse((await fx.ctl(['status', '--json', '--socket', fx.socketPath])).stdout) as {
      daemon: { mode: string; config_problems: string[] };
    }
  ).daemon;
  t.is(again.mode, 'enforce');
  t.true(
    again.config_problems.some((p) => /Mode must be .*keeping "enforce"/.test(p)),
    JSON.stringify(again.config_problems),
  );
});

test('changing the configuration file reloads the daemon without a signal', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  fx.writeConfig({ Mode: 'observe' });
  await fx.start();
  fx.writeConfig({ Mode: 'enforce' });
  const mode = await eventually(async () => {
    const status = await requestOnce(fx.socketPath, { request: 'status' });
    const value = (status.result as { daemon: { mode: string } }).daemon.mode;
    return value === 'enforce' ? value : undefined;
  }, 'the file change to be picked up');
  t.is(mode, 'enforce');
  t.true(
    fx
      .logLines()
      .some(
        (l) =>
          l.message === 'configuration reloaded' &&
          String(l.reason).endsWith('changed') &&
          (l.changed as string[]).includes('Mode'),
      ),
  );
});

test('restart-only keys are kept until a restart, and say so', async (t) => {
  const fx = createAgentFixture();
  t.teardown(fx.cleanup);
  await fx.start();
  fx.writeConfig({ LogDirectory: `${fx.dir}/elsewhere` });
  const response = await requestOnce(`${fx.socketPath}.admin`, { request: 'reload' });
  t.is(response.ok, true);
  const result = response.result as { problems: string[]; changed: string[] };
  t.deepEqual(result.changed, []);
  t.true(result.problems.some((p) => p.includes('LogDirectory changed') && p.includes('restarts')));
});
