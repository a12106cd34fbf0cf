// The Clock and Compliance sections' problems for the summary of `agentctl status` (codes in
// docs/codes.md, "Status problems"). Imported by the status command: no heavy imports.
import type { Problem } from '../capability.js';
import { formatSkew } from './wording.js';

export const clockProblemCodes = [
  'clock_active',
  'clock_warn',
  'clock_uncertain',
  'time_source_failing',
  'time_source_falseticker',
] as const;
export const complianceProblemCodes = ['device_non_compliant'] as const;

interface SourceRow {
  kind?: string;
  address?: string;
  status?: string;
  code?: string | null;
  error?: string | null;
}

/** Why a round is not confident, in plain words (the codes are in docs/codes.md). */
const uncertainWords: Record<string, [sentence: string, fix: string]> = {
  no_sources: [
    'no time source gave a sample, so the clock is not checked',
    'configure at least three NTP servers (NTPServers) and check the rows of the sources',
  ],
  single_source: [
    'only one time source answered, and one source is never trusted alone',
    'configure at least three independent sources; check why the others fail',
  ],
  no_agreement: [
    'no two time sources agree',
    'find the wrong sources by their offsets (status --verbose) and configure more',
  ],
  tie: ['two groups of time sources agree equally', 'configure an odd number of sources'],
  no_majority: [
    'no majority of the time sources agree',
    'find the wrong sources by their offsets (status --verbose) and configure more',
  ],
};

/** A source's failure in plain words, from its code (the sentence the daemon made is in `error`). */
function sourceFailure(code: string | null | undefined): [what: string, fix: string] {
  switch (code) {
    case 'timeout':
      return ['did not answer', 'check that the server runs and that UDP 123 (TCP 443 for HTTPS) is open'];
    case 'dns':
      return ['has a name that does not resolve', 'check the name in the configuration and DNS on the Mac'];
    case 'send_failed':
    case 'network_unreachable':
      return ['cannot be reached from this network', "check the Mac's network connection"];
    case 'connection_refused':
      return ['refused the connection', 'check the host and port and that the server runs'];
    case 'duplicate':
      return ['is the same server as another entry', 'remove the duplicate entry or list an independent server'];
    case 'tls_untrusted':
      return ['has a certificate this Mac does not trust', 'add its CA to HTTPSTimeCAFile or fix the host name'];
    default:
      return [
        `gave no usable time (${code ?? 'error'})`,
        'see docs/codes.md for the code; replace the server if it persists',
      ];
  }
}

export function clockProblems(section: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const sources = Array.isArray(section.sources) ? (section.sources as SourceRow[]) : [];
  const measured = typeof section.measurements !== 'number' || section.measurements > 0;
  const hint = typeof section.hint === 'string' && section.hint ? section.hint : null;
  const offset = typeof section.offset_ms === 'number' ? section.offset_ms : null;
  const skew = offset === null ? '' : ` ${formatSkew(offset)} ${offset > 0 ? 'slow' : 'fast'}`;
  if (section.state === 'active')
    problems.push({
      code: 'clock_active',
      severity: 'error',
      sentence: `The clock is${skew}, past the enforce threshold: the guardrail is active.`,
      fix: hint ?? 'set the clock from a trusted time server',
    });
  else if (section.state === 'warn')
    problems.push({
      code: 'clock_warn',
      severity: 'warning',
      sentence: `The clock is${skew}, past the warn threshold.`,
      fix: hint ?? 'set the clock from a trusted time server',
    });
  else if (section.state === 'uncertain' && measured) {
    const reason = typeof section.uncertain_reason === 'string' ? section.uncertain_reason : '';
    const [sentence, fix] = uncertainWords[reason] ?? [
      'the time sources give no confident estimate',
      'see docs/codes.md',
    ];
    problems.push({ code: 'clock_uncertain', severity: 'warning', sentence: `Clock not checked: ${sentence}.`, fix });
  }
  for (const s of sources) {
    const name = `${(s.kind ?? '').toUpperCase()} ${s.address ?? '?'}`.trim();
    if (s.status === 'error') {
      const [what, fix] = sourceFailure(s.code);
      problems.push({
        code: 'time_source_failing',
        severity: 'warning',
        sentence: `Time source ${name} ${what}.`,
        fix,
      });
    } else if (s.status === 'falseticker')
      problems.push({
        code: 'time_source_falseticker',
        severity: 'warning',
        sentence: `Time source ${name} disagrees with the others.`,
        fix: 'check that server, or replace it in the configuration',
      });
  }
  return problems;
}

export function complianceProblems(section: Record<string, unknown>): Problem[] {
  if (section.compliant !== false && section.state !== 'non_compliant') return [];
  return [
    {
      code: 'device_non_compliant',
      severity: 'error',
      sentence: 'The device is non-compliant (enforce mode): its clock is off.',
      fix: 'correct the clock; it is compliant again after the next good measurement',
    },
  ];
}
