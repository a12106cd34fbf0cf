// Issue 20, "on macOS without --profile: the installed ones, read by the daemon as root through
// `profiles show -output stdout-xml`, parsed in its parser child; agentctl asks the daemon".
// /usr/bin/profiles exists only on a Mac: here the reader runs a stand-in program, given through
// the service's code-only option (installed-service.ts; no configuration key or environment
// variable reaches it), and the real parser process reads fixture output in the layout of
// `profiles show -output stdout-xml`. The CLI runs against a real agentd on Linux, which answers
// installed_not_macos. The darwin run against the real command is in .github/workflows/macos.yml.
import test from 'ava';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runSsoDoctorInstalled } from '../../agent/sso/doctor.js';
import { installedOutcome } from '../../agent/sso/doctor-command.js';
import { installedReader } from '../../agent/sso/installed-service.js';
import { maxInstalledPayloads, maxUrlChars, type InstalledAnswer } from '../../agent/sso/installed.js';
import { trustSetup } from '../../agent/sso/tls.js';
import { agentctl, createAgentFixture, requestOnce } from '../helpers/agent.js';
import { nobodyPrefix, nobodyTitle, needsNobody } from '../helpers/attacker.js';
import { plistXml, type PlistValue } from '../helpers/profiles.js';

const secrets = ['S3CRET-client-secret', 'hunter2-password', 'admins-of-acme', 'root-cert-secret'];

function ssoItem(n: number, content: Record<string, PlistValue> = {}): Record<string, PlistValue> {
  return {
    PayloadType: 'com.apple.extensiblesso',
    PayloadIdentifier: `com.acme.sso.${n}`,
    PayloadUUID: `6F1A2B3C-0000-4000-8000-${String(n).padStart(12, '0')}`,
    PayloadContent: {
      ExtensionIdentifier: 'com.acme.Scissors.ssoe',
      TeamIdentifier: 'UXP6YEHSPW',
      Type: 'Redirect',
      URLs: ['https://idp.acme.example/oauth2'],
      ...content,
    },
  };
}

/** `profiles show -output stdout-xml` layout: _computerlevel → profiles → ProfileItems → PayloadContent. */
function installedXml(items: Array<Record<string, PlistValue>>): string {
  return plistXml({
    _computerlevel: [
      {
        ProfileIdentifier: 'com.acme.profile',
        ProfileUUID: '6F1A2B3C-0000-4000-8000-0000000000FF',
        ProfileInstallDate: '2026-11-02 10:00:00 +0000',
        ProfileItems: items,
      },
    ],
  });
}

const full = installedXml([
  ssoItem(1, {
    Realm: 'ACME.EXAMPLE',
    Hosts: ['idp.acme.example'],
    ExtensionData: { client_secret: secrets[0]!, Password: secrets[1]!, nested: { deep: secrets[0]! } },
    ScreenLockedBehavior: 'DoNotHandle',
    PlatformSSO: {
      AuthenticationMethod: 'Password',
      TokenToUserMapping: { AccountName: 'preferred_username', FullName: 'name' },
      AdministratorGroups: [secrets[2]!],
      LoginFrequency: 64800,
    },
  }),
  {
    PayloadType: 'com.apple.associated-domains',
    PayloadIdentifier: 'com.acme.ad',
    PayloadUUID: '6F1A2B3C-0000-4000-8000-0000000000AD',
    PayloadContent: {
      Configuration: [
        {
          ApplicationIdentifier: 'UXP6YEHSPW.com.acme.Scissors',
          AssociatedDomains: ['authsrv:idp.acme.example', 'webcredentials:acme.example'],
        },
      ],
    },
  },
  {
    PayloadType: 'com.apple.security.pkcs12',
    PayloadIdentifier: 'com.acme.identity',
    PayloadUUID: '6F1A2B3C-0000-4000-8000-0000000000CE',
    PayloadContent: { Password: secrets[3]!, PayloadContent: Buffer.from(secrets[3]!) },
  },
]);

interface StandIn {
  dir: string;
  program: string;
  runs(): number;
}

/**
 * A stand-in `profiles`: counts its runs in a file, then does what `body` says (shell; `$OUT` is
 * the file holding `output`).
 */
function standIn(t: { teardown(f: () => void): void }, body: string, output?: string): StandIn {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-sso-installed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const program = path.join(dir, 'profiles');
  if (output !== undefined) writeFileSync(path.join(dir, 'output.xml'), output);
  writeFileSync(program, `#!/bin/sh\nOUT="${dir}/output.xml"\necho "$*" >> "${dir}/runs"\n${body}\n`);
  chmodSync(program, 0o755);
  return {
    dir,
    program,
    runs: () => {
      try {
        return readFileSync(path.join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    },
  };
}

test('the answer holds only the allow-listed keys of the SSO payloads: no ExtensionData, no group names, no other payload', async (t) => {
  const s = standIn(t, 'cat "$OUT"', full);
  const answer = await installedReader({ program: s.program, platform: 'darwin' }).read();
  t.is(answer.code, 'ok', JSON.stringify(answer));
  if (answer.code !== 'ok') return;
  const json = JSON.stringify(answer);
  for (const secret of secrets) t.false(json.includes(secret), secret);
  t.is(readFileSync(path.join(s.dir, 'runs'), 'utf8').trim(), 'show -output stdout-xml');
  t.is(answer.payloads.length, 1);
  t.is(answer.left_out, 0);
  t.deepEqual(answer.payloads[0], {
    profile_identifier: 'com.acme.profile',
    payload_identifier: 'com.acme.sso.1',
    settings: {
      ExtensionIdentifier: 'com.acme.Scissors.ssoe',
      TeamIdentifier: 'UXP6YEHSPW',
      Type: 'Redirect',
      Realm: 'ACME.EXAMPLE',
      URLs: ['https://idp.acme.example/oauth2'],
      Hosts: ['idp.acme.example'],
      PlatformSSO: {
        TokenToUserMapping: { AccountName: 'preferred_username', FullName: 'name' },
        AdministratorGroups: true,
      },
    },
  });
  t.deepEqual(answer.associated, [{ application: 'UXP6YEHSPW.com.acme.Scissors', hosts: ['idp.acme.example'] }]);
});

test('bounded: at most 32 payloads and the count left out, URLs cut to 2048 characters, lists to 64 entries', async (t) => {
  const long = `https://idp.acme.example/${'a'.repeat(5000)}`;
  const items = Array.from({ length: 40 }, (_, i) =>
    ssoItem(i, i === 0 ? { URLs: [long, ...Array.from({ length: 100 }, (_, j) => `https://h${j}.example/`)] } : {}),
  );
  const s = standIn(t, 'cat "$OUT"', installedXml(items));
  const answer = await installedReader({ program: s.program, platform: 'darwin' }).read();
  t.is(answer.code, 'ok');
  if (answer.code !== 'ok') return;
  t.is(answer.payloads.length, maxInstalledPayloads);
  t.is(answer.left_out, 40 - maxInstalledPayloads);
  const urls = answer.payloads[0]!.settings.URLs as string[];
  t.is(urls.length, 64);
  t.is(urls[0]!.length, maxUrlChars);
  t.true(urls[0]!.endsWith('…'));
});

test('rate-limited: one run of the program per cache period, whoever asks and however often; callers during a run share it', async (t) => {
  const s = standIn(t, 'sleep 0.3; cat "$OUT"', full);
  let clock = 1_000_000;
  const reader = installedReader({ program: s.program, platform: 'darwin', cacheMs: 60_000, now: () => clock });
  const together = await Promise.all(Array.from({ length: 10 }, () => reader.read()));
  t.true(together.every((a) => a === together[0]));
  for (let i = 0; i < 20; i++) await reader.read();
  clock += 59_000;
  await reader.read();
  t.is(s.runs(), 1);
  t.is(reader.runs(), 1);
  clock += 2_000;
  const later = await reader.read();
  t.is(later.code, 'ok');
  t.is(s.runs(), 2);
});

test('a program that is missing, fails, writes no plist or does not finish: its own code, and kept for the cache period too; no profile is no payload', async (t) => {
  const missing = await installedReader({ program: '/nonexistent/profiles', platform: 'darwin' }).read();
  t.like(missing, { code: 'installed_command_failed' });
  t.regex((missing as { message: string }).message, /not found/);

  const failing = standIn(t, 'echo "profiles: this command requires root" >&2; exit 1');
  const reader = installedReader({ program: failing.program, platform: 'darwin' });
  const first = await reader.read();
  t.like(first, { code: 'installed_command_failed' });
  t.regex((first as { message: string }).message, /exited with 1: profiles: this command requires root/);
  await reader.read();
  t.is(failing.runs(), 1);

  const garbage = standIn(t, 'echo "<html>not a plist</html>"');
  t.like(await installedReader({ program: garbage.program, platform: 'darwin' }).read(), {
    code: 'installed_unparsable',
  });
  const profile = standIn(t, 'cat "$OUT"', plistXml({ PayloadType: 'Configuration', PayloadContent: [ssoItem(1)] }));
  const notInstalled = await installedReader({ program: profile.program, platform: 'darwin' }).read();
  t.like(notInstalled, { code: 'installed_unparsable' });

  // No profile installed: empty output or an empty dictionary is no payload, not a failure.
  for (const output of ['', plistXml({})]) {
    const empty = standIn(t, 'cat "$OUT"', output);
    t.like(await installedReader({ program: empty.program, platform: 'darwin' }).read(), {
      code: 'ok',
      payloads: [],
      left_out: 0,
    });
  }

  const slow = standIn(t, 'exec sleep 30');
  const late = await installedReader({ program: slow.program, platform: 'darwin', commandTimeoutMs: 300 }).read();
  t.like(late, { code: 'installed_command_failed' });
  t.regex((late as { message: string }).message, /did not finish within 300 ms/);

  const flood = standIn(t, 'head -c 17000000 /dev/zero');
  const big = await installedReader({ program: flood.program, platform: 'darwin' }).read();
  t.like(big, { code: 'installed_command_failed' });
  t.regex((big as { message: string }).message, /more than 16777216 bytes/);
});

test('off macOS: installed_not_macos, and nothing is run', async (t) => {
  const s = standIn(t, 'exit 0');
  const answer = await installedReader({ program: s.program, platform: 'linux' }).read();
  t.like(answer, { code: 'installed_not_macos' });
  t.is(s.runs(), 0);
});

test("the doctor runs every check on agentd's reduced payloads as on a file's", async (t) => {
  const s = standIn(t, 'cat "$OUT"', full);
  const answer = await installedReader({ program: s.program, platform: 'darwin' }).read();
  if (answer.code !== 'ok') return t.fail(answer.code);
  const report = await runSsoDoctorInstalled(answer, {
    trust: await trustSetup([], { timeoutMs: 1000 }),
    cdnBase: 'https://127.0.0.1:1/a/v1',
    issuer: null,
    timeoutMs: 1000,
    platform: 'linux',
    network: false,
  });
  t.is(report.summary.payloads, 1);
  const p = report.payloads[0]!;
  t.like(p, {
    file: 'installed profile com.acme.profile',
    payload_identifier: 'com.acme.sso.1',
    extension_identifier: 'com.acme.Scissors.ssoe',
    team_identifier: 'UXP6YEHSPW',
    hosts: ['idp.acme.example'],
  });
  const by = Object.fromEntries(p.checks.map((c) => [c.check, c]));
  t.like(by.static, { code: 'ok' });
  t.like(by.claims, { code: 'skipped', detail: 'network checks off' });
});

test('agentctl: agentd down on macOS is exit 1 saying how to start it; any error of agentd is exit 1; its failures keep their code', (t) => {
  const down = installedOutcome({ kind: 'unreachable', socketPath: '/var/run/tg.sock', code: 'ENOENT' }, 'darwin');
  t.like(down, { code: 'installed_daemon_unreachable', exit: 1 });
  t.regex((down as { message: string }).message, /not reachable \(no socket at \/var\/run\/tg\.sock\)/);
  t.regex((down as { message: string }).message, /launchctl kickstart/);
  t.regex((down as { message: string }).message, /--profile/);
  const offMac = installedOutcome({ kind: 'unreachable', socketPath: '/run/tg.sock', code: 'ENOENT' }, 'linux');
  t.like(offMac, { exit: 64 });
  t.regex((offMac as { message: string }).message, /--profile FILE/);
  t.like(installedOutcome({ kind: 'error', message: 'unknown_request: unknown request' }, 'darwin'), {
    code: 'installed_daemon_error',
    exit: 1,
  });
  t.like(installedOutcome({ kind: 'answer', value: { code: 'ok', payloads: 'no' } }, 'darwin'), {
    code: 'installed_daemon_error',
    exit: 1,
  });
  const failed: InstalledAnswer = {
    code: 'installed_command_failed',
    message: '/usr/bin/profiles exited with 1',
    read_at: '2026-01-01T00:00:00.000Z',
  };
  t.like(installedOutcome({ kind: 'answer', value: failed }, 'darwin'), { code: 'installed_command_failed', exit: 1 });
  // The answer is put through the allow-list again on this side.
  const sneaky = installedOutcome(
    {
      kind: 'answer',
      value: {
        code: 'ok',
        read_at: 'x',
        as_root: true,
        left_out: 0,
        associated: [],
        payloads: [{ settings: { Type: 'Redirect', ExtensionData: { secret: 1 } } }],
      },
    },
    'darwin',
  );
  t.deepEqual((sneaky as { payloads: Array<{ settings: unknown }> }).payloads[0]!.settings, { Type: 'Redirect' });
});

test(
  nobodyTitle(
    'against a real agentd on Linux: sso.installed answers installed_not_macos to any local user; doctor sso without --profile says what to pass, exit 64',
  ),
  async (t) => {
    const fixture = createAgentFixture('tg-sso-installed-');
    t.teardown(fixture.cleanup);
    const agent = await fixture.start();
    const raw = await requestOnce(fixture.socketPath, { request: 'sso.installed' });
    t.like(raw, { ok: true, result: { code: 'installed_not_macos' } });
    const result = await agentctl(['doctor', 'sso', '--config', fixture.configFile]);
    t.is(result.code, 64, result.stderr);
    t.regex(result.stderr, /--profile FILE/);
    t.regex(result.stderr, /agentd says: the daemon runs on linux/);
    if (!needsNobody) {
      const nobody = await agentctl(['doctor', 'sso', '--config', fixture.configFile], { prefix: [...nobodyPrefix] });
      t.is(nobody.code, 64, nobody.stderr);
      t.regex(nobody.stderr, /agentd says: the daemon runs on linux/);
    }
    // agentd stopped: off macOS, still what to pass.
    agent.child.kill('SIGKILL');
    await agent.exited;
    const down = await agentctl(['doctor', 'sso', '--config', fixture.configFile]);
    t.is(down.code, 64, down.stderr);
    t.regex(down.stderr, /--profile FILE/);
  },
);
