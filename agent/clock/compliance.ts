// The device-compliance signal of the clock guardrail, and its renderings for MDM: a Jamf Pro
// extension attribute (`<result>…</result>`) and an Intune custom compliance discovery script
// (one line of JSON whose keys the rules file in examples/intune/ tests).
//
// Non-compliance needs evidence: only `enforce` mode marks a device non-compliant, and only
// while the guardrail is active on a confident estimate. An uncertain round after an active one
// keeps the device non-compliant — otherwise blocking the time sources would clear it.
import type { ComplianceState } from './codes.js';
import type { GuardrailMode, GuardrailState } from './types.js';

export type { ComplianceState };

export interface ComplianceStatus {
  state: ComplianceState;
  /** True in `enforce` mode: the state can become non_compliant. */
  enforced: boolean;
  /** One sentence: why. */
  reason: string;
  /** Wall clock (Unix ms) when this compliance state began; null when unknown. */
  since_ms: number | null;
}

export function complianceFor(input: {
  mode: GuardrailMode;
  state: GuardrailState;
  /** The last confident level (ok/warn/active), null before the first confident estimate. */
  level: Exclude<GuardrailState, 'uncertain'> | null;
  hint: string | null;
  sinceMs: number | null;
}): Omit<ComplianceStatus, 'since_ms'> {
  if (input.mode !== 'enforce') {
    return {
      state: 'compliant',
      enforced: false,
      reason: `The clock guardrail is in ${input.mode} mode, so it does not mark the device non-compliant.`,
    };
  }
  if (input.level === 'active') {
    const reason =
      input.state === 'active'
        ? (input.hint ?? 'The clock guardrail is active.')
        : `The clock guardrail is active and no confident measurement has cleared it since: ${input.hint ?? 'check the time sources.'}`;
    return { state: 'non_compliant', enforced: true, reason };
  }
  if (input.level === null) {
    return {
      state: 'compliant',
      enforced: true,
      reason: 'No confident clock estimate yet; the device is not marked non-compliant without one.',
    };
  }
  return {
    state: 'compliant',
    enforced: true,
    reason:
      input.level === 'warn'
        ? (input.hint ?? 'The clock is off, below the enforce threshold.')
        : 'The clock agrees with the time sources.',
  };
}

export function formatJamf(status: ComplianceStatus): string {
  // Jamf stores the text between the tags as the attribute's value; keep it one line, no tags.
  const reason = status.reason.replace(/[\r\n]+/g, ' ').replace(/<\/?result>/gi, '');
  if (status.state === 'compliant') return '<result>Compliant</result>';
  if (status.state === 'unknown') return `<result>Unknown: ${reason}</result>`;
  return `<result>NonCompliant: ${reason}</result>`;
}

/** Keys of the Intune discovery JSON; examples/intune/trustguard-clock-rules.json tests them. */
export interface IntuneDiscovery {
  TrustGuardClockCompliance: 'Compliant' | 'NonCompliant' | 'Unknown';
  TrustGuardClockState: GuardrailState | 'unknown';
  TrustGuardClockOffsetSeconds: number | null;
  TrustGuardClockReason: string;
}

export function intuneDiscovery(
  status: ComplianceStatus,
  state: GuardrailState | 'unknown',
  offsetMs: number | null,
): IntuneDiscovery {
  const value =
    status.state === 'compliant' ? 'Compliant' : status.state === 'non_compliant' ? 'NonCompliant' : 'Unknown';
  return {
    TrustGuardClockCompliance: value,
    TrustGuardClockState: state,
    TrustGuardClockOffsetSeconds: offsetMs === null ? null : Math.round(offsetMs / 100) / 10,
    TrustGuardClockReason: status.reason,
  };
}

export function formatIntune(discovery: IntuneDiscovery): string {
  return JSON.stringify(discovery);
}
