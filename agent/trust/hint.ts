// One sentence per diagnosis that a support person can act on. Sign convention as the clock's:
// offset = corrected − system time, so a positive offset means this machine's clock is slow.
import type { DiagnosisCode } from './diagnosis.js';

export interface HintInput {
  diagnosis: DiagnosisCode;
  /** "login.acme.com" for a URL, the path for a file. */
  name: string;
  kind: 'url' | 'file';
  platform: NodeJS.Platform;
  /** Corrected − system time (ms) and where it came from, when there is a corrected time. */
  correction: { offsetMs: number; source: string; ntpHost: string | null } | null;
  /** The certificate the diagnosis is about (subject, validity), when there is one. */
  certificate: {
    subject: string;
    issuer: string;
    notBefore: number | null;
    notAfter: number | null;
    isLeaf: boolean;
  } | null;
  /** The top of the chain as evaluated (untrusted roots, missing intermediates). */
  top: { subject: string; issuer: string } | null;
  hostname: string | null;
  revocation: { responder: string | null; error: string | null } | null;
  /** The OS's message, for malformed chains. */
  message: string | null;
  /** Days until the leaf expires (reference time), for the "expires soon" note on ok. */
  leafExpiresInDays: number | null;
  /** The headline fault's own sentence (the certificate it concerns and what is wrong). */
  detail?: string | null;
  /** How many other faults the report lists besides the headline's. */
  otherFaults?: number;
}

/** "94 s", "2.5 s", "350 ms", "3.2 h", "12 days": readable at a glance. */
export function formatSkew(offsetMs: number): string {
  const abs = Math.abs(offsetMs);
  if (abs >= 2 * 86_400_000) return `${Math.round(abs / 86_400_000)} days`;
  if (abs >= 2 * 3_600_000) return `${(abs / 3_600_000).toFixed(1)} h`;
  if (abs >= 10_000) return `${Math.round(abs / 1000)} s`;
  if (abs >= 1_000) return `${(abs / 1000).toFixed(1)} s`;
  return `${Math.round(abs)} ms`;
}

/** The command that steps this machine's clock now. */
export function clockFixCommand(platform: NodeJS.Platform, ntpHost: string | null): string {
  if (platform === 'darwin') return `sudo sntp -sS ${ntpHost ?? 'time.apple.com'}`;
  return 'sudo chronyc makestep';
}

function day(ms: number | null): string {
  return ms === null ? 'an unknown date' : new Date(ms).toISOString().slice(0, 10);
}

function commonName(dn: string): string {
  const cn = /(?:^|,)CN=((?:\\.|[^,\\])*)/.exec(dn);
  return cn ? cn[1]!.replace(/\\(.)/g, '$1') : dn;
}

/** A hint for the report; null when there is nothing to do. It says when other problems exist. */
export function trustHint(input: HintInput): string | null {
  const hint = headlineHint(input);
  const others = input.otherFaults ?? 0;
  if (hint === null || others === 0) return hint;
  return `${hint} ${others === 1 ? 'One other problem is' : `${others} other problems are`} listed under Findings.`;
}

function headlineHint(input: HintInput): string | null {
  const { name, certificate: cert } = input;
  const subject = input.kind === 'url' ? `the certificate of ${name}` : `the certificate in ${name}`;
  const Subject = subject[0]!.toUpperCase() + subject.slice(1);
  const which =
    cert && !cert.isLeaf ? `the CA certificate "${commonName(cert.subject)}" in the chain of ${name}` : subject;
  const Which = which[0]!.toUpperCase() + which.slice(1);
  switch (input.diagnosis) {
    case 'ok': {
      if (input.revocation?.error)
        return `Revocation of ${subject} could not be checked (${input.revocation.error}); it is trusted without that check.`;
      const days = input.leafExpiresInDays;
      // Days count from the reference time: with --at (or a corrected time) after the leaf's
      // expiry they are negative, and the certificate is only trusted by this machine's clock.
      if (days !== null && days < 0)
        return `${Subject} expired ${-days} day${days === -1 ? '' : 's'} before that time (${input.correction?.source ?? 'the corrected time'}); it is trusted only at this machine's time: renew it.`;
      if (days !== null && days <= 30)
        return `${Subject} expires in ${days} day${days === 1 ? '' : 's'}: renew it before then.`;
      return null;
    }
    case 'clock_skew': {
      const c = input.correction;
      if (!c)
        return `${Subject} is valid at the corrected time but not by this machine's clock: check the clock with agentctl time.`;
      const direction = c.offsetMs > 0 ? 'slow' : 'fast';
      return `Clock is ${formatSkew(c.offsetMs)} ${direction} (${c.source}); ${subject} is valid at the corrected time. Run: ${clockFixCommand(input.platform, c.ntpHost)}`;
    }
    case 'expired':
      return `${Which} expired on ${day(cert?.notAfter ?? null)}: ${input.kind === 'url' ? "the server's administrator must renew it" : 'replace it with a renewed one'}. If this machine's clock is wrong, check it with agentctl time.`;
    case 'not_yet_valid':
      return `${Which} is valid only from ${cert?.notBefore ? new Date(cert.notBefore).toISOString() : 'a later date'}: either this machine's clock is behind (check with agentctl time) or the certificate was installed too early.`;
    case 'untrusted_root': {
      const root = input.top
        ? commonName(input.top.subject === input.top.issuer ? input.top.subject : input.top.issuer)
        : 'an unknown CA';
      return `The chain of ${name} ends at "${root}", which this machine does not trust: install that root CA through a configuration profile (or pass it with --ca to check).`;
    }
    case 'incomplete_chain': {
      const issuer = input.top ? commonName(input.top.issuer) : 'its issuer';
      return input.kind === 'url'
        ? `${name} sends its certificate without the intermediate CA "${issuer}": the server must send the full chain.`
        : `${name} holds the certificate without the intermediate CA "${issuer}": add it after the leaf.`;
    }
    case 'hostname_mismatch':
      return `${Subject} is issued to "${cert ? commonName(cert.subject) : 'another name'}", not to ${input.hostname ?? name}: check the URL, or the server must present a certificate for that name.`;
    case 'revoked':
      return `${Which} was revoked by its CA${input.revocation?.responder ? ` (OCSP ${input.revocation.responder})` : ''}: ${input.kind === 'url' ? 'the server needs a new certificate' : 'replace it'}; do not trust it.`;
    case 'revocation_unknown':
      return `Revocation of ${subject} could not be checked${input.revocation?.error ? ` (${input.revocation.error})` : ''}, and TrustRevocation require refuses it without a positive answer: check access to the OCSP responder.`;
    case 'malformed':
      return `${Subject} cannot be used: ${input.detail ?? input.message ?? 'its data is malformed'}.`;
    case 'bad_signature':
      return `A signature in the chain of ${name} does not verify (${input.detail ?? input.message ?? 'bad signature'}): the certificate was altered or the wrong intermediate is ${input.kind === 'url' ? 'sent' : 'in the file'}; do not trust it.`;
    case 'name_not_permitted':
      return `${Subject} names a host its CA may not issue for (${input.detail ?? 'name constraints'}): the CA's administrator must issue it under an allowed name.`;
    case 'weak_key':
      return `macOS refuses a key in the chain of ${name} as too weak (${input.detail ?? 'key size'}): the certificate must be reissued with RSA 2048 bits or more, or ECDSA P-256 or larger.`;
    case 'weak_signature':
      return `macOS refuses a signature in the chain of ${name} (${input.detail ?? 'weak hash'}): the certificate must be reissued with SHA-256 or better.`;
    case 'bad_usage':
      return `A certificate in the chain of ${name} is used for what it may not do (${input.detail ?? 'usage'}): the certificate must be reissued with the right usages.`;
    case 'nonconforming':
      return `A certificate in the chain of ${name} breaks the X.509 profile (${input.detail ?? 'profile'}): the CA must reissue it.`;
    case 'validity_too_long':
      return `macOS refuses ${subject}: ${input.detail ?? 'its validity period is too long'}. It must be reissued with a shorter validity.`;
    case 'unreachable':
      return input.kind === 'url'
        ? `Cannot fetch the certificate of ${name}${input.message ? ` (${input.message})` : ''}: check the URL, the network, and any proxy or firewall.`
        : `Cannot read ${name}${input.message ? ` (${input.message})` : ''}: check the path and its permissions.`;
  }
}
