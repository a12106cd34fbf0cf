// Issue 8, items 4, 8, 9, 10 through a real agentd: a configuration file never freezes or stops
// the daemon nor raises privileges; SIGHUP during start-up is queued, not fatal; an interrupted
// write leaves no temporary file for ever; a planted state file is never read through a link.
import test from 'ava';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../agent/config/load.js';
import { guardrailStore } from '../../agent/clock/guardrail-store.js';
import { agentdPath, createAgentFixture, eventually, requestOnce, type AgentFixture } from '../helpers/agent.js';
import { asNobody, needsNobody, nobodyIds, nobodyTitle, tempFolder } from '../helpers/attacker.js';
import { startHostileNtpServer } from '../helpers/hostile-ntp-server.js';

const nobodyTest = needsNobody ? test.skip : test;

async function daemonSection(
  fx: AgentFixture,
): Promise<{ config_problems: string[]; mode: string; config_source: string }> {
  const status = await requestOnce(fx.socketPath, { request: 'status' });
  return (status.result as { daemon: { config_problems: string[]; mode: string; config_source: string } }).daemon;
}

/** 30 arrays, each holding two references to the next: ~160 bytes, 2^30 leaves for a naive reader. */
function bplistBomb(): Buffer {
  const objects: Buffer[] = [];
  for (let i = 0; i < 30; i++) objects.push(Buffer.from([0xa2, i + 1, i + 1]));
  objects.push(Buffer.from([0x51, 0x78]));
  const offsets: number[] = [];
  let at = 8;
  for (const o of objects) {
    offsets.push(at);
    at += o.length;
  }
  const trailer = Buffer.alloc(32);
  trailer[6] = 1;
  trailer[7] = 1;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(0n, 16);
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([Buffer.from('bplist00'), ...objects, Buffer.from(offsets), trailer]);
}

/**
 * Runs agentd once on a good configuration (so that the state directory holds the last good
 * one), stops it, then lets `spoil` break the file. Tests never start a daemon on a file that
 * does not give it the fixture's paths without this: the defaults are the machine's paths.
 */
async function withLastGood(
  fx: AgentFixture,
  good: Record<string, unknown>,
  spoil: () => void | Promise<void>,
): Promise<void> {
  fx.writeConfig(good);
  const first = await fx.start(['--state-dir', fx.stateDir]);
  first.child.kill('SIGTERM');
  await first.exited;
  if (!existsSync(path.join(fx.stateDir, 'last-good-config.json')))
    throw new Error('no last good configuration was saved');
  await spoil();
}

test('(8) agentd always starts, on its last good configuration, and says why: a bplist bomb, a 1.5 MB file, 100 000 levels of JSON', async (t) => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['bplist bomb', bplistBomb(), /more than 20000 objects/],
    ['oversized', Buffer.from(`{"Mode":"observe","Pad":"${'x'.repeat(1_500_000)}"}`), /limited to 1048576 bytes/],
    ['deep JSON', Buffer.from(`{"Mode":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), /nested deeper than 32 levels/],
  ];
  for (const [name, bytes, why] of cases) {
    const fx = createAgentFixture('tg-cfg-bad-');
    t.teardown(fx.cleanup);
    await withLastGood(fx, { Mode: 'enforce' }, () => fx.writeConfig({}, { raw: bytes }));
    await fx.start(['--state-dir', fx.stateDir]);
    const daemon = await daemonSection(fx);
    t.is(daemon.mode, 'enforce', name);
    t.true(
      daemon.config_problems.some((p) => why.test(p)),
      `${name}: ${daemon.config_problems.join(' | ')}`,
    );
  }
});

test('(8) a running daemon keeps answering status while a 1 MB file is parsed, and keeps its last good configuration when the file is a bomb', async (t) => {
  const fx = createAgentFixture('tg-cfg-reload-');
  t.teardown(fx.cleanup);
  fx.writeConfig({ Mode: 'enforce' });
  await fx.start();
  fx.writeConfig({}, { raw: bplistBomb() });
  await eventually(
    async () =>
      (await daemonSection(fx)).config_problems.some((p) => /more than 20000 objects/.test(p)) ? true : undefined,
    'the reload of the bomb',
  );
  t.is((await daemonSection(fx)).mode, 'enforce');
  // Nearly 1 MB of XML: while the worker parses it, status answers.
  const big = `<?xml version="1.0"?><plist version="1.0"><dict><key>Mode</key><string>remediate</string><key>Pad</key><array>${`<string>${'p'.repeat(50)}</string>`.repeat(15_000)}</array></dict></plist>`;
  fx.writeConfig({}, { raw: big });
  const answered: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = Date.now();
    t.true((await requestOnce(fx.socketPath, { request: 'status' })).ok);
    answered.push(Date.now() - started);
  }
  t.log(`status answered in ${answered.join(', ')} ms while the file was re-read`);
  await eventually(
    async () =>
      (await daemonSection(fx)).config_problems.some((p) => /Pad is not a known key/.test(p)) ? true : undefined,
    'the reload of the large file',
  );
});

nobodyTest(
  nobodyTitle(
    "(9) a configuration file nobody owns, or anyone can write, is ignored with a reason: nobody's RemediationCommand never runs",
  ),
  async (t) => {
    const fx = createAgentFixture('tg-cfg-owner-');
    t.teardown(fx.cleanup);
    await withLastGood(fx, { Mode: 'observe' }, () => {
      fx.writeConfig({ Mode: 'remediate' });
      chmodSync(fx.configFile, 0o666);
    });
    await fx.start(['--state-dir', fx.stateDir]);
    let daemon = await daemonSection(fx);
    t.is(daemon.mode, 'observe');
    t.true(
      daemon.config_problems.some((p) => /is not trusted: is writable by anyone \(mode 0666\); it is ignored/.test(p)),
      daemon.config_problems.join(' | '),
    );
    // Written by nobody through the open mode: still ignored, then owned by nobody: ignored.
    const { uid, gid } = nobodyIds();
    const wrote = await asNobody('sh', ['-c', `printf '{"Mode":"enforce"}' > ${fx.configFile}`]);
    t.is(wrote.code, 0, wrote.stderr);
    chownSync(fx.configFile, uid, gid);
    chmodSync(fx.configFile, 0o644);
    await requestOnce(`${fx.socketPath}.admin`, { request: 'reload' });
    daemon = await daemonSection(fx);
    t.is(daemon.mode, 'observe');
    t.true(
      daemon.config_problems.some((p) => /belongs to uid \d+, not root/.test(p)),
      daemon.config_problems.join(' | '),
    );
  },
);

nobodyTest(
  nobodyTitle(
    '(9) RemediationCommand: a program nobody can write is refused and never runs, even with two agreeing skewed servers; a root-owned one runs',
  ),
  async (t) => {
    const servers = await Promise.all([
      startHostileNtpServer({ offsetMs: 92_000 }),
      startHostileNtpServer({ offsetMs: 92_000 }),
    ]);
    t.teardown(() => Promise.all(servers.map((s) => s.stop())));
    const bin = tempFolder(t, 'tg-cfg-bin-');
    const marker = path.join(bin, 'ran');
    const theirs = path.join(bin, 'nobody-writable.sh');
    writeFileSync(theirs, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(theirs, 0o777);
    const fx = createAgentFixture('tg-cfg-rem-');
    t.teardown(fx.cleanup);
    const ntp = servers.map((s) => `127.0.0.1:${s.port}`);
    fx.writeConfig({
      Mode: 'remediate',
      RemediationCommand: [theirs, '{server}'],
      NTPServers: ntp,
      NTPSamplesPerServer: 1,
      MeasureIntervalSeconds: 3600,
    });
    await fx.start();
    const daemon = await daemonSection(fx);
    t.true(
      daemon.config_problems.some((p) =>
        /RemediationCommand is refused: the remediation command .*nobody-writable\.sh is unsafe: is writable by anyone \(mode 0777\)/.test(
          p,
        ),
      ),
      daemon.config_problems.join(' | '),
    );
    const clock = await eventually(async () => {
      const c = (
        (await requestOnce(fx.socketPath, { request: 'status' })).result as {
          clock: { measurements: number; state: string };
        }
      ).clock;
      return c.measurements >= 1 ? c : undefined;
    }, 'a measurement');
    t.is(clock.state, 'active');
    t.false(existsSync(marker), 'the nobody-writable program ran as root');
    // Nobody also tried a relative name (a PATH lookup) and an option-looking server name.
    fx.writeConfig({
      Mode: 'remediate',
      RemediationCommand: ['sh', '-c', `touch ${marker}`],
      NTPServers: [...ntp, '-oProxyCommand=x'],
      MeasureIntervalSeconds: 3600,
    });
    await requestOnce(`${fx.socketPath}.admin`, { request: 'reload' });
    const problems = (await daemonSection(fx)).config_problems.join(' | ');
    t.regex(problems, /RemediationCommand must be an array of strings: the absolute path of a root-owned program/);
    t.regex(problems, /NTPServers must be/);
    // The same program, root-owned and 0755: it runs.
    const good = path.join(bin, 'root-owned.sh');
    writeFileSync(good, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(good, 0o755);
    fx.writeConfig({
      Mode: 'remediate',
      RemediationCommand: [good, '{server}'],
      NTPServers: ntp,
      NTPSamplesPerServer: 1,
      MeasureIntervalSeconds: 3600,
    });
    await requestOnce(`${fx.socketPath}.admin`, { request: 'reload' });
    await eventually(() => (existsSync(marker) ? true : undefined), 'the root-owned remediation to run');
    t.pass();
  },
);

test('(9) RemediationCommand is accepted only from the managed preferences, not from /Library/Preferences', async (t) => {
  const dir = tempFolder(t);
  const managed = path.join(dir, 'managed.json');
  const local = path.join(dir, 'local.json');
  writeFileSync(managed, JSON.stringify({ Mode: 'remediate' }), { mode: 0o644 });
  writeFileSync(local, JSON.stringify({ RemediationCommand: ['/usr/bin/true'], LogLevel: 'debug' }), { mode: 0o644 });
  const loaded = await loadConfig({ systemFiles: [managed, local] });
  t.deepEqual(
    loaded.config.RemediationCommand,
    process.platform === 'darwin' ? ['/usr/bin/sntp', '-sS', '{server}'] : [],
  );
  t.is(loaded.config.LogLevel, 'debug');
  t.true(
    loaded.problems.some(
      (p) => p === `RemediationCommand is accepted only from the managed preferences (in ${local}); ignored`,
    ),
    loaded.problems.join(' | '),
  );
  writeFileSync(managed, JSON.stringify({ Mode: 'remediate', RemediationCommand: ['/usr/bin/true'] }));
  const fromManaged = await loadConfig({ systemFiles: [managed, local] });
  t.deepEqual(fromManaged.config.RemediationCommand, ['/usr/bin/true']);
  t.is(fromManaged.sources.RemediationCommand, managed);
});

/** True once the process catches SIGHUP (Linux: bit 0 of SigCgt in /proc/<pid>/status). */
function catchesSighup(pid: number): boolean {
  try {
    const mask = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

(process.platform === 'linux' ? test : test.skip)(
  '(10) SIGHUP at any moment of start-up is queued, never fatal (20 of 20 survive); the handlers come before the daemon loads',
  async (t) => {
    const fx = createAgentFixture('tg-sighup-');
    t.teardown(fx.cleanup);
    fx.writeConfig({});
    let survived = 0;
    let handlersBeforeSocket = 0;
    const sighupReloads = () =>
      fx.logLines().filter((l) => l.message === 'configuration reloaded' && /^SIGHUP/.test(String(l.reason)));
    for (let i = 0; i < 20; i++) {
      const child = spawn(process.execPath, [agentdPath, '--config', fx.configFile], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      // Node's own bootstrap (before any of our code runs) cannot catch a signal; from the moment
      // agentd's first statements have run, every moment of start-up is covered, 15 ms further each time.
      await eventually(() => (catchesSighup(child.pid!) ? true : undefined), 'the SIGHUP handler', 400, 5);
      if (!existsSync(fx.socketPath)) handlersBeforeSocket++;
      await new Promise((r) => setTimeout(r, i * 15));
      child.kill('SIGHUP');
      const alive = await Promise.race([
        exited.then(() => false),
        eventually(
          async () =>
            (await requestOnce(fx.socketPath, { request: 'status' }).catch(() => null))?.ok ? true : undefined,
          'status',
          400,
          25,
        ).catch(() => false),
      ]);
      if (alive) {
        survived++;
        // The SIGHUP became a reload (queued when it came before the daemon existed).
        await eventually(() => (sighupReloads().length >= survived ? true : undefined), `reload ${i}`).catch(
          () => undefined,
        );
      } else t.log(`start ${i}: ${JSON.stringify(await Promise.race([exited, Promise.resolve('running')]))} ${stderr}`);
      child.kill('SIGTERM');
      await exited;
    }
    t.is(survived, 20);
    t.true(handlersBeforeSocket >= 18, `${handlersBeforeSocket} of 20 caught SIGHUP before the socket existed`);
    // Each SIGHUP became a reload, queued during start-up or run after it.
    const reloads = sighupReloads();
    t.is(reloads.length, 20);
    t.true(reloads.some((l) => l.reason === 'SIGHUP (during start-up)'));
  },
);

test('(10) agentd.ts loads nothing but node built-ins before its signal handlers are installed', (t) => {
  const source = readFileSync(
    path.join(path.dirname(agentdPath), '..', '..', '..', 'agent', 'daemon', 'agentd.cts'),
    'utf8',
  );
  const staticImports = [...source.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
  t.deepEqual(
    staticImports.filter((spec) => !spec.startsWith('node:')),
    [],
    'the daemon, its capabilities and their packages take hundreds of milliseconds to load: they are imported after the handlers',
  );
  t.true(source.indexOf("process.on('SIGHUP'") < source.lastIndexOf("import('./agentd-main.js')"));
});

test('(4) temporary files of an interrupted write are removed at start; nothing else in the state directory is', async (t) => {
  const fx = createAgentFixture('tg-tmp-');
  t.teardown(fx.cleanup);
  mkdirSync(fx.stateDir, { recursive: true, mode: 0o700 });
  const leftovers = ['.clock-guardrail.json.4242.0a1b2c3d.tmp', '.last-good-config.json.77.deadbeef.tmp'];
  const kept = ['notes.tmp', '.clock-guardrail.json.tmp', 'clock-guardrail.json.bak'];
  for (const name of [...leftovers, ...kept]) writeFileSync(path.join(fx.stateDir, name), '{"half":');
  await fx.start();
  const names = readdirSync(fx.stateDir);
  for (const name of leftovers) t.false(names.includes(name), name);
  for (const name of kept) t.true(names.includes(name), name);
  const logged = fx.logLines().find((l) => l.message === 'removed temporary files of an interrupted write');
  t.deepEqual([...((logged?.files as string[]) ?? [])].sort(), [...leftovers].sort());
});

test('(4) a real kill -9 during writes leaves temporaries that the next start removes', async (t) => {
  const fx = createAgentFixture('tg-tmp-kill-');
  t.teardown(fx.cleanup);
  const store = guardrailStore(fx.stateDir);
  mkdirSync(fx.stateDir, { recursive: true, mode: 0o700 });
  // A writer process that writes the state file in a loop, killed with SIGKILL mid-way.
  const script = `
    import('${path.join(path.dirname(agentdPath), '..', 'state', 'state-file.js')}').then(async ({ writeFileAtomic }) => {
      const big = JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024) });
      for (;;) await writeFileAtomic(${JSON.stringify(store.path)}, big);
    });`;
  let found: string[] = [];
  for (let attempt = 0; attempt < 20 && found.length === 0; attempt++) {
    const writer = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    const exited = new Promise((r) => writer.on('exit', r));
    // Killed the moment a temporary file exists: between its open and its rename.
    await eventually(
      () => (readdirSync(fx.stateDir).some((n) => n.endsWith('.tmp')) ? true : undefined),
      'a write in progress',
      2000,
      1,
    ).catch(() => undefined);
    writer.kill('SIGKILL');
    await exited;
    found = readdirSync(fx.stateDir).filter((n) => n.endsWith('.tmp'));
  }
  t.true(found.length > 0, 'no temporary left behind by 20 kills');
  await fx.start();
  // The killed writer's temporaries are gone (the new daemon's own writes may have one in flight).
  const left = readdirSync(fx.stateDir);
  t.deepEqual(
    found.filter((name) => left.includes(name)),
    [],
  );
});

test('(1) a symlinked clock-guardrail.json is not read through, and no byte of its target reaches the log', async (t) => {
  const dir = tempFolder(t);
  const secret = path.join(dir, 'secret');
  writeFileSync(secret, 'ROOT-ONLY-CONTENT', { mode: 0o600 });
  const state = path.join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  symlinkSync(secret, path.join(state, 'clock-guardrail.json'));
  const read = guardrailStore(state).read();
  t.is(read.status, 'unreadable');
  t.regex((read as { reason: string }).reason, /symbolic link/);
  t.false(JSON.stringify(read).includes('ROOT-ONLY'));
  // A corrupt state file's reason says where it broke, never what it holds.
  const plain = path.join(dir, 'plain');
  mkdirSync(plain, { mode: 0o700 });
  writeFileSync(path.join(plain, 'clock-guardrail.json'), 'ROOT-ONLY-CONTENT', { mode: 0o600 });
  const corrupt = guardrailStore(plain).read();
  t.is(corrupt.status, 'corrupt');
  t.false(JSON.stringify(corrupt).includes('ROOT-ONLY'), JSON.stringify(corrupt));
  // A state file grown huge is refused from its size.
  const huge = path.join(dir, 'huge');
  mkdirSync(huge, { mode: 0o700 });
  const fd = openSync(path.join(huge, 'clock-guardrail.json'), 'w', 0o600);
  ftruncateSync(fd, 64 * 1024 * 1024);
  closeSync(fd);
  t.regex((guardrailStore(huge).read() as { reason: string }).reason, /more than a state file can be/);
  t.is(readFileSync(secret, 'utf8'), 'ROOT-ONLY-CONTENT');
});
