// The guardrail's thresholds and how a skew is classified: the one place for both (the
// daemon's guardrail, `agentctl time`, and the configuration defaults use them).
import type { GuardrailState } from './types.js';

export type GuardrailLevel = Exclude<GuardrailState, 'uncertain'>;

export interface GuardrailThresholds {
  /** |skew| at or above which the state is `warn`. */
  warnSeconds: number;
  /** |skew| at or above which the guardrail is `active`. */
  enforceSeconds: number;
  /** A level is left only below its threshold minus this. */
  hysteresisSeconds: number;
  /** …for this many consecutive confident rounds. */
  releaseMeasurements: number;
}

export const defaultThresholds: GuardrailThresholds = {
  warnSeconds: 30,
  enforceSeconds: 75,
  hysteresisSeconds: 15,
  releaseMeasurements: 2,
};

export function classify(skewSeconds: number, warnSeconds: number, enforceSeconds: number): GuardrailLevel {
  if (skewSeconds >= enforceSeconds) return 'active';
  if (skewSeconds >= warnSeconds) return 'warn';
  return 'ok';
}

/** The state of one round on its own (no hysteresis): uncertain without a confident offset. */
export function stateOfOffset(
  confident: boolean,
  offsetMs: number | null,
  thresholds: { warnSeconds: number; enforceSeconds: number },
): GuardrailState {
  if (!confident || offsetMs === null) return 'uncertain';
  return classify(Math.abs(offsetMs) / 1000, thresholds.warnSeconds, thresholds.enforceSeconds);
}
