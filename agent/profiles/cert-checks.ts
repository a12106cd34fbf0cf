// The certificates a profile carries (com.apple.security.root, .pkcs1, .pem) and the signer of
// a signed profile: parsed with node:crypto, their chain evaluated by the OS's verifier (the
// trust capability's native evaluation: native/trust.ts, diagnoses from agent/trust), their
// validity against --at and --min-days, SHA-1 signatures and weak keys, and every OCSP
// responder, CRL distribution point and CA-issuers URL they name asked within a time limit (only
// http and https). A profile whose responder is down is exactly the one that fails silently at
// install (the seed's "OCSP-first" check).
import { createHash, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { evaluateTrust, type EvaluatedCertificate, type TrustEvaluation } from '../../native/trust.js';
import { parseCertificates, caFileLimits } from '../trust/certificates.js';
import { diagnoseEvaluation, errorClass } from '../trust/diagnosis.js';
import { fetchOcsp, guardedLookup, isLocalHost, ocspRequest } from '../trust/ocsp.js';
import { certificatesOnly, decodeOid } from './cms.js';
import type { FindingCode, Severity } from './codes.js';

export type RevocationMode = 'off' | 'soft' | 'require';

export interface CertificateIssue {
  code: FindingCode;
  severity?: Severity;
  message: string;
}

export interface CertificateOptions {
  atMs: number;
  minDays: number;
  revocation: RevocationMode;
  /** Extra anchors (--ca), DER. */
  anchors: Buffer[];
  timeoutMs: number;
  /** Ask responders and URLs on loopback and link-local addresses too (--allow-local-urls; tests). */
  allowLocal?: boolean;
}

const DAY_MS = 86_400_000;

/**
 * The network requests of one run (one options object): a URL is asked once however many
 * certificates name it, and at most `maxRequests` distinct requests are made, so that a 1 MB
 * profile of a thousand certificates naming four URLs each cannot make agentctl (often root)
 * open thousands of connections at once to whatever host the profile names.
 */
export const probeLimits = { maxRequests: 32 };
const runRequests = new WeakMap<object, Map<string, Promise<unknown>>>();

function oncePerRun<T>(options: object, key: string, ask: () => Promise<T>, refused: T): Promise<T> {
  let asked = runRequests.get(options);
  if (!asked) runRequests.set(options, (asked = new Map()));
  const prior = asked.get(key);
  if (prior) return prior as Promise<T>;
  if (asked.size >= probeLimits.maxRequests) return Promise.resolve(refused);
  const pending = ask();
  asked.set(key, pending);
  return pending;
}

const overBudget = `not asked: more than ${probeLimits.maxRequests} network requests in one run`;

const sha1Signatures = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1', '1.2.840.10040.4.3', '1.3.14.3.2.29']);

/** The signatureAlgorithm OID of a DER certificate (the second element of the outer SEQUENCE). */
function signatureAlgorithm(der: Buffer): string | null {
  // Walk: SEQUENCE { tbs SEQUENCE, sigAlg SEQUENCE { OID ... } }
  const len = (at: number): [number, number] => {
    const first = der[at + 1]!;
    if (first < 0x80) return [first, at + 2];
    const n = first & 0x7f;
    let l = 0;
    for (let i = 0; i < n; i++) l = l * 256 + der[at + 2 + i]!;
    return [l, at + 2 + n];
  };
  try {
    const [, outerStart] = len(0);
    const [tbsLen, tbsStart] = len(outerStart);
    const algAt = tbsStart + tbsLen;
    const [, algStart] = len(algAt);
    if (der[algStart] !== 0x06) return null;
    const [oidLen, oidStart] = len(algStart);
    return decodeOid(der.subarray(oidStart, oidStart + oidLen));
  } catch {
    return null;
  }
}

/** The certificates of a payload's PayloadContent (DER or PEM data, or PEM text). */
export function certificatesIn(content: unknown): Buffer[] | { error: string } {
  let bytes: Buffer;
  if (content instanceof Uint8Array) bytes = Buffer.from(content);
  else if (typeof content === 'string') bytes = Buffer.from(content, 'utf8');
  else return { error: 'PayloadContent is not data' };
  try {
    return parseCertificates(bytes, { maxBytes: caFileLimits.maxBytes, maxCertificates: 64 }, 'PayloadContent');
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  not_before: string;
  not_after: string;
  self_signed: boolean;
  sha256: string;
}

export function summarize(der: Buffer): CertificateSummary | null {
  try {
    const x = new X509Certificate(der);
    return {
      subject: x.subject.replace(/\n/g, ', '),
      issuer: x.issuer.replace(/\n/g, ', '),
      not_before: new Date(x.validFrom).toISOString(),
      not_after: new Date(x.validTo).toISOString(),
      self_signed: x.subject === x.issuer && x.checkIssued(x),
      sha256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
    };
  } catch {
    return null;
  }
}

/** The CN of a subject as node:crypto prints it (one RDN a line), else its first line. */
export function commonName(subject: string): string {
  return (
    subject
      .split('\n')
      .find((p) => p.startsWith('CN='))
      ?.slice(3) ??
    subject.split('\n')[0] ??
    ''
  );
}

/** Checks that need no network: parse, validity, expiry horizon, SHA-1, key size. */
export function staticChecks(der: Buffer, options: CertificateOptions): CertificateIssue[] {
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch (error) {
    return [{ code: 'certificate_unparsable', message: `the certificate does not parse: ${(error as Error).message}` }];
  }
  const issues: CertificateIssue[] = [];
  const name = commonName(x.subject);
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  const at = new Date(options.atMs).toISOString().slice(0, 10);
  if (options.atMs > to)
    issues.push({
      code: 'certificate_expired',
      message: `${name} expired on ${new Date(to).toISOString().slice(0, 10)}`,
    });
  else if (options.atMs < from)
    issues.push({
      code: 'certificate_not_yet_valid',
      message: `${name} is valid only from ${new Date(from).toISOString().slice(0, 10)} (checked at ${at})`,
    });
  else if (to - options.atMs < options.minDays * DAY_MS)
    issues.push({
      code: 'certificate_expiring',
      message: `${name} expires on ${new Date(to).toISOString().slice(0, 10)}, within ${options.minDays} days`,
    });
  const selfSigned = x.subject === x.issuer && x.checkIssued(x);
  const algorithm = signatureAlgorithm(der);
  if (algorithm && sha1Signatures.has(algorithm))
    issues.push({
      code: 'certificate_sha1',
      // A self-signed root's own signature is never checked by a verifier; an issued one's is.
      severity: selfSigned ? 'warning' : 'error',
      message: `${name} is signed with SHA-1${selfSigned ? ' (a self-signed root)' : ''}`,
    });
  const details = x.publicKey.asymmetricKeyDetails;
  const type = x.publicKey.asymmetricKeyType;
  if ((type === 'rsa' || type === 'rsa-pss' || type === 'dsa') && (details?.modulusLength ?? 0) < 2048)
    issues.push({
      code: 'certificate_weak_key',
      message: `${name} has a ${details?.modulusLength}-bit ${type.toUpperCase()} key`,
    });
  if (type === 'ec' && details?.namedCurve && !/256|384|521|prime256v1/.test(details.namedCurve))
    issues.push({ code: 'certificate_weak_key', message: `${name} uses the curve ${details.namedCurve}` });
  return issues;
}

/**
 * A profile is outside input: its URLs must not make agentctl (often run as root) reach this
 * machine's own services or its link, as for OCSP (agent/trust/ocsp.ts), unless asked to.
 */
function localRefusal(url: URL, allowLocal: boolean): { ok: false; error: string } | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allowLocal || !isLocalHost(host)) return null;
  return { ok: false, error: 'a loopback or link-local address is not asked (--allow-local-urls)' };
}

type Failure = { ok: false; error: string };

/**
 * GETs a profile's http or https URL (with `query` added) within `timeoutMs`, refusing local
 * addresses unless allowed; `onResponse` reads the answer and calls `finish` once (later calls,
 * the timeout's and errors' included, are ignored; the request is then destroyed).
 */
function boundedGet<T>(
  url: string,
  timeoutMs: number,
  allowLocal: boolean,
  query: Record<string, string>,
  onResponse: (res: http.IncomingMessage, finish: (r: T | Failure) => void) => void,
): Promise<T | Failure> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, error: 'not a URL' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return Promise.resolve({ ok: false, error: `${parsed.protocol} URLs are not fetched` });
  const refused = localRefusal(parsed, allowLocal);
  if (refused) return Promise.resolve(refused);
  for (const [key, value] of Object.entries(query)) parsed.searchParams.set(key, value);
  // A name that resolves to this machine is refused at connect time, as for OCSP.
  const lookup = guardedLookup(allowLocal, '--allow-local-urls is off');
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: T | Failure) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = (parsed.protocol === 'https:' ? https : http).get(parsed, { agent: false, lookup }, (res) =>
      onResponse(res, finish),
    );
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ ok: false, error: e.code === 'ERR_LOCAL_ADDRESS' ? e.message : (e.code ?? e.message) }),
    );
  });
}

/** GETs a CRL or CA-issuers URL: does it answer 2xx within the limit? (http and https only.) */
export function probeUrl(url: string, timeoutMs: number, allowLocal = false): Promise<{ ok: true } | Failure> {
  return boundedGet<{ ok: true }>(url, timeoutMs, allowLocal, {}, (res, finish) => {
    res.resume();
    const status = res.statusCode ?? 0;
    finish(status >= 200 && status < 300 ? { ok: true } : { ok: false, error: `HTTP ${status}` });
  });
}

function caIssuerUrls(x: X509Certificate): string[] {
  return (x.infoAccess ?? '')
    .split('\n')
    .filter((l) => l.startsWith('CA Issuers - URI:'))
    .map((l) => l.slice('CA Issuers - URI:'.length));
}

/**
 * Chain and revocation of one certificate, with `others` (the other certificates of the files
 * given) as possible issuers and the self-signed ones among them and --ca as anchors.
 */
export async function chainChecks(
  der: Buffer,
  others: Buffer[],
  options: CertificateOptions,
): Promise<CertificateIssue[]> {
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch {
    return [];
  }
  const issues: CertificateIssue[] = [];
  const name = commonName(x.subject);
  const selfSigned = x.subject === x.issuer && x.checkIssued(x);
  const pool = others.filter((o) => !o.equals(der)).slice(0, 60);
  const anchors = [
    ...options.anchors,
    ...pool.filter((o) => {
      try {
        const c = new X509Certificate(o);
        return c.subject === c.issuer && c.checkIssued(c);
      } catch {
        return false;
      }
    }),
  ].slice(0, 1000);
  let evaluation: TrustEvaluation;
  try {
    evaluation = await evaluateTrust({ chain: [der, ...pool], policy: 'basic', anchors, verifyDate: options.atMs });
  } catch (error) {
    return [
      { code: 'certificate_unparsable', message: `the OS cannot read the certificate: ${(error as Error).message}` },
    ];
  }
  // A self-signed certificate in a root payload is what the profile makes trusted: no chain to check.
  if (!selfSigned && !evaluation.trusted) {
    const diagnosis = diagnoseEvaluation(evaluation, options.atMs);
    if (diagnosis !== 'expired' && diagnosis !== 'not_yet_valid')
      issues.push({
        code: 'certificate_untrusted',
        message: `${name}: no trusted chain (${diagnosis}${evaluation.errorMessage ? `: ${evaluation.errorMessage}` : ''})`,
      });
  }
  const chain: EvaluatedCertificate[] = evaluation.chain;
  const me = chain[0];
  const issuer = chain[1]?.der ?? null;
  const ocspUrls = (me?.ocspUrls ?? []).filter((u) => /^https?:\/\//i.test(u));
  const crlUrls = me?.crlUrls ?? [];
  const probes: Array<Promise<void>> = [];
  if (options.revocation !== 'off') {
    for (const url of [...crlUrls, ...caIssuerUrls(x)].slice(0, 8)) {
      if (!/^https?:\/\//i.test(url)) continue;
      probes.push(
        oncePerRun(options, `GET ${url}`, () => probeUrl(url, options.timeoutMs, options.allowLocal), {
          ok: false,
          error: overBudget,
        } as const).then((r) => {
          if (!r.ok)
            issues.push({ code: 'url_unreachable', message: `${url.slice(0, 200)} does not answer (${r.error})` });
        }),
      );
    }
  }
  if (options.revocation !== 'off' && !selfSigned && ocspUrls.length > 0) {
    const severity: Severity = options.revocation === 'require' ? 'error' : 'warning';
    if (!issuer) {
      issues.push({
        code: 'revocation_unknown',
        severity,
        message: `${name}: its issuer is not in the profiles given (or --ca), so its revocation cannot be asked`,
      });
    } else {
      const url = ocspUrls[0]!;
      const request = ocspRequest(der, issuer);
      const fetched = await oncePerRun(
        options,
        `POST ${url} ${request.toString('base64')}`,
        () => fetchOcsp(url, request, options.timeoutMs, { allowLocal: options.allowLocal ?? false }),
        { ok: false, url, code: 'responder_unreachable', message: overBudget } as const,
      );
      if (!fetched.ok) {
        issues.push({
          code: 'revocation_unknown',
          severity,
          message: `${name}: OCSP responder ${url.slice(0, 200)}: ${fetched.message}`,
        });
      } else {
        const checked = await evaluateTrust({
          chain: [der, ...pool],
          policy: 'basic',
          anchors,
          verifyDate: options.atMs,
          ocspResponses: [fetched.response],
          requireRevocationCheck: true,
        }).catch(() => null);
        if (checked && errorClass(checked.errorCode) === 'revoked')
          issues.push({
            code: 'certificate_revoked',
            message: `${name} is revoked (OCSP responder ${url.slice(0, 200)})`,
          });
        else if (checked && !checked.revocationChecked && !(checked.trusted && checked.revocationChecked))
          if (evaluation.trusted || selfSigned)
            issues.push({
              code: 'revocation_unknown',
              severity,
              message: `${name}: the answer of ${url.slice(0, 200)} could not be used (signature, responder or freshness)`,
            });
      }
    }
  }
  await Promise.all(probes);
  return issues;
}

/** SCEP's `CAFingerprint` is a digest of the CA certificate; its length tells which. */
const fingerprintDigests: Record<number, string> = { 16: 'md5', 20: 'sha1', 32: 'sha256', 48: 'sha384', 64: 'sha512' };
const maxCaAnswerBytes = 64 * 1024;

/**
 * A SCEP server's CA certificates: GET URL?operation=GetCACert&message=NAME (RFC 8894 §4.2.1),
 * answered with one DER certificate (application/x-x509-ca-cert) or a certificates-only CMS
 * SignedData (application/x-x509-ca-ra-cert). http and https only, at most 64 KB, within the limit.
 */
export function fetchScepCaCertificates(
  url: string,
  name: string | null,
  timeoutMs: number,
  allowLocal = false,
): Promise<{ ok: true; certificates: Buffer[] } | Failure> {
  const query = { operation: 'GetCACert', message: name ?? 'CA' };
  return boundedGet<{ ok: true; certificates: Buffer[] }>(url, timeoutMs, allowLocal, query, (res, finish) => {
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) return finish({ ok: false, error: `HTTP ${status}` });
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxCaAnswerBytes) finish({ ok: false, error: `the answer is over ${maxCaAnswerBytes} bytes` });
      else chunks.push(chunk);
    });
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        // By its type, else by its shape (servers label the two answers loosely).
        const raCerts = /x-x509-ca-ra-cert/i.test(res.headers['content-type'] ?? '');
        let certificates: Buffer[];
        try {
          certificates = raCerts ? certificatesOnly(body) : [new X509Certificate(body).raw];
        } catch {
          certificates = raCerts ? [new X509Certificate(body).raw] : certificatesOnly(body);
        }
        finish({ ok: true, certificates });
      } catch (error) {
        finish({ ok: false, error: `the answer holds no certificate (${(error as Error).message.slice(0, 120)})` });
      }
    });
    res.on('error', (e) => finish({ ok: false, error: e.message }));
  });
}

export interface ScepResult {
  /** Each issue with the key of the SCEP payload's content it is about. */
  issues: Array<CertificateIssue & { key: 'CAFingerprint' | 'URL' }>;
  /** The CA certificates the SCEP server serves that the device will use: to check like the payloads' own. */
  toCheck: Buffer[];
}

/**
 * The CA of a SCEP payload (com.apple.security.scep; Apple's schema: `URL`, `Name`,
 * `CAFingerprint` in PayloadContent — the payload carries no certificate, only the CA's
 * digest). The fingerprint is checked (length, digest strength); the CA it names is looked for
 * among the certificates given (already checked as payload certificates) and, with the network
 * allowed (--revocation not off), among those the SCEP server serves, whose matching CA (all of
 * its CAs without a fingerprint) is then checked like a payload's certificate by the caller.
 */
export async function scepChecks(
  content: Record<string, unknown>,
  given: Buffer[],
  options: CertificateOptions,
): Promise<ScepResult> {
  const issues: ScepResult['issues'] = [];
  const raw = content.CAFingerprint;
  let fingerprint: Buffer | null = null;
  let digest: string | null = null;
  if (raw !== undefined) {
    const bytes = raw instanceof Uint8Array ? Buffer.from(raw) : null;
    digest = bytes ? (fingerprintDigests[bytes.length] ?? null) : null;
    if (!bytes || !digest)
      issues.push({
        key: 'CAFingerprint',
        code: 'scep_fingerprint_invalid',
        message: bytes
          ? `CAFingerprint is ${bytes.length} bytes: no MD5, SHA-1 or SHA-2 digest has that length`
          : 'CAFingerprint is not data',
      });
    else {
      fingerprint = bytes;
      if (digest === 'md5' || digest === 'sha1')
        issues.push({
          key: 'CAFingerprint',
          code: 'scep_fingerprint_weak',
          message: `CAFingerprint is an ${digest === 'md5' ? 'MD5' : 'SHA-1'} digest of the CA certificate`,
        });
    }
  }
  const matches = (der: Buffer) => fingerprint !== null && createHash(digest!).update(der).digest().equals(fingerprint);
  if (fingerprint && given.some(matches)) return { issues, toCheck: [] };
  const url = typeof content.URL === 'string' ? content.URL.slice(0, 2048) : null;
  if (options.revocation === 'off' || !url) {
    if (fingerprint)
      issues.push({
        key: 'CAFingerprint',
        code: 'scep_ca_not_checked',
        message: `the CA with this fingerprint is not among the certificates given${url ? ', and the SCEP server is not asked with --revocation off' : ''}`,
      });
    return { issues, toCheck: [] };
  }
  const served = await fetchScepCaCertificates(
    url,
    typeof content.Name === 'string' ? content.Name.slice(0, 256) : null,
    options.timeoutMs,
    options.allowLocal,
  );
  if (!served.ok) {
    issues.push({
      key: 'URL',
      code: 'scep_server_unreachable',
      severity: options.revocation === 'require' ? 'error' : 'warning',
      message: `the SCEP server ${url.slice(0, 200)} does not give its CA (${served.error})`,
    });
    return { issues, toCheck: [] };
  }
  if (fingerprint) {
    const ca = served.certificates.find(matches);
    if (!ca)
      issues.push({
        key: 'CAFingerprint',
        code: 'scep_ca_not_found',
        message: `none of the ${served.certificates.length} certificate(s) the SCEP server ${url.slice(0, 200)} serves has this fingerprint`,
      });
    return { issues, toCheck: ca ? [ca] : [] };
  }
  const cas = served.certificates.filter((der) => {
    try {
      return new X509Certificate(der).ca;
    } catch {
      return false;
    }
  });
  return { issues, toCheck: cas.slice(0, 4) };
}
