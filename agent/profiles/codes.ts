// The findings of `agentctl doctor profile` (SPEC §1.3): one closed list, each code with its
// default severity and the fix shown under it. JSON and SARIF carry the codes (SARIF's rule id);
// docs/codes.md ("Configuration profiles") explains each one (test/profiles/codes.test.ts checks
// both ways). Never rename or reuse a code.

export type Severity = 'error' | 'warning' | 'note';

/** Which group of checks a code belongs to (the human output's check lines, the corpus totals). */
export type Category = 'parse' | 'signature' | 'identity' | 'schema' | 'certificate' | 'sso' | 'across';

interface CodeInfo {
  category: Category;
  severity: Severity;
  fix: string;
}

export const findingCodes = {
  // Parse
  file_unreadable: { category: 'parse', severity: 'error', fix: 'Check the path and that you can read the file.' },
  file_too_large: {
    category: 'parse',
    severity: 'error',
    fix: 'A profile is at most 1 MB; split it into several profiles.',
  },
  not_a_profile: {
    category: 'parse',
    severity: 'error',
    fix: 'Give a .mobileconfig (XML or binary plist, signed or not), the output of `profiles show -output stdout-xml`, or a preference plist.',
  },
  plist_malformed: {
    category: 'parse',
    severity: 'error',
    fix: 'Fix the XML at the line shown (check it with `plutil -lint` on a Mac); macOS refuses the whole profile.',
  },
  plist_too_complex: {
    category: 'parse',
    severity: 'error',
    fix: 'The plist is nested too deeply or holds too many values; split the profile.',
  },
  plist_duplicate_key: {
    category: 'parse',
    severity: 'warning',
    fix: 'Remove one of the two keys: only the last one takes effect.',
  },
  cms_corrupt: {
    category: 'parse',
    severity: 'error',
    fix: 'Sign the profile again from its unsigned source; never edit a signed profile as text.',
  },
  // Signature
  unsigned: {
    category: 'signature',
    severity: 'note',
    fix: 'Sign the profile if it is installed by hand (MDMs sign on delivery).',
  },
  signature_valid: { category: 'signature', severity: 'note', fix: '' },
  signature_invalid: {
    category: 'signature',
    severity: 'error',
    fix: 'Sign the profile again; the signature does not match the signer.',
  },
  content_altered: {
    category: 'signature',
    severity: 'error',
    fix: 'The profile was changed after it was signed: sign the changed source again.',
  },
  signature_unsupported: {
    category: 'signature',
    severity: 'warning',
    fix: 'Sign with RSA or ECDSA over SHA-256.',
  },
  signer_missing: {
    category: 'signature',
    severity: 'error',
    fix: "Sign again including the signer's certificate (`openssl cms -sign` includes it unless -nocerts).",
  },
  signer_untrusted: {
    category: 'signature',
    severity: 'error',
    fix: 'Sign with a certificate whose root the Macs trust, or install that root first (or give it with --ca).',
  },
  signer_expired: {
    category: 'signature',
    severity: 'error',
    fix: 'Sign the profile again with a current certificate.',
  },
  signer_expired_at_signing: {
    category: 'signature',
    severity: 'error',
    fix: 'The certificate had already expired when the profile was signed: sign again with a current one.',
  },
  signer_not_yet_valid: {
    category: 'signature',
    severity: 'error',
    fix: "Check the signing machine's clock, or wait until the certificate is valid.",
  },
  // Identity
  payload_uuid_invalid: {
    category: 'identity',
    severity: 'warning',
    fix: 'Use a UUID (`uuidgen`): 8-4-4-4-12 hexadecimal digits.',
  },
  payload_uuid_duplicate: {
    category: 'identity',
    severity: 'error',
    fix: 'Give each payload its own UUID (`uuidgen`): macOS replaces one payload with the other.',
  },
  payload_identifier_duplicate: {
    category: 'identity',
    severity: 'error',
    fix: 'Give each payload and profile its own PayloadIdentifier: a later install replaces the earlier one.',
  },
  payload_key_missing: {
    category: 'identity',
    severity: 'error',
    fix: 'Add the key: every payload needs PayloadType, PayloadIdentifier, PayloadUUID and PayloadVersion.',
  },
  payload_scope_invalid: {
    category: 'identity',
    severity: 'error',
    fix: 'PayloadScope is "System" or "User" (capital P).',
  },
  toplevel_type_invalid: {
    category: 'identity',
    severity: 'error',
    fix: 'The outer dictionary of a profile has PayloadType "Configuration".',
  },
  // Schema
  schema_not_run: {
    category: 'schema',
    severity: 'note',
    fix: 'Give --schemas DIR, a checkout of github.com/apple/device-management.',
  },
  schema_none: {
    category: 'schema',
    severity: 'note',
    fix: "No Apple schema for this payload type (a third-party domain): check it against its vendor's documentation.",
  },
  unknown_key: {
    category: 'schema',
    severity: 'warning',
    fix: "Check the key's spelling against Apple's reference: macOS ignores keys it does not know.",
  },
  wrong_type: {
    category: 'schema',
    severity: 'error',
    fix: 'Use the type the schema gives (e.g. <true/>, <integer>).',
  },
  required_key_missing: {
    category: 'schema',
    severity: 'error',
    fix: 'Add the key: the payload is refused without it.',
  },
  value_not_allowed: { category: 'schema', severity: 'error', fix: 'Use one of the values the schema lists.' },
  value_out_of_range: { category: 'schema', severity: 'error', fix: 'Use a value within the range.' },
  value_format_mismatch: {
    category: 'schema',
    severity: 'error',
    fix: 'Write the value in the format the schema gives.',
  },
  key_deprecated: { category: 'schema', severity: 'warning', fix: "Use the replacement Apple's reference names." },
  newer_than_target: {
    category: 'schema',
    severity: 'warning',
    fix: 'Older macOS versions ignore this key or payload: raise --target-macos or drop it.',
  },
  not_for_macos: {
    category: 'schema',
    severity: 'warning',
    fix: 'This key or payload does nothing on macOS: remove it from a macOS profile.',
  },
  quirk_payload_enabled: {
    category: 'schema',
    severity: 'note',
    fix: 'PayloadEnabled is not in the schema, but macOS accepts it in every payload.',
  },
  quirk_tcc_authorization_without_allowed: {
    category: 'schema',
    severity: 'note',
    fix: 'The schema asks for Allowed; macOS accepts Authorization alone (macOS 11 and later).',
  },
  quirk_tcc_integer_boolean: {
    category: 'schema',
    severity: 'note',
    fix: 'Use <true/> or <false/>; macOS reads 0 and 1 as booleans in TCC payloads.',
  },
  // Certificates
  certificate_unparsable: {
    category: 'certificate',
    severity: 'error',
    fix: 'Put one DER or PEM certificate in PayloadContent (<data>).',
  },
  certificate_untrusted: {
    category: 'certificate',
    severity: 'warning',
    fix: 'Include the issuing certificates in the profile, or check that the Macs trust its root.',
  },
  certificate_expired: {
    category: 'certificate',
    severity: 'error',
    fix: 'Replace the certificate with a current one.',
  },
  certificate_not_yet_valid: {
    category: 'certificate',
    severity: 'error',
    fix: 'Check its validity dates; a Mac refuses it until then.',
  },
  certificate_expiring: {
    category: 'certificate',
    severity: 'error',
    fix: 'Renew the certificate and ship the profile again before it expires.',
  },
  certificate_sha1: {
    category: 'certificate',
    severity: 'warning',
    fix: 'Reissue it signed with SHA-256 (a self-signed root is exempt in practice).',
  },
  certificate_weak_key: {
    category: 'certificate',
    severity: 'error',
    fix: 'Reissue it with an RSA key of 2048 bits or more, or an EC key of 256 bits or more.',
  },
  certificate_revoked: {
    category: 'certificate',
    severity: 'error',
    fix: 'The CA revoked it: replace it before the profile is installed.',
  },
  revocation_unknown: {
    category: 'certificate',
    severity: 'error',
    fix: "The OCSP responder did not answer: the profile can fail to install silently. Check the responder's URL and that the Macs reach it.",
  },
  url_unreachable: {
    category: 'certificate',
    severity: 'warning',
    fix: 'The CRL or CA-issuers URL does not answer: publish it, or reissue the certificate without it.',
  },
  private_key_not_read: {
    category: 'certificate',
    severity: 'note',
    fix: 'PKCS#12 payloads are not opened (their private part is never read).',
  },
  scep_fingerprint_invalid: {
    category: 'certificate',
    severity: 'error',
    fix: "Set CAFingerprint to the digest (<data>) of the SCEP CA's certificate, e.g. its SHA-256.",
  },
  scep_fingerprint_weak: {
    category: 'certificate',
    severity: 'warning',
    fix: "Use the SHA-256 digest of the CA's certificate for CAFingerprint.",
  },
  scep_ca_not_found: {
    category: 'certificate',
    severity: 'error',
    fix: "CAFingerprint does not match the CA the SCEP server serves: the Macs will refuse it. Take the digest of the server's CA certificate again.",
  },
  scep_ca_not_checked: {
    category: 'certificate',
    severity: 'note',
    fix: 'Give the CA certificate in the profiles checked, or let the doctor ask the SCEP server (--revocation soft).',
  },
  scep_server_unreachable: {
    category: 'certificate',
    severity: 'error',
    fix: 'The SCEP server does not give its CA (GetCACert): the profile fails at install when the Macs cannot reach it. Check the URL and that the Macs reach it.',
  },
  // SSO
  sso_key_missing: {
    category: 'sso',
    severity: 'error',
    fix: 'Add the key the extension type needs (Redirect: URLs; Credential: Hosts and Realm).',
  },
  sso_url_not_https: { category: 'sso', severity: 'error', fix: 'Use https URLs only.' },
  sso_url_has_query: {
    category: 'sso',
    severity: 'error',
    fix: 'Remove the query and fragment: the extension matches URL prefixes.',
  },
  sso_url_invalid: { category: 'sso', severity: 'error', fix: 'Write a full https URL (https://host/path).' },
  sso_team_identifier_invalid: {
    category: 'sso',
    severity: 'error',
    fix: "TeamIdentifier is the extension's 10-character Apple team ID.",
  },
  sso_host_not_associated: {
    category: 'sso',
    severity: 'warning',
    fix: 'Add authsrv:HOST to the AssociatedDomains of a com.apple.associated-domains payload for the extension.',
  },
  // Across files
  payload_applied_once: {
    category: 'across',
    severity: 'warning',
    fix: 'macOS applies one such payload: keep it in one profile.',
  },
  preference_conflict: {
    category: 'across',
    severity: 'error',
    fix: 'Set the key in one profile only: which value wins depends on the order of install.',
  },
} as const satisfies Record<string, CodeInfo>;

export type FindingCode = keyof typeof findingCodes;
export const findingCodeList = Object.keys(findingCodes) as FindingCode[];

export interface Finding {
  code: FindingCode;
  severity: Severity;
  category: Category;
  file: string;
  /** The payload: its type and identifier (null for the file itself). */
  payload_type: string | null;
  payload_identifier: string | null;
  /** Where in the plist: PayloadContent[1].URLs[0]. */
  key_path: string | null;
  /** The line of the key in the XML file; null when there is none (binary, signed, not found). */
  line: number | null;
  column: number | null;
  message: string;
  fix: string;
}
