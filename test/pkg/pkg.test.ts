// `npm run pkg`: on Linux it stages the payload and passes its checks; every plist it writes
// is read back with Python's plistlib, the Distribution and PackageInfo with ElementTree.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModes } from '../../scripts/pkg/checks.js';
import { componentFileName } from '../../scripts/pkg/installer-xml.js';
import type { Report } from '../../scripts/pkg/main.js';
import { repositorySources } from '../../scripts/pkg/main.js';
import { buildSettings, installPaths, type BuildSettings } from '../../scripts/pkg/settings.js';
import { elementTree, findAll, plistlib } from '../helpers/python.js';
import { hasCommand, missing } from '../helpers/system.js';
import { agentdNodeOptions } from '../../agent/daemon/node-options.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const distRoot = path.resolve(here, '..', '..');
const repoRoot = path.resolve(distRoot, '..');
const main = path.join(distRoot, 'scripts', 'pkg', 'main.js');
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

function runPkg(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const tmp = mkdtempSync(path.join(tmpdir(), 'tg-pkg-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

// One build with the default settings and one rebranded, shared by the tests below.
const builds = new Map<
  string,
  Promise<{ out: string; code: number | null; stdout: string; err: string; settings: BuildSettings }>
>();
function build(prefix?: string, human = false) {
  const key = `${prefix ?? 'default'}${human ? '-human' : ''}`;
  if (!builds.has(key)) {
    const out = path.join(tmp, key);
    builds.set(
      key,
      // --stage-only: on a Mac too, no Apple tools (the build-package workflow job runs those).
      runPkg([
        '--out',
        out,
        '--stage-only',
        ...(prefix ? ['--identifier-prefix', prefix] : []),
        ...(human ? [] : ['--json']),
      ]).then((r) => ({
        out,
        code: r.code,
        stdout: r.out,
        err: r.err,
        settings: buildSettings({ identifierPrefix: prefix, version }),
      })),
    );
  }
  return builds.get(key)!;
}

const onLinux = process.platform === 'linux';

test('npm run pkg stages the payload and passes every check it can run here', async (t) => {
  const b = await build();
  t.is(b.code, 0, b.err || b.stdout);
  const report = JSON.parse(b.stdout) as Report;
  t.true(report.ok);
  const byName = new Map(report.steps.map((s) => [s.step, s]));
  for (const step of [
    'stage payload',
    'payload tree',
    'modes',
    'launchd plists',
    'Distribution and PackageInfo',
    'component plist and entitlements',
    'scripts: sh -n',
    'smoke: staged runtime',
  ]) {
    t.is(byName.get(step)?.result, 'passed', step);
  }
  if (!missing('root')) t.is(byName.get('owners')?.result, 'passed');
  if (hasCommand('shellcheck')) t.is(byName.get('scripts: shellcheck')?.result, 'passed');
  if (onLinux) {
    // Linux says which steps need a Mac.
    const needsMac = report.steps.filter((s) => s.result === 'needs a Mac').map((s) => s.step);
    // The package itself needs no Mac (the TypeScript writer); --stage-only makes none.
    t.deepEqual(needsMac, [
      'universal addon and runtime',
      'codesign',
      'notarize',
      'pkgutil --check-signature, --expand',
    ]);
    t.is(byName.get('write the package (TypeScript)')?.result, 'skipped');
    t.is(report.product, undefined);
    t.deepEqual(report.notes, ['No .pkg was made (--stage-only).']);
  }
  t.deepEqual(JSON.parse(readFileSync(path.join(b.out, 'report.json'), 'utf8')), report);
});

test('the human report names the steps that need a Mac, and claims no package that was not made', async (t) => {
  t.plan(onLinux ? 6 : 2);
  const b = await build(undefined, true);
  t.is(b.code, 0, b.err);
  t.notRegex(b.stdout, /All checks passed/);
  if (onLinux) {
    t.regex(b.stdout, /Not done here: the 4 steps marked ◌ need macOS and Apple's tools/);
    t.regex(b.stdout, /◌ codesign +needs a Mac: codesign --options runtime/);
    t.regex(b.stdout, /^No \.pkg was made \(--stage-only\)\.$/m);
    t.regex(b.stdout, /Every check that ran passed\.$/m);
  }
});

test(`--writer ts --payload-from a staged payload writes the .pkg, signed with --sign-key/--sign-cert ${missing('openssl') ? '[needs openssl]' : ''}`, async (t) => {
  if (missing('openssl')) return t.pass();
  const staged = await build();
  t.is(staged.code, 0, staged.err);
  const pki = path.join(tmp, 'pki');
  mkdirSync(pki);
  const run = (args: string[]) => spawnSync('openssl', args, { cwd: pki, encoding: 'utf8' });
  t.is(run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=Developer ID Installer: CLI Test']).status, 0); // prettier-ignore
  const out = path.join(tmp, 'ts-writer');
  const r = await runPkg([
    '--out', out, '--writer', 'ts', '--payload-from', path.join(staged.out, 'payload'),
    '--sign-key', path.join(pki, 'k.pem'), '--sign-cert', path.join(pki, 'c.pem'),
  ]); // prettier-ignore
  t.is(r.code, 0, r.err || r.out);
  const product = path.join(out, `TrustGuard-${version}.pkg`);
  t.regex(r.out, /✔ write the package \(TypeScript\) +TrustGuard-.*\.pkg: \d+ entries/);
  t.regex(r.out, /✔ sign \(TypeScript\) +RSA \+ CMS over the TOC checksum by Developer ID Installer: CLI Test/);
  t.regex(r.out, /– smoke: staged runtime +skipped: the payload was staged elsewhere/);
  t.regex(r.out, new RegExp(`^Package: ${product.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  t.regex(r.out, /All checks passed\.$/m);
  t.true(readFileSync(product).subarray(0, 4).equals(Buffer.from('xar!')));
  // Sentences wrap at 80 columns (the header, steps and paths may not).
  for (const line of r.out.split('\n').filter((l) => !/^( |npm run pkg|Package:|\/)/.test(l) && !l.includes(tmp)))
    t.true(line.length <= 80, line);
});

test('--writer and signing options that do not go together are usage errors', async (t) => {
  for (const [args, message] of [
    [['--writer', 'zip'], /--writer is apple or ts/],
    [['--writer', 'ts', '--sign', 'Developer ID Installer: X'], /--writer ts signs with --sign-key/],
    [['--sign-key', 'k.pem'], /--sign-key needs --sign-cert/],
    [['--payload-only', '--stage-only'], /--payload-only stages a payload/],
    ...(onLinux ? [[['--writer', 'apple'], /--writer apple needs macOS/]] : []),
  ] as Array<[string[], RegExp]>) {
    const r = await runPkg(['--out', path.join(tmp, 'usage'), ...args]);
    t.is(r.code, 64, args.join(' '));
    t.regex(r.err, message);
  }
});

const launchdKeys = {
  daemon: [
    'Label',
    'ProgramArguments',
    'RunAtLoad',
    'KeepAlive',
    'ThrottleInterval',
    'ExitTimeOut',
    'AssociatedBundleIdentifiers',
    'ProcessType',
    'StandardOutPath',
    'StandardErrorPath',
  ],
  session: [
    'Label',
    'ProgramArguments',
    'LimitLoadToSessionType',
    'RunAtLoad',
    'KeepAlive',
    'ThrottleInterval',
    'AssociatedBundleIdentifiers',
    'ProcessType',
  ],
};

function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...allStrings(v)]);
  return [];
}

for (const prefix of [undefined, 'com.acme.trustguard']) {
  test(`plistlib reads every generated plist; launchd keys; no com.apple.* identifiers (${prefix ?? 'default prefix'}) ${missing('python3') ? '[needs python3]' : ''}`, async (t) => {
    if (missing('python3')) return t.pass();
    const b = await build(prefix);
    t.is(b.code, 0, b.err || b.stdout);
    const s = b.settings;
    const paths = installPaths(s);
    const payload = path.join(b.out, 'payload');
    const daemonFile = path.join(payload, paths.daemonPlist);
    const sessionFile = path.join(payload, paths.sessionPlist);
    const others = ['component.plist', 'entitlements.plist', `${s.daemonLabel}.pppc.mobileconfig`].map((f) =>
      path.join(b.out, f),
    );
    const parsed = plistlib([daemonFile, sessionFile, ...others]);
    for (const [file, r] of Object.entries(parsed)) t.true(r.ok, `${file}: ${r.ok ? '' : r.error}`);

    const daemon = (parsed[daemonFile] as { value: Record<string, unknown> }).value;
    t.deepEqual(Object.keys(daemon).sort(), [...launchdKeys.daemon].sort());
    t.is(daemon.Label, path.basename(daemonFile, '.plist'));
    t.is(daemon.Label, `${s.identifierPrefix}.agent`);
    t.deepEqual(daemon.ProgramArguments, [
      `${s.installRoot}/bin/node`,
      ...agentdNodeOptions,
      `${s.installRoot}/dist/agent/daemon/agentd.cjs`,
    ]);
    t.is(daemon.RunAtLoad, true);
    t.is(daemon.KeepAlive, true);
    t.is(daemon.ThrottleInterval, 10);
    t.is(daemon.ExitTimeOut, 10);
    t.deepEqual(daemon.AssociatedBundleIdentifiers, [`${s.identifierPrefix}.agent`]);
    t.is(daemon.ProcessType, 'Background');
    t.is(daemon.StandardOutPath, '/Library/Logs/TrustGuard/agentd.stdout.log');
    t.is(daemon.StandardErrorPath, '/Library/Logs/TrustGuard/agentd.stderr.log');

    const session = (parsed[sessionFile] as { value: Record<string, unknown> }).value;
    t.deepEqual(Object.keys(session).sort(), [...launchdKeys.session].sort());
    t.is(session.Label, path.basename(sessionFile, '.plist'));
    t.is(session.Label, `${s.identifierPrefix}.agent.session`);
    t.deepEqual(session.ProgramArguments, [
      `${s.installRoot}/bin/node`,
      ...agentdNodeOptions,
      `${s.installRoot}/dist/agent/daemon/agentd.cjs`,
      '--session',
    ]);
    t.is(session.LimitLoadToSessionType, 'Aqua');
    t.deepEqual(session.KeepAlive, { SuccessfulExit: false });

    for (const job of [daemon, session]) {
      t.deepEqual(
        allStrings(job).filter((x) => /^com\.apple\./i.test(x)),
        [],
      );
      t.true(
        (job.ProgramArguments as string[]).every(
          (a) =>
            a.startsWith('/Library/Application Support/TrustGuard/') ||
            a === '--session' ||
            agentdNodeOptions.includes(a),
        ),
      );
    }

    t.deepEqual((parsed[others[0]] as { value: unknown }).value, [], 'no bundles in the payload, so no components');
    t.deepEqual((parsed[others[1]] as { value: unknown }).value, {
      'com.apple.security.cs.allow-jit': true,
      'com.apple.security.cs.allow-unsigned-executable-memory': true,
    });
    const pppc = (parsed[others[2]] as { value: Record<string, unknown> }).value;
    t.is(pppc.PayloadIdentifier, `${s.daemonLabel}.pppc`);
    const tcc = (pppc.PayloadContent as Array<Record<string, unknown>>)[0];
    t.is(tcc.PayloadType, 'com.apple.TCC.configuration-profile-policy', "Apple's payload type");
    t.is(tcc.PayloadIdentifier, `${s.daemonLabel}.pppc.tcc`);
    const grant = (tcc.Services as { SystemPolicyAllFiles: Array<Record<string, unknown>> }).SystemPolicyAllFiles[0];
    t.is(grant.Identifier, paths.runtime);
    t.regex(
      grant.CodeRequirement as string,
      new RegExp(`^identifier "${s.daemonLabel.replace(/\./g, '\\.')}" and anchor apple generic`),
    );
  });

  test(`ElementTree reads the Distribution and PackageInfo; ids and versions agree (${prefix ?? 'default prefix'}) ${missing('python3') ? '[needs python3]' : ''}`, async (t) => {
    if (missing('python3')) return t.pass();
    const b = await build(prefix);
    const s = b.settings;
    const distFile = path.join(b.out, 'Distribution.xml');
    const infoFile = path.join(b.out, 'PackageInfo');
    const xml = elementTree([distFile, infoFile]);
    const dist = xml[distFile];
    const info = xml[infoFile];
    t.is(dist.tag, 'installer-gui-script');
    const options = findAll(dist, 'options')[0];
    t.is(options.attrib.customize, 'never');
    t.is(options.attrib.hostArchitectures, 'arm64,x86_64');
    const definition = dist.children.filter((c) => c.tag === 'pkg-ref');
    t.is(definition.length, 1);
    t.is(definition[0].attrib.id, s.packageIdentifier);
    t.is(definition[0].attrib.version, version);
    t.is(definition[0].text, componentFileName(s));
    const product = findAll(dist, 'product')[0];
    t.deepEqual(product.attrib, { id: s.productIdentifier, version });
    t.is(findAll(dist, 'os-version')[0].attrib.min, '12.0');

    t.is(info.tag, 'pkg-info');
    t.is(info.attrib.identifier, definition[0].attrib.id);
    t.is(info.attrib.version, definition[0].attrib.version);
    t.is(info.attrib['install-location'], '/');
    t.is(info.attrib.relocatable, 'false');
    t.deepEqual(
      findAll(info, 'scripts')[0].children.map((c) => [c.tag, c.attrib.file]),
      [
        ['preinstall', './preinstall'],
        ['postinstall', './postinstall'],
      ],
    );
    t.false(s.packageIdentifier.startsWith('com.apple.'));
  });
}

test('a rebranded build carries its identifiers into the scripts and the installed package.json', async (t) => {
  const b = await build('com.acme.trustguard');
  t.is(b.code, 0, b.err || b.stdout);
  const common = readFileSync(path.join(b.out, 'scripts', 'common.sh'), 'utf8');
  t.regex(common, /^TG_LABEL='com\.acme\.trustguard\.agent'$/m);
  t.regex(common, /^TG_SESSION_LABEL='com\.acme\.trustguard\.agent\.session'$/m);
  t.regex(common, /^TG_PKG_ID='com\.acme\.trustguard\.agent'$/m);
  t.false(common.includes("'com.trustguard"), 'no default identifier left');
  const installed = path.join(b.out, 'payload', b.settings.installRoot);
  t.is(readFileSync(path.join(installed, 'bin', 'common.sh'), 'utf8'), common, 'uninstall sources the same settings');
  const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
  t.is(manifest.type, 'module');
  t.is(manifest.version, version);
  t.is(manifest.trustguard.domain, 'com.acme.trustguard.agent');
});

test('the payload carries production dependencies only, and the runtime wrapper for agentctl', async (t) => {
  const b = await build();
  const installed = path.join(b.out, 'payload', b.settings.installRoot);
  for (const dep of ['winston', 'zod'])
    t.true(existsSync(path.join(installed, 'node_modules', dep, 'package.json')), dep);
  // plist only builds the package (scripts/pkg); agentd and agentctl read plists with their own readers.
  for (const dev of [
    'plist',
    'ava',
    'typescript',
    'fast-check',
    'node-gyp',
    'node-addon-api',
    '@types/node',
    'bplist-parser',
    'commander',
    '.bin',
  ])
    t.false(existsSync(path.join(installed, 'node_modules', dev)), dev);
  t.false(existsSync(path.join(installed, 'dist', 'test')));
  t.false(existsSync(path.join(installed, 'dist', 'scripts')));
  // agentctl's bundles with their V8 code caches (agent/cli/agentctl.cts, issue 21).
  for (const bundle of ['agentctl-main.cjs', 'commands/status.cjs'])
    t.true(existsSync(path.join(installed, 'dist', 'agent', 'cli', `${bundle}.cache`)), bundle);
  t.is(
    readFileSync(path.join(installed, 'bin', 'agentctl'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('exec ')),
    'exec "/Library/Application Support/TrustGuard/bin/node" "/Library/Application Support/TrustGuard/dist/agent/cli/agentctl.cjs" "$@"',
  );
});

test('the generated files kept in the repository match the generator (npm run pkg -- --write-sources)', (t) => {
  for (const { file, text } of repositorySources(buildSettings({ version }))) {
    t.is(readFileSync(path.join(repoRoot, file), 'utf8'), text, `${file} differs: run npm run pkg -- --write-sources`);
  }
});

test('bad settings and a foreign --out are usage errors that touch nothing', async (t) => {
  const apple = await runPkg(['--out', path.join(tmp, 'apple'), '--identifier-prefix', 'com.apple.trustguard']);
  t.is(apple.code, 64);
  t.regex(apple.err, /must not start with com\.apple/);
  t.false(existsSync(path.join(tmp, 'apple')));
  const notDns = await runPkg(['--out', path.join(tmp, 'x'), '--identifier-prefix', 'trustguard']);
  t.is(notDns.code, 64);
  t.regex(notDns.err, /reverse-DNS/);
  const unknown = await runPkg(['--bogus']);
  t.is(unknown.code, 64);
  const notarizeUnsigned = await runPkg(['--notarize', 'profile']);
  t.is(notarizeUnsigned.code, 64);
  t.regex(notarizeUnsigned.err, /--notarize needs --sign/);

  const foreign = path.join(tmp, 'foreign');
  mkdirSync(foreign);
  writeFileSync(path.join(foreign, 'precious.txt'), 'keep me');
  const r = await runPkg(['--out', foreign]);
  t.is(r.code, 64);
  t.regex(r.err, /is not empty and was not made by npm run pkg/);
  t.is(readFileSync(path.join(foreign, 'precious.txt'), 'utf8'), 'keep me');
});

test('the mode check catches a group-writable file and a non-executable runtime', async (t) => {
  const b = await build();
  const copy = path.join(tmp, 'modes');
  // A small payload of its own: the launchd plists and a runtime stand-in.
  const s = b.settings;
  const p = installPaths(s);
  for (const f of [p.daemonPlist, p.runtime]) {
    mkdirSync(path.join(copy, path.dirname(f)), { recursive: true });
    writeFileSync(path.join(copy, f), 'x');
  }
  for (const d of [
    'Library',
    'Library/LaunchDaemons',
    'Library/Application Support',
    'Library/Application Support/TrustGuard',
    'Library/Application Support/TrustGuard/bin',
  ])
    chmodSync(path.join(copy, d), 0o755);
  chmodSync(copy, 0o755);
  chmodSync(path.join(copy, p.daemonPlist), 0o664);
  chmodSync(path.join(copy, p.runtime), 0o644);
  const problems = checkModes(copy, s);
  t.true(
    problems.some((x) => x.includes('com.trustguard.agent.plist 0664: a file must be 0644 or 0755')),
    problems.join('\n'),
  );
  t.true(
    problems.some((x) => x.includes('bin/node 0644: must be executable')),
    problems.join('\n'),
  );
});
