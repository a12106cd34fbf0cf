// The clock-skew guardrail: turns each measurement round into a state (ok / warn / active /
// uncertain) with the pure machine in guardrail-machine.ts, acts on it according to the mode
// (logs, remediation, compliance), publishes the snapshot (guardrail-snapshot.ts) and keeps it
// on disk (guardrail-store.ts) so that a restart does not forget an active guardrail.
import type { Logger } from '../log/logger.js';
import type { RemediationSkipCode } from './codes.js';
import { roundMs, type ClockMeasurement, type Combination } from './combine.js';
import type { ComplianceStatus } from './compliance.js';
import { atLeast, initialMachine, step, type MachineState } from './guardrail-machine.js';
import { buildSnapshot, type GuardrailSnapshot } from './guardrail-snapshot.js';
import { guardrailStore, machineOf, persisted, type PersistedGuardrail } from './guardrail-store.js';
import type { PolicyCombination } from './auth-policy.js';
import { agreeingNtpHost, direction, expandCommand, formatSkew } from './hint.js';
import { defaultThresholds, type GuardrailLevel, type GuardrailThresholds } from './levels.js';
import {
  defaultRemediationCommand,
  defaultRemediationIntervalMs,
  remediationAllowed,
  runRemediation,
  type RemediationRecord,
} from './remediation.js';
import type { GuardrailMode } from './types.js';

export { guardrailStateFile, parsePersistedGuardrail, type PersistedGuardrail } from './guardrail-store.js';
export type { GuardrailSnapshot } from './guardrail-snapshot.js';
export type { GuardrailLevel, GuardrailThresholds };
export { defaultThresholds };

export const activeMarker = 'TRUST_GUARDRAIL_ACTIVE';

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

function validateThresholds(t: GuardrailThresholds): GuardrailThresholds {
  const finite = Object.entries(t).every(([, v]) => Number.isFinite(v));
  if (
    !finite ||
    t.warnSeconds <= 0 ||
    t.enforceSeconds < t.warnSeconds ||
    t.hysteresisSeconds < 0 ||
    t.hysteresisSeconds >= t.warnSeconds ||
    !Number.isInteger(t.releaseMeasurements) ||
    t.releaseMeasurements < 1
  ) {
    throw new RangeError(
      `clock thresholds must satisfy 0 < warn (${t.warnSeconds}) ≤ enforce (${t.enforceSeconds}), 0 ≤ hysteresis (${t.hysteresisSeconds}) < warn, release measurements (${t.releaseMeasurements}) a whole number ≥ 1`,
    );
  }
  return t;
}

export class ClockGuardrail {
  readonly stateFile: string;
  private readonly store: ReturnType<typeof guardrailStore>;
  private readonly logger: Logger;
  private readonly thresholds: GuardrailThresholds;
  private readonly mode: GuardrailMode;
  private readonly remediationCommand: readonly string[] | null;
  private readonly remediationIntervalMs: number;
  private readonly remediationTimeoutMs: number;
  private readonly now: () => number;
  private readonly platform: NodeJS.Platform;

  private machine: MachineState = initialMachine;
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
    this.remediationCommand =
      options.remediationCommand === undefined ? defaultRemediationCommand(this.platform) : options.remediationCommand;
    this.remediationIntervalMs = options.remediationIntervalMs ?? defaultRemediationIntervalMs;
    this.remediationTimeoutMs = options.remediationTimeoutMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.store = guardrailStore(options.stateDir);
    this.stateFile = this.store.path;
    this.current = this.snapshotOf(null, this.restore());
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
    const previous = this.machine;
    const result = step(previous, c.confident ? c.offsetMs : null, this.thresholds, nowMs);
    this.machine = result.next;
    this.logTransitions(previous, result, c);

    if (atLeast(result.rawLevel, 'warn') && this.mode !== 'observe') await this.remediate(c, nowMs);

    const previousCompliance = this.current.compliance.state;
    this.current = this.snapshotOf(measurement, null);
    const complianceChanged = this.current.compliance.state !== previousCompliance;
    if (complianceChanged || this.complianceSinceMs === null) {
      this.complianceSinceMs = nowMs;
      this.current.compliance.since_ms = nowMs;
    }
    if (complianceChanged && this.current.compliance.enforced) {
      this.logger.warn(`device clock compliance ${previousCompliance} → ${this.current.compliance.state}`, {
        reason: this.current.compliance.reason,
      });
    }
    await this.persist(nowMs);
    return this.snapshot();
  }

  private logTransitions(previous: MachineState, result: ReturnType<typeof step>, c: Combination): void {
    const { state } = result.next;
    const skewText = c.offsetMs === null ? 'unknown' : `${formatSkew(c.offsetMs)} ${direction(c.offsetMs)}`;
    const fields = {
      offset_ms: roundMs(c.offsetMs),
      uncertainty_ms: roundMs(c.uncertaintyMs),
      agreeing: c.agreeing.length,
      usable: c.usable,
      total: c.total,
      falsetickers: c.falsetickers.map((s) => s.address),
    };
    if (result.enteredActive) {
      this.logger.warn(
        `${activeMarker}: clock is ${skewText} against ${c.agreeing.length} of ${c.total} sources (enforce threshold ${this.thresholds.enforceSeconds} s, mode ${this.mode})`,
        { ...fields, mode: this.mode },
      );
    } else if (result.leftActive) {
      this.logger.info(`clock guardrail no longer active: clock is ${skewText}`, fields);
    }
    if (state !== previous.state) {
      const log = state === 'ok' ? this.logger.info : this.logger.warn;
      log.call(this.logger, `clock guardrail state ${previous.state} → ${state}`, {
        ...fields,
        uncertain_reason: c.uncertainReason,
      });
    }
  }

  private async remediate(c: Combination, nowMs: number): Promise<void> {
    if (!this.remediationCommand || this.remediationCommand.length === 0) {
      if (!this.notConfiguredLogged) {
        this.notConfiguredLogged = true;
        const text = `clock remediation is not configured on ${this.platform}: set a remediation command to let the agent correct the clock`;
        this.logger.warn(text, { code: 'remediation_not_configured' satisfies RemediationSkipCode });
      }
      return;
    }
    // confident implies ≥ 2 agreeing sources and a majority; checked again because this is the
    // one place that changes the machine.
    if (!c.confident || c.agreeing.length < 2) return;
    // TimeSourcePolicy (auth-policy.ts): require/prefer need an authenticated majority.
    if ((c as Partial<PolicyCombination>).remediable === false) {
      this.logger.warn(
        `clock remediation skipped: TimeSourcePolicy ${(c as PolicyCombination).policy} needs an authenticated majority and the estimate has none`,
        { code: 'no_authenticated_majority' satisfies RemediationSkipCode },
      );
      return;
    }
    const lastAt = this.lastRemediation?.at_ms ?? null;
    if (!remediationAllowed(lastAt, nowMs, this.remediationIntervalMs)) {
      this.logger.debug('clock remediation skipped: rate limited', {
        code: 'remediation_rate_limited' satisfies RemediationSkipCode,
        last_at_ms: lastAt,
      });
      return;
    }
    const argv = expandCommand(this.remediationCommand, agreeingNtpHost(c));
    if (!argv) {
      const text = 'clock remediation skipped: the command needs an NTP server and no agreeing source is an NTP server';
      this.logger.warn(text, {
        code: 'no_agreeing_ntp_server' satisfies RemediationSkipCode,
        command: [...this.remediationCommand],
      });
      return;
    }
    const record = await runRemediation(argv, { nowMs, timeoutMs: this.remediationTimeoutMs });
    this.lastRemediation = record;
    const fields = {
      code: record.code,
      argv: record.argv,
      exit_code: record.exit_code,
      signal: record.signal,
      error: record.error,
      output: record.output,
      duration_ms: record.duration_ms,
      offset_ms: roundMs(c.offsetMs),
    };
    if (record.exit_code === 0) this.logger.info(`clock remediation ran: ${argv.join(' ')} (exit 0)`, fields);
    else
      this.logger.error(
        `clock remediation failed: ${argv.join(' ')} (${record.error ?? `exit ${record.exit_code ?? record.signal}`})`,
        fields,
      );
  }

  private snapshotOf(measurement: ClockMeasurement | null, stored: Record<string, unknown> | null): GuardrailSnapshot {
    return buildSnapshot({
      machine: this.machine,
      measurement,
      stored,
      thresholds: this.thresholds,
      mode: this.mode,
      platform: this.platform,
      remediationCommand: this.remediationCommand,
      remediationIntervalMs: this.remediationIntervalMs,
      complianceSinceMs: this.complianceSinceMs,
      lastRemediation: this.lastRemediation,
    });
  }

  /** Loads the state file; returns the stored snapshot. A missing or bad file starts fresh; it never throws. */
  private restore(): Record<string, unknown> | null {
    const read = this.store.read();
    const file = this.stateFile;
    if (read.status === 'missing') {
      this.logger.info('no clock guardrail state yet: starting fresh', { file });
      return null;
    }
    if (read.status === 'unreadable') {
      this.logger.warn(`clock guardrail state could not be read (${read.reason}): starting fresh`, { file });
      return null;
    }
    if (read.status === 'corrupt') {
      this.logger.warn(
        `clock guardrail state file is corrupt (${read.reason}): starting fresh${read.keptAs ? `; the old file is kept as ${read.keptAs}` : ''}`,
        { file },
      );
      return null;
    }
    const saved: PersistedGuardrail = read.value;
    this.machine = machineOf(saved);
    this.complianceSinceMs = saved.compliance_since_ms;
    this.lastRemediation = saved.last_remediation;
    const fields = { file, state: saved.state, saved_at_ms: saved.updated_at_ms };
    if (saved.level === 'active')
      this.logger.warn(
        `clock guardrail restored: still active since ${new Date(saved.active_since_ms ?? saved.updated_at_ms).toISOString()}`,
        fields,
      );
    else this.logger.info(`clock guardrail restored: ${saved.state}`, fields);
    return saved.snapshot;
  }

  private async persist(nowMs: number): Promise<void> {
    const data = persisted(this.machine, {
      nowMs,
      complianceSinceMs: this.complianceSinceMs,
      lastRemediation: this.lastRemediation,
      snapshot: this.current,
    });
    try {
      // World-readable: `agentctl compliance` (Jamf, Intune) reads it; it holds nothing secret.
      await this.store.write(data, 0o644);
    } catch (err) {
      // The guardrail keeps working in memory; a full or read-only disk must not stop it.
      this.logger.error(`clock guardrail state could not be saved (${(err as Error).message})`, {
        file: this.stateFile,
      });
    }
  }
}
