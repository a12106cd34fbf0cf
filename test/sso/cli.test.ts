// Issue 20, acceptance 3 and the command's contract: the seed's own sample payload parses and
// its checks are listed; here its network checks fail as unreachable (or by their deadline) and
// say so. Exit codes 0 / 2 / 1 / 64; --json gives {check, ok, severity, code, detail, hint}.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentctl } from '../helpers/agent.js';
import { payload, writeProfile } from '../helpers/profiles.js';

const seed = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'sso',
  'seed-004-sample.mobileconfig',
);
// Nothing listens on port 1 of loopback: the CDN check fails at once, on any machine.
const cdn = 'https://127.0.0.1:1/a/v1';

test("the seed's sample payload: static checks pass, every check is listed, the network checks fail as unreachable, exit 2", async (t) => {
  const result = await agentctl(['doctor', 'sso', '--profile', seed, '--json', '--timeout', '3', '--cdn', cdn]);
  t.is(result.code, 2, result.stderr);
  const report = JSON.parse(result.stdout) as {
    exit_code: number;
    payloads: Array<{
      extension_identifier: string;
      team_identifier: string;
      hosts: string[];
      checks: Array<Record<string, unknown>>;
    }>;
    summary: { payloads: number; errors: number };
  };
  t.is(report.exit_code, 2);
  t.is(report.summary.payloads, 1);
  const p = report.payloads[0]!;
  t.like(p, {
    extension_identifier: 'com.example.Scissors.ssoe',
    team_identifier: 'UXP6YEHSPW',
    hosts: ['idp.example.com'],
  });
  for (const c of p.checks) {
    t.deepEqual(
      Object.keys(c)
        .filter((k) => ['check', 'ok', 'severity', 'code', 'detail', 'hint'].includes(k))
        .sort(),
      ['check', 'code', 'detail', 'hint', 'ok', 'severity'],
    );
    t.is(typeof c.duration_ms, 'number');
  }
  const by = Object.fromEntries(p.checks.map((c) => [c.check, c]));
  t.deepEqual(Object.keys(by).sort(), [
    'association',
    'cdn',
    'claims',
    'codesign',
    'platform_sso',
    'pluginkit',
    'static',
    'swcutil',
    'tls',
  ]);
  t.like(by.static, { ok: true, code: 'ok' });
  t.true(['aasa_unreachable', 'aasa_timeout'].includes(by.association!.code as string), String(by.association!.code));
  t.regex(by.association!.detail as string, /idp\.example\.com/);
  t.like(by.cdn, { ok: false, code: 'cdn_unreachable' });
  t.regex(by.cdn!.detail as string, /ECONNREFUSED|refused/);
  t.like(by.tls, { ok: false, code: 'idp_tls_unreachable' });
  t.like(by.claims, { code: 'skipped' });
});

test('the human output: one line per check with ✓/✗/–, the fix under each failure, each step timed, 80 columns', async (t) => {
  const result = await agentctl(['doctor', 'sso', '--profile', seed, '--timeout', '3', '--cdn', cdn]);
  t.is(result.code, 2);
  const lines = result.stdout.trimEnd().split('\n');
  for (const line of lines) t.true([...line].length <= 80, line);
  t.true(lines.some((l) => /^ {2}✗ association idp\.example\.com: aasa_(unreachable|timeout)/.test(l)));
  t.true(lines.some((l) => /^ {2}✓ static: .*\(\d+ ms\)$/.test(l)));
  t.true(lines.some((l) => /^ {2}– pluginkit: runs on macOS only/.test(l) || /^ {2}– pluginkit: not_macos/.test(l)));
  t.true(lines.some((l) => /^ {6}fix: /.test(l)));
  // Problems first.
  const first = lines.findIndex((l) => /^ {2}[✓✗!–]/.test(l));
  t.regex(lines[first]!, /✗/);
  t.regex(lines.at(-1)!, /^1 SSO payload: \d+ errors?, \d+ warnings?, \d+ notes? \(/);
});

test('without --profile off macOS: says what to pass, exit 64; a missing --ca file: exit 1; a bad --cdn: exit 64', async (t) => {
  const none = await agentctl(['doctor', 'sso']);
  t.is(none.code, 64);
  t.regex(none.stderr, /--profile FILE/);
  t.regex(none.stderr, /profiles show -output stdout-xml/);
  const ca = await agentctl(['doctor', 'sso', '--profile', seed, '--ca', '/nonexistent/root.pem']);
  t.is(ca.code, 1);
  const bad = await agentctl(['doctor', 'sso', '--profile', seed, '--cdn', 'http://cdn.example.com/']);
  t.is(bad.code, 64);
});

test('a profile with no SSO payload: exit 1, saying so; an unparsable file: its read failure is the static check, exit 2', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-sso-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dns = writeProfile(dir, 'dns.mobileconfig', [
    payload('com.apple.dnsSettings.managed', { DNSSettings: { DNSProtocol: 'HTTPS' } }),
  ]);
  const none = await agentctl(['doctor', 'sso', '--profile', dns, '--cdn', cdn]);
  t.is(none.code, 1);
  t.regex(none.stderr, /no com\.apple\.extensiblesso payload/);
  const empty = path.join(dir, 'empty.mobileconfig');
  writeFileSync(empty, '');
  const r = await agentctl(['doctor', 'sso', '--profile', empty, '--json', '--cdn', cdn]);
  t.is(r.code, 2, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { payloads: Array<{ checks: Array<{ code: string; ok: boolean }> }> };
  t.like(report.payloads[0]!.checks[0], { code: 'not_a_profile', ok: false });
});
