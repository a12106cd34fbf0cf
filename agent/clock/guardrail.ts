// The clock-skew guardrail: turns each measurement round into a state (ok / warn / active /
// uncertain), acts on it according to the mode, and keeps it on disk so that a restart does not
// forget an active guardrail.
//
// States go up at once and come down with hysteresis: a level is left only after
// `releaseMeasurements` consecutive confident rounds below its threshold minus
// `hysteresisSeconds` (with the defaults: active is left below 60 s, warn below 15 s). An
// uncertain round neither counts nor resets that count; it shows `uncertain` while the last
// confident level is kept for compliance and for the way back.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log/logger.js';
import { isCode, uncertainReasons, type UncertainReason } from './codes.js';
import { roundMs, sourceReports, type ClockMeasurement, type Combination, type SourceReport } from './combine.js';
import { complianceFor, type ComplianceStatus } from './compliance.js';
import { agreeingNtpHost, direction, expandCommand, formatSkew, hintFor } from './hint.js';
import { defaultRemediationCommand, defaultRemediationIntervalMs, remediationAllowed, runRemediation, type RemediationRecord } from './remediation.js';
import { classify, defaultThresholds, type GuardrailLevel, type GuardrailThresholds } from './levels.js';
import type { GuardrailMode, GuardrailState } from './types.js';

export const guardrailStateFile = 'clock-guardrail.json';
export const activeMarker = 'TRUST_GUARDRAIL_ACTIVE';

export type { GuardrailLevel, GuardrailThresholds };
export { defaultThresholds };

export interface ClockGuardrailOptions {
  /** Directory for clock-guardrail.json; created when missing. */
  stateDir: string;
  logger: Logger;
  thresholds?: Partial<GuardrailThresholds>;
  mode?: GuardrailMode;
  /**
   * argv of the remediation command; `{server}` becomes an agreeing NTP server's host.
   * undefined: the platform default (macOS: /usr/bin/sntp -sS {server}; elsewhere none).
   * null or []: remediation not configured.
   */
  remediationCommand?: readonly string[] | null;
  remediationIntervalMs?: number;
  remediationTimeoutMs?: number;
  /** Wall clock in Unix ms (injected by tests). */
  now?: () => number;
  platform?: NodeJS.Platform;
}

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
  thresholds: { warn_seconds: number; enforce_seconds: number; warn_release_seconds: number; enforce_release_seconds: number; release_measurements: number };
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

const rank: Record<GuardrailLevel, number> = { ok: 0, warn: 1, active: 2 };

const levelSchema = z.enum(['ok', 'warn', 'active']);
const remediationRecordSchema = z.object({
  at_ms: z.number(),
  argv: z.array(z.string()),
  exit_code: z.number().nullable(),
  signal: z.string().nullable(),
  output: z.string(),
  error: z.string().nullable(),
  duration_ms: z.number(),
});
// What survives a restart. The snapshot is stored whole (so `agentctl compliance` can read it
// without the daemon); these fields are what the state machine itself needs back.
const persistedSchema = z.object({
  version: z.literal(1),
  updated_at_ms: z.number(),
  level: levelSchema.nullable(),
  state: z.enum(['ok', 'warn', 'active', 'uncertain']),
  below_release_count: z.number().int().nonnegative(),
  state_since_ms: z.number().nullable(),
  active_since_ms: z.number().nullable(),
  compliance_since_ms: z.number().nullable(),
  last_remediation: remediationRecordSchema.nullable(),
  snapshot: z.record(z.string(), z.unknown()),
});
export type PersistedGuardrail = z.infer<typeof persistedSchema>;

/** Reads and validates a state file; throws with a one-sentence reason. */
export function parsePersistedGuardrail(text: string): PersistedGuardrail {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  const parsed = persistedSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`unexpected content at ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function validateThresholds(t: GuardrailThresholds): GuardrailThresholds {
  const finite = Object.entries(t).every(([, v]) => Number.isFinite(v));
  if (!finite || t.warnSeconds <= 0 || t.enforceSeconds < t.warnSeconds || t.hysteresisSeconds < 0 || t.hysteresisSeconds >= t.warnSeconds || !Number.isInteger(t.releaseMeasurements) || t.releaseMeasurements < 1) {
    throw new RangeError(
      `clock thresholds must satisfy 0 < warn (${t.warnSeconds}) ≤ enforce (${t.enforceSeconds}), 0 ≤ hysteresis (${t.hysteresisSeconds}) < warn, release measurements (${t.releaseMeasurements}) a whole number ≥ 1`,
    );
  }
  return t;
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

export class ClockGuardrail {
  readonly stateFile: string;
  private readonly logger: Logger;
  private readonly thresholds: GuardrailThresholds;
  private readonly mode: GuardrailMode;
  private readonly remediationCommand: readonly string[] | null;
  private readonly remediationIntervalMs: number;
  private readonly remediationTimeoutMs: number;
  private readonly now: () => number;
  private readonly platform: NodeJS.Platform;

  private state: GuardrailState = 'uncertain';
  private level: GuardrailLevel | null = null;
  private belowReleaseCount = 0;
  private stateSinceMs: number | null = null;
  private activeSinceMs: number | null = null;
  private complianceSinceMs: number | null = null;
  private lastRemediation: RemediationRecord | null = null;
  private current: GuardrailSnapshot;
  private notConfiguredLogged = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ClockGuardrailOptions) {
    this.logger = options.logger;
    this.thresholds = validateThresholds({ ...defaultThresholds, ...options.thresholds });
    this.mode = options.mode ?? 'observe';
    this.platform = options.platform ?? process.platform;
    this.remediationCommand = options.remediationCommand === undefined ? defaultRemediationCommand(this.platform) : options.remediationCommand;
    this.remediationIntervalMs = options.remediationIntervalMs ?? defaultRemediationIntervalMs;
    this.remediationTimeoutMs = options.remediationTimeoutMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.stateFile = path.join(options.stateDir, guardrailStateFile);
    const restored = this.restore();
    this.current = this.buildSnapshot(restored?.measurement ?? null, restored?.snapshot ?? null);
  }

  /** The latest state, JSON-ready. */
  snapshot(): GuardrailSnapshot {
    return structuredClone(this.current);
  }

  compliance(): ComplianceStatus {
    return { ...this.current.compliance };
  }

  /**
   * Takes one measurement round: updates the state, logs transitions, remediates when the mode
   * and the evidence allow, persists, and returns the new snapshot. Calls are serialized.
   */
  evaluate(measurement: ClockMeasurement): Promise<GuardrailSnapshot> {
    const run = this.queue.then(() => this.evaluateNow(measurement));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async evaluateNow(measurement: ClockMeasurement): Promise<GuardrailSnapshot> {
    const c = measurement.combination;
    const nowMs = this.now();
    const previousState = this.state;
    const previousLevel = this.level;
    const { warnSeconds, enforceSeconds, hysteresisSeconds, releaseMeasurements } = this.thresholds;
    let rawLevel: GuardrailLevel | null = null;

    if (c.confident && c.offsetMs !== null) {
      const skew = Math.abs(c.offsetMs) / 1000;
      rawLevel = classify(skew, warnSeconds, enforceSeconds);
      const current = this.level ?? 'ok';
      if (rank[rawLevel] >= rank[current]) {
        this.level = rawLevel;
        this.belowReleaseCount = 0;
      } else {
        const relaxed = classify(skew, warnSeconds - hysteresisSeconds, enforceSeconds - hysteresisSeconds);
        if (rank[relaxed] >= rank[current]) {
          this.level = current;
          this.belowReleaseCount = 0;
        } else if (this.belowReleaseCount + 1 >= releaseMeasurements) {
          this.level = relaxed;
          this.belowReleaseCount = 0;
        } else {
          this.level = current;
          this.belowReleaseCount += 1;
        }
      }
      this.state = this.level;
    } else {
      this.state = 'uncertain';
    }

    if (this.state !== previousState) this.stateSinceMs = nowMs;
    const skewText = c.offsetMs === null ? 'unknown' : `${formatSkew(c.offsetMs)} ${direction(c.offsetMs)}`;
    const fields = { offset_ms: roundMs(c.offsetMs), uncertainty_ms: roundMs(c.uncertaintyMs), agreeing: c.agreeing.length, usable: c.usable, total: c.total, falsetickers: c.falsetickers.map((s) => s.address) };
    if (this.level === 'active' && previousLevel !== 'active') {
      this.activeSinceMs = nowMs;
      this.logger.warn(`${activeMarker}: clock is ${skewText} against ${c.agreeing.length} of ${c.total} sources (enforce threshold ${enforceSeconds} s, mode ${this.mode})`, { ...fields, mode: this.mode });
    } else if (previousLevel === 'active' && this.level !== 'active') {
      this.activeSinceMs = null;
      this.logger.info(`clock guardrail no longer active: clock is ${skewText}`, fields);
    }
    if (this.state !== previousState) {
      const log = this.state === 'ok' ? this.logger.info : this.logger.warn;
      log.call(this.logger, `clock guardrail state ${previousState} → ${this.state}`, { ...fields, uncertain_reason: c.uncertainReason });
    }

    if (rawLevel !== null && rank[rawLevel] >= rank.warn && this.mode !== 'observe') {
      await this.remediate(c, nowMs);
    }

    const previousCompliance = this.current.compliance.state;
    this.current = this.buildSnapshot(measurement, null);
    const complianceChanged = this.current.compliance.state !== previousCompliance;
    if (complianceChanged || this.complianceSinceMs === null) {
      this.complianceSinceMs = nowMs;
      this.current.compliance.since_ms = nowMs;
    }
    if (complianceChanged) {
      if (this.current.compliance.enforced) this.logger.warn(`device clock compliance ${previousCompliance} → ${this.current.compliance.state}`, { reason: this.current.compliance.reason });
    }
    await this.persist(nowMs);
    return this.snapshot();
  }

  private async remediate(c: Combination, nowMs: number): Promise<void> {
    if (!this.remediationCommand || this.remediationCommand.length === 0) {
      if (!this.notConfiguredLogged) {
        this.notConfiguredLogged = true;
        this.logger.warn(`clock remediation is not configured on ${this.platform}: set a remediation command to let the agent correct the clock`);
      }
      return;
    }
    // confident implies ≥ 2 agreeing sources and a majority; checked again because this is the
    // one place that changes the machine.
    if (!c.confident || c.agreeing.length < 2) return;
    const lastAt = this.lastRemediation?.at_ms ?? null;
    if (!remediationAllowed(lastAt, nowMs, this.remediationIntervalMs)) {
      this.logger.debug('clock remediation skipped: rate limited', { last_at_ms: lastAt });
      return;
    }
    const argv = expandCommand(this.remediationCommand, agreeingNtpHost(c));
    if (!argv) {
      this.logger.warn('clock remediation skipped: the command needs an NTP server and no agreeing source is an NTP server', { command: [...this.remediationCommand] });
      return;
    }
    const record = await runRemediation(argv, { nowMs, timeoutMs: this.remediationTimeoutMs });
    this.lastRemediation = record;
    const fields = { argv: record.argv, exit_code: record.exit_code, signal: record.signal, error: record.error, output: record.output, duration_ms: record.duration_ms, offset_ms: roundMs(c.offsetMs) };
    if (record.exit_code === 0) this.logger.info(`clock remediation ran: ${argv.join(' ')} (exit 0)`, fields);
    else this.logger.error(`clock remediation failed: ${argv.join(' ')} (${record.error ?? `exit ${record.exit_code ?? record.signal}`})`, fields);
  }

  private buildSnapshot(measurement: ClockMeasurement | null, stored: Record<string, unknown> | null): GuardrailSnapshot {
    const c = measurement?.combination ?? emptyCombination;
    const { warnSeconds, enforceSeconds, hysteresisSeconds, releaseMeasurements } = this.thresholds;
    const held = this.level !== null && this.state === this.level && this.belowReleaseCount > 0;
    const release = held ? { remaining: releaseMeasurements - this.belowReleaseCount, below_seconds: (this.level === 'active' ? enforceSeconds : warnSeconds) - hysteresisSeconds } : null;
    const hint = measurement
      ? hintFor({ state: this.state, combination: c, release: release && { remaining: release.remaining, belowSeconds: release.below_seconds }, platform: this.platform, remediationCommand: this.remediationCommand })
      : stored && typeof stored.hint === 'string'
        ? stored.hint
        : this.state === 'uncertain'
          ? 'The agent has not measured the clock yet.'
          : null;
    const compliance = complianceFor({ mode: this.mode, state: this.state, level: this.level, hint, sinceMs: this.complianceSinceMs });
    const enabled = this.mode !== 'observe' && !!this.remediationCommand && this.remediationCommand.length > 0;
    const lastAt = this.lastRemediation?.at_ms ?? null;
    const restoredNumber = (key: string): number | null => (stored && typeof stored[key] === 'number' ? (stored[key] as number) : null);
    return {
      state: this.state,
      last_confident_state: this.level,
      mode: this.mode,
      state_since_ms: this.stateSinceMs,
      active_since_ms: this.activeSinceMs,
      measured_at_ms: measurement?.measuredAtMs ?? restoredNumber('measured_at_ms'),
      offset_ms: measurement ? roundMs(c.offsetMs) : restoredNumber('offset_ms'),
      uncertainty_ms: measurement ? roundMs(c.uncertaintyMs) : restoredNumber('uncertainty_ms'),
      confident: measurement ? c.confident : stored?.confident === true,
      uncertain_reason: measurement ? c.uncertainReason : isCode(uncertainReasons, stored?.uncertain_reason) ? stored.uncertain_reason : null,
      agreeing_sources: measurement ? c.agreeing.length : restoredNumber('agreeing_sources') ?? 0,
      usable_sources: measurement ? c.usable : restoredNumber('usable_sources') ?? 0,
      total_sources: measurement ? c.total : restoredNumber('total_sources') ?? 0,
      sources: measurement ? sourceReports(c) : Array.isArray(stored?.sources) ? (stored.sources as SourceReport[]) : [],
      falsetickers: measurement ? c.falsetickers.map((s) => s.address) : Array.isArray(stored?.falsetickers) ? (stored.falsetickers as string[]) : [],
      hint,
      thresholds: {
        warn_seconds: warnSeconds,
        enforce_seconds: enforceSeconds,
        warn_release_seconds: warnSeconds - hysteresisSeconds,
        enforce_release_seconds: enforceSeconds - hysteresisSeconds,
        release_measurements: releaseMeasurements,
      },
      release_pending: release,
      compliance: { ...compliance, since_ms: this.complianceSinceMs },
      remediation: {
        enabled,
        command: this.remediationCommand ? [...this.remediationCommand] : null,
        last: this.lastRemediation,
        next_allowed_at_ms: enabled ? (lastAt === null ? null : lastAt + this.remediationIntervalMs) : null,
      },
    };
  }

  /** Loads the state file. A missing or unreadable file starts fresh; it never throws. */
  private restore(): { measurement: null; snapshot: Record<string, unknown> } | null {
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.logger.info('no clock guardrail state yet: starting fresh', { file: this.stateFile });
      else this.logger.warn(`clock guardrail state could not be read (${(err as Error).message}): starting fresh`, { file: this.stateFile });
      return null;
    }
    let saved: PersistedGuardrail;
    try {
      saved = parsePersistedGuardrail(text);
    } catch (err) {
      // Keep the bad file for inspection rather than overwrite the evidence.
      const aside = `${this.stateFile}.corrupt`;
      try {
        renameSync(this.stateFile, aside);
      } catch {
        // best effort
      }
      this.logger.warn(`clock guardrail state file is corrupt (${(err as Error).message}): starting fresh; the old file is kept as ${aside}`, { file: this.stateFile });
      return null;
    }
    this.state = saved.state;
    this.level = saved.level;
    this.belowReleaseCount = saved.below_release_count;
    this.stateSinceMs = saved.state_since_ms;
    this.activeSinceMs = saved.active_since_ms;
    this.complianceSinceMs = saved.compliance_since_ms;
    this.lastRemediation = saved.last_remediation;
    const fields = { file: this.stateFile, state: saved.state, saved_at_ms: saved.updated_at_ms };
    if (saved.level === 'active') this.logger.warn(`clock guardrail restored: still active since ${new Date(saved.active_since_ms ?? saved.updated_at_ms).toISOString()}`, fields);
    else this.logger.info(`clock guardrail restored: ${saved.state}`, fields);
    return { measurement: null, snapshot: saved.snapshot };
  }

  private async persist(nowMs: number): Promise<void> {
    const data: PersistedGuardrail = {
      version: 1,
      updated_at_ms: nowMs,
      level: this.level,
      state: this.state,
      below_release_count: this.belowReleaseCount,
      state_since_ms: this.stateSinceMs,
      active_since_ms: this.activeSinceMs,
      compliance_since_ms: this.complianceSinceMs,
      last_remediation: this.lastRemediation,
      snapshot: this.current as unknown as Record<string, unknown>,
    };
    try {
      await writeFileAtomic(this.stateFile, `${JSON.stringify(data, null, 2)}\n`);
    } catch (err) {
      // The guardrail keeps working in memory; a full or read-only disk must not stop it.
      this.logger.error(`clock guardrail state could not be saved (${(err as Error).message})`, { file: this.stateFile });
    }
  }
}

/** Write to a temporary file in the same directory, fsync it, rename over the target, fsync the directory. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}
