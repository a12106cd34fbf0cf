// TimeSourcePolicy: how authenticated sources (NTS, RFC 8915) and unauthenticated ones (plain
// NTP, HTTPS Date) combine, in the spirit of chrony's `authselectmode`. Anyone on the path can
// answer for a plain NTP server; no one can answer for an NTS server without its keys. So:
//
//   require  only authenticated sources form the estimate; the others are reported, excluded
//            (`unauthenticated_excluded`).
//   prefer   (the default when any NTS source is configured) the authenticated sources form the
//            estimate among themselves first; an unauthenticated source joins the agreeing set
//            only when its interval meets theirs, so unauthenticated sources may not outvote
//            authenticated ones, and the estimate stays inside the authenticated interval.
//            When no authenticated source answered, the others are combined as before.
//   mix      all sources are combined as equals (combine.ts).
//   ignore   as mix; authentication plays no part (the default without NTS sources).
//
// Remediation (changing the machine's clock) needs, under require and prefer, a confident set of
// authenticated sources alone (an authenticated majority); under mix, at least one authenticated
// source among those agreeing; under ignore, what it always needed (a confident estimate).
import { combine, type Combination } from './combine.js';
import type { SourceMeasurement, SourceSample } from './types.js';
import { median } from '../stats.js';

export const timeSourcePolicies = ['require', 'prefer', 'mix', 'ignore'] as const;
export type TimeSourcePolicy = (typeof timeSourcePolicies)[number];

/** A source whose every sample is authenticated. */
export function isAuthenticated(m: Pick<SourceMeasurement, 'kind'>): boolean {
  return m.kind === 'nts';
}

/** The policy in force: the configured one, else prefer when any NTS source is configured. */
export function effectivePolicy(configured: TimeSourcePolicy | '' | undefined, ntsSources: number): TimeSourcePolicy {
  if (configured) return configured;
  return ntsSources > 0 ? 'prefer' : 'ignore';
}

export interface PolicyCombination extends Combination {
  policy: TimeSourcePolicy;
  /** The estimate may change the machine's clock under this policy (see above). */
  remediable: boolean;
}

export function combineWithPolicy(
  measurements: readonly SourceMeasurement[],
  policy: TimeSourcePolicy,
): PolicyCombination {
  if (policy === 'ignore') {
    const c = combine(measurements);
    return { ...c, policy, remediable: c.confident };
  }
  if (policy === 'mix') {
    const c = combine(measurements);
    const anyAuthenticated = measurements.some(isAuthenticated);
    return { ...c, policy, remediable: c.confident && (!anyAuthenticated || c.agreeing.some(isAuthenticated)) };
  }
  if (policy === 'require') {
    const kept = measurements.map((m): SourceMeasurement =>
      m.ok && !isAuthenticated(m)
        ? {
            ok: false,
            kind: m.kind,
            address: m.address,
            code: 'unauthenticated_excluded',
            error: 'the source is not authenticated and TimeSourcePolicy is require: not used',
            kissCode: null,
            measuredAtMs: m.measuredAtMs,
          }
        : m,
    );
    const c = combine(kept);
    return { ...c, policy, remediable: c.confident };
  }
  return preferAuthenticated(measurements);
}

function preferAuthenticated(measurements: readonly SourceMeasurement[]): PolicyCombination {
  const all = combine(measurements);
  const authenticated = all.samples.filter(isAuthenticated);
  if (authenticated.length === 0) return { ...all, policy: 'prefer', remediable: false };
  const anchor = combine(authenticated);
  if (anchor.offsetMs === null) {
    // The authenticated sources disagree (a tie, or no two overlap): the others cannot decide.
    return {
      ...all,
      confident: false,
      offsetMs: null,
      uncertaintyMs: null,
      agreeing: [],
      falsetickers: anchor.falsetickers,
      uncertainReason: anchor.uncertainReason,
      policy: 'prefer',
      remediable: false,
    };
  }
  const low = Math.max(...anchor.agreeing.map((s) => s.offsetMs - s.uncertaintyMs));
  const high = Math.min(...anchor.agreeing.map((s) => s.offsetMs + s.uncertaintyMs));
  const joins = (s: SourceSample): boolean =>
    anchor.agreeing.includes(s) ||
    (!isAuthenticated(s) && s.offsetMs - s.uncertaintyMs <= high && s.offsetMs + s.uncertaintyMs >= low);
  const agreeing = all.samples.filter(joins);
  const falsetickers = all.samples.filter((s) => !joins(s));
  const offsetMs = Math.min(high, Math.max(low, median(agreeing.map((s) => s.offsetMs))));
  const uncertaintyMs = Math.max(offsetMs - low, high - offsetMs, 0);
  const majority = agreeing.length >= 2 && agreeing.length * 2 > all.usable;
  const confident = anchor.confident || majority;
  return {
    ...all,
    confident,
    offsetMs,
    uncertaintyMs,
    agreeing,
    falsetickers,
    uncertainReason: confident ? null : agreeing.length < 2 ? 'single_source' : 'no_majority',
    policy: 'prefer',
    remediable: anchor.confident,
  };
}
