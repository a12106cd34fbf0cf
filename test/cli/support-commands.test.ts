// Issue 21: `agentctl version` names every part; `config show` says "not set" and "set, N
// characters" instead of `undefined (undefined)`; the trust hint after `--at` past the leaf's
// expiry says it expired N days before that time, never "expires in -N days".
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentctl, agentctlPath, createAgentFixture } from '../helpers/agent.js';
import { missing } from '../helpers/system.js';
import { TestPki } from '../helpers/tls.js';

test('version: agentctl, the running agentd, the addon, Node and the OS; --json', async (t) => {
  const fixture = createAgentFixture('tg-version-');
  t.teardown(() => fixture.cleanup());
  const down = await agentctl(['version', '--socket', fixture.socketPath]);
  t.is(down.code, 0);
  t.regex(down.stdout, /^agentctl \d+\.\d+\.\d+\nagentd +not reachable/);
  await fixture.start();
  const up = await agentctl(['version', '--socket', fixture.socketPath]);
  t.regex(up.stdout, /^agentd +\d+\.\d+\.\d+ \(running, pid \d+\)$/m);
  t.regex(up.stdout, /^addon +\S+trustguard\.node \(N-API \d+, sha256 [0-9a-f]{12}\)$/m);
  t.regex(up.stdout, new RegExp(`^node +${process.versions.node.replaceAll('.', '\\.')}$`, 'm'));
  t.regex(up.stdout, /^os +\S/m);
  const json = JSON.parse((await agentctl(['version', '--json', '--socket', fixture.socketPath])).stdout) as {
    agentctl: string;
    agentd: string;
    addon: { sha256: string };
    node: string;
    os: { platform: string };
  };
  t.is(json.agentd, json.agentctl);
  t.regex(json.addon.sha256, /^[0-9a-f]{64}$/);
  t.is(json.os.platform, process.platform);
});

test('config show: unset keys say "not set", a secret says it is set and how long, never undefined', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-config-show-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const token = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
  const file = path.join(dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      ControlSocketPath: path.join(dir, 'none.sock'),
      CollectorURL: 'https://collector.example/v1/logs',
      CollectorBearerToken: token,
      NTPServers: ['a.example', 'b.example', 'c.example'],
    }),
  );
  const shown = await agentctl(['config', 'show', '--config', file], { env: { COLUMNS: '80' } });
  t.is(shown.code, 0, shown.stderr);
  t.false(shown.stdout.includes('undefined'));
  t.false(shown.stdout.includes(token));
  t.regex(shown.stdout, /CollectorBearerToken +\| set, 43 characters \(secret, not shown\)/);
  t.regex(shown.stdout, /CollectorBearerTokenFile +\| not set \(default\)/);
  t.regex(shown.stdout, /NTPServers +\| a\.example, b\.example, c\.example \(from/);
  t.regex(shown.stdout, /HTTPSTimeURLs +\| none \(default\)/);
  for (const line of shown.stdout.split('\n')) t.true(line.length <= 80, line);
});

const needs = missing('openssl');
(needs ? test.skip : test)(
  `trust --at after the leaf's expiry: "expired N days before that time", never a negative "expires in"${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const pki = await TestPki.create();
    t.teardown(() => pki.cleanup());
    const leaf = await pki.issueLeaf({ notAfter: new Date(Date.now() + 10 * 86_400_000) });
    const at = new Date(Date.now() + 40 * 86_400_000 + 3_600_000).toISOString();
    const result = await agentctl(['trust', leaf.chainFile, '--ca', pki.caFile, '--at', at, '--json']);
    const report = JSON.parse(result.stdout) as { hint: string | null; leaf_expires_in_days: number };
    t.is(report.leaf_expires_in_days, -31);
    t.regex(report.hint ?? '', /expired 31 days before that time \(--at\)/);
    const human = await agentctl(['trust', leaf.chainFile, '--ca', pki.caFile, '--at', at]);
    t.false(/expires in -/.test(human.stdout), human.stdout);
  },
);

const needsTmux = spawnSync('tmux', ['-V']).status === 0 ? undefined : 'tmux';
(needsTmux ? test.skip : test.serial)(
  `commands that wait show one updating progress line on a terminal's stderr, and nothing on a pipe${needsTmux ? ` [needs ${needsTmux}]` : ''}`,
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-progress-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const args = ['time', '--ntp', '127.0.0.1:9', '--ntp', '127.0.0.1:7', '--samples', '1', '--timeout', '500'];
    const piped = await agentctl(args);
    t.false(piped.stderr.includes('asking'), piped.stderr);
    // On a terminal (tmux), everything written to it is logged by pipe-pane.
    const server = `tg-progress-${process.pid}`;
    const raw = path.join(dir, 'raw');
    const done = path.join(dir, 'done');
    const script = path.join(dir, 'run.sh');
    // agentctl starts once pipe-pane is attached (the go file), whatever the machine's load.
    const go = path.join(dir, 'go');
    writeFileSync(
      script,
      `while [ ! -e '${go}' ]; do sleep 0.05; done\n'${process.execPath}' '${agentctlPath}' ${args.join(' ')} > /dev/null\necho $? > '${done}'\nsleep 30\n`,
    );
    execFileSync('tmux', [
      '-L',
      server,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      '80',
      '-y',
      '20',
      `sh ${script}`,
    ]);
    t.teardown(() => void spawnSync('tmux', ['-L', server, 'kill-server']));
    execFileSync('tmux', ['-L', server, 'pipe-pane', '-o', `cat >> '${raw}'`]);
    writeFileSync(go, '');
    for (let i = 0; i < 200 && !existsSync(done); i++) await new Promise((r) => setTimeout(r, 50));
    t.true(existsSync(done), 'agentctl time finished in tmux');
    const written = readFileSync(raw, 'utf8');
    t.regex(written, /asking 2 time sources…/);
    t.regex(written, /asking 2 time sources… [12] answered/);
    t.true(written.includes('\r\u001b[2K'), 'the line is updated in place and cleared');
  },
);
