// One trust check of one target (SPEC §1.2): get the chain (TLS handshake or file), have the OS
// evaluate it at the system time and, when there is one, at the corrected time, fetch OCSP
// answers when revocation checking is on and the chain is trusted, and say why it fails.
// `agentctl trust` and the daemon both run this; it never throws for a bad target, it reports
// it: a chain past what one evaluation takes (trustLimits) is that target's `malformed`.
// Every string from the certificates or a peer is cut to 1 KiB (bounded-text.ts) in the report.
import net from 'node:net';
import { boundText } from '../bounded-text.js';
import {
  evaluateTrust,
  trustLimits,
  type EvaluatedCertificate,
  type EvaluateTrustOptions,
  type TrustEvaluation,
  type TrustEvaluationError,
  type TrustResultName,
} from '../../native/trust.js';
import { CertificateFileError, readCertificateFile, readProtectedCertificateFile } from './certificates.js';
import type { DiagnosisCode, FailureCode, RequestResult, RevocationCode, RevocationStatus } from './codes.js';
import { DerError } from './der.js';
import { errorClass, outOfValidity } from './diagnosis.js';
import { evaluateChain, type ChainResult, type Fault } from './evaluate.js';
import { fetchChain } from './fetch-chain.js';
import { trustHint } from './hint.js';
import { fetchOcsp, ocspRequest, type OcspFetch } from './ocsp.js';

export type RevocationMode = 'off' | 'soft' | 'require';

/** The time to evaluate at besides the system time. */
export type Correction =
  /** An explicit instant (`agentctl trust --at`). */
  | { kind: 'at'; atMs: number; source: string }
  /** An offset from the system clock (the guardrail's estimate, `--ntp`): corrected − system, ms. */
  | { kind: 'offset'; offsetMs: number; uncertaintyMs: number | null; source: string; ntpHost: string | null };

export interface TrustCheckOptions {
  /** An https URL or a certificate file path. */
  target: string;
  /** The name the leaf must match; for a file it selects policy ssl (default basic). */
  hostname?: string;
  anchors?: Buffer[];
  anchorsOnly?: boolean;
  correction?: Correction | null;
  revocation?: RevocationMode;
  /** TLS handshake limit (default 10 s); each OCSP request gets the same. */
  timeoutMs?: number;
  /** Ask OCSP responders on loopback and link-local addresses too (TrustOCSPAllowLocal). */
  ocspAllowLocal?: boolean;
  /** Read a file target as the daemon must (root-owned, not writable by others, no links). */
  protectedFiles?: boolean;
  /** This machine's wall clock (Unix ms); tests. */
  now?: () => number;
  platform?: NodeJS.Platform;
}

export interface ErrorReport {
  /** The OS's code (OSStatus on macOS, X509_V_ERR_* on Linux) of an evaluation; ours when none took place. */
  code: number | FailureCode;
  message: string;
}

export interface EvaluationReport {
  time: string;
  trusted: boolean;
  result: TrustResultName;
  diagnosis: DiagnosisCode;
  error: ErrorReport | null;
}

export interface CertificateReport {
  subject: string;
  issuer: string;
  not_before: string | null;
  not_after: string | null;
  sha256: string;
  ocsp_urls: string[];
  crl_urls: string[];
}

/** One fault of the evaluated path, with the certificate it concerns (`chain[certificate]`). */
export interface FaultReport {
  code: DiagnosisCode;
  /** Index in `chain` (0 = the leaf); null when it concerns the chain as a whole. */
  certificate: number | null;
  subject: string | null;
  message: string;
}

export interface TrustReport {
  target: string;
  kind: 'url' | 'file';
  policy: 'ssl' | 'basic';
  hostname: string | null;
  trusted: boolean;
  result: TrustResultName | null;
  diagnosis: DiagnosisCode;
  /** Every code that applies, the diagnosis first (e.g. ok with revocation_unknown under soft). */
  findings: DiagnosisCode[];
  /** Every fault of the decisive evaluation, headline order, each with its certificate. */
  faults: FaultReport[];
  /** Candidate paths evaluated; `chain` is the one used. */
  paths_tried: number;
  error: ErrorReport | null;
  at_system_time: EvaluationReport | null;
  at_corrected_time: (EvaluationReport & { source: string; offset_ms: number }) | null;
  revocation: {
    mode: RevocationMode;
    checked: boolean;
    status: RevocationStatus;
    /** Why it was not checked (null when it was, or is off). */
    code: RevocationCode | null;
    responder: string | null;
    error: string | null;
    /** Every OCSP request made (or refused), in chain order: certificate index, URL, what came of it. */
    requests: OcspRequestReport[];
  };
  chain: CertificateReport[];
  leaf_expires_in_days: number | null;
  hint: string | null;
  checked_at: string;
}

export interface OcspRequestReport {
  /** Index in `chain` of the certificate asked about (0: the leaf). */
  certificate: number;
  responder: string;
  result: RequestResult;
}

/** A target that is neither an https URL nor a file path: a usage error, thrown. */
export class TargetError extends Error {}

const DAY_MS = 86_400_000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function parseTarget(target: string): { kind: 'url'; url: URL } | { kind: 'file'; path: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new TargetError(`"${target.slice(0, 100)}" is not a valid URL`);
    }
    if (url.protocol !== 'https:')
      throw new TargetError(`"${target.slice(0, 100)}" is not an https URL (or a certificate file)`);
    return { kind: 'url', url };
  }
  if (target === '') throw new TargetError('the target is empty');
  return { kind: 'file', path: target };
}

/** URLs a certificate names that a report keeps (each cut to 1 KiB). */
const maxUrlsPerCertificate = 8;
const boundUrls = (urls: readonly string[]) => urls.slice(0, maxUrlsPerCertificate).map((u) => boundText(u));

function certificateReport(c: EvaluatedCertificate): CertificateReport {
  return {
    subject: boundText(c.subject),
    issuer: boundText(c.issuer),
    not_before: iso(c.notBefore),
    not_after: iso(c.notAfter),
    sha256: c.sha256,
    ocsp_urls: boundUrls(c.ocspUrls),
    crl_urls: boundUrls(c.crlUrls),
  };
}

/** Apple's result name for the product's verdict (a policy refusal is recoverable, as SecTrust's). */
function resultOf(r: ChainResult): TrustResultName {
  if (r.trusted) return r.evaluation.trusted ? r.evaluation.result : 'unspecified';
  return r.evaluation.trusted ? 'recoverableTrustFailure' : r.evaluation.result;
}

/** `error` is the OS's own (code and message); a refusal by the policy alone is in `faults` only. */
function evaluationReport(r: ChainResult, atMs: number): EvaluationReport {
  const e = r.evaluation;
  return {
    time: new Date(atMs).toISOString(),
    trusted: r.trusted,
    result: resultOf(r),
    diagnosis: r.diagnosis,
    error: e.trusted || e.errorCode === null ? null : { code: e.errorCode, message: boundText(e.errorMessage ?? '') },
  };
}

function faultReport(f: Fault, chain: readonly EvaluatedCertificate[]): FaultReport {
  return {
    code: f.code,
    certificate: f.certificate,
    subject: f.certificate === null ? null : boundText(chain[f.certificate]?.subject ?? '') || null,
    message: boundText(f.message),
  };
}

/**
 * What one evaluation cannot take (native/trust.ts trustLimits): more certificates, or a larger
 * one, than the limits; null when the input fits. Checked before evaluating, so that a peer's
 * oversized chain is its own target's `malformed` verdict and never an exception.
 */
export function inputProblem(chain: readonly Buffer[], anchors: readonly Buffer[] | undefined): ErrorReport | null {
  const inputs: Array<[string, readonly Buffer[], number]> = [
    ['the chain', chain, trustLimits.chainCertificates],
    ['the trust anchors', anchors ?? [], trustLimits.anchors],
  ];
  for (const [name, list, max] of inputs) {
    if (list.length > max)
      return {
        code: 'too_many_certificates',
        message: `${name} holds more than ${max} certificates; at most ${max} are accepted`,
      };
    const big = list.findIndex((c) => c.length > trustLimits.certificateBytes);
    if (big >= 0)
      return {
        code: 'certificate_too_large',
        message: `certificate ${big + 1} of ${name} is ${list[big]!.length} bytes; at most ${trustLimits.certificateBytes} are accepted`,
      };
  }
  return null;
}

interface OcspOutcome {
  responses: Buffer[];
  /** What happened to the leaf's own request; `response` is its answer when one came. */
  leaf: { responder: string | null; code: RevocationCode | null; error: string | null; response: Buffer | null };
  requests: OcspRequestReport[];
}

/**
 * One OCSP request per certificate whose issuer is in the chain and that names an http(s)
 * responder. Called only with a chain the OS evaluated as trusted: a certificate an untrusted
 * peer made up never makes root send a request anywhere.
 */
async function collectOcsp(
  chain: readonly EvaluatedCertificate[],
  timeoutMs: number,
  allowLocal: boolean,
): Promise<OcspOutcome> {
  const outcome: OcspOutcome = {
    responses: [],
    leaf: { responder: null, code: null, error: null, response: null },
    requests: [],
  };
  const leafFails = (code: RevocationCode, error: string) => {
    outcome.leaf.code = code;
    outcome.leaf.error = error;
  };
  if (chain.length < 2) {
    leafFails('issuer_missing', 'the issuer of the certificate is not in the chain');
    return outcome;
  }
  if (!chain[0]!.ocspUrls.some((u) => /^https?:\/\//i.test(u)))
    leafFails('no_responder', 'the certificate names no OCSP responder');
  const jobs: Array<Promise<void>> = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i]!;
    const url = cert.ocspUrls.find((u) => /^https?:\/\//i.test(u));
    if (!url) continue;
    const responder = boundText(url);
    if (i === 0) outcome.leaf.responder = responder;
    let request: Buffer;
    try {
      request = ocspRequest(cert.der, chain[i + 1]!.der);
    } catch (error) {
      if (i === 0)
        leafFails('request_invalid', boundText(`cannot build the OCSP request: ${(error as DerError).message}`));
      continue;
    }
    const report: OcspRequestReport = { certificate: i, responder, result: 'answered' };
    outcome.requests.push(report);
    jobs.push(
      fetchOcsp(url, request, timeoutMs, { allowLocal }).then((result: OcspFetch) => {
        if (result.ok) {
          outcome.responses.push(result.response);
          if (i === 0) outcome.leaf.response = result.response;
          return;
        }
        report.result = result.code;
        // An answer that cannot be used is no answer: the certificate's revocation is unknown.
        if (i === 0) leafFails(result.code, boundText(`OCSP responder ${responder}: ${result.message}`));
      }),
    );
  }
  await Promise.all(jobs);
  return outcome;
}

/**
 * The leaf's own revocation status, given whether the leaf's responder answered. The native `revocationChecked` is not it on macOS: trustd
 * sets kSecTrustRevocationChecked only for a trusted chain whose leaf and every intermediate
 * naming a responder have answers (Security, trust/trustd/SecTrustServer.c:
 * `SecPathBuilderIsOkResult(builder) && SecCertificatePathVCIsRevocationDone(...)`), so a good
 * leaf under an unanswered intermediate gives false. When it does not settle the question, the
 * chain is evaluated again with the leaf's answer alone and a positive answer for the leaf
 * required: stapled answers are matched per certificate (SecORVCProcessStapledResponses in
 * trust/trustd/SecRevocationServer.c) and the requirement is a leaf check
 * (RevocationResponseRequired, OSX/sec/Security/SecPolicyChecks.list), as on Linux.
 */
export function leafRevocation(
  leafAnswered: boolean,
  decisive: Pick<TrustEvaluation, 'trusted' | 'errorCode' | 'revocationChecked'>,
  probe: Pick<TrustEvaluation, 'trusted' | 'errorCode'> | null,
  platform: NodeJS.Platform,
): 'good' | 'revoked' | 'unknown' {
  if (!leafAnswered) return 'unknown';
  if (decisive.trusted && decisive.revocationChecked) return 'good';
  if (probe === null) return 'unknown';
  if (probe.trusted) return 'good';
  return errorClass(probe.errorCode, platform) === 'revoked' ? 'revoked' : 'unknown';
}

function failure(
  base: Pick<TrustReport, 'target' | 'kind' | 'policy' | 'hostname' | 'checked_at'>,
  diagnosis: 'unreachable' | 'malformed',
  error: ErrorReport,
  revocation: RevocationMode,
  platform: NodeJS.Platform,
  name: string,
): TrustReport {
  return {
    ...base,
    trusted: false,
    result: null,
    diagnosis,
    findings: [diagnosis],
    faults: [],
    paths_tried: 0,
    error,
    at_system_time: null,
    at_corrected_time: null,
    revocation: {
      mode: revocation,
      checked: false,
      status: revocation === 'off' ? 'off' : 'not_checked',
      code: null,
      responder: null,
      error: null,
      requests: [],
    },
    chain: [],
    leaf_expires_in_days: null,
    hint: boundHint({
      diagnosis,
      name,
      kind: base.kind,
      platform,
      correction: null,
      certificate: null,
      top: null,
      hostname: base.hostname,
      revocation: null,
      message: error.message,
      leafExpiresInDays: null,
    }),
  };
}

function isEvaluationError(error: unknown): error is TrustEvaluationError {
  const code = (error as { code?: unknown })?.code;
  return code === 'ERR_TRUST_MALFORMED_CERTIFICATE' || code === 'ERR_TRUST_OS';
}

/** A RangeError of evaluateTrust's argument checks: an input past a limit that inputProblem missed. */
function isLimitError(error: unknown): error is RangeError {
  return error instanceof RangeError && error.message.startsWith('evaluateTrust:');
}

/** Checks one target. Rejects only with TargetError (usage) or a programming error. */
export async function checkTrust(options: TrustCheckOptions): Promise<TrustReport> {
  const now = options.now ?? Date.now;
  const platform = options.platform ?? process.platform;
  const revocation = options.revocation ?? 'off';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const parsed = parseTarget(options.target);
  const systemMs = now();
  const hostname = options.hostname ?? (parsed.kind === 'url' ? parsed.url.hostname.replace(/^\[|\]$/g, '') : null);
  const policy: 'ssl' | 'basic' = parsed.kind === 'url' || options.hostname !== undefined ? 'ssl' : 'basic';
  const name = parsed.kind === 'url' ? (hostname ?? options.target) : parsed.path;
  const base = {
    target: options.target,
    kind: parsed.kind,
    policy,
    hostname,
    checked_at: new Date(systemMs).toISOString(),
  };

  let chain: Buffer[];
  if (parsed.kind === 'url') {
    const host = parsed.url.hostname.replace(/^\[|\]$/g, '');
    const port = parsed.url.port === '' ? 443 : Number(parsed.url.port);
    const fetched = await fetchChain({
      host,
      port,
      servername: net.isIP(host) ? undefined : host,
      timeoutMs,
      maxCertificates: trustLimits.chainCertificates + 1,
    });
    if (!fetched.ok)
      return failure(
        base,
        'unreachable',
        { code: fetched.code, message: boundText(fetched.message) },
        revocation,
        platform,
        name,
      );
    chain = fetched.chain;
  } else {
    try {
      chain = options.protectedFiles
        ? await readProtectedCertificateFile(parsed.path)
        : await readCertificateFile(parsed.path);
    } catch (error) {
      if (!(error instanceof CertificateFileError)) throw error;
      const unreadable =
        error.code === 'file_unreadable' || error.code === 'file_unsafe' || error.code === 'not_a_file';
      const diagnosis = unreadable ? 'unreachable' : 'malformed';
      const message = boundText(error.message);
      return failure(base, diagnosis, { code: error.code, message }, revocation, platform, name);
    }
  }
  const tooMuch = inputProblem(chain, options.anchors);
  if (tooMuch) return failure(base, 'malformed', tooMuch, revocation, platform, name);

  const request: EvaluateTrustOptions = { chain, policy };
  if (hostname !== null && policy === 'ssl') request.hostname = hostname;
  if (options.anchors !== undefined) request.anchors = options.anchors;
  if (options.anchorsOnly) request.anchorsOnly = true;
  const correction = options.correction ?? null;
  const correctedMs =
    correction === null ? null : correction.kind === 'at' ? correction.atMs : systemMs + correction.offsetMs;

  let systemResult: ChainResult;
  let correctedResult: ChainResult | null = null;
  let ocsp: OcspOutcome | null = null;
  let probe: TrustEvaluation | null = null;
  try {
    systemResult = await evaluateChain({ ...request, verifyDate: systemMs });
    if (correctedMs !== null) correctedResult = await evaluateChain({ ...request, verifyDate: correctedMs });
    // Revocation is asked only about a chain that is trusted (at either time): the chain as the
    // OS built it names each certificate's issuer, the anchor included.
    const basis = systemResult.trusted
      ? systemResult.evaluation
      : correctedResult?.trusted
        ? correctedResult.evaluation
        : null;
    if (revocation !== 'off' && basis !== null) {
      ocsp = await collectOcsp(basis.chain, timeoutMs, options.ocspAllowLocal ?? false);
      const withOcsp = { ...request, ocspResponses: ocsp.responses, requireRevocationCheck: revocation === 'require' };
      systemResult = await evaluateChain({ ...withOcsp, verifyDate: systemMs });
      if (correctedMs !== null) correctedResult = await evaluateChain({ ...withOcsp, verifyDate: correctedMs });
      // The evaluation the verdict rests on, as below: the corrected one when only it trusts.
      const atCorrected = !systemResult.trusted && correctedResult?.trusted === true && correctedMs !== null;
      const decisive = atCorrected ? correctedResult!.evaluation : systemResult.evaluation;
      if (ocsp.leaf.response !== null && !(decisive.trusted && decisive.revocationChecked))
        probe = await evaluateTrust({
          ...request,
          ocspResponses: [ocsp.leaf.response],
          requireRevocationCheck: true,
          verifyDate: atCorrected ? correctedMs! : systemMs,
        });
    }
  } catch (error) {
    if (isLimitError(error))
      return failure(
        base,
        'malformed',
        { code: 'too_many_certificates', message: boundText(error.message) },
        revocation,
        platform,
        name,
      );
    if (!isEvaluationError(error)) throw error;
    const code = error.code === 'ERR_TRUST_MALFORMED_CERTIFICATE' ? 'malformed_certificate' : 'evaluation_failed';
    return failure(base, 'malformed', { code, message: boundText(error.message) }, revocation, platform, name);
  }

  const atSystem = evaluationReport(systemResult, systemMs);
  const atCorrected =
    correctedResult === null || correctedMs === null ? null : evaluationReport(correctedResult, correctedMs);
  let diagnosis: DiagnosisCode = atSystem.diagnosis;
  // Untrusted by this machine's clock, trusted at the corrected time: the clock is the problem.
  if (!systemResult.trusted && correctedResult?.trusted) diagnosis = 'clock_skew';
  const decisiveResult = diagnosis === 'clock_skew' && correctedResult ? correctedResult : systemResult;
  const decisive = decisiveResult.evaluation;
  const decisiveMs = decisiveResult === correctedResult && correctedMs !== null ? correctedMs : systemMs;

  // Revocation, as the decisive evaluation saw it: revoked when the OS found any certificate
  // revoked, else the leaf's own status (leafRevocation).
  let status: RevocationStatus = 'off';
  let revocationCode: RevocationCode | null = null;
  let revocationError: string | null = null;
  if (revocation !== 'off') {
    const kind = errorClass(decisive.errorCode, platform);
    const leafOwn = ocsp === null ? 'unknown' : leafRevocation(ocsp.leaf.response !== null, decisive, probe, platform);
    if (kind === 'revoked') status = 'revoked';
    else if (ocsp === null) {
      status = 'not_checked';
      revocationCode = 'chain_not_trusted';
    } else if (leafOwn !== 'unknown') status = leafOwn;
    else if (!decisiveResult.trusted && kind !== 'revocation_unknown') {
      status = 'not_checked';
      revocationCode = 'chain_not_trusted';
    } else if (ocsp?.leaf.code === 'no_responder' && decisiveResult.trusted) {
      // Nothing to ask: soft checking has no finding to report (require refuses natively).
      status = 'not_checked';
      revocationCode = 'no_responder';
      revocationError = ocsp.leaf.error;
    } else {
      status = 'unknown';
      revocationCode = ocsp?.leaf.code ?? 'response_unusable';
      revocationError =
        ocsp?.leaf.error ?? "the responder's answer could not be used (signature, responder or freshness)";
    }
  }
  const findings: DiagnosisCode[] = [diagnosis];
  for (const f of decisiveResult.faults) if (!findings.includes(f.code)) findings.push(f.code);
  if (status === 'unknown' && !findings.includes('revocation_unknown')) findings.push('revocation_unknown');
  // Trusted by this clock but not at the corrected time: the clock hides a problem.
  if (systemResult.trusted && atCorrected && !atCorrected.trusted && !findings.includes(atCorrected.diagnosis))
    findings.push(atCorrected.diagnosis);
  const faults = decisiveResult.faults.map((f) => faultReport(f, decisive.chain));
  const headlineFault = faults.find((f) => f.code === diagnosis) ?? null;

  const leaf = decisive.chain[0] ?? null;
  const referenceMs = correctedMs ?? systemMs;
  const leafExpiresInDays = leaf?.notAfter == null ? null : Math.floor((leaf.notAfter - referenceMs) / DAY_MS);
  const bad =
    diagnosis === 'expired' || diagnosis === 'not_yet_valid' ? outOfValidity(decisive.chain, decisiveMs) : null;
  const headlineIndex = headlineFault?.certificate ?? null;
  const about = bad
    ? { cert: decisive.chain[bad.index]!, index: bad.index }
    : headlineIndex !== null && decisive.chain[headlineIndex]
      ? { cert: decisive.chain[headlineIndex]!, index: headlineIndex }
      : leaf
        ? { cert: leaf, index: 0 }
        : null;
  const top = decisive.chain[decisive.chain.length - 1] ?? null;
  const correctionInfo =
    correction === null || correctedMs === null
      ? null
      : {
          offsetMs: correctedMs - systemMs,
          source: correction.source,
          ntpHost: correction.kind === 'offset' ? correction.ntpHost : null,
        };

  return {
    ...base,
    trusted: systemResult.trusted,
    result: atSystem.result,
    diagnosis,
    findings,
    faults,
    paths_tried: decisiveResult.pathsTried,
    error: atSystem.error,
    at_system_time: atSystem,
    at_corrected_time:
      atCorrected && correctionInfo
        ? { ...atCorrected, source: correctionInfo.source, offset_ms: Math.round(correctionInfo.offsetMs) }
        : null,
    revocation: {
      mode: revocation,
      checked: status === 'good' || status === 'revoked',
      status,
      code: revocationCode,
      responder: ocsp?.leaf.responder ?? null,
      error: revocationError,
      requests: ocsp?.requests ?? [],
    },
    chain: decisive.chain.map(certificateReport),
    leaf_expires_in_days: leafExpiresInDays,
    hint: boundHint({
      diagnosis,
      name,
      kind: parsed.kind,
      platform,
      correction: correctionInfo,
      certificate: about
        ? {
            subject: about.cert.subject,
            issuer: about.cert.issuer,
            notBefore: about.cert.notBefore,
            notAfter: about.cert.notAfter,
            isLeaf: about.index === 0,
          }
        : null,
      top: top ? { subject: top.subject, issuer: top.issuer } : null,
      hostname,
      revocation:
        status === 'unknown'
          ? { responder: ocsp?.leaf.responder ?? null, error: revocationError }
          : status === 'revoked'
            ? { responder: ocsp?.leaf.responder ?? null, error: null }
            : null,
      message: decisive.errorMessage,
      leafExpiresInDays,
      detail: headlineFault?.message ?? null,
      otherFaults: Math.max(0, faults.length - (headlineFault ? 1 : 0)),
    }),
  };
}

/** A hint made from bounded parts: the names and messages it quotes are cut to 1 KiB each. */
function boundHint(input: Parameters<typeof trustHint>[0]): string | null {
  const cut = (s: string | null) => (s === null ? null : boundText(s));
  const hint = trustHint({
    ...input,
    name: boundText(input.name),
    hostname: cut(input.hostname),
    message: cut(input.message),
    detail: cut(input.detail ?? null),
    certificate: input.certificate && {
      ...input.certificate,
      subject: boundText(input.certificate.subject),
      issuer: boundText(input.certificate.issuer),
    },
    top: input.top && { subject: boundText(input.top.subject), issuer: boundText(input.top.issuer) },
  });
  return hint === null ? null : boundText(hint, 4 * 1024);
}

/** Exit code of `agentctl trust`: 0 trusted, 2 evaluated and not trusted, 1 could not evaluate. */
export function exitCodeOf(report: TrustReport): 0 | 1 | 2 {
  if (report.trusted) return 0;
  return report.at_system_time === null ? 1 : 2;
}
