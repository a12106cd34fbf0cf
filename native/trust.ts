// Trust capability (native/trust.h): one certificate chain evaluation by the OS's own verifier
// (Security.framework's SecTrust on macOS, the OpenSSL inside Node on Linux), off the JS thread.
import { describe, native } from './addon.js';

/** Bounds on what reaches C++; a caller past them gets a RangeError, never a slow or huge evaluation. */
export const trustLimits = {
  chainCertificates: 64,
  anchors: 1000,
  certificateBytes: 64 * 1024,
  ocspResponses: 64,
  ocspResponseBytes: 64 * 1024,
} as const;

export interface EvaluateTrustOptions {
  /** DER certificates, leaf first, as a server sent them or a file held them. */
  chain: Buffer[];
  /** 'ssl': a TLS server (serverAuth, and `hostname` when given); 'basic': X.509 path validation only. */
  policy: 'ssl' | 'basic';
  hostname?: string;
  /** Extra trust anchors (DER). */
  anchors?: Buffer[];
  /** Trust only `anchors`, not the system's roots. */
  anchorsOnly?: boolean;
  /** Evaluate as if it were this time (Unix ms); default: now. */
  verifyDate?: number;
  /** DER OCSPResponse messages for certificates of the chain (no network fetch happens natively). */
  ocspResponses?: Buffer[];
  /** Without a positive revocation answer for the leaf, the chain is not trusted. */
  requireRevocationCheck?: boolean;
}

/** Apple's SecTrustResultType names; Linux maps OpenSSL's verify errors onto them. */
export type TrustResultName =
  'proceed' | 'unspecified' | 'recoverableTrustFailure' | 'fatalTrustFailure' | 'deny' | 'invalid' | 'otherError';

export interface EvaluatedCertificate {
  /** RFC 4514 distinguished name, most specific first ("CN=login.acme.com,O=Acme"). */
  subject: string;
  issuer: string;
  /** Unix ms; null when the OS could not read the field. */
  notBefore: number | null;
  notAfter: number | null;
  /** Lowercase hex SHA-256 of the DER. */
  sha256: string;
  ocspUrls: string[];
  crlUrls: string[];
  der: Buffer;
}

export interface TrustEvaluation {
  trusted: boolean;
  result: TrustResultName;
  /** The OS's code: an OSStatus (errSec…) on macOS, an X509_V_ERR_* value on Linux; null when trusted. */
  errorCode: number | null;
  errorMessage: string | null;
  /**
   * What the OS says about revocation checking; not the leaf's own status. macOS
   * (kSecTrustRevocationChecked): chain-wide and only when the chain is trusted — trustd sets it
   * under `SecPathBuilderIsOkResult(builder) && SecCertificatePathVCIsRevocationDone(...)`
   * (Security trust/trustd/SecTrustServer.c) and only when every checked certificate below the
   * anchor has a usable answer, so a revoked leaf gives false, and so does a good leaf under an
   * intermediate whose responder did not answer. Linux: an answer (good or revoked) for the leaf
   * was obtained and used. agent/trust derives the leaf's own status separately.
   */
  revocationChecked: boolean;
  /** The chain as the OS built it, leaf first, up to the anchor when one was found. */
  chain: EvaluatedCertificate[];
  /**
   * Every problem the verifier reported, each with the certificate it concerns (`depth` in
   * `chain`, 0 = the leaf): on Linux each OpenSSL error in the order met (X509_V_ERR_* `code`);
   * on macOS each failed policy check (`check`, a name of SecPolicyChecks.list; `code` 0).
   */
  errors: Array<{ depth: number; code: number; message: string; check?: string }>;
}

/** Why no evaluation took place (the promise rejects with it). */
export interface TrustEvaluationError extends Error {
  code: 'ERR_TRUST_MALFORMED_CERTIFICATE' | 'ERR_TRUST_OS';
  /** Which input held the certificate that does not parse. */
  input?: 'chain' | 'anchors';
  index?: number;
}

interface TrustAddon {
  evaluateTrust(options: EvaluateTrustOptions): Promise<TrustEvaluation>;
}

function checkBuffers(name: string, value: unknown, max: number, maxBytes: number, allowEmpty: boolean): Buffer[] {
  if (!Array.isArray(value))
    throw new TypeError(`evaluateTrust: ${name} must be an array of Buffers, got ${describe(value)}`);
  if (!allowEmpty && value.length === 0)
    throw new RangeError(`evaluateTrust: ${name} is empty; give at least one certificate`);
  if (value.length > max)
    throw new RangeError(`evaluateTrust: ${name} has ${value.length} entries; at most ${max} are accepted`);
  value.forEach((item: unknown, i) => {
    if (!Buffer.isBuffer(item))
      throw new TypeError(`evaluateTrust: ${name}[${i}] must be a Buffer, got ${describe(item)}`);
    if (item.length > maxBytes)
      throw new RangeError(`evaluateTrust: ${name}[${i}] is ${item.length} bytes; at most ${maxBytes} are accepted`);
  });
  return value as Buffer[];
}

function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw new TypeError(`evaluateTrust: ${name} must be a boolean, got ${describe(value)}`);
}

const knownOptions = new Set([
  'chain',
  'policy',
  'hostname',
  'anchors',
  'anchorsOnly',
  'verifyDate',
  'ocspResponses',
  'requireRevocationCheck',
]);

/**
 * Evaluates a certificate chain natively. Resolves with the OS's verdict (a chain that is not
 * trusted still resolves); rejects with a TrustEvaluationError when a certificate does not parse.
 */
export function evaluateTrust(options: EvaluateTrustOptions, ...rest: unknown[]): Promise<TrustEvaluation> {
  if (rest.length !== 0)
    throw new TypeError(`evaluateTrust() takes one options object, got ${rest.length + 1} arguments`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`evaluateTrust(options) expects an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw new TypeError(`evaluateTrust: unknown option "${key}"`);
  }
  const chain = checkBuffers(
    'chain',
    options.chain,
    trustLimits.chainCertificates,
    trustLimits.certificateBytes,
    false,
  );
  if (options.policy !== 'ssl' && options.policy !== 'basic') {
    throw new TypeError(
      `evaluateTrust: policy must be 'ssl' or 'basic', got ${typeof options.policy === 'string' ? JSON.stringify(options.policy) : describe(options.policy)}`,
    );
  }
  if (options.hostname !== undefined) {
    if (typeof options.hostname !== 'string')
      throw new TypeError(`evaluateTrust: hostname must be a string, got ${describe(options.hostname)}`);
    if (options.hostname === '' || options.hostname.length > 253 || /[\0-\x20\x7f]/.test(options.hostname)) {
      throw new TypeError(
        `evaluateTrust: hostname must be a host name or IP address, got ${JSON.stringify(options.hostname.slice(0, 80))}`,
      );
    }
  }
  const anchors =
    options.anchors === undefined
      ? undefined
      : checkBuffers('anchors', options.anchors, trustLimits.anchors, trustLimits.certificateBytes, true);
  checkBoolean('anchorsOnly', options.anchorsOnly);
  if (
    options.verifyDate !== undefined &&
    (typeof options.verifyDate !== 'number' || !Number.isFinite(options.verifyDate))
  ) {
    throw new TypeError(
      `evaluateTrust: verifyDate must be a finite number of Unix ms, got ${describe(options.verifyDate)}`,
    );
  }
  // Security.framework's dates are CFAbsoluteTime doubles; time_t on Linux: stay within years 1950–9999.
  if (
    options.verifyDate !== undefined &&
    (options.verifyDate < -631152000000 || options.verifyDate > 253402300799000)
  ) {
    throw new RangeError(`evaluateTrust: verifyDate ${options.verifyDate} is outside the years 1950 to 9999`);
  }
  const ocspResponses =
    options.ocspResponses === undefined
      ? undefined
      : checkBuffers(
          'ocspResponses',
          options.ocspResponses,
          trustLimits.ocspResponses,
          trustLimits.ocspResponseBytes,
          true,
        );
  checkBoolean('requireRevocationCheck', options.requireRevocationCheck);
  const request: EvaluateTrustOptions = { chain, policy: options.policy };
  if (options.hostname !== undefined) request.hostname = options.hostname;
  if (anchors !== undefined) request.anchors = anchors;
  if (options.anchorsOnly !== undefined) request.anchorsOnly = options.anchorsOnly;
  if (options.verifyDate !== undefined) request.verifyDate = options.verifyDate;
  if (ocspResponses !== undefined) request.ocspResponses = ocspResponses;
  if (options.requireRevocationCheck !== undefined) request.requireRevocationCheck = options.requireRevocationCheck;
  return native<TrustAddon>().evaluateTrust(request);
}
