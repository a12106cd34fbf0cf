// Issue 20, acceptance 5: Platform SSO claim drift against a loopback OpenID discovery document
// served over real HTTPS (openssl-made chain in the test "system" bundle).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runSsoDoctor, type CheckResult } from '../../agent/sso/doctor.js';
import { trustSetup } from '../../agent/sso/tls.js';
import { payload, writeProfile } from '../helpers/profiles.js';
import { startHttpsServer, TestPki, type RunningHttpsServer } from '../helpers/tls.js';

let dir: string;
let pki: TestPki;
let server: RunningHttpsServer;
const documents: Record<string, { status?: number; body: string }> = {};

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tg-sso-claims-'));
  pki = await TestPki.create({ rootName: 'TrustGuard Claims Root' });
  const leaf = await pki.issueLeaf();
  writeFileSync(path.join(dir, 'bundle.pem'), pki.root.certPem);
  server = await startHttpsServer({
    certificate: leaf,
    handler: (req, res) => {
      const realm = /^\/realms\/([a-z]+)\/\.well-known\/openid-configuration$/.exec(req.url ?? '')?.[1];
      const doc = realm ? documents[realm] : undefined;
      res.writeHead(doc?.status ?? (doc ? 200 : 404), { 'content-type': 'application/json' });
      res.end(doc?.body ?? '');
    },
  });
});

test.after.always(async () => {
  await server?.stop();
  await pki?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function discovery(realm: string, extra: Record<string, unknown>): string {
  return JSON.stringify({
    issuer: `https://localhost:${server.port}/realms/${realm}`,
    authorization_endpoint: `https://localhost:${server.port}/realms/${realm}/auth`,
    ...extra,
  });
}

async function audit(realm: string, psso: Record<string, unknown>): Promise<CheckResult> {
  const file = writeProfile(dir, `${realm}.mobileconfig`, [
    payload('com.apple.extensiblesso', {
      ExtensionIdentifier: 'com.example.Scissors.ssoe',
      TeamIdentifier: 'UXP6YEHSPW',
      Type: 'Redirect',
      URLs: [`https://localhost:${server.port}/realms/${realm}/`],
      PlatformSSO: psso as never,
    }),
  ]);
  const trust = await trustSetup([], {
    timeoutMs: 5000,
    platform: 'linux',
    env: { SSL_CERT_FILE: path.join(dir, 'bundle.pem') },
  });
  const report = await runSsoDoctor([file], {
    trust,
    cdnBase: 'https://127.0.0.1:1/a/v1',
    issuer: null, // derived from the payload's URL: https://localhost:PORT/realms/<realm>
    timeoutMs: 5000,
    platform: 'linux',
    allowLocal: true,
  });
  return report.payloads[0]!.checks.find((c) => c.check === 'claims')!;
}

const mapping = {
  AuthenticationMethod: 'UserSecureEnclaveKey',
  TokenToUserMapping: { AccountName: 'preferred_username', FullName: 'display_name' },
};

test('every mapped claim in claims_supported: ok', async (t) => {
  documents.good = {
    body: discovery('good', { claims_supported: ['sub', 'preferred_username', 'display_name', 'groups'] }),
  };
  const c = await audit('good', { ...mapping, AdministratorGroups: ['admins'] });
  t.like(c, { ok: true, code: 'ok' });
  t.regex(c.detail, /preferred_username, display_name, groups/);
});

test('a mapped claim absent from claims_supported: a warning naming it', async (t) => {
  documents.drift = { body: discovery('drift', { claims_supported: ['sub', 'preferred_username', 'name'] }) };
  const c = await audit('drift', mapping);
  t.like(c, { ok: false, status: 'fail', severity: 'warning', code: 'claims_unsupported' });
  t.regex(c.detail, /display_name/);
  t.notRegex(c.detail, /preferred_username,/);
  t.truthy(c.hint);
});

test('claims_supported absent: a note saying the field is optional', async (t) => {
  documents.bare = { body: discovery('bare', {}) };
  const c = await audit('bare', mapping);
  t.like(c, { ok: true, severity: 'note', code: 'claims_unlisted' });
  t.regex(c.detail, /optional/);
});

test('a malformed discovery document, one without issuer, or none at all: an error', async (t) => {
  documents.broken = { body: '{"issuer": "https://x", "claims_supported": [' };
  t.like(await audit('broken', mapping), { ok: false, severity: 'error', code: 'discovery_invalid' });
  documents.noissuer = { body: JSON.stringify({ claims_supported: ['preferred_username'] }) };
  t.like(await audit('noissuer', mapping), { ok: false, code: 'discovery_invalid' });
  t.like(await audit('absent', mapping), { ok: false, code: 'discovery_invalid' }); // 404
});

test('an unreachable discovery document: discovery_unreachable; no PlatformSSO: the audit is skipped', async (t) => {
  const file = writeProfile(dir, 'unreachable.mobileconfig', [
    payload('com.apple.extensiblesso', {
      ExtensionIdentifier: 'com.example.Scissors.ssoe',
      TeamIdentifier: 'UXP6YEHSPW',
      Type: 'Redirect',
      URLs: ['https://127.0.0.1:1/realms/x/'],
      PlatformSSO: mapping as never,
    }),
  ]);
  const trust = await trustSetup([], { timeoutMs: 5000, platform: 'linux', env: {} });
  const report = await runSsoDoctor([file], {
    trust,
    cdnBase: 'https://127.0.0.1:1/a/v1',
    issuer: null,
    timeoutMs: 3000,
    platform: 'linux',
    allowLocal: true,
  });
  t.like(
    report.payloads[0]!.checks.find((c) => c.check === 'claims'),
    { ok: false, severity: 'error', code: 'discovery_unreachable' },
  );
  t.like(await audit('none', {}), { code: 'skipped' });
});
