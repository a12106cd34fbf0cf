// The bodies of `agentctl time` and `agentctl compliance` (their command files parse the flags
// and the configuration): measure or read, print, and return the exit code.
import path from 'node:path';
import type { PolicyCombination, TimeSourcePolicy } from './auth-policy.js';
import { roundMs, sourceReports, type ClockMeasurement } from './combine.js';
import { formatIntune, formatJamf, intuneDiscovery, type ComplianceStatus } from './compliance.js';
import { exitCodes } from '../exit-codes.js';
import { readStateText } from '../state/state-file.js';
import { guardrailStateFile, parsePersistedGuardrail } from './guardrail.js';
import { defaultThresholds, stateOfOffset } from './levels.js';
import { direction, formatSkew, hintFor } from './hint.js';
import { progressLine } from '../cli/progress.js';
import { measureClock } from './measure.js';
import type { GuardrailState } from './types.js';

export interface TimeCommandOptions {
  json?: boolean;
  /** Sources from flags; when any is given, the configured ones are not used. */
  ntp?: string[];
  https?: string[];
  /** NTS servers (host[:port], the NTS-KE port). */
  nts?: string[];
  /** PEM file of extra CA certificates for the HTTPS sources and the NTS-KE servers. */
  ca?: string;
  samples?: number;
  /** NTP reply timeout in ms. */
  timeout?: number;
  /** Pause between one server's samples, in ms. */
  sampleSpacingMs?: number;
  configuredNtp?: string[];
  configuredHttps?: string[];
  configuredNts?: string[];
  /** TimeSourcePolicy ('' or absent: prefer with NTS sources, else ignore). */
  policy?: TimeSourcePolicy | '';
  thresholds?: { warnSeconds?: number; enforceSeconds?: number };
  /** Where output goes (tests); default process.stdout. */
  write?: (text: string) => void;
  platform?: NodeJS.Platform;
}

/** The state of one round on its own (no hysteresis: there is no history here). */
export function stateOf(
  m: ClockMeasurement,
  thresholds: { warnSeconds: number; enforceSeconds: number },
): GuardrailState {
  return stateOfOffset(m.combination.confident, m.combination.offsetMs, thresholds);
}

/** What `agentctl time --json` prints. */
export function timeReport(
  m: ClockMeasurement,
  thresholds: { warnSeconds: number; enforceSeconds: number },
  platform: NodeJS.Platform = process.platform,
) {
  const c = m.combination;
  const state = stateOf(m, thresholds);
  return {
    state,
    offset_ms: roundMs(c.offsetMs),
    uncertainty_ms: roundMs(c.uncertaintyMs),
    confident: c.confident,
    uncertain_reason: c.uncertainReason,
    policy: (c as Partial<PolicyCombination>).policy ?? 'ignore',
    agreeing_sources: c.agreeing.length,
    usable_sources: c.usable,
    total_sources: c.total,
    sources: sourceReports(c),
    falsetickers: c.falsetickers.map((s) => s.address),
    hint: hintFor({ state, combination: c, platform }),
    measured_at: new Date(m.measuredAtMs).toISOString(),
    thresholds: { warn_seconds: thresholds.warnSeconds, enforce_seconds: thresholds.enforceSeconds },
  };
}

function signedMs(value: number | null, digits: number): string {
  if (value === null) return '';
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const numeric = new Set([3, 4, 5]);
  return rows
    .map((r) =>
      r
        .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatTimeReport(report: ReturnType<typeof timeReport>): string {
  const lines: string[] = [];
  const { state, offset_ms: offset, uncertainty_ms: unc } = report;
  const summary =
    offset === null
      ? 'no estimate'
      : `system clock is ${formatSkew(offset)} ${direction(offset)} (offset ${signedMs(offset, 3)} ms ± ${unc!.toFixed(3)} ms; ${report.agreeing_sources} of ${report.total_sources} sources agree)`;
  lines.push(`Clock      ${state.toUpperCase()}: ${summary}`);
  if (report.hint) lines.push(`Hint       ${report.hint}`);
  lines.push('');
  const rows = [['KIND', 'SOURCE', 'STATUS', 'OFFSET (ms)', 'DELAY (ms)', 'STRATUM', 'ERROR']];
  for (const s of report.sources) {
    rows.push([
      s.kind,
      s.address,
      s.status,
      signedMs(s.offset_ms, 3),
      s.delay_ms === null ? '' : s.delay_ms.toFixed(3),
      s.stratum === null ? '' : String(s.stratum),
      s.error ?? '',
    ]);
  }
  if (report.sources.length === 0) lines.push('No time sources configured.');
  else lines.push(table(rows));
  const authenticated = report.sources.filter((s) => s.authenticated).map((s) => s.address);
  if (authenticated.length > 0) {
    lines.push('');
    lines.push(`Authenticated (NTS): ${authenticated.join(', ')}; TimeSourcePolicy ${report.policy}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runTimeCommand(options: TimeCommandOptions): Promise<number> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const fromFlags = (options.ntp?.length ?? 0) + (options.https?.length ?? 0) + (options.nts?.length ?? 0) > 0;
  const ntp = fromFlags ? (options.ntp ?? []) : (options.configuredNtp ?? []);
  const https = fromFlags ? (options.https ?? []) : (options.configuredHttps ?? []);
  const nts = fromFlags ? (options.nts ?? []) : (options.configuredNts ?? []);
  const thresholds = {
    warnSeconds: options.thresholds?.warnSeconds ?? defaultThresholds.warnSeconds,
    enforceSeconds: options.thresholds?.enforceSeconds ?? defaultThresholds.enforceSeconds,
  };
  const total = ntp.length + https.length;
  const progress = progressLine();
  progress.update(`asking ${total} time source${total === 1 ? '' : 's'}…`);
  const measurement = await measureClock({
    ntp,
    https,
    nts,
    policy: options.policy,
    caFile: options.ca,
    samples: options.samples,
    timeoutMs: options.timeout,
    sampleSpacingMs: options.sampleSpacingMs,
    onSourceDone: (done) => progress.update(`asking ${total} time source${total === 1 ? '' : 's'}… ${done} answered`),
  });
  progress.done();
  const report = timeReport(measurement, thresholds, options.platform);
  write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatTimeReport(report));
  if (measurement.combination.usable === 0) return exitCodes.error;
  return report.state === 'active' ? exitCodes.guardrail : exitCodes.ok;
}

export interface ComplianceCommandOptions {
  format: 'jamf' | 'intune' | 'json';
  stateDir: string;
  write?: (text: string) => void;
  /** Wall clock (tests). */
  now?: () => number;
  /** State older than this is "unknown": the daemon is not measuring. Default 1 hour. */
  maxAgeMs?: number;
}

/** Reads the guardrail's persisted state; prints the compliance; exit 2 when non-compliant. */
export async function runComplianceCommand(options: ComplianceCommandOptions): Promise<number> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const now = (options.now ?? Date.now)();
  const maxAgeMs = options.maxAgeMs ?? 3600_000;
  const file = path.join(options.stateDir, guardrailStateFile);
  let compliance: ComplianceStatus;
  let state: GuardrailState | 'unknown' = 'unknown';
  let offsetMs: number | null = null;
  let snapshot: Record<string, unknown> | null = null;
  let updatedAtMs: number | null = null;
  try {
    const saved = parsePersistedGuardrail(readStateText(file));
    snapshot = saved.snapshot;
    updatedAtMs = saved.updated_at_ms;
    const stored = saved.snapshot.compliance as Partial<ComplianceStatus> | undefined;
    if (
      !stored ||
      !['compliant', 'non_compliant'].includes(stored.state as string) ||
      typeof stored.reason !== 'string'
    ) {
      throw new Error('it holds no compliance state');
    }
    const ageMs = now - saved.updated_at_ms;
    if (Math.abs(ageMs) > maxAgeMs) {
      compliance = {
        state: 'unknown',
        enforced: stored.enforced === true,
        reason: `The agent last measured the clock ${Math.round(ageMs / 60_000)} minutes ago: check that agentd is running.`,
        since_ms: null,
      };
    } else {
      compliance = {
        state: stored.state!,
        enforced: stored.enforced === true,
        reason: stored.reason,
        since_ms: typeof stored.since_ms === 'number' ? stored.since_ms : null,
      };
      state = saved.state;
      offsetMs = typeof saved.snapshot.offset_ms === 'number' ? saved.snapshot.offset_ms : null;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'The agent has not measured the clock yet: check that agentd is running.'
        : `The clock guardrail state (${file}) cannot be read: ${(err as Error).message}.`;
    compliance = { state: 'unknown', enforced: false, reason, since_ms: null };
  }

  if (options.format === 'jamf') write(`${formatJamf(compliance)}\n`);
  else if (options.format === 'intune') write(`${formatIntune(intuneDiscovery(compliance, state, offsetMs))}\n`);
  else {
    const full = {
      compliance,
      state,
      offset_ms: offsetMs,
      updated_at: updatedAtMs === null ? null : new Date(updatedAtMs).toISOString(),
      clock: snapshot,
    };
    write(`${JSON.stringify(full, null, 2)}\n`);
  }
  return compliance.state === 'non_compliant' ? exitCodes.guardrail : exitCodes.ok;
}
