// Issue 20, acceptance 6: the nine SSO profiles of the shared corpus (Microsoft, Okta, Fleet,
// NoMAD, Kerberos) through the doctor's static part; findings pinned. The network checks are
// off here (they would reach the vendors' real hosts); the loopback tests cover them.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { containerBundleId } from '../../agent/sso/association.js';
import { claimsInUse } from '../../agent/sso/claims.js';
import { runSsoDoctor } from '../../agent/sso/doctor.js';
import type { TrustSetup } from '../../agent/sso/tls.js';
import { payloadsOf, readProfileFile } from '../../agent/profiles/reader.js';
import { corpus } from '../helpers/corpora.js';

const dir = corpus('profiles');
const maybe = dir ? test : test.skip;
const noTrust: TrustSetup = { system: null, systemSource: 'none', extra: [], systemUnknown: null, platform: 'linux' };

const microsoftHosts = [
  'login.microsoftonline.com',
  'login.microsoft.com',
  'sts.windows.net',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
  'login.microsoftonline.us',
  'login-us.microsoftonline.com',
];

// file → extension, team, Type, hosts, static codes, the container app the association file
// must name, the claims the claim audit would check (null: no PlatformSSO), and whether the
// association checks apply (Redirect, not Apple's Kerberos extension).
const pinned: Record<string, [string, string, string, string[], string[], string, string[] | null, boolean]> = {
  'NoMAD-2__NoMAD_2_SSOE_Sample.mobileconfig': [
    'menu.nomad.nomad.nomadssoe',
    'VRPY9KHGX6',
    'Credential',
    [],
    ['ok'],
    'menu.nomad.nomad',
    null,
    false,
  ],
  'entra-docs__cloud-kerberos.mobileconfig': [
    'com.apple.AppSSOKerberos.KerberosExtension',
    'apple',
    'Credential',
    [],
    ['ok'],
    'com.apple.AppSSOKerberos',
    null,
    false,
  ],
  'entra-docs__on-prem-kerberos.mobileconfig': [
    'com.apple.AppSSOKerberos.KerberosExtension',
    'apple',
    'Credential',
    [],
    ['ok'],
    'com.apple.AppSSOKerberos',
    null,
    false,
  ],
  'fleet__company-portal-single-signon-extension.mobileconfig': [
    'com.microsoft.CompanyPortalMac.ssoextension',
    'UBF8T346G9',
    'Redirect',
    microsoftHosts,
    ['ok'],
    'com.microsoft.CompanyPortalMac',
    null,
    true,
  ],
  'fleet__company-portal-sso-extension.mobileconfig': [
    'com.microsoft.CompanyPortalMac.ssoextension',
    'UBF8T346G9',
    'Redirect',
    microsoftHosts,
    ['ok'],
    'com.microsoft.CompanyPortalMac',
    ['preferred_username', 'name'],
    true,
  ],
  'fleet__fleet-sso-extension-example.mobileconfig': [
    'com.fleetdm.pssotesting.extension',
    '5K28R5ZUK5',
    'Redirect',
    ['jordan-fleetdm.ngrok.app'],
    ['ok'],
    'com.fleetdm.pssotesting',
    [],
    true,
  ],
  'fleet__okta-sso-extension-example.mobileconfig': [
    'com.okta.mobile.auth-service-extension',
    'B7F62B65BN',
    'Redirect',
    ['yourdomain.okta.com'],
    ['ok'],
    'com.okta.mobile',
    [],
    true,
  ],
  'kandji-support__Okta_PSSO_Configuration_Template_macOS13.mobileconfig': [
    'com.okta.mobile.auth-service-extension',
    'B7F62B65BN',
    'Redirect',
    ['accuhive.okta.com'],
    ['ok'],
    'com.okta.mobile',
    null,
    true,
  ],
  'kandji-support__Okta_PSSO_Configuration_Template_macOS14.mobileconfig': [
    'com.okta.mobile.auth-service-extension',
    'B7F62B65BN',
    'Redirect',
    ['accuhive.okta.com'],
    ['ok'],
    'com.okta.mobile',
    [],
    true,
  ],
};

maybe('the nine SSO profiles of the corpus: static checks, hosts, container app and claims pinned', async (t) => {
  const files = readdirSync(dir!).filter(
    (f) =>
      f.endsWith('.mobileconfig') && readFileSync(path.join(dir!, f), 'latin1').includes('com.apple.extensiblesso'),
  );
  t.deepEqual(files.sort(), Object.keys(pinned).sort());
  for (const f of files) {
    const [ext, team, type, hosts, statics, container, claims, association] = pinned[f]!;
    const file = path.join(dir!, f);
    const report = await runSsoDoctor([file], {
      trust: noTrust,
      cdnBase: 'https://127.0.0.1:1/a/v1',
      issuer: null,
      timeoutMs: 1000,
      platform: 'linux',
      network: false,
    });
    t.is(report.payloads.length, 1, f);
    const p = report.payloads[0]!;
    t.like(p, { extension_identifier: ext, team_identifier: team, type, hosts }, f);
    t.deepEqual(
      p.checks.filter((c) => c.check === 'static').map((c) => c.code),
      statics,
      f,
    );
    t.is(p.checks.find((c) => c.check === 'association')!.detail === 'network checks off', association, f);
    t.is(report.summary.errors, 0, f);
    const read = readProfileFile(file);
    if (!read.ok) throw new Error(f);
    const sso = payloadsOf(read.document).find((x) => x.type === 'com.apple.extensiblesso')!;
    t.is(containerBundleId(ext), container, f);
    t.deepEqual(claimsInUse(sso.settings), claims, f);
  }
});
