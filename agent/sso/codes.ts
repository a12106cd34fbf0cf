// The codes of `agentctl doctor sso` (SPEC §1.3): one closed list, each with its severity and
// the fix shown under a failure. The static checks of a payload keep the codes of
// `agentctl doctor profile` (agent/profiles/codes.ts, sso_*); everything else is here.
// docs/codes.md ("SSO doctor") explains each one (test/sso/codes.test.ts checks both ways).
// Never rename or reuse a code.

export type Severity = 'error' | 'warning' | 'note';

/** The checks, in the order they run for one payload. */
export const ssoCheckNames = [
  'static',
  'association',
  'cdn',
  'tls',
  'pluginkit',
  'swcutil',
  'codesign',
  'platform_sso',
  'claims',
] as const;
export type SsoCheckName = (typeof ssoCheckNames)[number];

interface CodeInfo {
  severity: Severity;
  fix: string;
}

const devMode =
  'While developing, an entitlement `authsrv:<host>?mode=developer` makes a Mac with `sudo swcutil developer-mode -e true` read the host directly instead of the CDN; managed Macs always read the CDN.';

export const ssoCodes = {
  ok: { severity: 'note', fix: '' },
  skipped: { severity: 'note', fix: '' },
  not_macos: { severity: 'note', fix: '' },
  // The association file on the IdP
  aasa_url_not_https: {
    severity: 'error',
    fix: 'Use https:// URLs in the payload: Apple fetches the association file over HTTPS only.',
  },
  aasa_container_unknown: {
    severity: 'error',
    fix: "ExtensionIdentifier must be the extension's bundle ID, inside its container app's ID (com.example.App.ssoe inside com.example.App).",
  },
  aasa_unreachable: {
    severity: 'error',
    fix: "The IdP host must be reachable over HTTPS from the Macs and from Apple's CDN: check DNS, firewall and proxy.",
  },
  aasa_timeout: {
    severity: 'error',
    fix: "The IdP did not answer in time: Apple's CDN gives up too. Check the host and any proxy in between.",
  },
  aasa_tls_failed: {
    severity: 'error',
    fix: 'The TLS handshake with the IdP failed: the server must offer TLS 1.2 or later with a valid certificate.',
  },
  aasa_tls_untrusted: {
    severity: 'error',
    fix: 'Apple fetches the file only from a server whose chain a public root trusts: see the tls check below for what to fix.',
  },
  aasa_redirect: {
    severity: 'error',
    fix: `Serve /.well-known/apple-app-site-association directly with status 200: Apple follows no redirect. ${devMode}`,
  },
  aasa_http_status: {
    severity: 'error',
    fix: `Serve the file at https://<host>/.well-known/apple-app-site-association with status 200 (no authentication). ${devMode}`,
  },
  aasa_html: {
    severity: 'error',
    fix: 'The server answers with a web page (a login or error page) instead of the JSON file: serve the file itself, Content-Type application/json, without authentication.',
  },
  aasa_invalid_json: {
    severity: 'error',
    fix: 'The file must be valid JSON (no comments, no trailing commas); check it with `python3 -m json.tool`.',
  },
  aasa_too_large: {
    severity: 'error',
    fix: 'Apple reads at most 128 KB of the file: remove unused entries.',
  },
  aasa_no_authsrv: {
    severity: 'error',
    fix: 'Add {"authsrv": {"apps": ["<TeamID>.<container bundle ID>"]}} to the file: without authsrv the SSO extension is never called.',
  },
  aasa_wrong_team: {
    severity: 'error',
    fix: 'The file names the container app with another team ID: use the TeamIdentifier of the payload (the team that signed the app).',
  },
  aasa_wrong_bundle: {
    severity: 'error',
    fix: "The file lists the team but not the container app's bundle ID (the ExtensionIdentifier without its last part): add <TeamID>.<container bundle ID> to authsrv.apps.",
  },
  aasa_app_missing: {
    severity: 'error',
    fix: 'authsrv.apps does not list <TeamID>.<container bundle ID> of this payload: add it.',
  },
  // Apple's CDN copy
  cdn_missing: {
    severity: 'error',
    fix: "Apple's CDN has no copy of the host's file: the CDN must be able to fetch it (public DNS, a publicly trusted certificate, no IP allow-list); it then caches it.",
  },
  cdn_stale: {
    severity: 'warning',
    fix: "Apple's CDN caches the file for days (its max-age) and devices read the CDN, not the host: wait for the CDN to fetch the new file, and check again.",
  },
  cdn_invalid: {
    severity: 'error',
    fix: "The CDN's answer is not the JSON file: check the host's file, which the CDN copies.",
  },
  cdn_unreachable: {
    severity: 'error',
    fix: 'Macs must reach app-site-association.cdn-apple.com over HTTPS: allow it through the firewall and proxy.',
  },
  cdn_timeout: {
    severity: 'error',
    fix: "Apple's CDN did not answer in time: check the network path and the proxy.",
  },
  cdn_http_status: {
    severity: 'error',
    fix: "Apple's CDN answered with an unexpected status: try again later; check any proxy in between.",
  },
  cdn_tls_untrusted: {
    severity: 'error',
    fix: "The chain of Apple's CDN is not trusted here: check the system's roots and any proxy in between.",
  },
  tls_intercepted: {
    severity: 'error',
    fix: "A TLS inspection proxy re-signs this host's traffic (its root is trusted only because it was added to the store): exempt app-site-association.cdn-apple.com and the IdP hosts from TLS inspection (Microsoft documents that inspection breaks the SSO extension).",
  },
  // The IdP's TLS chain (the trust capability's diagnosis in the detail)
  idp_tls_untrusted: {
    severity: 'error',
    fix: "The IdP's chain is not trusted: follow the hint of the trust diagnosis (agentctl trust https://<host>/ shows it in full).",
  },
  idp_tls_unreachable: {
    severity: 'error',
    fix: 'No TLS handshake with the IdP host: check the URL, DNS, firewall and proxy.',
  },
  interception_unchecked: {
    severity: 'note',
    fix: "The system's own roots could not be listed, so TLS interception was not checked.",
  },
  // macOS commands: the states every parser reports
  command_missing: {
    severity: 'warning',
    fix: 'The command is not on this Mac (it ships with macOS): run the doctor on macOS 13 or later.',
  },
  command_timed_out: {
    severity: 'warning',
    fix: 'The command did not finish in time: run it by hand to see why, or give a longer --timeout.',
  },
  command_failed: {
    severity: 'warning',
    fix: 'The command exited with an error (swcutil needs root: run the doctor with sudo).',
  },
  output_malformed: {
    severity: 'warning',
    fix: 'The output is not in a form this agent knows (a new macOS?): run the command by hand and report it.',
  },
  output_incomplete: {
    severity: 'warning',
    fix: 'The output lacks fields the check needs: run the command by hand to see what it says.',
  },
  // pluginkit
  extension_not_registered: {
    severity: 'error',
    fix: 'The SSO extension is not registered: install the container app (and open it once), then check with `pluginkit -m -v -i <ExtensionIdentifier>`.',
  },
  extension_disabled: {
    severity: 'error',
    fix: 'The extension is disabled (-): enable it with `pluginkit -e use -i <ExtensionIdentifier>`.',
  },
  extension_duplicates: {
    severity: 'warning',
    fix: 'Several copies of the extension are installed (paths below): remove the extra container apps, or macOS may use the wrong one.',
  },
  // swcutil
  swc_entry_missing: {
    severity: 'error',
    fix: 'macOS has no authsrv entry for the host: the container app lacks the entitlement or the association was never downloaded (reinstall the app; check `sudo swcutil show`).',
  },
  swc_not_approved: {
    severity: 'error',
    fix: "The association is not approved (the CDN's file does not list the app): fix the association file, then wait for the CDN and reinstall the app.",
  },
  // codesign
  entitlement_missing: {
    severity: 'error',
    fix: "The container app's com.apple.developer.associated-domains entitlement has no authsrv:<host>: the app vendor must add it, or give it with a com.apple.associated-domains payload.",
  },
  entitlement_on_extension: {
    severity: 'error',
    fix: 'The associated-domains entitlement is on the extension, not the container app: it must be on the container app.',
  },
  // Platform SSO
  psso_device_not_registered: {
    severity: 'error',
    fix: 'The device is not registered with the IdP: open the registration notification, or run `app-sso platform -a` and sign in.',
  },
  psso_user_not_registered: {
    severity: 'error',
    fix: 'This user is not registered for Platform SSO: sign in from the "Registration required" notification.',
  },
  psso_no_tokens: {
    severity: 'warning',
    fix: 'Platform SSO holds no SSO tokens for this user: lock and unlock the Mac, or sign in again.',
  },
  // Claim drift
  claims_unsupported: {
    severity: 'warning',
    fix: "TokenToUserMapping names a claim the IdP's discovery document does not list: check the claim name against the IdP's tokens.",
  },
  claims_unlisted: {
    severity: 'note',
    fix: '',
  },
  discovery_unreachable: {
    severity: 'error',
    fix: "The IdP's OpenID discovery document cannot be fetched: check the issuer (--issuer) and the network.",
  },
  discovery_invalid: {
    severity: 'error',
    fix: 'The discovery document is not an OpenID Provider configuration (JSON with an issuer): check the issuer URL.',
  },
  // The installed profiles, read by agentd (`sso.installed`; agentctl doctor sso without --profile)
  installed_not_macos: {
    severity: 'error',
    fix: 'Off macOS there are no installed profiles: give --profile FILE, a .mobileconfig or the output of `sudo profiles show -output stdout-xml` copied from the Mac.',
  },
  installed_command_failed: {
    severity: 'error',
    fix: 'agentd could not run `/usr/bin/profiles show -output stdout-xml`: check that agentd runs as root (launchd), or run the command with sudo and give its output with --profile.',
  },
  installed_unparsable: {
    severity: 'error',
    fix: 'The output of `profiles show -output stdout-xml` could not be read: run it with sudo, save it, and give it with --profile to see where it fails.',
  },
  installed_daemon_unreachable: {
    severity: 'error',
    fix: 'Start agentd (sudo launchctl kickstart -k system/com.trustguard.agent), or give the output of `sudo profiles show -output stdout-xml` with --profile.',
  },
  installed_daemon_error: {
    severity: 'error',
    fix: 'agentd answered with an error (busy, timed out, or an older agentd without this request): try again, update agentd, or give the profiles with --profile.',
  },
  installed_left_out: {
    severity: 'warning',
    fix: 'More SSO payloads are installed than agentd answers (32): save `sudo profiles show -output stdout-xml` and give it with --profile to check them all.',
  },
} as const satisfies Record<string, CodeInfo>;

export type SsoDoctorCode = keyof typeof ssoCodes;
export const ssoCodeList = Object.keys(ssoCodes) as SsoDoctorCode[];
