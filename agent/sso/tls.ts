// Whose roots a chain is trusted through. TLS interception (Microsoft: "Microsoft Enterprise
// SSO plug-in for Apple devices", the section on TLS inspection) shows as a chain for Apple's
// CDN or the IdP that the system's own roots do not trust, but that an anchor added to the store
// (an inspection proxy's root) does. The evaluation itself is the trust capability's
// (native/trust.ts through agent/trust); this file only decides which anchors are "the system's".
//
// The system's own roots: on macOS the certificates of
// /System/Library/Keychains/SystemRootCertificates.keychain (Apple's "List of available trusted
// root certificates", support.apple.com/103272, names that keychain as the system trust store;
// roots added by an administrator live in /Library/Keychains/System.keychain instead). On Linux,
// the bundle SSL_CERT_FILE names when set (OpenSSL's convention; tests point it at a test
// bundle), else the distribution's store the addon reads (/etc/ssl/certs).
import { execFile } from 'node:child_process';
import { evaluateTrust, trustLimits, type TrustEvaluation } from '../../native/trust.js';
import { caFileLimits, parsePem, readCertificateFile } from '../trust/certificates.js';
import { diagnoseEvaluation, type DiagnosisCode } from '../trust/diagnosis.js';
import { trustHint } from '../trust/hint.js';

export interface TrustSetup {
  /** The system's own roots when they are given explicitly; null: the OS's default store. */
  system: Buffer[] | null;
  /** Where `system` came from (shown in details). */
  systemSource: string;
  /** Anchors beyond the system's own (--ca). */
  extra: Buffer[];
  /** The system's roots could not be listed: interception is not checked. */
  systemUnknown: string | null;
  platform: NodeJS.Platform;
}

export const systemRootsKeychain = '/System/Library/Keychains/SystemRootCertificates.keychain';

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

/** The anchors of this run. Never throws for the system store; --ca files are read by the caller. */
export async function trustSetup(
  extra: Buffer[],
  options: { timeoutMs: number; platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv },
): Promise<TrustSetup> {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  if (platform === 'darwin') {
    try {
      const pem = await run(
        '/usr/bin/security',
        ['find-certificate', '-a', '-p', systemRootsKeychain],
        options.timeoutMs,
      );
      const roots = parsePem(pem, caFileLimits, systemRootsKeychain);
      return { system: roots, systemSource: systemRootsKeychain, extra, systemUnknown: null, platform };
    } catch (error) {
      return {
        system: null,
        systemSource: 'the system keychains',
        extra,
        systemUnknown: `security find-certificate: ${(error as Error).message.slice(0, 120)}`,
        platform,
      };
    }
  }
  const bundle = env.SSL_CERT_FILE;
  if (bundle) {
    try {
      const roots = await readCertificateFile(bundle, caFileLimits);
      return { system: roots, systemSource: bundle, extra, systemUnknown: null, platform };
    } catch (error) {
      return {
        system: null,
        systemSource: '/etc/ssl/certs',
        extra,
        systemUnknown: `SSL_CERT_FILE: ${(error as Error).message.slice(0, 120)}`,
        platform,
      };
    }
  }
  return { system: null, systemSource: '/etc/ssl/certs', extra, systemUnknown: null, platform };
}

export type ChainVerdict =
  | { kind: 'trusted'; root: string | null }
  | { kind: 'intercepted'; root: string }
  | { kind: 'untrusted'; diagnosis: DiagnosisCode; hint: string | null; message: string | null }
  | { kind: 'malformed'; message: string };

export function commonName(dn: string): string {
  const cn = /(?:^|,)CN=((?:\\.|[^,\\])*)/.exec(dn);
  return (cn ? cn[1]!.replace(/\\(.)/g, '$1') : dn).slice(0, 120);
}

function topName(evaluation: TrustEvaluation): string | null {
  const top = evaluation.chain[evaluation.chain.length - 1];
  return top ? commonName(top.subject) : null;
}

/**
 * Evaluates a server's chain for `hostname` against the system's own roots, then with the added
 * anchors too: trusted only the second way is interception. Never throws.
 */
export async function judgeChain(chain: Buffer[], hostname: string, setup: TrustSetup): Promise<ChainVerdict> {
  if (chain.length === 0) return { kind: 'malformed', message: 'the server sent no certificate' };
  const now = Date.now();
  const base = {
    chain: chain.slice(0, trustLimits.chainCertificates),
    policy: 'ssl' as const,
    hostname,
    verifyDate: now,
  };
  const system = setup.system?.slice(0, trustLimits.anchors) ?? null;
  const room = trustLimits.anchors - (system?.length ?? 0);
  try {
    // The system's own roots only (macOS: the system roots keychain, not admin-added roots).
    const own = await evaluateTrust(system ? { ...base, anchors: system, anchorsOnly: true } : base);
    if (own.trusted) return { kind: 'trusted', root: topName(own) };
    // With everything this machine (and --ca) trusts.
    const all = await evaluateTrust(
      setup.platform === 'darwin'
        ? { ...base, anchors: setup.extra.slice(0, trustLimits.anchors) }
        : system
          ? { ...base, anchors: [...system, ...setup.extra.slice(0, room)], anchorsOnly: true }
          : { ...base, anchors: setup.extra.slice(0, trustLimits.anchors) },
    );
    if (all.trusted && !setup.systemUnknown) return { kind: 'intercepted', root: topName(all) ?? 'an unknown root' };
    if (all.trusted) return { kind: 'trusted', root: topName(all) };
    const diagnosis = diagnoseEvaluation(all, now, setup.platform);
    const leaf = all.chain[0] ?? null;
    const top = all.chain[all.chain.length - 1] ?? null;
    return {
      kind: 'untrusted',
      diagnosis,
      message: all.errorMessage,
      hint: trustHint({
        diagnosis,
        name: hostname,
        kind: 'url',
        platform: setup.platform,
        correction: null,
        certificate: leaf
          ? {
              subject: leaf.subject,
              issuer: leaf.issuer,
              notBefore: leaf.notBefore,
              notAfter: leaf.notAfter,
              isLeaf: true,
            }
          : null,
        top: top ? { subject: top.subject, issuer: top.issuer } : null,
        hostname,
        revocation: null,
        message: all.errorMessage,
        leafExpiresInDays: null,
      }),
    };
  } catch (error) {
    return { kind: 'malformed', message: (error as Error).message.slice(0, 200) };
  }
}
