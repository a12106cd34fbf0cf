// The Trust section's problems for the summary of `agentctl status` (codes in docs/codes.md,
// "Status problems"). Imported by the status command: no heavy imports.
import type { Problem } from '../capability.js';

export const trustProblemCodes = ['trust_target_untrusted', 'trust_target_expiring', 'trust_check_failed'] as const;

interface TargetRow {
  target?: string;
  trusted?: boolean;
  diagnosis?: string;
  leaf_expires_in_days?: number | null;
}

/** Each diagnosis in plain words, and what to do (the codes stay in `status --json`). */
const diagnosisWords: Record<string, [what: string, fix: string]> = {
  clock_skew: ["only by this Mac's wrong clock", 'correct the clock (see the Clock problems); the certificate is fine'],
  expired: ['a certificate of its chain has expired', "the server's administrator renews the certificate"],
  not_yet_valid: ['a certificate of its chain is not valid yet', "check this Mac's clock with agentctl time"],
  untrusted_root: [
    'its chain ends at a CA this Mac does not trust',
    "install the organisation's root CA with a profile, or name it in TrustCAFiles",
  ],
  hostname_mismatch: [
    'its certificate is issued to another name',
    'check the URL; the server must present its own name',
  ],
  revoked: ['a certificate of its chain is revoked', 'the server needs a new certificate'],
  revocation_unknown: ['its revocation could not be checked', 'check access to the OCSP responder'],
  incomplete_chain: ['the server does not send its intermediate CA', 'the server must send the full chain'],
  malformed: ['its certificates cannot be used', 'replace the file or fix the server (status --json has the detail)'],
  unreachable: ['its certificates could not be fetched', 'check the URL, the network, a proxy or firewall'],
};

export function trustProblems(section: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const targets = Array.isArray(section.targets) ? (section.targets as TargetRow[]) : [];
  for (const t of targets) {
    const name = t.target ?? '?';
    const days = typeof t.leaf_expires_in_days === 'number' ? t.leaf_expires_in_days : null;
    if (t.trusted === false) {
      const [what, fix] = diagnosisWords[t.diagnosis ?? ''] ?? [
        `not trusted (${t.diagnosis ?? 'unknown'})`,
        'see docs/codes.md',
      ];
      const expired = t.diagnosis === 'expired' && days !== null && days < 0 ? ` ${-days} days ago` : '';
      problems.push({
        code: 'trust_target_untrusted',
        severity: 'error',
        sentence: `${name} is not trusted: ${what}${expired}.`,
        fix,
      });
    } else if (t.trusted === true && days !== null && days <= 14)
      problems.push({
        code: 'trust_target_expiring',
        severity: 'warning',
        sentence: `${name}: its certificate expires in ${days} day${days === 1 ? '' : 's'}.`,
        fix: "the server's administrator renews the certificate now",
      });
  }
  if (typeof section.last_check_error === 'string' && section.last_check_error)
    problems.push({
      code: 'trust_check_failed',
      severity: 'error',
      sentence: 'The last round of trust checks failed.',
      fix: 'read trust.last_check_error in status --json and the log',
    });
  return problems;
}
