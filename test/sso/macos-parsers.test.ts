// Issue 20, acceptance 4: every macOS parser against fixtures of real output (sources in
// test/fixtures/sso/SOURCES.md), every state included: command missing, timed out, failed,
// malformed, not registered, incomplete. The darwin flow of the doctor runs on Linux with
// stand-in commands that print the fixtures (the real commands run in the macOS workflow).
import test from 'ava';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSsoDoctor, type SsoReport } from '../../agent/sso/doctor.js';
import {
  authsrvEntries,
  containerAppOf,
  parseAppSsoPlatform,
  parseEntitlements,
  parsePluginkit,
  parseSwcutilShow,
  runCommand,
} from '../../agent/sso/macos.js';
import type { TrustSetup } from '../../agent/sso/tls.js';
import { payload, writeProfile } from '../helpers/profiles.js';

const fixtures = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'sso',
);
const fixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');
const ext = 'com.example.Scissors.ssoe';

test('pluginkit: registered, disabled, several copies with their paths, not registered, incomplete, malformed', (t) => {
  const ok = parsePluginkit(fixture('pluginkit-registered.txt'), ext);
  t.is(ok.state, 'ok');
  if (ok.state === 'ok') {
    t.like(ok.value[0], { election: '+', identifier: ext, version: '1.4.2' });
    t.is(containerAppOf(ok.value[0]!.path!), '/Applications/Scissors.app');
  }
  const disabled = parsePluginkit(fixture('pluginkit-disabled.txt'), ext);
  t.true(disabled.state === 'ok' && disabled.value.every((c) => c.election === '-'));
  const dup = parsePluginkit(fixture('pluginkit-duplicates.txt'), ext);
  t.true(dup.state === 'ok' && new Set(dup.value.map((c) => c.path)).size === 2);
  if (dup.state === 'ok') t.is(dup.value[1]!.election, ' ');
  t.is(parsePluginkit(fixture('pluginkit-not-registered.txt'), ext).state, 'not_registered');
  t.is(parsePluginkit(fixture('pluginkit-registered.txt'), 'com.other.ext').state, 'not_registered');
  t.is(parsePluginkit(fixture('pluginkit-incomplete.txt'), ext).state, 'incomplete');
  t.is(parsePluginkit(fixture('pluginkit-malformed.txt'), ext).state, 'malformed');
});

test('swcutil show: the authsrv entry approved (enterpriseManaged), not approved, absent, incomplete, malformed', (t) => {
  const ok = parseSwcutilShow(fixture('swcutil-approved.txt'), 'idp.example.com');
  t.is(ok.state, 'ok');
  if (ok.state === 'ok') {
    t.like(ok.value[0], { service: 'authsrv', appId: 'UXP6YEHSPW.com.example.Scissors', siteApproval: 'approved' });
    t.deepEqual(ok.value[0]!.flags, ['enterpriseManaged']);
  }
  const denied = parseSwcutilShow(fixture('swcutil-not-approved.txt'), 'IDP.example.com');
  t.true(denied.state === 'ok' && denied.value[0]!.siteApproval === 'denied');
  t.is(parseSwcutilShow(fixture('swcutil-approved.txt'), 'www.example.com').state, 'not_registered'); // applinks only
  t.is(parseSwcutilShow(fixture('swcutil-other-host.txt'), 'idp.example.com').state, 'not_registered');
  t.is(parseSwcutilShow('', 'idp.example.com').state, 'not_registered');
  t.is(parseSwcutilShow(fixture('swcutil-incomplete.txt'), 'idp.example.com').state, 'incomplete');
  t.is(parseSwcutilShow(fixture('swcutil-malformed.txt'), 'idp.example.com').state, 'malformed');
});

test('codesign --entitlements: bracket and XML forms, ?mode=developer, wildcard, none, incomplete, malformed', (t) => {
  const ok = parseEntitlements(fixture('codesign-authsrv.txt'));
  t.deepEqual(ok.state === 'ok' && ok.value.associatedDomains, ['authsrv:idp.example.com', 'applinks:www.example.com']);
  t.deepEqual(authsrvEntries(ok.state === 'ok' ? ok.value.associatedDomains! : []), [
    { host: 'idp.example.com', developer: false },
  ]);
  const xml = parseEntitlements(fixture('codesign-xml-developer.txt'));
  t.deepEqual(authsrvEntries(xml.state === 'ok' ? xml.value.associatedDomains! : []), [
    { host: 'idp.example.com', developer: true },
  ]);
  const none = parseEntitlements(fixture('codesign-no-authsrv.txt'));
  t.deepEqual(authsrvEntries(none.state === 'ok' ? none.value.associatedDomains! : ['x']), []);
  const wildcard = parseEntitlements(fixture('codesign-wildcard.txt'));
  t.deepEqual(wildcard.state === 'ok' && wildcard.value.associatedDomains, ['*']);
  const empty = parseEntitlements(fixture('codesign-none.txt'));
  t.true(empty.state === 'ok' && empty.value.associatedDomains === null);
  t.is(parseEntitlements(fixture('codesign-incomplete.txt')).state, 'incomplete');
  t.is(parseEntitlements(fixture('codesign-malformed.txt')).state, 'malformed');
  t.is(parseEntitlements(fixture('codesign-malformed-xml.txt')).state, 'malformed');
});

test('app-sso platform -s: registered with tokens, device not registered, user not registered, no tokens, not configured, incomplete, malformed', (t) => {
  const ok = parseAppSsoPlatform(fixture('app-sso-registered.txt'));
  t.is(ok.state, 'ok');
  if (ok.state === 'ok')
    t.deepEqual(ok.value, {
      extensionIdentifier: ext,
      deviceRegistered: true,
      loginType: 'POLoginTypeUserSecureEnclaveKey (2)',
      userState: 'POUserStateNormal (0)',
      userRegistered: true,
      tokensReceived: '2026-11-30T09:19:40Z',
      tokensExpiration: '2026-12-14T09:19:39Z (Not Expired)',
    });
  // Attributes only: nothing of the redacted key or token fields is kept.
  t.false(JSON.stringify(ok).includes('REDACTED'));
  const device = parseAppSsoPlatform(fixture('app-sso-device-not-registered.txt'));
  t.true(device.state === 'ok' && device.value.deviceRegistered === false && device.value.userRegistered === null);
  const user = parseAppSsoPlatform(fixture('app-sso-user-not-registered.txt'));
  t.true(user.state === 'ok' && user.value.userRegistered === false);
  const noTokens = parseAppSsoPlatform(fixture('app-sso-no-tokens.txt'));
  t.true(noTokens.state === 'ok' && noTokens.value.tokensReceived === null);
  t.is(parseAppSsoPlatform(fixture('app-sso-not-configured.txt')).state, 'not_registered');
  t.is(parseAppSsoPlatform(fixture('app-sso-incomplete.txt')).state, 'incomplete');
  t.is(parseAppSsoPlatform(fixture('app-sso-malformed.txt')).state, 'malformed');
  t.is(parseAppSsoPlatform(fixture('app-sso-unknown-output.txt')).state, 'malformed');
});

test('a command that is missing, that does not finish by its deadline, or that fails is reported as such', async (t) => {
  const missing = await runCommand('/nonexistent/pluginkit', ['-m'], 2000);
  t.is(missing.state, 'missing');
  const slow = await runCommand('/bin/sleep', ['30'], 200);
  t.is(slow.state, 'timed_out');
  const failed = await runCommand('/bin/sh', ['-c', 'echo "swcutil: must be run as root" >&2; exit 1'], 5000);
  t.is(failed.state, 'failed');
  if (failed.state === 'failed') t.regex(failed.message, /must be run as root/);
});

// The darwin flow, with stand-in commands printing fixtures.
let dir: string;
test.before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tg-sso-mac-'));
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function standIn(name: string, script: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}

const noTrust: TrustSetup = { system: null, systemSource: 'none', extra: [], systemUnknown: null, platform: 'linux' };

async function darwinRun(
  name: string,
  commands: { pluginkit: string; swcutil: string; codesign: string; appSso: string },
  settings: Record<string, unknown> = {},
): Promise<SsoReport> {
  const file = writeProfile(dir, `${name}.mobileconfig`, [
    payload('com.apple.extensiblesso', {
      ExtensionIdentifier: ext,
      TeamIdentifier: 'UXP6YEHSPW',
      Type: 'Redirect',
      // Nothing listens on port 1: the network checks fail fast and are not what this test looks at.
      URLs: ['https://idp.example.com:1/realms/domain/'],
      ...(settings as Record<string, never>),
    }),
  ]);
  return runSsoDoctor([file], {
    trust: noTrust,
    cdnBase: 'https://127.0.0.1:1/a/v1',
    issuer: 'https://127.0.0.1:1/realms/domain',
    timeoutMs: 3000,
    platform: 'darwin',
    commands,
  });
}

const byCheck = (report: SsoReport) => Object.fromEntries(report.payloads[0]!.checks.map((c) => [c.check, c]));

test('on macOS the doctor runs pluginkit, swcutil, codesign on the container app and app-sso, and reports each state', async (t) => {
  const cat = (f: string) => `cat '${path.join(fixtures, f)}'`;
  const healthy = await darwinRun(
    'healthy',
    {
      pluginkit: standIn('pluginkit', cat('pluginkit-registered.txt')),
      swcutil: standIn('swcutil', cat('swcutil-approved.txt')),
      codesign: standIn('codesign', `[ "$4" = /Applications/Scissors.app ] || exit 3\n${cat('codesign-authsrv.txt')}`),
      appSso: standIn('app-sso', cat('app-sso-registered.txt')),
    },
    { PlatformSSO: { AuthenticationMethod: 'UserSecureEnclaveKey' } },
  );
  const h = byCheck(healthy);
  t.like(h.pluginkit, { ok: true, code: 'ok' });
  t.regex(h.pluginkit.detail, /ScissorsSSO\.appex/);
  t.like(h.swcutil, { ok: true, code: 'ok', target: 'idp.example.com' });
  t.regex(h.swcutil.detail, /enterpriseManaged/);
  t.like(h.codesign, { ok: true, code: 'ok', target: '/Applications/Scissors.app' });
  t.like(h.platform_sso, { ok: true, code: 'ok' });
  t.notRegex(JSON.stringify(healthy), /REDACTED/);

  const broken = await darwinRun(
    'broken',
    {
      pluginkit: standIn('pluginkit2', cat('pluginkit-duplicates.txt')),
      swcutil: standIn('swcutil2', cat('swcutil-not-approved.txt')),
      codesign: standIn('codesign2', cat('codesign-no-authsrv.txt')),
      appSso: standIn('app-sso2', cat('app-sso-device-not-registered.txt')),
    },
    { PlatformSSO: { AuthenticationMethod: 'UserSecureEnclaveKey' } },
  );
  const b = byCheck(broken);
  t.is(b.pluginkit.code, 'extension_duplicates');
  t.regex(b.pluginkit.detail, /Downloads/);
  t.is(b.swcutil.code, 'swc_not_approved');
  t.is(b.codesign.code, 'entitlement_missing');
  t.is(b.platform_sso.code, 'psso_device_not_registered');

  const states = await darwinRun('states', {
    pluginkit: standIn('pluginkit3', cat('pluginkit-malformed.txt')),
    swcutil: standIn('swcutil3', 'exec sleep 30'),
    codesign: '/nonexistent/codesign',
    appSso: '/nonexistent/app-sso',
  });
  const s = byCheck(states);
  t.is(s.pluginkit.code, 'output_malformed');
  t.is(s.swcutil.code, 'command_timed_out');
  t.is(s.codesign.code, 'skipped'); // no container path from pluginkit
  t.is(s.platform_sso.code, 'skipped'); // no PlatformSSO in the payload
  const none = await darwinRun(
    'none',
    {
      pluginkit: standIn('pluginkit4', cat('pluginkit-not-registered.txt')),
      swcutil: standIn('swcutil4', cat('swcutil-incomplete.txt')),
      codesign: '/nonexistent/codesign',
      appSso: '/nonexistent/app-sso',
    },
    { PlatformSSO: {} },
  );
  const misplaced = await darwinRun('misplaced', {
    pluginkit: standIn('pluginkit5', cat('pluginkit-registered.txt')),
    swcutil: standIn('swcutil5', cat('swcutil-approved.txt')),
    // The container app has no authsrv entitlement; the extension (.appex) has it.
    codesign: standIn(
      'codesign5',
      `case "$4" in *.appex) ${cat('codesign-authsrv.txt')};; *) ${cat('codesign-no-authsrv.txt')};; esac`,
    ),
    appSso: '/nonexistent/app-sso',
  });
  t.like(byCheck(misplaced).codesign, { ok: false, code: 'entitlement_on_extension' });
  const n = byCheck(none);
  t.like(n.pluginkit, { ok: false, code: 'extension_not_registered' });
  t.is(n.swcutil.code, 'output_incomplete');
  t.is(n.platform_sso.code, 'command_missing');
});

test('off macOS the macOS checks say so instead of passing', async (t) => {
  const report = await runSsoDoctor(
    [
      writeProfile(dir, 'linux.mobileconfig', [
        payload('com.apple.extensiblesso', {
          ExtensionIdentifier: ext,
          TeamIdentifier: 'UXP6YEHSPW',
          Type: 'Redirect',
          URLs: ['https://idp.example.com:1/'],
        }),
      ]),
    ],
    { trust: noTrust, cdnBase: 'https://127.0.0.1:1/a/v1', issuer: null, timeoutMs: 3000, platform: 'linux' },
  );
  const c = byCheck(report);
  for (const name of ['pluginkit', 'swcutil', 'codesign', 'platform_sso'])
    t.like(c[name], { status: 'skip', code: 'not_macos', ok: true });
});
