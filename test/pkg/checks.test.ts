// The package checks themselves: they catch what they claim to, and malformed input gets a
// clear problem, never an exception.
import test from 'ava';
import fc from 'fast-check';
import { parse as parsePlist } from 'plist';
import { renderCommon } from '../../scripts/pkg/install-scripts.js';
import {
  checkComponentPlist,
  checkInstallerXml,
  componentFileName,
  componentPlist,
  distributionXml,
  packageInfoXml,
  stableUuid,
} from '../../scripts/pkg/installer-xml.js';
import { checkLaunchdJob, daemonJob, launchdPlist, sessionJob } from '../../scripts/pkg/launchd.js';
import { buildSettings, checkIdentifierPrefix } from '../../scripts/pkg/settings.js';
import { agentdNodeOptions } from '../../agent/daemon/node-options.js';

const settings = buildSettings({ version: '1.2.3' });
const daemonFile = { fileName: 'com.trustguard.agent.plist', kind: 'daemon' as const, settings };
const sessionFile = { fileName: 'com.trustguard.agent.session.plist', kind: 'session' as const, settings };

test('the generated jobs pass their own check, after a round trip through the plist text', (t) => {
  t.deepEqual(checkLaunchdJob(parsePlist(launchdPlist(daemonJob(settings))), daemonFile), []);
  t.deepEqual(checkLaunchdJob(parsePlist(launchdPlist(sessionJob(settings))), sessionFile), []);
});

test('the launchd check names each defect', (t) => {
  const job = daemonJob(settings);
  const problems = (change: Record<string, unknown>, file = daemonFile) => checkLaunchdJob({ ...job, ...change }, file);
  t.deepEqual(problems({ Label: 'com.trustguard.other' }), [
    'Label "com.trustguard.other" is not the file name com.trustguard.agent',
  ]);
  t.true(
    problems({ Label: 'com.apple.trustguard' }, { ...daemonFile, fileName: 'com.apple.trustguard.plist' }).includes(
      'Label is an Apple identifier',
    ),
  );
  const argv = job.ProgramArguments as string[];
  t.deepEqual(problems({ ProgramArguments: ['/usr/local/bin/node', ...argv.slice(1)] }), [
    'ProgramArguments[0] is not the bundled runtime /Library/Application Support/TrustGuard/bin/node',
  ]);
  t.deepEqual(problems({ ProgramArguments: [argv[0], argv[argv.length - 1]] }), [
    `ProgramArguments do not pass the runtime options ${agentdNodeOptions.join(' ')}`,
    `ProgramArguments[${agentdNodeOptions.length + 1}] is not the daemon entry /Library/Application Support/TrustGuard/dist/agent/daemon/agentd.cjs`,
  ]);
  t.deepEqual(problems({ RunAtLoad: false }), ['RunAtLoad is not true']);
  t.deepEqual(problems({ KeepAlive: false }), ['KeepAlive is not true']);
  t.deepEqual(problems({ ThrottleInterval: '10' }), ['ThrottleInterval is not a positive integer']);
  t.deepEqual(problems({ AssociatedBundleIdentifiers: ['com.apple.Safari'] }), [
    'AssociatedBundleIdentifiers is not a list of com.trustguard.* identifiers',
    'Apple identifiers: com.apple.Safari',
  ]);
  t.deepEqual(problems({ StandardOutPath: '/tmp/out.log' }), ['StandardOutPath is not under /Library/Logs/TrustGuard']);
  t.deepEqual(problems({ KeepAlve: true }), ['unexpected key KeepAlve']);
  t.deepEqual(problems({ ProcessType: 'Fast' }), ['ProcessType is missing or unknown']);
  const session = sessionJob(settings);
  t.deepEqual(checkLaunchdJob({ ...session, LimitLoadToSessionType: 'Background' }, sessionFile), [
    'LimitLoadToSessionType is not Aqua',
  ]);
  t.deepEqual(
    checkLaunchdJob({ ...session, ProgramArguments: (session.ProgramArguments as string[]).slice(0, -1) }, sessionFile),
    ['ProgramArguments lacks --session'],
  );
});

test('the launchd check never throws on arbitrary input', (t) => {
  fc.assert(
    fc.property(fc.anything(), (value) => {
      const problems = checkLaunchdJob(value, daemonFile);
      return Array.isArray(problems) && problems.length > 0 && problems.every((p) => typeof p === 'string');
    }),
  );
  t.pass();
});

test('Distribution and PackageInfo: the generated pair agrees; each disagreement is named', (t) => {
  const distribution = distributionXml(settings);
  const packageInfo = packageInfoXml(settings, { numberOfFiles: 3, installKBytes: 1 });
  t.deepEqual(
    checkInstallerXml({ distribution, packageInfo, settings, componentFile: componentFileName(settings) }),
    [],
  );
  // After productbuild the pkg-ref points into the archive with a '#'.
  t.deepEqual(
    checkInstallerXml({
      distribution: distribution.replace('>TrustGuard-component.pkg<', '>#TrustGuard-component.pkg<'),
      packageInfo,
      settings,
      componentFile: '#TrustGuard-component.pkg',
    }),
    [],
  );

  const older = packageInfoXml(buildSettings({ version: '1.2.2' }), { numberOfFiles: 3, installKBytes: 1 });
  t.deepEqual(checkInstallerXml({ distribution, packageInfo: older, settings }), [
    'PackageInfo: version is "1.2.2", not "1.2.3"',
    'Distribution pkg-ref version and PackageInfo version differ',
  ]);
  const otherId = packageInfoXml(buildSettings({ version: '1.2.3', identifierPrefix: 'com.acme.tg' }), {
    numberOfFiles: 3,
    installKBytes: 1,
  });
  t.deepEqual(checkInstallerXml({ distribution, packageInfo: otherId, settings }), [
    'PackageInfo: identifier is "com.acme.tg.agent", not "com.trustguard.agent"',
    'Distribution pkg-ref id and PackageInfo identifier differ',
  ]);
  t.deepEqual(
    checkInstallerXml({
      distribution: distribution.replace('customize="never"', 'customize="allow"'),
      packageInfo,
      settings,
    }),
    ['Distribution: options customize is not "never"'],
  );
  t.deepEqual(
    checkInstallerXml({ distribution: distribution.replace('arm64,x86_64', 'x86_64'), packageInfo, settings }),
    ['Distribution: hostArchitectures is "x86_64", not arm64,x86_64'],
  );
  t.deepEqual(
    checkInstallerXml({
      distribution: distribution.replace(
        '<product id="com.trustguard.agent" version="1.2.3"/>',
        '<product id="com.trustguard.agent" version="9"/>',
      ),
      packageInfo,
      settings,
    }),
    ['Distribution: product version "9" is not 1.2.3'],
  );
  t.deepEqual(
    checkInstallerXml({
      distribution: distribution.replace('<line choice="com.trustguard.agent"/>', '<line choice="nope"/>'),
      packageInfo,
      settings,
    }),
    ['Distribution: choices-outline names an unknown choice "nope"'],
  );
});

test('the installer XML check reports malformed XML and never throws', (t) => {
  const packageInfo = packageInfoXml(settings, { numberOfFiles: 3, installKBytes: 1 });
  const broken = checkInstallerXml({ distribution: '<installer-gui-script><options>', packageInfo, settings });
  t.is(broken.length, 1);
  t.regex(broken[0], /^Distribution is not well-formed XML: /);
  fc.assert(
    fc.property(fc.string(), fc.string(), (distribution, info) => {
      const problems = checkInstallerXml({ distribution, packageInfo: info, settings });
      return problems.length > 0 && problems.every((p) => typeof p === 'string');
    }),
  );
  // Truncations of the real files: every prefix is either a problem or the whole file.
  const distribution = distributionXml(settings);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: distribution.length - 2 }),
      (cut) => checkInstallerXml({ distribution: distribution.slice(0, cut), packageInfo, settings }).length > 0,
    ),
  );
  t.pass();
});

test('component plist: every bundle non-relocatable, whatever pkgbuild --analyze said', (t) => {
  const text = componentPlist([{ RootRelativeBundlePath: 'Library/X.app', BundleIsRelocatable: true }]);
  const parsed = parsePlist(text) as Array<Record<string, unknown>>;
  t.is(parsed[0].BundleIsRelocatable, false);
  t.deepEqual(checkComponentPlist(parsed), []);
  t.deepEqual(checkComponentPlist([{ RootRelativeBundlePath: 'Library/X.app', BundleIsRelocatable: true }]), [
    'component 0 (Library/X.app) is relocatable',
  ]);
  t.deepEqual(checkComponentPlist({}), ['the component plist is not an array']);
});

test('identifier prefixes: reverse-DNS, never com.apple', (t) => {
  for (const good of ['com.trustguard', 'com.acme.trustguard', 'io.example-corp.tg'])
    t.is(checkIdentifierPrefix(good), undefined, good);
  for (const bad of [
    '',
    'trustguard',
    'com.apple',
    'COM.APPLE.x',
    'com..x',
    'com.x/y',
    "com.x'y",
    'com.x y',
    `${'a.'.repeat(60)}a`,
  ])
    t.truthy(checkIdentifierPrefix(bad), bad);
  // Whatever the prefix, a setting that passes cannot break the shell settings block out of its quotes.
  fc.assert(
    fc.property(fc.string(), (prefix) => {
      if (checkIdentifierPrefix(prefix)) return true;
      const block = renderCommon(
        '# --- build settings: written by `npm run pkg` from scripts/pkg/settings.ts ---\n# --- end of build settings ---\n',
        buildSettings({ identifierPrefix: prefix, version: '1' }),
      );
      return block
        .split('\n')
        .filter((l) => l.startsWith('TG_'))
        .every((l) => /^TG_[A-Z_]+='[^']*'$/.test(l));
    }),
  );
  t.throws(() => buildSettings({ identifierPrefix: 'com.apple.x', version: '1' }), {
    message: /must not start with com\.apple/,
  });
  t.throws(() => buildSettings({ version: '1.0.0-beta' }), { message: /numeric/ });
});

test('stable UUIDs are well-formed and differ by name', (t) => {
  const a = stableUuid('a');
  t.regex(a, /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  t.is(stableUuid('a'), a);
  t.not(stableUuid('b'), a);
});

test('the Distribution check accepts what productbuild writes back (extra pkg-ref, installKBytes, #file)', (t) => {
  const packageInfo = packageInfoXml(settings, { numberOfFiles: 3, installKBytes: 1 });
  const rewritten = distributionXml(settings)
    .replace(
      'onConclusion="none">TrustGuard-component.pkg<',
      'onConclusion="none" installKBytes="106039">#TrustGuard-component.pkg<',
    )
    .replace(
      '</installer-gui-script>',
      '    <pkg-ref id="com.trustguard.agent">\n        <bundle-version/>\n    </pkg-ref>\n</installer-gui-script>',
    );
  t.deepEqual(
    checkInstallerXml({ distribution: rewritten, packageInfo, settings, componentFile: '#TrustGuard-component.pkg' }),
    [],
  );
  const stray = rewritten.replace('<pkg-ref id="com.trustguard.agent">\n', '<pkg-ref id="com.other">\n');
  t.deepEqual(checkInstallerXml({ distribution: stray, packageInfo, settings }), [
    'Distribution: pkg-ref "com.other" names no component package',
  ]);
});
