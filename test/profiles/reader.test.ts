// The profile reader on the 35 real profiles of shared/corpora/profiles, on bplist and CMS
// forms made here, and on mutated bytes (fast-check): a document or one clear error, never a
// stack trace.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bplistCreator from 'bplist-creator';
import { payloadsOf, readProfileBytes, readProfileFile } from '../../agent/profiles/reader.js';
import { corpus } from '../helpers/corpora.js';
import { mutate, mutation } from '../helpers/mutate.js';

const profiles = corpus('profiles');
const files = profiles ? readdirSync(profiles).filter((f) => f.endsWith('.mobileconfig')) : [];

test('the corpus: 35 files, 30 parse, and the five that do not are named with why and where (no text of the file)', (t) => {
  if (!profiles) return t.pass('no corpus here');
  t.is(files.length, 35);
  const failures: Record<string, string> = {};
  for (const f of files) {
    const r = readProfileFile(path.join(profiles, f));
    if (!r.ok) failures[f] = `${r.code}${r.line ? ` ${r.line}:${r.column}` : ''} ${r.message}`;
  }
  t.deepEqual(Object.keys(failures).sort(), [
    'PPPC-Utility__TestTCCProfileSigned-Broken.mobileconfig',
    'PPPC-Utility__TestTCCProfileSigned@027eaea5.mobileconfig',
    'jamfconnect__Jamf_Connect_Login_Hybrid_ID_ADFS.mobileconfig',
    'shell-intune-samples__Google_Chrome_-_Prevent_proceeding_from_the_SSL_warning_page.mobileconfig',
    'thoughtworks-configuration-profiles__SimpleMDM-passcode-attribute.mobileconfig',
  ]);
  t.regex(
    failures['PPPC-Utility__TestTCCProfileSigned-Broken.mobileconfig']!,
    /^plist_malformed 1:2 text before the root element$/,
  );
  t.regex(failures['PPPC-Utility__TestTCCProfileSigned@027eaea5.mobileconfig']!, /^cms_corrupt .*not signedData/);
  t.regex(
    failures['jamfconnect__Jamf_Connect_Login_Hybrid_ID_ADFS.mobileconfig']!,
    /^plist_malformed 18:77 a malformed end tag$/,
  );
  // " <?xml …": an XML declaration after a space. CF reads it (CFPropertyList.c
  // parseXMLPropertyList: skipWhitespace, then the processing instruction), so it is a profile.
  t.false('shell-intune-samples__Docker_Desktop_-_Sign-in_Enforcement.mobileconfig' in failures);
  t.regex(
    failures['shell-intune-samples__Google_Chrome_-_Prevent_proceeding_from_the_SSL_warning_page.mobileconfig']!,
    /^plist_malformed 15:5 an element inside <string>$/,
  );
  t.regex(
    failures['thoughtworks-configuration-profiles__SimpleMDM-passcode-attribute.mobileconfig']!,
    /^plist_malformed 23:4 an <integer> that is not an integer$/,
  );
});

test('the corpus: 46 payloads in the files that parse; keys keep their lines; the signed ones unwrap and verify', (t) => {
  if (!profiles) return t.pass('no corpus here');
  let payloads = 0;
  for (const f of files) {
    const r = readProfileFile(path.join(profiles, f));
    if (r.ok) payloads += payloadsOf(r.document).filter((p) => p.role === 'payload').length;
  }
  t.is(payloads, 46);
  const minified = readProfileFile(path.join(profiles, 'mdatp-xplat__mdatp.mobileconfig'));
  t.true(minified.ok);
  const nomad = readProfileFile(path.join(profiles, 'NoMAD-2__NoMAD_2_SSOE_Sample.mobileconfig'));
  if (!nomad.ok) return t.fail(nomad.message);
  const text = readFileSync(path.join(profiles, 'NoMAD-2__NoMAD_2_SSOE_Sample.mobileconfig'), 'utf8').split('\n');
  const line = nomad.document.lines!.keys.get(nomad.document.root)!.get('PayloadUUID')!;
  t.regex(text[line - 1]!, /<key>PayloadUUID<\/key>/);
  for (const f of [
    'PPPC-Utility__TestTCCProfileSigned.mobileconfig',
    'encrypted-dns__signed_cloudflare-default-https.mobileconfig',
  ]) {
    const r = readProfileFile(path.join(profiles, f));
    if (!r.ok) return t.fail(r.message);
    t.is(r.document.container, 'cms_der');
    t.is(r.document.signed?.verdict.status, 'valid', f);
  }
});

const sample = {
  PayloadType: 'Configuration',
  PayloadIdentifier: 'com.example.p',
  PayloadUUID: '6C1D7E0A-3B6F-4C51-9E0B-2B3B6F2D9A10',
  PayloadVersion: 1,
  PayloadContent: [
    {
      PayloadType: 'com.trustguard.agent',
      PayloadIdentifier: 'com.example.p.a',
      PayloadUUID: '0F8E2C4B-7A19-4D2E-8C3F-5B6A1D9E7F21',
      PayloadVersion: 1,
      Mode: 'observe',
    },
  ],
};

function xmlOf(value: unknown): string {
  const plistText = (v: unknown, indent: string): string => {
    if (typeof v === 'string') return `${indent}<string>${v}</string>`;
    if (typeof v === 'number') return `${indent}<integer>${v}</integer>`;
    if (Array.isArray(v))
      return `${indent}<array>\n${v.map((x) => plistText(x, `${indent}  `)).join('\n')}\n${indent}</array>`;
    return `${indent}<dict>\n${Object.entries(v as object)
      .map(([k, x]) => `${indent}  <key>${k}</key>\n${plistText(x, `${indent}  `)}`)
      .join('\n')}\n${indent}</dict>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${plistText(value, '')}\n</plist>\n`;
}

test('a binary-plist profile and a signed one (DER and PEM) read as the XML one does', (t) => {
  const xml = Buffer.from(xmlOf(sample));
  const fromXml = readProfileBytes(xml, 'x');
  const fromBinary = readProfileBytes(bplistCreator(sample), 'b');
  if (!fromXml.ok || !fromBinary.ok) return t.fail('does not parse');
  t.deepEqual(fromBinary.document.root, fromXml.document.root);
  t.is(fromBinary.document.format, 'binary');
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${dir}/k.pem`,
      '-out',
      `${dir}/c.pem`,
      '-subj',
      '/CN=Profile Signer',
      '-days',
      '30',
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(`${dir}/p.xml`, xml);
  for (const form of ['DER', 'PEM']) {
    execFileSync('openssl', [
      'cms',
      '-sign',
      '-nodetach',
      '-binary',
      '-in',
      `${dir}/p.xml`,
      '-signer',
      `${dir}/c.pem`,
      '-inkey',
      `${dir}/k.pem`,
      '-outform',
      form,
      '-out',
      `${dir}/s.${form}`,
    ]);
    const r = readProfileBytes(readFileSync(`${dir}/s.${form}`), 's');
    if (!r.ok) return t.fail(r.message);
    t.is(r.document.container, form === 'DER' ? 'cms_der' : 'cms_pem');
    t.is(r.document.signed?.verdict.status, 'valid');
    t.deepEqual(r.document.root, fromXml.document.root);
  }
});

test('mutated XML, binary and CMS profiles: a document or one clear error, never a throw (fast-check)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const xml = Buffer.from(xmlOf(sample));
  writeFileSync(`${dir}/p.xml`, xml);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${dir}/k.pem`,
      '-out',
      `${dir}/c.pem`,
      '-subj',
      '/CN=Signer',
      '-days',
      '30',
    ],
    { stdio: 'ignore' },
  );
  execFileSync('openssl', [
    'cms',
    '-sign',
    '-nodetach',
    '-binary',
    '-in',
    `${dir}/p.xml`,
    '-signer',
    `${dir}/c.pem`,
    '-inkey',
    `${dir}/k.pem`,
    '-outform',
    'DER',
    '-out',
    `${dir}/s.der`,
  ]);
  for (const original of [xml, bplistCreator(sample), readFileSync(`${dir}/s.der`)]) {
    fc.assert(
      fc.property(fc.array(mutation(original.length), { minLength: 1, maxLength: 4 }), (mutations) => {
        const r = readProfileBytes(mutate(original, mutations), 'm');
        if (r.ok) return typeof r.document.root === 'object';
        return typeof r.code === 'string' && r.message.length > 0 && !/\n\s+at /.test(r.message);
      }),
      { numRuns: 300 },
    );
  }
  t.pass();
});
