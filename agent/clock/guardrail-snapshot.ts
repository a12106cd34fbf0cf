// The snapshot the guardrail publishes: `agentctl status`'s Clock section, the state file's
// copy for `agentctl compliance`, and telemetry. A pure function of the machine, the last
// measurement and the settings.
import { isCode, uncertainReasons, type UncertainReason } from './codes.js';
import { roundMs, sourceReports, type ClockMeasurement, type Combination, type SourceReport } from './combine.js';
import { complianceFor, type ComplianceStatus } from './compliance.js';
import { releasePending, type MachineState } from './guardrail-machine.js';
import { hintFor } from './hint.js';
import type { GuardrailLevel, GuardrailThresholds } from './levels.js';
import type { RemediationRecord } from './remediation.js';
import type { GuardrailMode, GuardrailState } from './types.js';

/** JSON-ready (snake_case) view of the guardrail: `agentctl status`'s Clock section and telemetry. */
export interface GuardrailSnapshot {
  state: GuardrailState;
  /** The last confident level; null before the first confident estimate. */
  last_confident_state: GuardrailLevel | null;
  mode: GuardrailMode;
  state_since_ms: number | null;
  active_since_ms: number | null;
  measured_at_ms: number | null;
  offset_ms: number | null;
  uncertainty_ms: number | null;
  confident: boolean;
  uncertain_reason: UncertainReason | null;
  agreeing_sources: number;
  usable_sources: number;
  total_sources: number;
  sources: SourceReport[];
  falsetickers: string[];
  hint: string | null;
  thresholds: {
    warn_seconds: number;
    enforce_seconds: number;
    warn_release_seconds: number;
    enforce_release_seconds: number;
    release_measurements: number;
  };
  /** When a level is held by hysteresis: how many more low rounds clear it. */
  release_pending: { remaining: number; below_seconds: number } | null;
  compliance: ComplianceStatus;
  remediation: {
    enabled: boolean;
    command: string[] | null;
    last: RemediationRecord | null;
    next_allowed_at_ms: number | null;
  };
}

export interface SnapshotInput {
  machine: MachineState;
  /** The round just evaluated; null right after a restart (the stored snapshot fills in). */
  measurement: ClockMeasurement | null;
  stored: Record<string, unknown> | null;
  thresholds: GuardrailThresholds;
  mode: GuardrailMode;
  platform: NodeJS.Platform;
  remediationCommand: readonly string[] | null;
  remediationIntervalMs: number;
  complianceSinceMs: number | null;
  lastRemediation: RemediationRecord | null;
}

const emptyCombination: Combination = {
  confident: false,
  offsetMs: null,
  uncertaintyMs: null,
  agreeing: [],
  falsetickers: [],
  sources: [],
  samples: [],
  failures: [],
  usable: 0,
  total: 0,
  uncertainReason: 'no_sources',
};

export function buildSnapshot(input: SnapshotInput): GuardrailSnapshot {
  const {
    machine,
    measurement,
    stored,
    thresholds,
    mode,
    platform,
    remediationCommand,
    remediationIntervalMs,
    complianceSinceMs,
    lastRemediation,
  } = input;
  const c = measurement?.combination ?? emptyCombination;
  const { warnSeconds, enforceSeconds, hysteresisSeconds, releaseMeasurements } = thresholds;
  const release = releasePending(machine, thresholds);
  const hint = measurement
    ? hintFor({
        state: machine.state,
        combination: c,
        release: release && { remaining: release.remaining, belowSeconds: release.below_seconds },
        platform: platform,
        remediationCommand: remediationCommand,
      })
    : stored && typeof stored.hint === 'string'
      ? stored.hint
      : machine.state === 'uncertain'
        ? 'The agent has not measured the clock yet.'
        : null;
  const compliance = complianceFor({
    mode: mode,
    state: machine.state,
    level: machine.level,
    hint,
    sinceMs: complianceSinceMs,
  });
  const enabled = mode !== 'observe' && !!remediationCommand && remediationCommand.length > 0;
  const lastAt = lastRemediation?.at_ms ?? null;
  const restoredNumber = (key: string): number | null =>
    stored && typeof stored[key] === 'number' ? (stored[key] as number) : null;
  return {
    state: machine.state,
    last_confident_state: machine.level,
    mode: mode,
    state_since_ms: machine.stateSinceMs,
    active_since_ms: machine.activeSinceMs,
    measured_at_ms: measurement?.measuredAtMs ?? restoredNumber('measured_at_ms'),
    offset_ms: measurement ? roundMs(c.offsetMs) : restoredNumber('offset_ms'),
    uncertainty_ms: measurement ? roundMs(c.uncertaintyMs) : restoredNumber('uncertainty_ms'),
    confident: measurement ? c.confident : stored?.confident === true,
    uncertain_reason: measurement
      ? c.uncertainReason
      : isCode(uncertainReasons, stored?.uncertain_reason)
        ? stored.uncertain_reason
        : null,
    agreeing_sources: measurement ? c.agreeing.length : (restoredNumber('agreeing_sources') ?? 0),
    usable_sources: measurement ? c.usable : (restoredNumber('usable_sources') ?? 0),
    total_sources: measurement ? c.total : (restoredNumber('total_sources') ?? 0),
    sources: measurement ? sourceReports(c) : Array.isArray(stored?.sources) ? (stored.sources as SourceReport[]) : [],
    falsetickers: measurement
      ? c.falsetickers.map((s) => s.address)
      : Array.isArray(stored?.falsetickers)
        ? (stored.falsetickers as string[])
        : [],
    hint,
    thresholds: {
      warn_seconds: warnSeconds,
      enforce_seconds: enforceSeconds,
      warn_release_seconds: warnSeconds - hysteresisSeconds,
      enforce_release_seconds: enforceSeconds - hysteresisSeconds,
      release_measurements: releaseMeasurements,
    },
    release_pending: release,
    compliance: { ...compliance, since_ms: complianceSinceMs },
    remediation: {
      enabled,
      command: remediationCommand ? [...remediationCommand] : null,
      last: lastRemediation,
      next_allowed_at_ms: enabled ? (lastAt === null ? null : lastAt + remediationIntervalMs) : null,
    },
  };
}
