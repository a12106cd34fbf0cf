// Signed profiles made here with `openssl cms -sign -nodetach` (DER and PEM) and certificates
// from the test PKI: a good one verifies and names its signer; altered content, a signer from
// an unknown root and an expired signer each fail with their code. The real signed profiles of
// the corpus are reported as they are.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exitCodeOf } from '../../agent/profiles/doctor-profile-command.js';
import { runDoctor, type DoctorOptions } from '../../agent/profiles/doctor.js';
import { corpus } from '../helpers/corpora.js';
import { payload, writeProfile } from '../helpers/profiles.js';
import { TestPki } from '../helpers/tls.js';

const day = 86_400_000;
const options = (extra: Partial<DoctorOptions> = {}): DoctorOptions => ({
  schemas: null,
  targetMacos: null,
  atMs: Date.now(),
  minDays: 30,
  revocation: 'off',
  anchors: [],
  timeoutMs: 2000,
  ...extra,
});

function sign(dir: string, input: string, cert: string, key: string, form: 'DER' | 'PEM', chain?: string): string {
  const out = path.join(dir, `${path.basename(input)}.${form.toLowerCase()}.mobileconfig`);
  execFileSync('openssl', [
    'cms',
    '-sign',
    '-nodetach',
    '-binary',
    '-in',
    input,
    '-signer',
    cert,
    '-inkey',
    key,
    '-outform',
    form,
    '-out',
    out,
    ...(chain ? ['-certfile', chain] : []),
  ]);
  return out;
}

const codes = (r: Awaited<ReturnType<typeof runDoctor>>) => r.files.flatMap((f) => f.findings.map((x) => x.code));

test('signed profiles: a good signer verifies and is named; altered content, an unknown root and an expired signer fail with their codes', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-signed-'));
  const pki = await TestPki.create({ rootName: 'Profile Test Root' });
  t.teardown(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pki.cleanup();
  });
  const source = writeProfile(dir, 'p.xml', [payload('com.trustguard.agent', { Mode: 'observe' })]);
  const signer = await pki.issueLeaf({ commonName: 'Profile Signer' });
  const expired = await pki.issueLeaf({
    commonName: 'Old Signer',
    notBefore: new Date(Date.now() - 400 * day),
    notAfter: new Date(Date.now() - 10 * day),
  });
  const anchors = [Buffer.from(pki.root.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')];

  for (const form of ['DER', 'PEM'] as const) {
    const good = sign(dir, source, signer.certFile, signer.keyFile, form, pki.intermediate.certFile);
    const ok = await runDoctor([good], options({ anchors }));
    t.deepEqual(
      codes(ok).filter((c) => c !== 'schema_not_run'),
      ['signature_valid'],
      form,
    );
    t.regex(ok.files[0]!.signer!.subject, /Profile Signer/);
    t.is(exitCodeOf(ok, true), 0);

    const untrusted = await runDoctor([good], options());
    t.true(codes(untrusted).includes('signer_untrusted'), form);
    t.is(exitCodeOf(untrusted, false), 2);

    const old = await runDoctor(
      [sign(dir, source, expired.certFile, expired.keyFile, form, pki.intermediate.certFile)],
      options({ anchors }),
    );
    t.true(codes(old).includes('signer_expired'), form);
    t.false(codes(old).includes('signer_untrusted'), 'an expired signer is not also called untrusted');
  }
  // Altered content: one byte of the signed plist changed, same length.
  const der = readFileSync(sign(dir, source, signer.certFile, signer.keyFile, 'DER', pki.intermediate.certFile));
  const at = der.indexOf('observe');
  der.write('obServe', at, 'latin1');
  const altered = path.join(dir, 'altered.mobileconfig');
  writeFileSync(altered, der);
  const report = await runDoctor([altered], options({ anchors }));
  t.true(codes(report).includes('content_altered'));
  t.is(exitCodeOf(report, false), 2);
});

test('the corpus: the Cloudflare signer expired on 2026-05-28, the Jamf fixture envelope is corrupt', async (t) => {
  const profiles = corpus('profiles');
  if (!profiles) return t.pass('no corpus here');
  const report = await runDoctor(
    [
      path.join(profiles, 'encrypted-dns__signed_cloudflare-default-https.mobileconfig'),
      path.join(profiles, 'PPPC-Utility__TestTCCProfileSigned@027eaea5.mobileconfig'),
      path.join(profiles, 'PPPC-Utility__TestTCCProfileSigned.mobileconfig'),
    ],
    options({ atMs: Date.parse('2026-11-22T00:00:00Z') }),
  );
  const [cloudflare, corrupt, jamf] = report.files;
  t.regex(cloudflare!.signer!.subject, /encrypted-dns\.brunch\.io/);
  const expiredFinding = cloudflare!.findings.find((f) => f.code === 'signer_expired');
  t.regex(expiredFinding?.message ?? '', /expired on 2026-05-28/);
  t.true(
    cloudflare!.findings.some((f) => f.code === 'signature_valid'),
    'the signature itself is good',
  );
  t.deepEqual(
    corrupt!.findings.map((f) => f.code),
    ['cms_corrupt'],
  );
  t.true(jamf!.findings.some((f) => f.code === 'signer_expired'));
  t.true(
    jamf!.findings.some((f) => f.code === 'signer_untrusted'),
    'the CMS does not carry Apple Root CA',
  );
});
