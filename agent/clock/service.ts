// The clock guardrail inside agentd: measures every MeasureIntervalSeconds and at once when
// the clock is set, jumps or the machine wakes; feeds the guardrail; publishes the Clock and
// Compliance sections of `agentctl status`; answers the root-only `measure` request.
import { kernelTimeStatus } from '../../native/clock.js';
import type { Daemon } from '../daemon/daemon.js';
import { watchClockEvents } from './clock-events.js';
import { measureRoundMs, sourceOptions, touches, type ClockConfig } from './config.js';
import { ClockGuardrail, type GuardrailSnapshot } from './guardrail.js';
import { TimeSources } from './measure.js';
import { untilAborted } from '../daemon/scheduler.js';

/** What other capabilities may use of the clock (trust evaluates at the corrected time). */
export interface ClockEstimate {
  /** Reference − system time, ms: add it to the system time to get the corrected time. */
  offset_ms: number | null;
  uncertainty_ms: number | null;
  /** A majority of at least two agreeing sources. */
  confident: boolean;
  state: GuardrailSnapshot['state'];
  agreeing_sources: number;
  /** How many of the agreeing sources are authenticated (NTS). */
  authenticated_sources: number;
  /** Wall clock when measured (Unix ms). */
  at_ms: number | null;
}

declare module '../daemon/bus.js' {
  interface Topics {
    'clock.estimate': ClockEstimate;
    compliance: GuardrailSnapshot['compliance'];
  }
}

export function estimateOf(snapshot: GuardrailSnapshot): ClockEstimate {
  return {
    offset_ms: snapshot.offset_ms,
    uncertainty_ms: snapshot.uncertainty_ms,
    confident: snapshot.confident,
    state: snapshot.state,
    agreeing_sources: snapshot.agreeing_sources,
    authenticated_sources: authenticatedAgreeing(snapshot),
    at_ms: snapshot.measured_at_ms,
  };
}

/** Agreeing sources whose replies authenticate (NTS). */
export function authenticatedAgreeing(snapshot: Pick<GuardrailSnapshot, 'sources'>): number {
  return snapshot.sources.filter((s) => s.authenticated && s.status === 'ok').length;
}

const kernelStateNames = ['TIME_OK', 'TIME_INS', 'TIME_DEL', 'TIME_OOP', 'TIME_WAIT', 'TIME_ERROR'];
const TIME_ERROR = 5;

/** The kernel's own NTP view, advisory: it says whether the OS believes it is synchronised. */
export function kernelNtpSection(): Record<string, unknown> {
  try {
    const k = kernelTimeStatus();
    return {
      synchronized: k.state !== TIME_ERROR,
      state: kernelStateNames[k.state] ?? String(k.state),
      max_error_ms: k.maxErrorUs / 1000,
      est_error_ms: k.estErrorUs / 1000,
      offset_ms: k.offsetUs / 1000,
      status_flags: k.statusFlags,
    };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function attachClockGuardrail(daemon: Daemon): void {
  const logger = daemon.logger.child('clock');
  const config = () => daemon.config as ClockConfig;
  const buildSources = (config: ClockConfig) =>
    new TimeSources({
      ...sourceOptions(config),
      onRejected: (address, reason, code) => logger.debug('NTP reply rejected', { source: address, code, reason }),
    });
  const buildGuardrail = (config: ClockConfig) =>
    new ClockGuardrail({
      stateDir: config.StateDirectory,
      logger,
      mode: config.Mode,
      thresholds: { warnSeconds: config.WarnThresholdSeconds, enforceSeconds: config.EnforceThresholdSeconds },
      remediationCommand: config.RemediationCommand,
    });

  const current = { sources: buildSources(config()), guardrail: buildGuardrail(config()) };
  // A configuration change is applied at the start of the next run, never under a running one:
  // the scheduler does not overlap runs of a job, so the guardrail is never evaluated twice at once.
  const rebuildPending = { sources: false, guardrail: false };
  let measurements = 0;
  let lastCheck: { at_ms: number; reason: string } | null = null;

  daemon.scheduler.every('clock', config().MeasureIntervalSeconds * 1000, async ({ reason, signal }) => {
    if (rebuildPending.sources) current.sources = buildSources(config());
    if (rebuildPending.guardrail) current.guardrail = buildGuardrail(config());
    rebuildPending.sources = rebuildPending.guardrail = false;
    const measurement = await untilAborted(current.sources.measure(), signal);
    // Shutting down: a round cut short is no evidence, and the daemon must exit within 5 s.
    if (measurement === undefined) return;
    const previous = current.guardrail.snapshot();
    const snapshot = await current.guardrail.evaluate(measurement);
    measurements++;
    daemon.bus.publish('clock.estimate', estimateOf(snapshot));
    daemon.bus.publish('compliance', snapshot.compliance);
    if (snapshot.state !== previous.state) {
      daemon.bus.event({
        name: 'clock.state_changed',
        severity: snapshot.state === 'active' ? 'warn' : 'info',
        code: snapshot.state === 'uncertain' ? (snapshot.uncertain_reason ?? 'uncertain') : snapshot.state,
        attributes: {
          from: previous.state,
          to: snapshot.state,
          offset_ms: snapshot.offset_ms,
          agreeing_sources: snapshot.agreeing_sources,
          authenticated_sources: authenticatedAgreeing(snapshot),
          total_sources: snapshot.total_sources,
        },
      });
    }
    lastCheck = { at_ms: Date.now(), reason };
    logger.info('clock measured', {
      reason,
      state: snapshot.state,
      offset_ms: snapshot.offset_ms,
      uncertainty_ms: snapshot.uncertainty_ms,
      agreeing_sources: snapshot.agreeing_sources,
      total_sources: snapshot.total_sources,
      falsetickers: snapshot.falsetickers,
    });
  });

  daemon.status.section('clock', () => ({
    ...current.guardrail.snapshot(),
    kernel_ntp: kernelNtpSection(),
    last_check_ms: lastCheck?.at_ms ?? null,
    last_check_reason: lastCheck?.reason ?? null,
    measurements,
  }));
  daemon.status.section('compliance', () => current.guardrail.compliance());

  daemon.control.handle(
    'measure',
    async () => {
      await daemon.scheduler.runNow('clock', 'requested');
      return current.guardrail.snapshot();
    },
    // Its own deadline (issue 8 item 7): a round takes up to samples × (spacing + reply timeout)
    // per NTP server (servers are asked in parallel), plus a round already running, plus margin.
    { mutating: true, timeoutMs: () => 2 * measureRoundMs(daemon.config as ClockConfig) + 5000 },
  );

  const events = watchClockEvents({
    onEvent: (reason, detail) => {
      logger.info(`clock event: ${reason}`, detail);
      void daemon.scheduler.runNow('clock', reason);
    },
    // The scheduled measurements and the drift check still run; say that steps may be missed.
    onWatchFailed: (error) =>
      logger.warn(`clock-change watcher stopped (${error}): steps are now caught by the drift check only`, {
        code: 'watch_failed',
      }),
  });

  daemon.on('config', ({ changed }) => {
    if (touches(changed, 'schedule')) daemon.scheduler.setInterval('clock', config().MeasureIntervalSeconds * 1000);
    const sources = touches(changed, 'sources');
    const guardrail = touches(changed, 'guardrail');
    if (!sources && !guardrail) return;
    rebuildPending.sources ||= sources;
    rebuildPending.guardrail ||= guardrail;
    void daemon.scheduler.runNow('clock', 'config_changed');
  });
  daemon.on('stopping', () => events.stop());
}
