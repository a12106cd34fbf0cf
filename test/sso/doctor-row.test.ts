// Issue 21, `agentctl doctor`'s "sso payloads" row: the installed SSO payloads agentd answers
// (`sso.installed`) through the SSO doctor's own checks, graded in one row. Installed profiles
// exist only on macOS, and a real agentd on Linux answers installed_not_macos (test/cli/doctor.test.ts
// shows that row); here the answer is what agentd makes of a real profile of the shared corpus
// (the same reduction, installed.ts reduceInstalled), its URLs moved to a real HTTPS server on
// loopback (openssl-made chain), and the row is graded from the doctor's report.
import test from 'ava';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CheckResult, DaemonAnswer, DoctorContext } from '../../agent/capability.js';
import { payloadsOf, readProfileFile } from '../../agent/profiles/reader.js';
import { runSsoDoctorInstalled, type SsoReport } from '../../agent/sso/doctor.js';
import { judgeInstalled, judgeReport, ssoCheck, type Installed } from '../../agent/sso/doctor-row.js';
import { reduceInstalled } from '../../agent/sso/installed.js';
import { trustSetup } from '../../agent/sso/tls.js';
import { corpus } from '../helpers/corpora.js';
import { startHttpsServer, TestPki, type Leaf, type RunningHttpsServer } from '../helpers/tls.js';

const profiles = corpus('profiles');
const okta = 'fleet__okta-sso-extension-example.mobileconfig';
// Okta Verify's extension (the profile's ExtensionIdentifier and TeamIdentifier): its container app.
const rightFile = JSON.stringify({ authsrv: { apps: ['B7F62B65BN.com.okta.mobile'] } });

let dir: string;
let pki: TestPki;
let bundle: string;
let leaf: Leaf; // one leaf for every server: `openssl ca` keeps one serial file per PKI

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tg-sso-row-'));
  pki = await TestPki.create({ rootName: 'TrustGuard SSO Row Root' });
  bundle = path.join(dir, 'system-bundle.pem');
  writeFileSync(bundle, pki.root.certPem);
  leaf = await pki.issueLeaf();
});

test.after.always(async () => {
  await pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * agentd's answer to `sso.installed` for the corpus profile `file` (reduced as agentd reduces
 * `profiles show` output), each URL's host moved to `host`.
 */
function installedAnswer(file: string, host: string): Record<string, unknown> {
  const read = readProfileFile(path.join(profiles!, file));
  if (!read.ok) throw new Error(`${file}: ${read.message}`);
  const reduced = reduceInstalled(
    payloadsOf(read.document).map((p) => ({ ...p, profileIdentifier: p.profileIdentifier ?? 'com.example.okta' })),
  );
  for (const p of reduced.payloads)
    p.settings.URLs = (p.settings.URLs as string[]).map((u) => {
      const url = new URL(u);
      url.host = host;
      return url.href;
    });
  return { code: 'ok', read_at: '2026-12-01T10:00:00.000Z', as_root: true, ...reduced };
}

function installedOf(file: string, host: string): Installed {
  const judged = judgeInstalled({ ok: true, result: installedAnswer(file, host) });
  if ('status' in judged) throw new Error(JSON.stringify(judged));
  return judged;
}

function serve(answers: Record<string, string | null>, requests?: () => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    requests?.();
    const body = answers[(req.url ?? '').split('?')[0]!];
    if (body === undefined) return; // never answers
    res.writeHead(body === null ? 404 : 200, { 'content-type': 'application/json' });
    res.end(body ?? '');
  };
}

async function servers(idpFile: string | null, cdnCopy: string | null) {
  const idp = await startHttpsServer({
    certificate: leaf,
    handler: serve({ '/.well-known/apple-app-site-association': idpFile }),
  });
  const cdn = await startHttpsServer({ certificate: leaf, handler: serve({ '/a/v1/localhost': cdnCopy }) });
  return { idp, cdn, stop: () => Promise.all([idp.stop(), cdn.stop()]) };
}

/** The SSO doctor as `doctor sso --allow-local-urls` runs it here: the test bundle as the system's roots. */
async function report(installed: Installed, cdn: RunningHttpsServer): Promise<SsoReport> {
  return runSsoDoctorInstalled(installed, {
    trust: await trustSetup([], { timeoutMs: 5000, platform: 'linux', env: { SSL_CERT_FILE: bundle } }),
    cdnBase: `${cdn.origin}/a/v1`,
    issuer: null,
    timeoutMs: 5000,
    platform: 'linux',
    allowLocal: true,
  });
}

const maybe = profiles ? test : test.skip;

maybe(
  'a real installed payload whose IdP serves the right association file, copied by the CDN: the row passes, naming the checks that ran',
  async (t) => {
    const s = await servers(rightFile, rightFile);
    t.teardown(s.stop);
    const installed = installedOf(okta, `localhost:${s.idp.port}`);
    const result = judgeReport(await report(installed, s.cdn), installed);
    t.like(result, { status: 'passing', code: 'ok' }, JSON.stringify(result));
    t.regex(result.message, /^The installed SSO payload passes every check \(static, association, cdn, tls\)/);
    t.true(s.idp.requests.length > 0);
  },
);

maybe(
  "a real installed payload whose IdP names another team: the row fails, headed by the SSO doctor's code, and sends to doctor sso",
  async (t) => {
    const wrong = JSON.stringify({ authsrv: { apps: ['ABCDE12345.com.okta.mobile'] } });
    const s = await servers(wrong, wrong);
    t.teardown(s.stop);
    const installed = installedOf(okta, `localhost:${s.idp.port}`);
    const r = await report(installed, s.cdn);
    const result = judgeReport(r, installed);
    t.like(result, { status: 'failing', code: 'sso_payload_failing' });
    t.regex(result.message, /^aasa_wrong_team \(association check, localhost:\d+, /);
    t.regex(result.message, /; findings in 1 of 1 payload: \d+ errors?\.$/);
    t.regex(result.fix!, /agentctl doctor sso/);
    t.true(result.message.length <= 400);
  },
);

maybe('a CDN copy older than the IdP file (a warning of the SSO doctor): the row warns', async (t) => {
  const older = JSON.stringify({ authsrv: { apps: ['B7F62B65BN.com.okta.OldMobile'] } });
  const s = await servers(rightFile, older);
  t.teardown(s.stop);
  const installed = installedOf(okta, `localhost:${s.idp.port}`);
  const result = judgeReport(await report(installed, s.cdn), installed);
  t.like(result, { status: 'warning', code: 'sso_payload_warning' }, JSON.stringify(result));
  t.regex(result.message, /^cdn_stale /);
});

maybe(
  "the row itself, from agentd's answer: a payload's loopback IdP is not asked (as doctor sso without --allow-local-urls), the CDN base is; failing, with progress",
  async (t) => {
    const s = await servers(rightFile, rightFile);
    t.teardown(s.stop);
    const asked: string[] = [];
    const progress: string[] = [];
    const context: DoctorContext = {
      config: { SSOAssociationCDNURL: `${s.cdn.origin}/a/v1` },
      sources: {},
      configProblems: [],
      status: { daemon: {} },
      ask: async (name): Promise<DaemonAnswer> => {
        asked.push(name);
        return { ok: true, result: installedAnswer(okta, `localhost:${s.idp.port}`) };
      },
      signal: new AbortController().signal,
      progress: (text) => progress.push(text),
    };
    const result = await ssoCheck.run(context);
    t.deepEqual(asked, ['sso.installed']);
    t.like(result, { status: 'failing', code: 'sso_payload_failing' }, JSON.stringify(result));
    t.regex(result.message, /^aasa_unreachable .*not asked \(--allow-local-urls\)/);
    t.is(s.idp.requests.length, 0);
    t.true(s.cdn.requests.some((r) => r.url === '/a/v1/localhost'));
    t.deepEqual(progress, [
      'asking agentd for the installed SSO payloads…',
      'checking 1 SSO payload… 0 done',
      'checking 1 SSO payload… 1 done',
    ]);
  },
);

maybe("the deadline's signal stops the SSO doctor's requests that are still waiting", async (t) => {
  const controller = new AbortController();
  let cdnAsked = 0;
  // A CDN that takes the request and never answers; the request's own timeout is a minute.
  const cdn = await startHttpsServer({
    certificate: leaf,
    handler: serve({}, () => {
      cdnAsked++;
      controller.abort();
    }),
  });
  t.teardown(() => cdn.stop());
  const r = await runSsoDoctorInstalled(installedOf(okta, 'localhost:1'), {
    trust: await trustSetup([], { timeoutMs: 5000, platform: 'linux', env: { SSL_CERT_FILE: bundle } }),
    cdnBase: `${cdn.origin}/a/v1`,
    issuer: null,
    timeoutMs: 60_000,
    platform: 'linux',
    allowLocal: false,
    signal: controller.signal,
  });
  t.is(cdnAsked, 1);
  t.like(
    r.payloads[0]!.checks.find((c) => c.check === 'cdn'),
    { code: 'cdn_timeout' },
  );
  t.regex(r.payloads[0]!.checks.find((c) => c.check === 'cdn')!.detail, /stopped: the deadline has passed/);
});

test("agentd's answers with nothing to check: off macOS and no payload are Info; a failure, a refusal or a malformed answer is an Error", (t) => {
  const at = '2026-12-01T10:00:00.000Z';
  const notMac = judgeInstalled({
    ok: true,
    result: { code: 'installed_not_macos', message: 'the daemon runs on linux: no profiles', read_at: at },
  }) as CheckResult;
  t.like(notMac, { status: 'info', code: 'not_applicable' });
  t.regex(notMac.fix!, /agentctl doctor sso --profile FILE/);
  t.like(
    judgeInstalled({
      ok: true,
      result: { code: 'ok', read_at: at, as_root: true, payloads: [], associated: [], left_out: 0 },
    }),
    { status: 'info', code: 'sso_no_payloads' },
  );
  const failed = judgeInstalled({
    ok: true,
    result: { code: 'installed_command_failed', message: '/usr/bin/profiles exited with 1', read_at: at },
  }) as CheckResult;
  t.like(failed, { status: 'error', code: 'sso_installed_error' });
  t.regex(failed.message, /installed_command_failed: \/usr\/bin\/profiles exited with 1/);
  t.like(judgeInstalled({ ok: false, error: { code: 'unknown_request', message: 'unknown request' } }), {
    status: 'error',
    code: 'sso_installed_error',
  });
  t.like(judgeInstalled({ ok: true, result: { code: 'ok', payloads: 'none' } }), {
    status: 'error',
    code: 'sso_installed_error',
  });
  t.like(judgeInstalled({ error: 'the daemon is not reachable (connection refused)' }), {
    status: 'error',
    code: 'sso_installed_error',
  });
});

test('every string from agentd is bounded and printable in the row', (t) => {
  const hostile = `\u001b]0;owned\u0007\u001b[2J${'x'.repeat(100_000)}\n\u202eevil`;
  for (const reply of [
    { ok: false as const, error: { code: 'internal', message: hostile } },
    { error: hostile },
    { ok: true as const, result: { code: 'installed_unparsable', message: hostile, read_at: hostile } },
    { ok: true as const, result: { code: 'installed_not_macos', message: hostile, read_at: hostile } },
  ]) {
    const row = judgeInstalled(reply) as CheckResult;
    t.true(row.message.length <= 420, String(row.message.length));
    t.notRegex(row.message, /[\p{Cc}\u202e]/u);
  }
});

test('the row without a daemon: Info, not a second failure beside the daemon row', async (t) => {
  const result = await ssoCheck.run({
    config: {},
    sources: {},
    configProblems: [],
    status: null,
    signal: new AbortController().signal,
    progress: () => {},
  });
  t.like(result, { status: 'info', code: process.platform === 'darwin' ? 'not_checked' : 'not_applicable' });
});
