// One chain evaluation as the product decides it: the OS's verifier (native/trust.ts) on the
// chain as supplied, the TypeScript policy (policy.ts) on the path it built, and, when that path
// fails and the supplied certificates offer other issuers, each other candidate path in turn
// (bounded), as macOS's trustd builds and scores paths (trust/trustd/SecPathBuilder.c) and as
// OpenSSL does not. The result lists every fault with the certificate it concerns, and a
// headline chosen by one priority (`headlinePriority`, docs/trust.md).
import { X509Certificate } from 'node:crypto';
import {
  evaluateTrust,
  type EvaluatedCertificate,
  type EvaluateTrustOptions,
  type TrustEvaluation,
} from '../../native/trust.js';
import type { DiagnosisCode } from './codes.js';
import { policyFaults, type Fault } from './policy.js';
import { isSelfIssued, namesAsIssuer, tryParseCertificate, type X509Info } from './x509.js';

export type { Fault } from './policy.js';

export interface ChainOptions extends EvaluateTrustOptions {
  /** Most intermediates a path may have (not counting self-issued ones); unlimited by default. */
  maxIntermediates?: number;
}

export interface ChainResult {
  /** The OS's evaluation of the path that was used. */
  evaluation: TrustEvaluation;
  trusted: boolean;
  /** The headline: 'ok' when trusted, else the fault that comes first in `headlinePriority`. */
  diagnosis: DiagnosisCode;
  /** Every fault of the path used, each with the certificate (index in `evaluation.chain`) it concerns. */
  faults: Fault[];
  /** How many candidate paths were evaluated (1 when the supplied chain decided). */
  pathsTried: number;
}

/**
 * The order in which a fault becomes the headline, most fundamental first: what makes the
 * certificate untrustworthy whatever else (revoked, forged), then what stops a trust path
 * (anchor, missing or unusable certificates), then what the certificate itself must change
 * (keys, signatures, usage, profile), then its validity period, then the name, then revocation
 * that could not be checked. docs/trust.md explains it.
 */
export const headlinePriority: readonly DiagnosisCode[] = [
  'revoked',
  'bad_signature',
  'untrusted_root',
  'incomplete_chain',
  'malformed',
  'name_not_permitted',
  'weak_key',
  'weak_signature',
  'bad_usage',
  'nonconforming',
  'validity_too_long',
  'not_yet_valid',
  'expired',
  'hostname_mismatch',
  'revocation_unknown',
];

/** Candidate paths are tried up to this many (the supplied chain's own path included). */
export const maxPaths = 8;
const maxDepth = 10;

// OpenSSL's verify errors (x509_vfy.h) as fault codes. Absent: 'malformed'. `null`: the policy
// decides that itself (validity is inclusive of notAfter; the leaf's purpose is Apple's EKU rule).
const opensslFaults: Record<number, DiagnosisCode | null | 'chain_end'> = {
  9: null, // CERT_NOT_YET_VALID
  10: null, // CERT_HAS_EXPIRED
  2: 'chain_end', // UNABLE_TO_GET_ISSUER_CERT
  20: 'chain_end', // UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  21: 'chain_end', // UNABLE_TO_VERIFY_LEAF_SIGNATURE
  18: 'untrusted_root', // DEPTH_ZERO_SELF_SIGNED_CERT
  19: 'untrusted_root', // SELF_SIGNED_CERT_IN_CHAIN
  27: 'untrusted_root', // CERT_UNTRUSTED
  28: 'untrusted_root', // CERT_REJECTED
  4: 'bad_signature', // UNABLE_TO_DECRYPT_CERT_SIGNATURE
  6: 'bad_signature', // UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY
  7: 'bad_signature', // CERT_SIGNATURE_FAILURE
  23: 'revoked', // CERT_REVOKED
  73: 'revocation_unknown', // OCSP_VERIFY_NEEDED
  74: 'revocation_unknown', // OCSP_VERIFY_FAILED
  75: 'revocation_unknown', // OCSP_CERT_UNKNOWN
  62: 'hostname_mismatch', // HOSTNAME_MISMATCH
  63: 'hostname_mismatch', // EMAIL_MISMATCH
  64: 'hostname_mismatch', // IP_ADDRESS_MISMATCH
  22: 'bad_usage', // CERT_CHAIN_TOO_LONG
  24: 'bad_usage', // INVALID_CA
  25: 'bad_usage', // PATH_LENGTH_EXCEEDED
  26: 'bad_usage', // INVALID_PURPOSE (the leaf's: see faultsOfErrors)
  32: 'bad_usage', // KEYUSAGE_NO_CERTSIGN
  34: 'bad_usage', // UNHANDLED_CRITICAL_EXTENSION
  37: 'bad_usage', // INVALID_NON_CA
  39: 'bad_usage', // KEYUSAGE_NO_DIGITAL_SIGNATURE
  47: 'name_not_permitted', // PERMITTED_VIOLATION
  48: 'name_not_permitted', // EXCLUDED_VIOLATION
  49: 'name_not_permitted', // SUBTREE_MINMAX
  50: 'name_not_permitted', // UNSUPPORTED_CONSTRAINT_TYPE
  51: 'name_not_permitted', // UNSUPPORTED_CONSTRAINT_SYNTAX
  53: 'name_not_permitted', // UNSUPPORTED_NAME_SYNTAX
  66: 'weak_key', // EE_KEY_TOO_SMALL
  67: 'weak_key', // CA_KEY_TOO_SMALL
  68: 'weak_signature', // CA_MD_TOO_WEAK
};

// Security.framework OSStatus values (base/SecBase.h) when macOS gives one code for the chain, as
// OSX/sec/Security/SecPolicyChecks.list assigns them to Apple's checks.
const securityFaults: Record<number, DiagnosisCode | 'chain_end' | 'time'> = {
  [-67818]: 'time', // errSecCertificateExpired: TemporalValidity, ValidLeaf
  [-67819]: 'not_yet_valid', // errSecCertificateNotValidYet
  [-67602]: 'hostname_mismatch', // errSecHostNameMismatch: SSLHostname
  [-67820]: 'revoked', // errSecCertificateRevoked
  [-67635]: 'revocation_unknown', // errSecIncompleteCertRevocationCheck
  [-25318]: 'chain_end', // errSecCreateChainFailed: MissingIntermediate
  [-67843]: 'chain_end', // errSecNotTrusted: AnchorTrusted
  [-67612]: 'untrusted_root', // errSecInvalidRoot
  [-67654]: 'untrusted_root', // errSecTrustSettingDeny
  [-67688]: 'bad_signature', // errSecInvalidSignature
  [-67609]: 'bad_usage', // errSecInvalidExtendedKeyUsage: ExtendedKeyUsage, ServerAuthEKU, IntermediateEKU
  [-67735]: 'weak_key', // errSecUnsupportedKeySize: KeySize, WeakKeySize
  [-67815]: 'weak_signature', // errSecInvalidDigestAlgorithm: WeakSignature, SignatureHashAlgorithms
  [-67689]: 'name_not_permitted', // errSecInvalidName: NameConstraints
  [-67900]: 'name_not_permitted', // errSecCertificateNameNotAllowed: IssuerNameConstraints
  [-67901]: 'validity_too_long', // errSecCertificateValidityPeriodTooLong: ValidityPeriodMaximums
};

// Apple's policy checks (OSX/sec/Security/SecPolicyChecks.list) as fault codes, for the failed
// checks macOS lists per certificate. `null`: the policy decides that itself (dates); absent:
// 'malformed' with the check's name as the message.
const appleChecks: Record<string, DiagnosisCode | null | 'chain_end'> = {
  SSLHostname: 'hostname_mismatch',
  TemporalValidity: null,
  ValidLeaf: null,
  ValidRoot: null,
  WeakKeySize: 'weak_key',
  KeySize: 'weak_key',
  SystemTrustedWeakKey: 'weak_key',
  WeakSignature: 'weak_signature',
  SignatureHashAlgorithms: 'weak_signature',
  SystemTrustedWeakHash: 'weak_signature',
  KeyUsage: 'bad_usage',
  ExtendedKeyUsage: 'bad_usage',
  ServerAuthEKU: 'bad_usage',
  IntermediateEKU: 'bad_usage',
  NotCA: 'bad_usage',
  BasicConstraints: 'bad_usage',
  BasicConstraintsCA: 'bad_usage',
  BasicConstraintsPathLen: 'bad_usage',
  CriticalExtensions: 'bad_usage',
  ChainLength: 'bad_usage',
  PolicyConstraints: 'bad_usage',
  IssuerPolicyConstraints: 'bad_usage',
  NameConstraints: 'name_not_permitted',
  IssuerNameConstraints: 'name_not_permitted',
  ValidityPeriodMaximums: 'validity_too_long',
  SystemTrustValidityPeriod: 'validity_too_long',
  OtherTrustValidityPeriod: 'validity_too_long',
  MissingIntermediate: 'chain_end',
  AnchorTrusted: 'chain_end',
  BlackListedLeaf: 'untrusted_root',
  GrayListedLeaf: 'untrusted_root',
  BlackListedKey: 'untrusted_root',
  GrayListedKey: 'untrusted_root',
  UsageConstraints: 'untrusted_root',
  Revocation: 'revoked',
  RevocationResponseRequired: 'revocation_unknown',
  IdLinkage: 'bad_signature',
  BasicCertificateProcessing: 'bad_signature',
  NonEmptySubject: 'nonconforming',
  UnparseableExtension: 'malformed',
  DuplicateExtension: 'malformed',
};

/** What the caller supplied, read only when a path fails (a trusted chain never pays for it). */
class PathInput {
  private suppliedCache: Array<{ der: Buffer; info: X509Info | null }> | null = null;
  private anchorKeys: Set<string> | null = null;

  constructor(
    private readonly chain: readonly Buffer[],
    private readonly anchorDers: readonly Buffer[],
  ) {}

  /** Certificates the caller supplied (leaf first) and anchors, parsed; null when a DER does not parse. */
  get supplied(): Array<{ der: Buffer; info: X509Info | null }> {
    this.suppliedCache ??= [...this.chain, ...this.anchorDers].map((der) => ({ der, info: tryParseCertificate(der) }));
    return this.suppliedCache;
  }

  isAnchor(der: Buffer): boolean {
    if (this.anchorDers.length <= 8) return this.anchorDers.some((a) => a.equals(der));
    this.anchorKeys ??= new Set(this.anchorDers.map(key));
    return this.anchorKeys.has(key(der));
  }
}

/** A distinguished name from a certificate, bounded for a sentence (it comes from outside). */
function bounded(text: string): string {
  return text.length > 96 ? `${text.slice(0, 95)}…` : text;
}

/** At most this many faults are reported for one path (a certificate may carry thousands of names). */
export const maxFaults = 50;

/** `der` is signed by the key of `issuerDer` (node:crypto; false when either does not parse). */
function signatureVerifies(der: Buffer, issuerDer: Buffer): boolean {
  try {
    return new X509Certificate(der).verify(new X509Certificate(issuerDer).publicKey);
  } catch {
    return false;
  }
}

function key(der: Buffer): string {
  return der.toString('base64');
}

/**
 * Where the built path stops without an anchor: a missing intermediate, an unknown root, or an
 * issuer that was supplied and cannot be used. Compared with what was supplied (issue 18, item 7).
 */
function chainEndFault(path: readonly EvaluatedCertificate[], input: PathInput): Fault {
  const index = path.length - 1;
  const top = path[index]!;
  const topInfo = tryParseCertificate(top.der);
  if (topInfo && isSelfIssued(topInfo))
    return { code: 'untrusted_root', certificate: index, message: `the root "${bounded(top.subject)}" is not trusted` };
  const used = new Set(path.map((c) => key(c.der)));
  const sameName = topInfo
    ? input.supplied.filter((s) => s.info && !used.has(key(s.der)) && s.info.subjectName.equals(topInfo.issuerName))
    : [];
  if (sameName.length > 0) {
    const matching = sameName.filter((s) => namesAsIssuer(topInfo!, s.info!));
    if (matching.length > 0 && matching.every((s) => !signatureVerifies(top.der, s.der)))
      return {
        code: 'bad_signature',
        certificate: index,
        message: `the signature of "${bounded(top.subject)}" does not verify with the key of the issuer supplied`,
      };
    return matching.length > 0
      ? {
          code: 'bad_usage',
          certificate: index,
          message: `the issuer certificate supplied for "${bounded(top.subject)}" cannot have issued it (key usage or signature)`,
        }
      : {
          code: 'incomplete_chain',
          certificate: index,
          message: `the certificate supplied as issuer of "${bounded(top.subject)}" has another key: its own issuer is missing`,
        };
  }
  if (index === 0)
    return {
      code: 'incomplete_chain',
      certificate: 0,
      message: `the issuer "${bounded(top.issuer)}" of the leaf is missing`,
    };
  return {
    code: 'untrusted_root',
    certificate: index,
    message: `the chain ends at "${bounded(top.subject)}", whose issuer "${bounded(top.issuer)}" is not a trusted root`,
  };
}

function osFaults(e: TrustEvaluation, input: PathInput): { faults: Fault[]; anchored: boolean } {
  const faults: Fault[] = [];
  let anchored = true;
  // What the OS trusts has no fault of its own (the policy may still find some).
  if (e.trusted) return { faults, anchored };
  // Linux lists every OpenSSL error and macOS every failed check; else the one code there is.
  if (e.errors.length === 0) {
    if (e.errorCode === null) return { faults, anchored };
    const kind = securityFaults[e.errorCode] ?? 'malformed';
    if (kind === 'chain_end') {
      anchored = false;
      faults.push(chainEndFault(e.chain, input));
    } else if (kind !== 'time' && kind !== 'not_yet_valid') {
      // Times are judged by the policy from the certificates' dates.
      faults.push({ code: kind, certificate: null, message: e.errorMessage ?? e.result });
    }
    return { faults, anchored };
  }
  for (const error of e.errors) {
    const kind = error.check !== undefined ? appleChecks[error.check] : opensslFaults[error.code];
    if (kind === null) continue;
    // The leaf's purpose: Apple's EKU rule in policy.ts replaces OpenSSL's (which also wants
    // digitalSignature in the key usage and refuses anyExtendedKeyUsage).
    if (error.check === undefined && error.code === 26 && error.depth === 0) continue;
    if (kind === 'chain_end' || kind === 'untrusted_root') anchored = false;
    if (kind === 'chain_end') faults.push(chainEndFault(e.chain, input));
    else
      faults.push({
        code: kind ?? 'malformed',
        certificate: error.depth,
        message: `${error.message}${error.depth > 0 ? ` (certificate ${error.depth + 1} of the path)` : ''}`,
      });
  }
  return { faults, anchored };
}

function dedupe(faults: Fault[]): Fault[] {
  const seen = new Set<string>();
  return faults.filter((f) => {
    const k = `${f.code}:${f.certificate}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A code's place in `headlinePriority`; a code not listed comes last. */
function rank(code: DiagnosisCode): number {
  const i = headlinePriority.indexOf(code);
  return i < 0 ? headlinePriority.length : i;
}

/** The headline of a list of faults: 'ok' when there is none. */
export function headline(faults: readonly Fault[]): DiagnosisCode {
  let best: DiagnosisCode = 'ok';
  for (const f of faults) if (best === 'ok' || rank(f.code) < rank(best)) best = f.code;
  return best;
}

/** Faults in headline order (stable within a code: leaf first). */
function sorted(faults: Fault[]): Fault[] {
  return [...faults].sort((a, b) => rank(a.code) - rank(b.code) || (a.certificate ?? -1) - (b.certificate ?? -1));
}

function judge(e: TrustEvaluation, options: ChainOptions, input: PathInput) {
  const os = osFaults(e, input);
  const path = e.chain.map((c) => tryParseCertificate(c.der, c.sha256 || undefined));
  const faults = [...os.faults];
  if (path.every((p): p is X509Info => p !== null)) {
    const top = e.chain[e.chain.length - 1]!;
    faults.push(
      ...policyFaults(path, {
        policy: options.policy,
        hostname: options.policy === 'ssl' ? (options.hostname ?? null) : null,
        atMs: options.verifyDate ?? Date.now(),
        customAnchor: input.isAnchor(top.der),
        anchored: os.anchored,
        maxIntermediates: options.maxIntermediates,
      }),
    );
  } else {
    faults.push({ code: 'malformed', certificate: null, message: 'a certificate of the path does not parse' });
  }
  return { faults: sorted(dedupe(faults)).slice(0, maxFaults), anchored: os.anchored };
}

/** Other paths from the leaf through the supplied certificates and anchors, bounded. */
function candidatePaths(input: PathInput): Buffer[][] {
  const leaf = input.supplied[0];
  if (!leaf?.info) return [];
  const pool = input.supplied.slice(1).filter((s) => s.info !== null);
  const out: Buffer[][] = [];
  let branching = false;
  const walk = (path: Array<{ der: Buffer; info: X509Info | null }>) => {
    if (out.length >= maxPaths * 4) return;
    const last = path[path.length - 1]!;
    const lastInfo = last.info!;
    if (input.isAnchor(last.der) || isSelfIssued(lastInfo) || path.length >= maxDepth) {
      out.push(path.map((p) => p.der));
      return;
    }
    const used = new Set(path.map((p) => key(p.der)));
    const issuers = pool.filter((s) => !used.has(key(s.der)) && namesAsIssuer(lastInfo, s.info!));
    if (issuers.length > 1) branching = true;
    if (issuers.length === 0) out.push(path.map((p) => p.der));
    for (const issuer of issuers) walk([...path, issuer]);
  };
  walk([leaf]);
  if (!branching) return [];
  // Paths that end at an anchor first, then shorter ones.
  return out
    .map((p) => ({ p, anchored: input.isAnchor(p[p.length - 1]!) }))
    .sort((a, b) => Number(b.anchored) - Number(a.anchored) || a.p.length - b.p.length)
    .map((x) => x.p);
}

/** Evaluates a chain as the product decides it. Rejects as evaluateTrust does. */
export async function evaluateChain(options: ChainOptions): Promise<ChainResult> {
  const { maxIntermediates, ...request } = options;
  void maxIntermediates;
  const input = new PathInput(options.chain, options.anchors ?? []);
  const first = await evaluateTrust(request);
  const firstJudged = judge(first, options, input);
  let best = { evaluation: first, ...firstJudged };
  let pathsTried = 1;
  if (firstJudged.faults.length > 0) {
    const tried = new Set([first.chain.map((c) => key(c.der)).join(',')]);
    for (const candidate of candidatePaths(input)) {
      if (pathsTried >= maxPaths) break;
      const id = candidate.map(key).join(',');
      if (tried.has(id)) continue;
      tried.add(id);
      pathsTried++;
      const evaluation = await evaluateTrust({ ...request, chain: candidate.slice(0, 64) });
      const judged = judge(evaluation, options, input);
      const better =
        judged.faults.length === 0 ||
        (judged.anchored && !best.anchored) ||
        (judged.anchored === best.anchored && judged.faults.length < best.faults.length);
      if (better) best = { evaluation, ...judged };
      if (judged.faults.length === 0) break;
    }
  }
  return {
    evaluation: best.evaluation,
    trusted: best.faults.length === 0,
    diagnosis: headline(best.faults),
    faults: best.faults,
    pathsTried,
  };
}
