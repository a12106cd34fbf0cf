// The install scripts, run for real against a fake root: the staged payload copied into a
// temporary folder (its name has a space, like "Application Support"), with launchctl,
// pkgutil, chown, stat, id and sleep replaced by recording stubs on PATH.
//
// Two ways to run them:
// - on a target volume: $3 = the fake root. The scripts must work on the files there and
//   skip every live-system step (no launchctl at all).
// - on the "running system": $3 = /, inside a private mount namespace chrooted into the fake
//   root (the host's /usr/bin, /usr/lib... bound read-only), so that / is the fake root and
//   nothing outside it can be touched. Needs root (unshare, mount, chroot).
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stagePayload, walk } from '../../scripts/pkg/payload.js';
import { buildSettings, installPaths } from '../../scripts/pkg/settings.js';
import { hasCommand, isRoot } from '../helpers/system.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const settings = buildSettings({ version: '0.1.0' });
const paths = installPaths(settings);
const label = settings.daemonLabel;
const session = settings.sessionLabel;

const canChroot = isRoot && process.platform === 'linux' && hasCommand('unshare') && hasCommand('chroot');
const liveNeeds = canChroot ? '' : ' [needs root, linux, unshare]';

const stubNames = ['launchctl', 'pkgutil', 'chown', 'stat', 'id', 'sleep'];
// Each call is one line: the command and its arguments, tab-separated.
const stub = `#!/bin/sh
name=\${0##*/}
{ printf '%s' "$name"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >> "$STUB_LOG"
case "$name" in
  stat) [ -n "\${STUB_CONSOLE_USER:-}" ] || exit 1; printf '%s\\n' "$STUB_CONSOLE_USER" ;;
  id) if [ "$#" -le 1 ]; then printf '%s\\n' "\${STUB_UID:-0}"; else printf '%s\\n' "\${STUB_USER_UID:-501}"; fi ;;
  launchctl)
    case "$1" in
      bootout) exit "\${STUB_BOOTOUT_STATUS:-0}" ;;
      kickstart) exit "\${STUB_KICKSTART_STATUS:-0}" ;;
      bootstrap)
        n=$(cat "$STUB_LOG.bootstraps" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_LOG.bootstraps"
        if [ "$n" -le "\${STUB_BOOTSTRAP_FAILURES:-0}" ]; then echo "Bootstrap failed: 5: Input/output error" >&2; exit 5; fi ;;
    esac ;;
esac
exit 0
`;

const work = mkdtempSync(path.join(tmpdir(), 'tg scripts '));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
let staged: ReturnType<typeof stagePayload> | undefined;
function stage() {
  staged ??= stagePayload({
    repoRoot,
    out: path.join(work, 'staged'),
    settings,
    runtime: process.execPath,
    addon: path.join(repoRoot, 'build', 'Release', 'trustguard.node'),
  });
  return staged;
}

interface Fixture {
  /** The fake root as the host sees it. */
  root: string;
  log: string;
}

let fixtures = 0;
function fixture(options: { usrLocalBin?: boolean } = {}): Fixture {
  const s = stage();
  const root = path.join(work, `root ${++fixtures}`);
  // Hard links: fast, and the scripts only chmod to the modes the files already have.
  // GNU cp: hard links; macOS cp: APFS clones; else a plain copy.
  const copied = [['-a', '--link'], ['-cRp']].some(
    (flags) => spawnSync('cp', [...flags, s.payloadRoot, root]).status === 0,
  );
  if (!copied) cpSync(s.payloadRoot, root, { recursive: true });
  if (options.usrLocalBin !== false) mkdirSync(path.join(root, 'usr', 'local', 'bin'), { recursive: true });
  const testDir = path.join(root, '.test');
  mkdirSync(path.join(testDir, 'stubs'), { recursive: true });
  for (const name of stubNames) writeFileSync(path.join(testDir, 'stubs', name), stub, { mode: 0o755 });
  cpSync(s.scriptsDir, path.join(testDir, 'scripts'), { recursive: true });
  return { root, log: path.join(testDir, 'log') };
}

interface Run {
  code: number | null;
  out: string;
  err: string;
  calls: string[][];
}

function collect(child: ReturnType<typeof spawn>, f: Fixture): Promise<Run> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const calls = existsSync(f.log)
        ? readFileSync(f.log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split('\t'))
        : [];
      rmSync(f.log, { force: true });
      rmSync(`${f.log}.bootstraps`, { force: true });
      resolve({ code, out, err, calls });
    });
  });
}

type StubEnv = Partial<
  Record<
    | 'STUB_CONSOLE_USER'
    | 'STUB_UID'
    | 'STUB_USER_UID'
    | 'STUB_BOOTOUT_STATUS'
    | 'STUB_BOOTSTRAP_FAILURES'
    | 'STUB_KICKSTART_STATUS',
    string
  >
>;

/** Runs a script on the host with $3 (or --volume) = the fake root. */
function runOnVolume(f: Fixture, script: string, args: string[], env: StubEnv = {}): Promise<Run> {
  const child = spawn('/bin/sh', [script, ...args], {
    env: { PATH: `${path.join(f.root, '.test', 'stubs')}:/usr/bin:/bin`, STUB_LOG: f.log, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, f);
}

// Inside the namespace: the host's programs and libraries read-only, /dev/null, then chroot.
const enterRoot = `set -e
F=$1; shift
mount --make-rprivate /
for d in usr/bin usr/sbin usr/lib usr/lib64 usr/libexec; do
  [ -d "/$d" ] || continue
  mkdir -p "$F/$d"; mount --bind "/$d" "$F/$d"; mount -o remount,bind,ro "$F/$d"
done
for l in bin sbin lib lib64; do [ -e "$F/$l" ] || [ -L "$F/$l" ] || ln -s "usr/$l" "$F/$l"; done
mkdir -p "$F/dev"; : > "$F/dev/null"; mount --bind /dev/null "$F/dev/null"
exec chroot "$F" /usr/bin/env -i "$@"`;

/** Runs a script as on the running system: / is the fake root. `script` is a path inside it. */
function runLive(f: Fixture, script: string, args: string[], env: StubEnv = {}): Promise<Run> {
  const envPairs = Object.entries({ PATH: '/.test/stubs:/usr/bin:/usr/sbin', STUB_LOG: '/.test/log', ...env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  const child = spawn(
    'unshare',
    ['--mount', '--fork', 'sh', '-c', enterRoot, 'sh', f.root, ...envPairs, '/bin/sh', script, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return collect(child, f);
}

// Scaffolding of the chroot and the test, not part of what the scripts make.
const scaffolding = /^(\.test|bin|sbin|lib|lib64|dev|usr\/(bin|sbin|lib|lib64|libexec))(\/|$)/;

/** Every entry of the fake root: type, mode and link target. */
function snapshot(f: Fixture): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of walk(f.root)) {
    if (scaffolding.test(rel)) continue;
    const st = lstatSync(path.join(f.root, rel));
    out[rel] = st.isSymbolicLink()
      ? `link -> ${readlinkSync(path.join(f.root, rel))}`
      : `${st.isDirectory() ? 'dir' : 'file'} ${(st.mode & 0o7777).toString(8)}`;
  }
  return out;
}

const script = (f: Fixture, name: string) => path.join(f.root, '.test', 'scripts', name);
const installerArgs = (volume: string) => ['/tmp/TrustGuard.pkg', '/', volume, '/'];

/** What postinstall does to files, on volume `v` ('' = the running system). */
const fileSteps = (v: string) => [
  ['chown', '-R', 'root:wheel', `${v}${settings.installRoot}`],
  ['chown', 'root:wheel', `${v}${paths.daemonPlist}`, `${v}${paths.sessionPlist}`],
  ['chown', 'root:wheel', `${v}/Library/Logs/TrustGuard`],
  ['chown', '-h', 'root:wheel', `${v}/usr/local/bin/agentctl`],
];
const consoleUser = [
  ['stat', '-f%Su', '/dev/console'],
  ['id', '-u', 'alice'],
];
const daemonSteps = [
  ['launchctl', 'bootout', `system/${label}`],
  ['launchctl', 'enable', `system/${label}`],
  ['launchctl', 'bootstrap', 'system', paths.daemonPlist],
  ['launchctl', 'kickstart', `system/${label}`],
];
const sessionSteps = [
  ...consoleUser,
  ['launchctl', 'bootout', `gui/501/${session}`],
  ['launchctl', 'enable', `gui/501/${session}`],
  ['launchctl', 'asuser', '501', 'launchctl', 'bootstrap', 'gui/501', paths.sessionPlist],
];

function assertInstalled(t: ExecutionContext, f: Fixture) {
  const link = path.join(f.root, 'usr/local/bin/agentctl');
  t.is(readlinkSync(link), paths.agentctlWrapper);
  t.is(lstatSync(path.join(f.root, 'Library/Logs/TrustGuard')).mode & 0o7777, 0o755);
  for (const plist of [paths.daemonPlist, paths.sessionPlist])
    t.is(lstatSync(path.join(f.root, plist)).mode & 0o7777, 0o644);
}

test('shellcheck passes the install scripts' + (hasCommand('shellcheck') ? '' : ' [needs shellcheck]'), (t) => {
  if (!hasCommand('shellcheck')) return t.pass();
  const dir = path.join(repoRoot, 'pkg-scripts');
  const r = spawnSync(
    'shellcheck',
    ['--shell=sh', '--external-sources', 'preinstall', 'postinstall', 'uninstall', 'common.sh'],
    { cwd: dir, encoding: 'utf8' },
  );
  t.is(r.status, 0, r.stdout);
  for (const name of ['preinstall', 'postinstall', 'uninstall', 'common.sh'])
    t.is(spawnSync('sh', ['-n', path.join(dir, name)]).status, 0, name);
});

test('postinstall on another volume: files only, no launchd, and the same again on a second run', async (t) => {
  const f = fixture();
  const first = await runOnVolume(f, script(f, 'postinstall'), installerArgs(f.root), { STUB_CONSOLE_USER: 'alice' });
  t.is(first.code, 0, first.err + first.out);
  t.deepEqual(first.calls, fileSteps(f.root));
  t.regex(first.out, /target volume is .*, not the running system: launchd steps skipped/);
  assertInstalled(t, f);
  const after = snapshot(f);
  const second = await runOnVolume(f, script(f, 'postinstall'), installerArgs(`${f.root}/`), {
    STUB_CONSOLE_USER: 'alice',
  });
  t.is(second.code, 0, second.err);
  t.deepEqual(second.calls, fileSteps(f.root), 'a trailing slash on $3 changes nothing');
  t.deepEqual(snapshot(f), after);
});

test('postinstall creates /usr/local/bin when missing, and never replaces an agentctl that is not a link', async (t) => {
  const f = fixture({ usrLocalBin: false });
  const r = await runOnVolume(f, script(f, 'postinstall'), installerArgs(f.root));
  t.is(r.code, 0, r.err);
  t.deepEqual(r.calls, [
    ...fileSteps(f.root).slice(0, 3),
    ['chown', 'root:wheel', `${f.root}/usr/local/bin`],
    fileSteps(f.root)[3],
  ]);
  t.is(lstatSync(path.join(f.root, 'usr/local/bin')).mode & 0o7777, 0o755);

  const g = fixture();
  writeFileSync(path.join(g.root, 'usr/local/bin/agentctl'), '#!/bin/sh\necho not ours\n', { mode: 0o755 });
  const kept = await runOnVolume(g, script(g, 'postinstall'), installerArgs(g.root));
  t.is(kept.code, 0);
  t.regex(kept.out, /warning: \/usr\/local\/bin\/agentctl exists and is not a link; left as it is/);
  t.is(readFileSync(path.join(g.root, 'usr/local/bin/agentctl'), 'utf8'), '#!/bin/sh\necho not ours\n');
  t.false(kept.calls.some((c) => c.includes('-h')));

  // A stale link (an older install root) is replaced.
  const h = fixture();
  symlinkSync('/opt/old/agentctl', path.join(h.root, 'usr/local/bin/agentctl'));
  t.is((await runOnVolume(h, script(h, 'postinstall'), installerArgs(h.root))).code, 0);
  t.is(readlinkSync(path.join(h.root, 'usr/local/bin/agentctl')), paths.agentctlWrapper);
});

test('postinstall fails clearly when the payload is not on the target volume', async (t) => {
  const f = fixture();
  const empty = path.join(work, 'empty volume');
  mkdirSync(empty, { recursive: true });
  const r = await runOnVolume(f, script(f, 'postinstall'), installerArgs(empty));
  t.is(r.code, 1);
  t.regex(r.out, /the payload is not on .*empty volume/);
  t.deepEqual(r.calls, []);
});

test(`postinstall on the running system: bootout → enable → bootstrap → kickstart, then the console user's agent; twice${liveNeeds}`, async (t) => {
  if (!canChroot) return t.pass();
  const f = fixture();
  const first = await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), {
    STUB_CONSOLE_USER: 'alice',
    STUB_BOOTOUT_STATUS: '113',
  });
  t.is(first.code, 0, first.err + first.out);
  t.deepEqual(first.calls, [...fileSteps(''), ...daemonSteps, ...sessionSteps]);
  assertInstalled(t, f);
  const after = snapshot(f);
  // Again, now that the jobs are loaded (bootout succeeds): the same calls, the same files.
  const second = await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), {
    STUB_CONSOLE_USER: 'alice',
    STUB_BOOTOUT_STATUS: '0',
  });
  t.is(second.code, 0, second.err);
  t.deepEqual(second.calls, first.calls);
  t.deepEqual(snapshot(f), after);
});

test(`postinstall: kickstart's exit status is logged, and a failure is not fatal (RunAtLoad started the job)${liveNeeds}`, async (t) => {
  if (!canChroot) return t.pass();
  for (const status of ['0', '37']) {
    const f = fixture();
    const r = await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), {
      STUB_CONSOLE_USER: 'alice',
      STUB_KICKSTART_STATUS: status,
    });
    t.is(r.code, 0, r.err + r.out);
    t.deepEqual(r.calls, [...fileSteps(''), ...daemonSteps, ...sessionSteps]);
    t.regex(r.out + r.err, new RegExp(`launchctl kickstart system/${label.replaceAll('.', '\\.')} exited ${status}`));
  }
});

test(`postinstall retries bootstrap (MDM installs race) and fails after five attempts${liveNeeds}`, async (t) => {
  if (!canChroot) return t.pass();
  const f = fixture();
  const bootstrap = ['launchctl', 'bootstrap', 'system', paths.daemonPlist];
  const sleep = ['sleep', '2'];
  const racing = await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), { STUB_BOOTSTRAP_FAILURES: '2' });
  t.is(racing.code, 0, racing.err + racing.out);
  t.deepEqual(racing.calls, [
    ...fileSteps(''),
    daemonSteps[0],
    daemonSteps[1],
    bootstrap,
    sleep,
    bootstrap,
    sleep,
    bootstrap,
    daemonSteps[3],
    ['stat', '-f%Su', '/dev/console'],
  ]);
  t.regex(racing.out, /failed \(attempt 1 of 5\); retrying in 2s/);

  const broken = await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), { STUB_BOOTSTRAP_FAILURES: '9' });
  t.is(broken.code, 1);
  t.deepEqual(broken.calls, [
    ...fileSteps(''),
    daemonSteps[0],
    daemonSteps[1],
    bootstrap,
    sleep,
    bootstrap,
    sleep,
    bootstrap,
    sleep,
    bootstrap,
    sleep,
    bootstrap,
  ]);
  t.regex(broken.out, /launchctl bootstrap system .* failed 5 times/);
});

test(`postinstall with nobody (or the login window) at the console loads no session agent${liveNeeds}`, async (t) => {
  if (!canChroot) return t.pass();
  const f = fixture();
  for (const who of ['', 'loginwindow', 'root', '_mbsetupuser']) {
    const r = await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), { STUB_CONSOLE_USER: who });
    t.is(r.code, 0, r.err);
    t.deepEqual(r.calls, [...fileSteps(''), ...daemonSteps, ['stat', '-f%Su', '/dev/console']], who || 'nobody');
  }
});

test('preinstall on another volume removes the old code and keeps state; no launchd', async (t) => {
  const f = fixture();
  const root = path.join(f.root, settings.installRoot);
  mkdirSync(path.join(root, 'state'));
  writeFileSync(path.join(root, 'state', 'guardrail.json'), '{}');
  mkdirSync(path.join(root, 'node_modules', 'dropped-in-new-version'), { recursive: true });
  for (let run = 0; run < 2; run++) {
    const r = await runOnVolume(f, script(f, 'preinstall'), installerArgs(f.root), { STUB_CONSOLE_USER: 'alice' });
    t.is(r.code, 0, r.err);
    t.deepEqual(r.calls, []);
  }
  for (const gone of ['dist', 'node_modules', 'build']) t.false(existsSync(path.join(root, gone)), gone);
  t.true(existsSync(path.join(root, 'state', 'guardrail.json')));
  t.true(existsSync(path.join(root, 'bin', 'node')));
});

test(`preinstall on the running system stops the session agent and the daemon${liveNeeds}`, async (t) => {
  if (!canChroot) return t.pass();
  const f = fixture();
  for (const bootout of ['0', '113']) {
    const r = await runLive(f, '/.test/scripts/preinstall', installerArgs('/'), {
      STUB_CONSOLE_USER: 'alice',
      STUB_BOOTOUT_STATUS: bootout,
    });
    t.is(r.code, 0, r.err);
    t.deepEqual(r.calls, [
      ...consoleUser,
      ['launchctl', 'bootout', `gui/501/${session}`],
      ['launchctl', 'bootout', `system/${label}`],
    ]);
  }
});

function seedData(f: Fixture) {
  const root = path.join(f.root, settings.installRoot);
  mkdirSync(path.join(root, 'state'), { recursive: true });
  writeFileSync(path.join(root, 'state', 'guardrail.json'), '{}');
  mkdirSync(path.join(f.root, 'Library/Logs/TrustGuard'), { recursive: true });
  writeFileSync(path.join(f.root, 'Library/Logs/TrustGuard/agent.log'), '{}\n');
  mkdirSync(path.join(f.root, 'Library/Preferences'), { recursive: true });
  writeFileSync(path.join(f.root, `Library/Preferences/${label}.plist`), '<plist/>');
}

test('uninstall on another volume keeps state and logs, removes the rest, forgets the receipt; twice', async (t) => {
  const f = fixture();
  t.is((await runOnVolume(f, script(f, 'postinstall'), installerArgs(f.root))).code, 0);
  seedData(f);
  const uninstall = path.join(f.root, paths.uninstall);
  const first = await runOnVolume(f, uninstall, ['--volume', f.root]);
  t.is(first.code, 0, first.err);
  t.deepEqual(first.calls, [
    ['id', '-u'],
    ['pkgutil', '--volume', f.root, '--forget', label],
  ]);
  t.regex(first.out, /kept its state .* and logs .*uninstall --purge removes them/);
  t.deepEqual(
    Object.keys(snapshot(f)).filter(
      (p) =>
        p.startsWith('Library/Application Support/TrustGuard') ||
        p.startsWith('Library/Launch') ||
        p.startsWith('usr/local/bin/'),
    ),
    [
      'Library/Application Support/TrustGuard',
      'Library/Application Support/TrustGuard/state',
      'Library/Application Support/TrustGuard/state/guardrail.json',
      'Library/LaunchAgents',
      'Library/LaunchDaemons',
    ],
  );
  t.true(existsSync(path.join(f.root, 'Library/Logs/TrustGuard/agent.log')));
  t.true(existsSync(path.join(f.root, `Library/Preferences/${label}.plist`)));
  const after = snapshot(f);
  // uninstall removed itself; run a copy again, as an admin might.
  const copy = path.join(f.root, '.test', 'uninstall-again');
  mkdirSync(copy);
  cpSync(path.join(stage().installRootDir, 'bin', 'uninstall'), path.join(copy, 'uninstall'));
  cpSync(path.join(stage().installRootDir, 'bin', 'common.sh'), path.join(copy, 'common.sh'));
  const second = await runOnVolume(f, path.join(copy, 'uninstall'), ['--volume', f.root]);
  t.is(second.code, 0, second.err);
  t.deepEqual(second.calls, first.calls);
  t.deepEqual(snapshot(f), after);

  const purge = await runOnVolume(f, path.join(copy, 'uninstall'), ['--purge', '--volume', f.root]);
  t.is(purge.code, 0, purge.err);
  t.false(existsSync(path.join(f.root, settings.installRoot)));
  t.false(existsSync(path.join(f.root, 'Library/Logs/TrustGuard')));
  t.false(existsSync(path.join(f.root, `Library/Preferences/${label}.plist`)));
});

test('uninstall refuses non-root callers and bad arguments, and keeps a link that is not ours', async (t) => {
  const f = fixture();
  t.is((await runOnVolume(f, script(f, 'postinstall'), installerArgs(f.root))).code, 0);
  const uninstall = path.join(f.root, paths.uninstall);
  const before = snapshot(f);
  const user = await runOnVolume(f, uninstall, ['--volume', f.root], { STUB_UID: '501' });
  t.is(user.code, 1);
  t.regex(user.err, /run it as root: sudo "\/Library\/Application Support\/TrustGuard\/bin\/uninstall"/);
  t.deepEqual(user.calls, [['id', '-u']]);
  t.deepEqual(snapshot(f), before);
  for (const args of [['--bogus'], ['--volume']]) {
    const r = await runOnVolume(f, uninstall, args);
    t.is(r.code, 64, args.join(' '));
    t.regex(r.err, /usage: uninstall \[--purge\] \[--volume PATH\]/);
  }
  t.deepEqual(snapshot(f), before);

  rmSync(path.join(f.root, 'usr/local/bin/agentctl'));
  symlinkSync('/opt/homebrew/bin/agentctl', path.join(f.root, 'usr/local/bin/agentctl'));
  t.is((await runOnVolume(f, uninstall, ['--volume', f.root])).code, 0);
  t.is(readlinkSync(path.join(f.root, 'usr/local/bin/agentctl')), '/opt/homebrew/bin/agentctl');
});

test(`uninstall on the running system boots out both jobs and forgets the receipt${liveNeeds}`, async (t) => {
  if (!canChroot) return t.pass();
  const f = fixture();
  t.is((await runLive(f, '/.test/scripts/postinstall', installerArgs('/'), { STUB_CONSOLE_USER: 'alice' })).code, 0);
  seedData(f);
  const r = await runLive(f, paths.uninstall, [], { STUB_CONSOLE_USER: 'alice' });
  t.is(r.code, 0, r.err + r.out);
  t.deepEqual(r.calls, [
    ['id', '-u'],
    ...consoleUser,
    ['launchctl', 'bootout', `gui/501/${session}`],
    ['launchctl', 'bootout', `system/${label}`],
    ['pkgutil', '--forget', label],
  ]);
  t.false(existsSync(path.join(f.root, paths.daemonPlist)));
  t.false(existsSync(path.join(f.root, paths.sessionPlist)));
  t.false(existsSync(path.join(f.root, 'usr/local/bin/agentctl')));
  t.true(existsSync(path.join(f.root, settings.installRoot, 'state', 'guardrail.json')));
  t.false(existsSync(path.join(f.root, settings.installRoot, 'bin')));
});

test('the scripts carry no hard-wired identifier outside common.sh', (t) => {
  for (const name of ['preinstall', 'postinstall', 'uninstall']) {
    const text = readFileSync(path.join(repoRoot, 'pkg-scripts', name), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    t.false(/com\.trustguard/.test(text), name);
    t.false(/\/Library\/Application Support\/TrustGuard/.test(text), name);
  }
});
