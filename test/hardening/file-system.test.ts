// Issue 8, items 1–3: root never follows an attacker's link nor trusts an attacker's folder.
// The attacker is `nobody` (setpriv); the victim is a root-only file in the test's temp folder.
import test from 'ava';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  linkSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { acquireInstanceLock } from '../../agent/daemon/lock.js';
import { checkDirectory, ensureDirectory, openSafeFile, UnsafePathError } from '../../agent/fs-safety.js';
import { createAgentLogger } from '../../agent/log/winston.js';
import { agentctl, createAgentFixture, eventually, requestOnce, runProgram } from '../helpers/agent.js';
import {
  asNobody,
  needsNobody,
  nobodyIds,
  nobodyTitle,
  spawnNobodyNode,
  tempFolder,
  waitForLine,
} from '../helpers/attacker.js';
import { hasCommand } from '../helpers/system.js';

const nobodyTest = needsNobody ? test.skip : test;

/** A root-only file the attacker wants root to write, chmod or disclose. */
function rootOnlyFile(dir: string): { file: string; unchanged(): boolean } {
  const file = path.join(dir, 'root-only-secret');
  writeFileSync(file, 'ROOT-ONLY-CONTENT\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  const before = statSync(file);
  return {
    file,
    unchanged() {
      const now = statSync(file);
      return (
        readFileSync(file, 'utf8') === 'ROOT-ONLY-CONTENT\n' &&
        (now.mode & 0o7777) === 0o600 &&
        now.uid === 0 &&
        now.mtimeMs === before.mtimeMs
      );
    },
  };
}

/** A folder nobody can write (mode 0777, as a careless admin or an attacker's own folder would be). */
function attackerFolder(
  base: string,
  name: string,
  how: 'world-writable' | 'owned-by-nobody' = 'world-writable',
): string {
  const dir = path.join(base, name);
  mkdirSync(dir);
  if (how === 'world-writable') chmodSync(dir, 0o777);
  else {
    const { uid, gid } = nobodyIds();
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o755);
  }
  return dir;
}

nobodyTest(
  nobodyTitle(
    '(1) a symlinked agentd.lock planted by nobody in a writable state directory: agentd refuses the directory and the target is untouched',
  ),
  async (t) => {
    const fx = createAgentFixture('tg-fs-lock-');
    t.teardown(fx.cleanup);
    const victim = rootOnlyFile(fx.dir);
    const state = attackerFolder(fx.dir, 'open-state');
    const planted = await asNobody('ln', ['-s', victim.file, path.join(state, 'agentd.lock')]);
    t.is(planted.code, 0, planted.stderr);
    fx.writeConfig({ StateDirectory: state });
    const result = await fx.startExpectingExit();
    t.is(result.code, 1);
    t.regex(result.stderr, /state directory .*open-state is unsafe: is writable by anyone \(mode 0777\)/);
    t.true(victim.unchanged());
  },
);

nobodyTest(
  nobodyTitle(
    "(1) a state directory owned by nobody, or under a folder nobody owns, is refused; so is one reached through nobody's symlink",
  ),
  async (t) => {
    const base = tempFolder(t);
    const owned = attackerFolder(base, 'nobodys', 'owned-by-nobody');
    t.throws(() => acquireInstanceLock(owned), {
      instanceOf: UnsafePathError,
      message: /belongs to uid \d+, not root/,
    });
    // A root-owned folder below nobody's: nobody can rename it away and put another in its place.
    const below = path.join(owned, 'state');
    mkdirSync(below, { mode: 0o700 });
    t.throws(() => acquireInstanceLock(below), { instanceOf: UnsafePathError, message: /nobodys belongs to uid/ });
    // A link nobody made (in nobody's folder) to a root-owned directory.
    const rootDir = path.join(base, 'root-state');
    mkdirSync(rootDir, { mode: 0o700 });
    const link = await asNobody('ln', ['-s', rootDir, path.join(owned, 'link')]);
    t.is(link.code, 0, link.stderr);
    t.throws(() => checkDirectory(path.join(owned, 'link'), 'state directory'), { instanceOf: UnsafePathError });
    // A root-owned link in a root-owned folder is root's own choice (macOS's /var → private/var).
    symlinkSync(rootDir, path.join(base, 'root-link'));
    t.is(checkDirectory(path.join(base, 'root-link'), 'state directory'), rootDir);
  },
);

test('(1) even in a trusted state directory, a symlink, a FIFO or a hard link as agentd.lock is refused, never opened through', (t) => {
  const base = tempFolder(t);
  const victim = rootOnlyFile(base);
  for (const [name, plant] of [
    ['symlink', (file: string) => symlinkSync(victim.file, file)],
    ['hard link', (file: string) => linkSync(victim.file, file)],
    ['fifo', (file: string) => spawnSync('mkfifo', [file])],
  ] as const) {
    const state = path.join(base, `state-${name.replace(' ', '-')}`);
    mkdirSync(state, { mode: 0o700 });
    plant(path.join(state, 'agentd.lock'));
    const error = t.throws(() => acquireInstanceLock(state), { instanceOf: UnsafePathError }, name);
    t.regex(
      error!.message,
      name === 'symlink' ? /symbolic link/ : name === 'fifo' ? /not a regular file/ : /hard links/,
      name,
    );
  }
  t.true(victim.unchanged());
});

test('(1) directories are created with explicit modes whatever the umask: 0700 for state, 0755 for logs and sockets', (t) => {
  const base = tempFolder(t);
  for (const umask of [0o000, 0o077]) {
    const saved = process.umask(umask);
    try {
      ensureDirectory(path.join(base, `u${umask}`, 'state'), 0o700, 'state directory');
      ensureDirectory(path.join(base, `u${umask}`, 'logs'), 0o755, 'log directory');
    } finally {
      process.umask(saved);
    }
    t.is(statSync(path.join(base, `u${umask}`)).mode & 0o7777, 0o755);
    t.is(statSync(path.join(base, `u${umask}`, 'state')).mode & 0o7777, 0o700);
    t.is(statSync(path.join(base, `u${umask}`, 'logs')).mode & 0o7777, 0o755);
  }
  // The lock takes its directory as 0700.
  const lock = acquireInstanceLock(path.join(base, 'fresh', 'state'));
  lock.release();
  t.is(statSync(path.join(base, 'fresh', 'state')).mode & 0o7777, 0o700);
});

nobodyTest(
  nobodyTitle(
    '(1) a symlinked agent.log planted by nobody: root never appends to the target; the file log is refused and says why',
  ),
  async (t) => {
    const base = tempFolder(t);
    const victim = rootOnlyFile(base);
    const logs = attackerFolder(base, 'open-logs');
    t.is((await asNobody('ln', ['-s', victim.file, path.join(logs, 'agent.log')])).code, 0);
    const logger = createAgentLogger({ directory: logs, level: 'info', console: false, subsystem: null });
    logger.info('this must not reach the root-only file');
    await logger.close();
    t.regex(logger.fileProblem ?? '', /log directory .*open-logs is unsafe: is writable by anyone/);
    t.true(victim.unchanged());
    // A link in a trusted directory (left by anyone) is not followed either.
    const trusted = path.join(base, 'logs');
    mkdirSync(trusted, { mode: 0o755 });
    symlinkSync(victim.file, path.join(trusted, 'agent.log'));
    const second = createAgentLogger({ directory: trusted, level: 'info', console: false, subsystem: null });
    second.info('nor this');
    await second.close();
    t.regex(second.fileProblem ?? '', /agent\.log is unsafe: is a symbolic link/);
    t.true(victim.unchanged());
  },
);

nobodyTest(
  nobodyTitle(
    '(1) agentd with a log directory nobody can write keeps running without the file log, and the root-only target is untouched',
  ),
  async (t) => {
    const fx = createAgentFixture('tg-fs-log-');
    t.teardown(fx.cleanup);
    const victim = rootOnlyFile(fx.dir);
    const logs = attackerFolder(fx.dir, 'open-logs');
    t.is((await asNobody('ln', ['-s', victim.file, path.join(logs, 'agent.log')])).code, 0);
    fx.writeConfig({ LogDirectory: logs });
    await fx.start();
    const status = await requestOnce(fx.socketPath, { request: 'status' });
    t.true(status.ok);
    // Status says why there is no file log.
    t.regex(
      String((status.result as { daemon: { log_problem: string } }).daemon.log_problem),
      /the file log is off: the log directory .*open-logs is unsafe: is writable by anyone \(mode 0777\)/,
    );
    const human = await agentctl(['status', '--socket', fx.socketPath]);
    t.regex(human.stdout, /file log is off/);
    t.true(victim.unchanged());
  },
);

test('(1) openSafeFile refuses a file writable by others or owned by another user, and reads a root-owned one', (t) => {
  const base = tempFolder(t);
  const good = path.join(base, 'good');
  writeFileSync(good, 'x', { mode: 0o644 });
  const opened = openSafeFile(good, 'read');
  closeSync(opened.fd);
  const writable = path.join(base, 'writable');
  writeFileSync(writable, 'x');
  chmodSync(writable, 0o666);
  t.throws(() => openSafeFile(writable, 'read'), { message: /writable by anyone \(mode 0666\)/ });
  const theirs = path.join(base, 'theirs');
  writeFileSync(theirs, 'x', { mode: 0o644 });
  chownSync(theirs, 65534, 65534);
  t.throws(() => openSafeFile(theirs, 'read'), { message: /belongs to uid 65534, not root/ });
});

nobodyTest(
  nobodyTitle('(2) a socket directory writable by a low-numbered group (macOS staff/admin) is refused'),
  async (t) => {
    const fx = createAgentFixture('tg-fs-group-');
    t.teardown(fx.cleanup);
    const run = path.join(fx.dir, 'group-run');
    mkdirSync(run);
    // gid 50 is "staff" on Debian; before the fix any gid below 100 was trusted.
    chownSync(run, 0, 50);
    chmodSync(run, 0o775);
    fx.writeConfig({ ControlSocketPath: path.join(run, 'agent.sock') });
    const result = await fx.startExpectingExit();
    t.is(result.code, 1);
    t.regex(result.stderr, /control socket directory .*group-run is unsafe: is writable by group 50 \(mode 0775\)/);
    // And nobody, given that group, could indeed have planted an impostor there.
    const planted = await runProgram('setpriv', [
      '--reuid=nobody',
      '--regid=nogroup',
      '--groups=50',
      'touch',
      path.join(run, 'agent.sock'),
    ]);
    t.is(planted.code, 0, planted.stderr);
  },
);

const needsStrace = needsNobody ?? (hasCommand('strace') ? undefined : 'strace');
(needsStrace ? test.skip : test)(
  `(2) the sockets get their modes from the umask at bind time: agentd never chmods a path${needsStrace ? ` [needs ${needsStrace}]` : ''}`,
  async (t) => {
    const fx = createAgentFixture('tg-fs-umask-');
    t.teardown(fx.cleanup);
    fx.writeConfig({});
    const trace = path.join(fx.dir, 'strace.txt');
    // Under strace, agentd runs until it answers, then gets SIGTERM.
    const { spawn } = await import('node:child_process');
    const { agentdPath } = await import('../helpers/agent.js');
    const child = spawn(
      'strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=chmod,fchmodat,lchown,chown,fchownat',
        '-o',
        trace,
        process.execPath,
        agentdPath,
        '--config',
        fx.configFile,
      ],
      { stdio: 'ignore' },
    );
    t.teardown(() => void child.kill('SIGKILL'));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // agentd under strace on a loaded machine: up to 30 s to answer.
    const status = await eventually(
      async () =>
        existsSync(`${fx.socketPath}.admin`)
          ? await requestOnce(fx.socketPath, { request: 'status' }).catch(() => undefined)
          : undefined,
      'agentd under strace to answer',
      1200,
      25,
    );
    t.true(status.ok);
    t.is(lstatSync(fx.socketPath).mode & 0o777, 0o666);
    t.is(lstatSync(`${fx.socketPath}.admin`).mode & 0o777, 0o600);
    t.is(lstatSync(fx.socketPath).uid, 0);
    spawnSync('pkill', ['-TERM', '-P', String(child.pid)]);
    await exited;
    const calls = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /chmod|chown/.test(l));
    t.deepEqual(
      calls.filter((l) => l.includes('agent.sock')),
      [],
      calls.join('\n'),
    );
  },
);

nobodyTest(
  nobodyTitle(
    "(2) agentctl refuses a socket that nobody owns before sending anything: root's reload never reaches an impostor",
  ),
  async (t) => {
    const base = tempFolder(t);
    const theirs = attackerFolder(base, 'impostor-run', 'owned-by-nobody');
    const socketPath = path.join(theirs, 'agent.sock');
    // The impostor: nobody listens on both sockets and prints whatever it receives.
    const impostor = spawnNobodyNode(`
    const net = require('net');
    process.umask(0);
    let ready = 0;
    for (const file of [${JSON.stringify(socketPath)}, ${JSON.stringify(`${socketPath}.admin`)}]) {
      net.createServer((s) => s.on('data', (d) => console.log('received ' + d.toString().trim()))).listen(file, () => { if (++ready === 2) console.log('listening'); });
    }
  `);
    t.teardown(() => void impostor.kill('SIGKILL'));
    let received = '';
    impostor.stdout!.on('data', (d) => (received += d));
    await waitForLine(impostor, /listening/);
    for (const args of [
      ['reload', '--socket', socketPath],
      ['status', '--socket', socketPath],
    ]) {
      const result = await agentctl(args);
      t.is(result.code, 1, result.stdout);
      t.regex(
        result.stderr,
        /refusing to talk to .*agent\.sock(\.admin)?: it belongs to uid \d+, not root; it is not the TrustGuard daemon/,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    t.false(received.includes('received'), received);
  },
);

nobodyTest(
  nobodyTitle(
    '(2) on the admin socket agentctl also checks who serves it: a root-owned socket file served by nobody gets nothing',
  ),
  async (t) => {
    const base = tempFolder(t);
    // nobody listens in a folder of its own; the file is then made root's, so that only the
    // peer-credentials check can tell (it sees the uid that called listen()).
    const theirs = attackerFolder(base, 'run', 'owned-by-nobody');
    const admin = path.join(theirs, 'agent.sock.admin');
    const impostor = spawnNobodyNode(`
      const net = require('net');
      process.umask(0);
      net.createServer((s) => s.on('data', (d) => console.log('received ' + d.toString().trim()))).listen(${JSON.stringify(admin)}, () => console.log('listening'));
    `);
    t.teardown(() => void impostor.kill('SIGKILL'));
    let received = '';
    impostor.stdout!.on('data', (d) => (received += d));
    await waitForLine(impostor, /listening/);
    chownSync(admin, 0, 0);
    const result = await agentctl(['reload', '--socket', path.join(theirs, 'agent.sock')]);
    t.is(result.code, 1, result.stdout);
    t.regex(
      result.stderr,
      /refusing to talk to .*agent\.sock\.admin: the process serving it runs as uid \d+, not root/,
    );
    await new Promise((r) => setTimeout(r, 200));
    t.false(received.includes('received'), received);
  },
);

test("(3) a second agentd with another state directory does not take the live daemon's socket", async (t) => {
  const first = createAgentFixture('tg-fs-first-');
  const second = createAgentFixture('tg-fs-second-');
  t.teardown(async () => {
    await second.cleanup();
    await first.cleanup();
  });
  await first.start();
  second.writeConfig({ ControlSocketPath: first.socketPath });
  const result = await second.startExpectingExit();
  t.is(result.code, 1);
  t.regex(result.stderr, /another process is serving .*agent\.sock.*not replacing the socket of a running daemon/);
  const status = await requestOnce(first.socketPath, { request: 'status' });
  t.true(status.ok);
  t.is((status.result as { daemon: { state_directory: string } }).daemon.state_directory, first.stateDir);
  // A socket nobody listens on (a kill -9 leftover) is still replaced.
  const leftover = createAgentFixture('tg-fs-leftover-');
  t.teardown(leftover.cleanup);
  mkdirSync(path.dirname(leftover.socketPath), { recursive: true, mode: 0o755 });
  const stale = net.createServer().listen(leftover.socketPath);
  await new Promise((r) => stale.once('listening', r));
  // Closing a listening server unlinks its path in Node; re-create an unanswered socket file by
  // binding from a child process that exits without cleanup.
  stale.close();
  await runProgram(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(leftover.socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  t.true(lstatSync(leftover.socketPath).isSocket());
  await leftover.start();
  t.true((await requestOnce(leftover.socketPath, { request: 'status' })).ok);
});
