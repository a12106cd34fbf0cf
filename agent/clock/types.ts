// Shared shapes of the clock capability. Offsets follow NTP's sign convention:
// offset = reference − system, so a positive offset means the system clock is behind.
import type { GuardrailState, SourceFailureCode } from './codes.js';

export type { GuardrailState };

/** `nts`: NTP authenticated by NTS (RFC 8915), the kind that is `authenticated` (auth-policy.ts). */
export type SourceKind = 'ntp' | 'https' | 'nts';

/** One time source's result for one measurement round. */
export type SourceMeasurement = SourceSample | SourceFailure;

export interface SourceSample {
  ok: true;
  kind: SourceKind;
  /** What the admin configured: "host:port" for NTP, the URL for HTTPS. */
  address: string;
  offsetMs: number;
  /** Round-trip delay of the chosen (lowest-delay) sample. */
  delayMs: number;
  /**
   * Half-width of the interval this source vouches for: the true offset lies in
   * [offsetMs − uncertaintyMs, offsetMs + uncertaintyMs]. NTP: delay/2 + root distance;
   * HTTPS: RTT/2 + 0.5 s (the Date header's 1 s resolution).
   */
  uncertaintyMs: number;
  stratum: number | null;
  /** NTP only: root delay/2 + root dispersion reported by the server. */
  rootDistanceMs: number | null;
  /** How many samples were taken and how many passed every check. */
  samplesSent: number;
  samplesValid: number;
  /** Wall clock (Unix ms) when the measurement completed. */
  measuredAtMs: number;
}

export interface SourceFailure {
  ok: false;
  kind: SourceKind;
  address: string;
  /** What went wrong, as a stable code (codes.ts), e.g. "origin_mismatch". */
  code: SourceFailureCode;
  /** One sentence: what went wrong, e.g. "reply origin timestamp does not match request". */
  error: string;
  /** Kiss-o'-Death code when the server sent one (RATE, DENY, RSTR, …). */
  kissCode: string | null;
  measuredAtMs: number;
}

export type GuardrailMode = 'observe' | 'remediate' | 'enforce';
