// The x509-limbo suite (test/fixtures/x509-limbo, Apache-2.0) as the product runs it: each case
// through agent/trust/evaluate.ts's evaluateChain, the evaluator `agentctl trust` uses. SERVER
// cases under the SSL policy with the expected peer name, CLIENT cases under the basic policy
// (the product has no client-authentication policy); the case's trusted certificates as the
// only anchors; at the case's validation_time. Used by test/trust/limbo.test.ts and by
// test/trust/limbo-table.ts (the macOS workflow's agreement table).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { evaluateChain, type ChainOptions, type ChainResult } from '../../agent/trust/evaluate.js';
import { evaluateTrust } from '../../native/trust.js';

export interface LimboCase {
  id: string;
  features: string[] | null;
  description: string;
  validation_kind: 'SERVER' | 'CLIENT';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  expected_peer_name: { kind: string; value: string } | null;
  max_chain_depth: number | null;
  crls: string[];
  expected_result: 'SUCCESS' | 'FAILURE';
}

export const limboFile = fileURLToPath(new URL('../../../test/fixtures/x509-limbo/limbo.json', import.meta.url));

export function loadLimbo(file = process.env.LIMBO_JSON ?? limboFile): LimboCase[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { testcases: LimboCase[] }).testcases;
}

const der = (pem: string) => new X509Certificate(pem).raw;

export function limboOptions(c: LimboCase): ChainOptions {
  const options: ChainOptions = {
    chain: [der(c.peer_certificate), ...c.untrusted_intermediates.map(der)],
    policy: c.validation_kind === 'SERVER' ? 'ssl' : 'basic',
    anchors: c.trusted_certs.map(der),
    anchorsOnly: true,
  };
  if (c.validation_kind === 'SERVER' && c.expected_peer_name) options.hostname = c.expected_peer_name.value;
  if (c.validation_time) options.verifyDate = Date.parse(c.validation_time);
  if (c.max_chain_depth !== null) options.maxIntermediates = c.max_chain_depth;
  return options;
}

export interface LimboOutcome {
  case: LimboCase;
  result: ChainResult | null;
  /** Why no evaluation took place (a certificate that does not parse). */
  error: string | null;
  trusted: boolean;
  agrees: boolean;
}

export async function runLimboCase(c: LimboCase): Promise<LimboOutcome> {
  let result: ChainResult | null = null;
  let error: string | null = null;
  try {
    result = await evaluateChain(limboOptions(c));
  } catch (e) {
    error = (e as Error).message;
  }
  const trusted = result?.trusted ?? false;
  return { case: c, result, error, trusted, agrees: trusted === (c.expected_result === 'SUCCESS') };
}

/** The OS's verifier alone (no TypeScript policy, no path building): what the table compares with. */
export async function runLimboCaseOsOnly(c: LimboCase): Promise<boolean> {
  const { maxIntermediates, ...options } = limboOptions(c);
  void maxIntermediates;
  try {
    return (await evaluateTrust(options)).trusted;
  } catch {
    return false;
  }
}

export type ExceptionKind =
  /** Apple's trustd knowingly decides otherwise; the product follows Apple (source named). */
  | 'apple_accepts'
  /** The suite holds the same input under two profiles with opposite results. */
  | 'suite_conflict'
  /** The case needs CRLs, which the product does not evaluate (it checks OCSP). */
  | 'crl_not_evaluated';

/**
 * The suite's features (a case's `features`) that the product does not claim, with why. The
 * suite marks with them the inputs a validator may not take and the checks "that a
 * CA/Browser-Forum-strict validator makes and that a platform validator may knowingly not make"
 * (test/fixtures/x509-limbo/README.md); its own harnesses skip the cases whose features they do
 * not claim. A case carrying one is not runnable for the product: it still runs, every outcome
 * of such a case that disagrees is listed with its reason in `limboOutOfScope`, and the share
 * of exceptions is counted over the runnable cases only.
 */
export const unsupportedFeatures: Record<string, string> = {
  'has-crl':
    'the product takes no CRL: SecTrust has no CRL input (trust/headers/SecTrust.h has SecTrustSetOCSPResponse, no CRL setter) and trustd checks revocation by OCSP only (trust/trustd/SecRevocationServer.c, SecRVCShouldCheckOCSP)',
  'pedantic-serial-number':
    'Apple parses serial numbers of up to 37 octets, zero and negative ones included (SecCertificate.c)',
  'pedantic-rfc5280':
    'Apple requires no key identifiers (SecPolicyCheckIdLinkage compares them only when both are present)',
  'pedantic-webpki-eku':
    "Apple's SSL policy checks the leaf's EKU by its own rules (set_ssl_ekus in SecPolicy.c, SecPolicyCheckServerAuthEKU), not CA/B Forum's",
};

export const isRunnable = (c: LimboCase): boolean => !(c.features ?? []).some((f) => f in unsupportedFeatures);

/**
 * Every runnable case whose expected result the product knowingly does not follow, with the
 * reason. None of them accepts a weak key or signature, a name outside a constraint, or a host
 * name through the CN (test/trust/limbo.test.ts checks that). Changing its size is a decision:
 * update `limboExceptionCount` and docs/trust.md with it.
 */
export const limboExceptions: Record<string, { kind: ExceptionKind; reason: string }> = {
  'rfc5280::aki::leaf-missing-aki': {
    kind: 'apple_accepts',
    reason:
      'Apple requires no authorityKeyIdentifier; it compares key ids only when both are present (SecPolicyCheckIdLinkage)',
  },
  'rfc5280::aki::intermediate-missing-aki': {
    kind: 'apple_accepts',
    reason: 'Apple requires no authorityKeyIdentifier (SecPolicyCheckIdLinkage)',
  },
  'rfc5280::ski::root-missing-ski': {
    kind: 'apple_accepts',
    reason: 'Apple requires no subjectKeyIdentifier (SecPolicyCheckIdLinkage)',
  },
  'rfc5280::ski::intermediate-missing-ski': {
    kind: 'apple_accepts',
    reason: 'Apple requires no subjectKeyIdentifier (SecPolicyCheckIdLinkage)',
  },
  'webpki::cn::ipv4-hex-mismatch': {
    kind: 'apple_accepts',
    reason:
      'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname), CA/B BR 7.1.4.3 binds CAs',
  },
  'webpki::cn::ipv4-leading-zeros-mismatch': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::ipv6-uppercase-mismatch': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::ipv6-uncompressed-mismatch': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::ipv6-non-rfc5952-mismatch': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::punycode-not-in-san': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::utf8-vs-punycode-mismatch': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::not-in-san': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::cn::case-mismatch': {
    kind: 'apple_accepts',
    reason: 'the name matches a SAN entry; Apple never reads the CN (SecPolicyCheckCertSSLHostname)',
  },
  'webpki::nc::permitted-dns-match-noncritical': {
    kind: 'suite_conflict',
    reason:
      'conflicts with rfc5280::nc::permitted-dns-match-noncritical (FAILURE): the product follows RFC 5280 §4.2.1.10, name constraints MUST be critical',
  },
  'webpki::ca-as-leaf': {
    kind: 'suite_conflict',
    reason: 'conflicts with rfc5280::ca-as-leaf (SUCCESS): Apple checks no basicConstraints in the leaf for TLS',
  },
};

/** The number of entries `limboExceptions` must have: a change is made on purpose, here. */
export const limboExceptionCount = 15;

/**
 * The cases that are not runnable (`unsupportedFeatures`) and whose outcome disagrees with the
 * suite, each with its reason: run and pinned like the exceptions, counted apart.
 */
export const limboOutOfScope: Record<string, { kind: ExceptionKind; reason: string }> = {
  'crl::revoked-certificate-with-crl': {
    kind: 'crl_not_evaluated',
    reason: 'features: has-crl; CRLs are not evaluated',
  },
  'crl::crlnumber-missing': { kind: 'crl_not_evaluated', reason: 'features: has-crl; CRLs are not evaluated' },
  'crl::crlnumber-critical': { kind: 'crl_not_evaluated', reason: 'features: has-crl; CRLs are not evaluated' },
  'crl::issuer-missing-crlsign': { kind: 'crl_not_evaluated', reason: 'features: has-crl; CRLs are not evaluated' },
  'rfc5280::aki::cross-signed-root-missing-aki': {
    kind: 'apple_accepts',
    reason: 'features: pedantic-rfc5280; Apple requires no authorityKeyIdentifier (SecPolicyCheckIdLinkage)',
  },
  'rfc5280::serial::too-long': {
    kind: 'apple_accepts',
    reason: 'features: pedantic-serial-number; Apple parses serials of up to 37 octets (SecCertificate.c)',
  },
  'rfc5280::serial::zero': {
    kind: 'apple_accepts',
    reason: 'features: pedantic-serial-number; Apple accepts a zero serial (SecCertificate.c)',
  },
  'rfc5280::serial::negative': {
    kind: 'apple_accepts',
    reason: 'features: pedantic-serial-number; Apple accepts a negative serial (SecCertificate.c)',
  },
  'webpki::eku::ee-anyeku': {
    kind: 'apple_accepts',
    reason: 'features: pedantic-webpki-eku; Apple accepts anyExtendedKeyUsage in the leaf (set_ssl_ekus, SecPolicy.c)',
  },
  'webpki::eku::ee-critical-eku': {
    kind: 'apple_accepts',
    reason: 'features: pedantic-webpki-eku; Apple does not refuse a critical extKeyUsage',
  },
  'webpki::eku::ee-without-eku': {
    kind: 'apple_accepts',
    reason:
      'features: pedantic-webpki-eku; Apple requires the EKU only of system-anchored leaves and of leaves issued after 2019-07-01 (SecPolicyCheckServerAuthEKU); this one is from 1970',
  },
  'webpki::eku::root-has-eku': {
    kind: 'apple_accepts',
    reason:
      "features: pedantic-webpki-eku; Apple does not check the anchor's extKeyUsage for custom anchors (SecPolicyCheckServerAuthEKU)",
  },
};

/** The number of entries `limboOutOfScope` must have. */
export const limboOutOfScopeCount = 12;
