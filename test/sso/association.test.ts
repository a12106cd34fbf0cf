// Issue 20, acceptance 1 and 2: real HTTPS servers on loopback (openssl-made chains) serve the
// association file for the seed's sample payload, adapted to the test host; a loopback "CDN"
// serves Apple's copy. The test bundle stands for the system's own roots (SSL_CERT_FILE), and
// --ca adds an "inspection" root.
import test from 'ava';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runSsoDoctor, type CheckResult, type SsoReport } from '../../agent/sso/doctor.js';
import { trustSetup } from '../../agent/sso/tls.js';
import { parsePem } from '../../agent/trust/certificates.js';
import { payload, writeProfile } from '../helpers/profiles.js';
import { startHttpsServer, TestPki, type Leaf, type RunningHttpsServer } from '../helpers/tls.js';

const team = 'UXP6YEHSPW';
const rightFile = JSON.stringify({ authsrv: { apps: [`${team}.com.example.Scissors`] } });

let dir: string;
let pub: TestPki; // the "public" roots: in the test system bundle
let inspection: TestPki; // an enterprise TLS inspection root, given with --ca
let stranger: TestPki; // trusted by no one
let idpLeaf: Leaf;
let inspectedLeaf: Leaf;
let strangerLeaf: Leaf;
let systemBundle: string;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tg-sso-'));
  [pub, inspection, stranger] = await Promise.all([
    TestPki.create({ rootName: 'TrustGuard Public Root CA' }),
    TestPki.create({ rootName: 'Corp TLS Inspection Root', intermediateName: 'Corp TLS Inspection CA' }),
    TestPki.create({ rootName: 'Stranger Root CA' }),
  ]);
  [idpLeaf, inspectedLeaf, strangerLeaf] = await Promise.all([
    pub.issueLeaf(),
    inspection.issueLeaf(),
    stranger.issueLeaf(),
  ]);
  systemBundle = path.join(dir, 'system-bundle.pem');
  writeFileSync(systemBundle, pub.root.certPem);
});

test.after.always(async () => {
  await Promise.all([pub?.cleanup(), inspection?.cleanup(), stranger?.cleanup()]);
  rmSync(dir, { recursive: true, force: true });
});

type Answer = { status?: number; headers?: Record<string, string>; body?: string | Buffer };

function serve(answers: Record<string, Answer>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const a = answers[(req.url ?? '').split('?')[0]!];
    if (!a) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body ?? '');
  };
}

async function withServers(
  idp: { leaf?: Leaf; file: Answer },
  cdn: { leaf?: Leaf; copy: Answer | null },
  run: (idpServer: RunningHttpsServer, cdnServer: RunningHttpsServer) => Promise<void>,
) {
  const idpServer = await startHttpsServer({
    certificate: idp.leaf ?? idpLeaf,
    handler: serve({ '/.well-known/apple-app-site-association': idp.file }),
  });
  const cdnServer = await startHttpsServer({
    certificate: cdn.leaf ?? idpLeaf,
    handler: serve(cdn.copy ? { '/a/v1/localhost': cdn.copy } : {}),
  });
  try {
    await run(idpServer, cdnServer);
  } finally {
    await Promise.all([idpServer.stop(), cdnServer.stop()]);
  }
}

/** The seed's sample payload with its URL on the test host. */
function seedProfile(name: string, url: string): string {
  return writeProfile(dir, name, [
    payload('com.apple.extensiblesso', {
      ExtensionIdentifier: 'com.example.Scissors.ssoe',
      PayloadDisplayName: 'Single Sign-On Extensions #1',
      TeamIdentifier: team,
      Type: 'Redirect',
      URLs: [url],
    }),
  ]);
}

async function doctor(
  file: string,
  cdn: RunningHttpsServer,
  options: { bundle?: string; ca?: string[] } = {},
): Promise<SsoReport> {
  const extra = (options.ca ?? []).flatMap((pem) => parsePem(pem, { maxBytes: 1 << 20, maxCertificates: 10 }));
  const trust = await trustSetup(extra, {
    timeoutMs: 5000,
    platform: 'linux',
    env: { SSL_CERT_FILE: options.bundle ?? systemBundle },
  });
  return runSsoDoctor([file], {
    trust,
    cdnBase: `${cdn.origin}/a/v1`,
    issuer: null,
    timeoutMs: 5000,
    platform: 'linux',
    allowLocal: true,
  });
}

function check(report: SsoReport, name: CheckResult['check']): CheckResult {
  const found = report.payloads[0]!.checks.find((c) => c.check === name);
  if (!found) throw new Error(`no ${name} check`);
  return found;
}

test('the right association file passes, its CDN copy matches, and the IdP chain is trusted through a system root', async (t) => {
  await withServers({ file: { body: rightFile } }, { copy: { body: rightFile } }, async (idp, cdn) => {
    const report = await doctor(seedProfile('right.mobileconfig', `https://localhost:${idp.port}/realms/domain/`), cdn);
    t.is(check(report, 'static').code, 'ok');
    t.like(check(report, 'association'), { ok: true, code: 'ok', status: 'pass' });
    t.like(check(report, 'cdn'), { ok: true, code: 'ok' });
    t.like(check(report, 'tls'), { ok: true, code: 'ok' });
    t.regex(check(report, 'tls').detail, /TrustGuard Public Root CA/);
    t.is(report.summary.errors, 0);
    t.true(idp.requests.some((r) => r.url === '/.well-known/apple-app-site-association'));
  });
});

const failures: Array<{ title: string; file: Answer; code: string; hint?: RegExp }> = [
  {
    title: 'wrong team',
    file: { body: JSON.stringify({ authsrv: { apps: ['ABCDE12345.com.example.Scissors'] } }) },
    code: 'aasa_wrong_team',
  },
  {
    title: 'wrong bundle id',
    file: { body: JSON.stringify({ authsrv: { apps: [`${team}.com.example.Scissors.ssoe`] } }) },
    code: 'aasa_wrong_bundle',
  },
  {
    title: 'no authsrv',
    file: {
      body: JSON.stringify({ applinks: { details: [] }, webcredentials: { apps: [`${team}.com.example.Scissors`] } }),
    },
    code: 'aasa_no_authsrv',
  },
  {
    title: 'HTML instead of JSON',
    file: {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!DOCTYPE html><html><body>Sign in</body></html>',
    },
    code: 'aasa_html',
  },
  {
    title: 'a redirect',
    file: { status: 301, headers: { location: '/login?next=/.well-known/apple-app-site-association' } },
    code: 'aasa_redirect',
    hint: /mode=developer/,
  },
  {
    title: 'an oversized file',
    file: {
      body: JSON.stringify({
        authsrv: { apps: [`${team}.com.example.Scissors`] },
        applinks: {
          details: Array.from({ length: 4000 }, (_, i) => ({
            appIDs: [`${team}.com.example.app${i}`],
            components: [],
          })),
        },
      }),
    },
    code: 'aasa_too_large',
  },
  { title: 'a 404', file: { status: 404, body: '' }, code: 'aasa_http_status', hint: /mode=developer/ },
  { title: 'invalid JSON', file: { body: '{"authsrv": {"apps": ["x",]}}' }, code: 'aasa_invalid_json' },
];

for (const f of failures)
  test(`association file with ${f.title} fails with ${f.code}`, async (t) => {
    await withServers({ file: f.file }, { copy: { body: rightFile } }, async (idp, cdn) => {
      const report = await doctor(
        seedProfile(`${f.code}.mobileconfig`, `https://localhost:${idp.port}/realms/domain/`),
        cdn,
      );
      const a = check(report, 'association');
      t.like(a, { ok: false, status: 'fail', severity: 'error', code: f.code });
      t.truthy(a.hint);
      if (f.hint) t.regex(a.hint!, f.hint);
      t.true(report.summary.errors > 0);
    });
  });

test('an http:// URL fails with aasa_url_not_https and nothing is fetched for it', async (t) => {
  await withServers({ file: { body: rightFile } }, { copy: { body: rightFile } }, async (idp, cdn) => {
    const report = await doctor(seedProfile('http.mobileconfig', `http://localhost:${idp.port}/realms/domain/`), cdn);
    t.like(check(report, 'association'), { ok: false, code: 'aasa_url_not_https' });
    t.is(check(report, 'static').code, 'sso_url_not_https');
    t.deepEqual(idp.requests, []);
  });
});

test('an untrusted certificate fails the association (aasa_tls_untrusted) and the tls check with the trust diagnosis', async (t) => {
  await withServers(
    { leaf: strangerLeaf, file: { body: rightFile } },
    { copy: { body: rightFile } },
    async (idp, cdn) => {
      const report = await doctor(
        seedProfile('untrusted.mobileconfig', `https://localhost:${idp.port}/realms/domain/`),
        cdn,
        {
          ca: [inspection.root.certPem],
        },
      );
      t.like(check(report, 'association'), { ok: false, code: 'aasa_tls_untrusted' });
      const tls = check(report, 'tls');
      t.like(tls, { ok: false, code: 'idp_tls_untrusted' });
      t.regex(tls.detail, /untrusted_root/);
      t.regex(tls.hint!, /Stranger Root CA/);
    },
  );
});

test('a CDN serving an older copy: cdn_stale, with the date the host says its file changed', async (t) => {
  const older = JSON.stringify({ authsrv: { apps: [`${team}.com.example.OldScissors`] } });
  await withServers(
    { file: { body: rightFile, headers: { 'last-modified': 'Mon, 30 Nov 2026 08:00:00 GMT' } } },
    { copy: { body: older } },
    async (idp, cdn) => {
      const report = await doctor(
        seedProfile('stale.mobileconfig', `https://localhost:${idp.port}/realms/domain/`),
        cdn,
      );
      const c = check(report, 'cdn');
      t.like(c, { ok: false, code: 'cdn_stale', severity: 'warning' });
      t.regex(c.detail, /30 Nov 2026/);
      t.regex(c.hint!, /caches/);
      t.true(cdn.requests.some((r) => r.url === '/a/v1/localhost'));
    },
  );
});

test('a CDN serving nothing for the host: cdn_missing', async (t) => {
  await withServers({ file: { body: rightFile } }, { copy: null }, async (idp, cdn) => {
    const report = await doctor(
      seedProfile('missing.mobileconfig', `https://localhost:${idp.port}/realms/domain/`),
      cdn,
    );
    t.like(check(report, 'cdn'), { ok: false, code: 'cdn_missing', severity: 'error' });
  });
});

test('a CDN chain trusted only through a --ca root while the system store is a test bundle: tls_intercepted naming that root', async (t) => {
  await withServers(
    { file: { body: rightFile } },
    { leaf: inspectedLeaf, copy: { body: rightFile } },
    async (idp, cdn) => {
      const report = await doctor(
        seedProfile('intercepted.mobileconfig', `https://localhost:${idp.port}/realms/domain/`),
        cdn,
        {
          ca: [inspection.root.certPem],
        },
      );
      const c = check(report, 'cdn');
      t.like(c, { ok: false, code: 'tls_intercepted', severity: 'error' });
      t.regex(c.detail, /Corp TLS Inspection Root/);
      t.regex(c.hint!, /inspection/i);
      t.is(check(report, 'association').code, 'ok');
    },
  );
});

test('the same CDN chain under a root in the system bundle is ok', async (t) => {
  const both = path.join(dir, 'system-bundle-with-inspection.pem');
  writeFileSync(both, pub.root.certPem + inspection.root.certPem);
  await withServers(
    { file: { body: rightFile } },
    { leaf: inspectedLeaf, copy: { body: rightFile } },
    async (idp, cdn) => {
      const report = await doctor(
        seedProfile('cdn-ok.mobileconfig', `https://localhost:${idp.port}/realms/domain/`),
        cdn,
        {
          bundle: both,
          ca: [inspection.root.certPem],
        },
      );
      t.like(check(report, 'cdn'), { ok: true, code: 'ok' });
    },
  );
});

test('an IdP chain trusted only through a --ca root is tls_intercepted too', async (t) => {
  await withServers(
    { leaf: inspectedLeaf, file: { body: rightFile } },
    { copy: { body: rightFile } },
    async (idp, cdn) => {
      const report = await doctor(
        seedProfile('idp-intercepted.mobileconfig', `https://localhost:${idp.port}/realms/domain/`),
        cdn,
        {
          ca: [inspection.root.certPem],
        },
      );
      const tls = check(report, 'tls');
      t.like(tls, { ok: false, code: 'tls_intercepted' });
      t.regex(tls.detail, /Corp TLS Inspection Root/);
    },
  );
});
