// The guardrail's state machine, pure: one confident or uncertain round in, the next state out.
// States go up at once and come down with hysteresis: a level is left only after
// `releaseMeasurements` consecutive confident rounds below its threshold minus
// `hysteresisSeconds` (with the defaults: active is left below 60 s, warn below 15 s). An
// uncertain round neither counts nor resets that count; it shows `uncertain` while the last
// confident level is kept for compliance and for the way back.
import { classify, type GuardrailLevel, type GuardrailThresholds } from './levels.js';
import type { GuardrailState } from './types.js';

export interface MachineState {
  state: GuardrailState;
  /** The last confident level; null before the first confident estimate. */
  level: GuardrailLevel | null;
  belowReleaseCount: number;
  stateSinceMs: number | null;
  activeSinceMs: number | null;
}

export const initialMachine: MachineState = {
  state: 'uncertain',
  level: null,
  belowReleaseCount: 0,
  stateSinceMs: null,
  activeSinceMs: null,
};

export interface Step {
  next: MachineState;
  /** This round's own level, before hysteresis; null when the round was not confident. */
  rawLevel: GuardrailLevel | null;
  enteredActive: boolean;
  leftActive: boolean;
}

const rank: Record<GuardrailLevel, number> = { ok: 0, warn: 1, active: 2 };

export function atLeast(level: GuardrailLevel | null, than: GuardrailLevel): boolean {
  return level !== null && rank[level] >= rank[than];
}

/** One round: `offsetMs` is the combined offset when the round was confident, else null. */
export function step(
  machine: MachineState,
  offsetMs: number | null,
  thresholds: GuardrailThresholds,
  nowMs: number,
): Step {
  const { warnSeconds, enforceSeconds, hysteresisSeconds, releaseMeasurements } = thresholds;
  let { level, belowReleaseCount } = machine;
  let rawLevel: GuardrailLevel | null = null;
  let state: GuardrailState = 'uncertain';
  if (offsetMs !== null) {
    const skew = Math.abs(offsetMs) / 1000;
    rawLevel = classify(skew, warnSeconds, enforceSeconds);
    const current = level ?? 'ok';
    if (rank[rawLevel] >= rank[current]) {
      level = rawLevel;
      belowReleaseCount = 0;
    } else {
      const relaxed = classify(skew, warnSeconds - hysteresisSeconds, enforceSeconds - hysteresisSeconds);
      if (rank[relaxed] >= rank[current]) {
        level = current;
        belowReleaseCount = 0;
      } else if (belowReleaseCount + 1 >= releaseMeasurements) {
        level = relaxed;
        belowReleaseCount = 0;
      } else {
        level = current;
        belowReleaseCount += 1;
      }
    }
    state = level;
  }
  const enteredActive = level === 'active' && machine.level !== 'active';
  const leftActive = machine.level === 'active' && level !== 'active';
  return {
    next: {
      state,
      level,
      belowReleaseCount,
      stateSinceMs: state !== machine.state ? nowMs : machine.stateSinceMs,
      activeSinceMs: enteredActive ? nowMs : leftActive ? null : machine.activeSinceMs,
    },
    rawLevel,
    enteredActive,
    leftActive,
  };
}

/** When a level is held by hysteresis: how many more low rounds clear it, and below what. */
export function releasePending(
  machine: MachineState,
  thresholds: GuardrailThresholds,
): { remaining: number; below_seconds: number } | null {
  const held = machine.level !== null && machine.state === machine.level && machine.belowReleaseCount > 0;
  if (!held) return null;
  const threshold = machine.level === 'active' ? thresholds.enforceSeconds : thresholds.warnSeconds;
  return {
    remaining: thresholds.releaseMeasurements - machine.belowReleaseCount,
    below_seconds: threshold - thresholds.hysteresisSeconds,
  };
}
