// Combining several sources' offsets into one estimate, the way chrony's source selection does:
// each sample vouches for an interval [offset − uncertainty, offset + uncertainty]; the true
// offset lies in every honest source's interval, so the honest sources overlap and a lying or
// broken one ("falseticker") sits apart. On a line, a set of intervals overlaps pairwise exactly
// when all of them share a common point, so the largest agreeing set is the deepest point of a
// sweep over the interval endpoints (Marzullo's algorithm).
import type { SourceReportCode, UncertainReason } from './codes.js';
import type { SourceFailure, SourceMeasurement, SourceSample } from './types.js';
import { median } from '../stats.js';

export type { UncertainReason };

export interface Combination {
  /** True when at least 2 sources agree and they are a strict majority of the usable ones. */
  confident: boolean;
  /** Median of the agreeing offsets (reference − system); null when no source agrees with another. */
  offsetMs: number | null;
  /**
   * Half-width of the smallest interval centred on `offsetMs` that covers the intersection of
   * the agreeing intervals. Every honest agreeing source says the truth lies in that
   * intersection, so this is the tightest bound that holds whatever the median's position.
   */
  uncertaintyMs: number | null;
  /** The selected (mutually overlapping) sources, in input order. */
  agreeing: SourceSample[];
  /** Usable sources outside the selected set, in input order. */
  falsetickers: SourceSample[];
  /** Every source asked, in input order. */
  sources: readonly SourceMeasurement[];
  /** Every source that gave a sample, in input order. */
  samples: SourceSample[];
  /** Sources that gave no sample. */
  failures: SourceFailure[];
  /** Number of sources that gave a sample. */
  usable: number;
  /** Number of sources asked. */
  total: number;
  /** Why the combination is not confident, as one phrase; null when confident. */
  uncertainReason: UncertainReason | null;
}

// UncertainReason (codes.ts: uncertainReasons):
//   no_sources     nothing was configured or nothing answered
//   single_source  only one source gave a sample
//   no_agreement   no two usable sources overlap
//   tie            two different sets of the same (largest) size overlap
//   no_majority    the largest agreeing set is not more than half of the usable sources

interface Endpoint {
  at: number;
  /** +1 opens an interval, −1 closes it. */
  step: 1 | -1;
  index: number;
}

/** The groups of mutually overlapping samples of the largest size (several when tied). */
function deepestGroups(samples: readonly SourceSample[]): { depth: number; groups: number[][] } {
  const endpoints: Endpoint[] = [];
  samples.forEach((s, index) => {
    const half = Math.max(0, s.uncertaintyMs);
    endpoints.push({ at: s.offsetMs - half, step: 1, index }, { at: s.offsetMs + half, step: -1, index });
  });
  // Intervals are closed: at an equal position an opening sorts before a closing, so two
  // intervals that touch count as overlapping.
  endpoints.sort((a, b) => a.at - b.at || b.step - a.step);
  const open = new Set<number>();
  let depth = 0;
  let groups: number[][] = [];
  for (const e of endpoints) {
    if (e.step === 1) {
      open.add(e.index);
      if (open.size > depth) {
        depth = open.size;
        groups = [];
      }
      if (open.size === depth) groups.push([...open].sort((a, b) => a - b));
    } else {
      open.delete(e.index);
    }
  }
  // Each group is recorded when it reached full depth; distinct sets only.
  const distinct = new Map<string, number[]>();
  for (const g of groups) distinct.set(g.join(','), g);
  return { depth, groups: [...distinct.values()] };
}

const nonFiniteError = 'sample has a non-finite offset or uncertainty';

/** Selects the agreeing sources and estimates the offset. Pure: same input set, same answer. */
export function combine(measurements: readonly SourceMeasurement[]): Combination {
  const samples = measurements.filter(
    (m): m is SourceSample => m.ok && Number.isFinite(m.offsetMs) && Number.isFinite(m.uncertaintyMs),
  );
  const failures = measurements.filter((m): m is SourceFailure => !m.ok);
  // A sample with non-finite numbers is unusable; report it as a failure rather than drop it.
  for (const m of measurements) {
    if (m.ok && !samples.includes(m)) {
      failures.push({
        ok: false,
        kind: m.kind,
        address: m.address,
        code: 'non_finite',
        error: nonFiniteError,
        kissCode: null,
        measuredAtMs: m.measuredAtMs,
      });
    }
  }
  const base = { sources: measurements, samples, failures, usable: samples.length, total: measurements.length };
  const none = (reason: UncertainReason, falsetickers: SourceSample[] = []): Combination => ({
    confident: false,
    offsetMs: null,
    uncertaintyMs: null,
    agreeing: [],
    falsetickers,
    ...base,
    uncertainReason: reason,
  });

  if (samples.length === 0) return none('no_sources');
  if (samples.length === 1) {
    // One source is reported (as agreeing with itself) but never trusted alone.
    const only = samples[0]!;
    return {
      confident: false,
      offsetMs: only.offsetMs,
      uncertaintyMs: only.uncertaintyMs,
      agreeing: [only],
      falsetickers: [],
      ...base,
      uncertainReason: 'single_source',
    };
  }
  const { depth, groups } = deepestGroups(samples);
  if (depth < 2) return none('no_agreement');
  if (groups.length > 1) {
    // Equally large, different groups: nothing tells which one is right. Every source outside
    // all of the groups is still a falseticker.
    const inSome = new Set(groups.flat());
    return none(
      'tie',
      samples.filter((_, i) => !inSome.has(i)),
    );
  }
  const chosen = new Set(groups[0]);
  const agreeing = samples.filter((_, i) => chosen.has(i));
  const falsetickers = samples.filter((_, i) => !chosen.has(i));
  const offsetMs = median(agreeing.map((s) => s.offsetMs));
  const low = Math.max(...agreeing.map((s) => s.offsetMs - s.uncertaintyMs));
  const high = Math.min(...agreeing.map((s) => s.offsetMs + s.uncertaintyMs));
  const uncertaintyMs = Math.max(offsetMs - low, high - offsetMs, 0);
  const majority = agreeing.length * 2 > samples.length;
  return {
    confident: majority,
    offsetMs,
    uncertaintyMs,
    agreeing,
    falsetickers,
    ...base,
    uncertainReason: majority ? null : 'no_majority',
  };
}

/** One measurement round: what the guardrail evaluates and `agentctl time` prints. */
export interface ClockMeasurement {
  /** Wall clock (Unix ms) when the round completed. */
  measuredAtMs: number;
  combination: Combination;
}

export type SourceStatus = 'ok' | 'falseticker' | 'error';

/** A source's row for JSON output (agentctl time --json, status, telemetry): snake_case, ms rounded to µs. */
export interface SourceReport {
  kind: SourceMeasurement['kind'];
  address: string;
  /** An NTS source: its replies authenticate (auth-policy.ts). */
  authenticated: boolean;
  status: SourceStatus;
  offset_ms: number | null;
  delay_ms: number | null;
  uncertainty_ms: number | null;
  stratum: number | null;
  /** Why the source is not in the agreeing set (codes.ts): its failure, or `falseticker`; null otherwise. */
  code: SourceReportCode | null;
  /** The failure as one sentence, for people; null when the source answered. */
  error: string | null;
  kiss_code: string | null;
}

export function roundMs(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}

export function sourceReports(c: Combination): SourceReport[] {
  return c.sources.map((m) => {
    if (!m.ok || !c.samples.includes(m)) {
      const failed = m.ok
        ? { code: 'non_finite' as const, error: nonFiniteError, kiss_code: null }
        : { code: m.code, error: m.error, kiss_code: m.kissCode };
      return {
        kind: m.kind,
        address: m.address,
        authenticated: m.kind === 'nts',
        status: 'error',
        offset_ms: null,
        delay_ms: null,
        uncertainty_ms: null,
        stratum: null,
        ...failed,
      };
    }
    const status: SourceStatus = c.falsetickers.includes(m) ? 'falseticker' : 'ok';
    return {
      kind: m.kind,
      address: m.address,
      authenticated: m.kind === 'nts',
      status,
      offset_ms: roundMs(m.offsetMs),
      delay_ms: roundMs(m.delayMs),
      uncertainty_ms: roundMs(m.uncertaintyMs),
      stratum: m.stratum,
      code: status === 'falseticker' ? 'falseticker' : null,
      error: null,
      kiss_code: null,
    };
  });
}
