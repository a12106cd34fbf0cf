// Hand-made time-source results for tests of the combination, the guardrail and compliance.
import type { SourceFailure, SourceSample } from '../../agent/clock/types.js';

let counter = 0;

/** An NTP sample at `offsetMs` (± `uncertaintyMs`), from `address` or a fresh one. */
export function sample(offsetMs: number, uncertaintyMs = 2, address = `10.0.0.${++counter}:123`): SourceSample {
  return {
    ok: true,
    kind: 'ntp',
    address,
    offsetMs,
    delayMs: 0.2,
    uncertaintyMs,
    stratum: 1,
    rootDistanceMs: 0,
    samplesSent: 4,
    samplesValid: 4,
    measuredAtMs: 0,
  };
}

/** An NTP server that did not answer. */
export function failure(address: string): SourceFailure {
  return {
    ok: false,
    kind: 'ntp',
    address,
    code: 'timeout',
    error: 'no reply within 1000 ms',
    kissCode: null,
    measuredAtMs: 0,
  };
}
