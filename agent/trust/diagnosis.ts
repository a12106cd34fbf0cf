// What a trust evaluation's failure means, in one closed set of codes, from the OS's own error
// codes: OSStatus values on macOS (Security's base/SecBase.h, classified by
// OSX/sec/Security/SecPolicyChecks.list) and X509_V_ERR_* values on Linux (OpenSSL's
// x509_vfy.h). Everything here is TypeScript policy: the addon only reports the OS's verdict.
import type { EvaluatedCertificate, TrustEvaluation } from '../../native/trust.js';
import type { DiagnosisCode } from './codes.js';

export { diagnosisCodes, type DiagnosisCode } from './codes.js';

/** The kind of failure an OS error code stands for. */
type ErrorClass =
  | 'time'
  | 'not_yet_valid'
  | 'expired'
  | 'hostname'
  | 'revoked'
  | 'revocation_unknown'
  /** No anchor was reached: where the chain ends tells an unknown root from a missing intermediate. */
  | 'chain_end'
  | 'untrusted_root'
  | 'other';

// OpenSSL (x509_vfy.h). Anything absent is a structural or signature problem: 'other'.
const openssl: Record<number, ErrorClass> = {
  9: 'not_yet_valid', // X509_V_ERR_CERT_NOT_YET_VALID
  10: 'expired', // X509_V_ERR_CERT_HAS_EXPIRED
  62: 'hostname', // X509_V_ERR_HOSTNAME_MISMATCH
  63: 'hostname', // X509_V_ERR_EMAIL_MISMATCH
  64: 'hostname', // X509_V_ERR_IP_ADDRESS_MISMATCH
  23: 'revoked', // X509_V_ERR_CERT_REVOKED
  73: 'revocation_unknown', // X509_V_ERR_OCSP_VERIFY_NEEDED
  74: 'revocation_unknown', // X509_V_ERR_OCSP_VERIFY_FAILED
  75: 'revocation_unknown', // X509_V_ERR_OCSP_CERT_UNKNOWN
  2: 'chain_end', // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
  20: 'chain_end', // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  21: 'chain_end', // X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
  18: 'untrusted_root', // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
  19: 'untrusted_root', // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
  27: 'untrusted_root', // X509_V_ERR_CERT_UNTRUSTED
  28: 'untrusted_root', // X509_V_ERR_CERT_REJECTED
};

// Security.framework OSStatus values (base/SecBase.h).
const security: Record<number, ErrorClass> = {
  [-67818]: 'time', // errSecCertificateExpired: TemporalValidity, for expired and not yet valid alike
  [-67819]: 'not_yet_valid', // errSecCertificateNotValidYet
  [-67602]: 'hostname', // errSecHostNameMismatch
  [-67820]: 'revoked', // errSecCertificateRevoked
  [-67635]: 'revocation_unknown', // errSecIncompleteCertRevocationCheck
  [-25318]: 'chain_end', // errSecCreateChainFailed: MissingIntermediate (also an unknown root not sent)
  [-67843]: 'chain_end', // errSecNotTrusted: AnchorTrusted
  [-67612]: 'untrusted_root', // errSecInvalidRoot
  [-67654]: 'untrusted_root', // errSecTrustSettingDeny
};

export function errorClass(code: number | null, platform: NodeJS.Platform = process.platform): ErrorClass {
  if (code === null) return 'other';
  return (platform === 'darwin' ? security : openssl)[code] ?? 'other';
}

function isSelfIssued(cert: EvaluatedCertificate): boolean {
  return cert.subject === cert.issuer;
}

/** The certificate outside its validity at `atMs`, if any, and which side. */
export function outOfValidity(
  chain: readonly EvaluatedCertificate[],
  atMs: number,
): { index: number; side: 'not_yet_valid' | 'expired' } | null {
  for (const [index, cert] of chain.entries()) {
    if (cert.notBefore !== null && atMs < cert.notBefore) return { index, side: 'not_yet_valid' };
  }
  for (const [index, cert] of chain.entries()) {
    if (cert.notAfter !== null && atMs > cert.notAfter) return { index, side: 'expired' };
  }
  return null;
}

/**
 * The diagnosis of one evaluation at `atMs`. An issuer that cannot be found is an incomplete
 * chain when the chain stops at the leaf (the server or file left the intermediate out), and an
 * untrusted root when it stops at a CA certificate: neither OS tells these apart by code.
 */
export function diagnoseEvaluation(
  evaluation: TrustEvaluation,
  atMs: number,
  platform: NodeJS.Platform = process.platform,
): DiagnosisCode {
  if (evaluation.trusted) return 'ok';
  const kind = errorClass(evaluation.errorCode, platform);
  switch (kind) {
    case 'time':
    case 'expired':
    case 'not_yet_valid':
      return outOfValidity(evaluation.chain, atMs)?.side ?? (kind === 'time' ? 'expired' : kind);
    case 'hostname':
      return 'hostname_mismatch';
    case 'revoked':
      return 'revoked';
    case 'revocation_unknown':
      return 'revocation_unknown';
    case 'untrusted_root':
      return 'untrusted_root';
    case 'chain_end': {
      const top = evaluation.chain[evaluation.chain.length - 1];
      if (top && isSelfIssued(top)) return 'untrusted_root';
      return evaluation.chain.length <= 1 ? 'incomplete_chain' : 'untrusted_root';
    }
    default:
      return 'malformed';
  }
}
