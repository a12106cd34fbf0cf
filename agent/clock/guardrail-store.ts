// What of the guardrail survives a restart, in the state directory (agent/state). The snapshot
// is stored whole, so that `agentctl compliance` can read it without the daemon; the other
// fields are what the state machine itself needs back.
import * as z from 'zod/mini';
import { parseStateText, StateFile } from '../state/state-file.js';
import type { MachineState } from './guardrail-machine.js';
import { remediationCodes } from './codes.js';
import type { RemediationRecord } from './remediation.js';

export const guardrailStateFile = 'clock-guardrail.json';

const remediationRecordSchema = z.object({
  at_ms: z.number(),
  argv: z.array(z.string()),
  exit_code: z.nullable(z.number()),
  signal: z.nullable(z.string()),
  output: z.string(),
  error: z.nullable(z.string()),
  // Absent in files written before reason codes: read as null.
  code: z._default(z.nullable(z.enum(remediationCodes)), null),
  duration_ms: z.number(),
});

const persistedSchema = z.object({
  version: z.literal(1),
  updated_at_ms: z.number(),
  level: z.nullable(z.enum(['ok', 'warn', 'active'])),
  state: z.enum(['ok', 'warn', 'active', 'uncertain']),
  below_release_count: z.int().check(z.nonnegative()),
  state_since_ms: z.nullable(z.number()),
  active_since_ms: z.nullable(z.number()),
  compliance_since_ms: z.nullable(z.number()),
  last_remediation: z.nullable(remediationRecordSchema),
  snapshot: z.record(z.string(), z.unknown()),
});
export type PersistedGuardrail = z.infer<typeof persistedSchema>;

/** Reads and validates a state file's text; throws with a one-sentence reason. */
export function parsePersistedGuardrail(text: string): PersistedGuardrail {
  return parseStateText(text, persistedSchema);
}

export function guardrailStore(stateDir: string): StateFile<PersistedGuardrail> {
  return new StateFile(stateDir, guardrailStateFile, persistedSchema);
}

export function machineOf(saved: PersistedGuardrail): MachineState {
  return {
    state: saved.state,
    level: saved.level,
    belowReleaseCount: saved.below_release_count,
    stateSinceMs: saved.state_since_ms,
    activeSinceMs: saved.active_since_ms,
  };
}

export function persisted(
  machine: MachineState,
  extra: {
    nowMs: number;
    complianceSinceMs: number | null;
    lastRemediation: RemediationRecord | null;
    snapshot: object;
  },
): PersistedGuardrail {
  return {
    version: 1,
    updated_at_ms: extra.nowMs,
    level: machine.level,
    state: machine.state,
    below_release_count: machine.belowReleaseCount,
    state_since_ms: machine.stateSinceMs,
    active_since_ms: machine.activeSinceMs,
    compliance_since_ms: extra.complianceSinceMs,
    last_remediation: extra.lastRemediation,
    snapshot: extra.snapshot as Record<string, unknown>,
  };
}
