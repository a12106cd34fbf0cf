// Trust checks inside agentd: every TrustCheckIntervalSeconds, at once when the clock
// guardrail's state changes or the Trust keys change, each target (TrustTargets, plus on macOS
// the IdP hosts of installed Extensible SSO payloads) is evaluated at the system time and, when
// the guardrail has a confident estimate, at the corrected time. Publishes the Trust section of
// `agentctl status` and a telemetry event when a target's verdict changes. Each target is
// checked on its own: one that fails keeps its last verdict, marked stale, and the others are
// published; a round that fails as a whole leaves every verdict stale, and says why.
import { boundText } from '../bounded-text.js';
import type { Daemon } from '../daemon/daemon.js';
import { caFileLimits, CertificateFileError, readProtectedCertificateFile } from './certificates.js';
import { checkTrust, type Correction, type RevocationMode, type TrustReport } from './check.js';
import type { CheckReason } from './codes.js';
import type { TrustConfig } from './config.js';
import { installedSsoTargets } from './sso-targets.js';
import { untilAborted } from '../daemon/scheduler.js';

/** The part of a report the status section keeps (the chain is left out, its leaf summarised). */
export function statusEntry(report: TrustReport, origin: 'configured' | 'sso_payload'): Record<string, unknown> {
  const leaf = report.chain[0];
  return {
    target: report.target,
    origin,
    trusted: report.trusted,
    result: report.result,
    diagnosis: report.diagnosis,
    findings: report.findings,
    error: report.error,
    at_corrected_time: report.at_corrected_time,
    revocation: report.revocation,
    leaf: leaf ? { subject: leaf.subject, issuer: leaf.issuer, not_after: leaf.not_after, sha256: leaf.sha256 } : null,
    leaf_expires_in_days: report.leaf_expires_in_days,
    hint: report.hint,
    checked_at: report.checked_at,
  };
}

const CONCURRENCY = 4;

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export function attachTrustChecks(daemon: Daemon): void {
  const logger = daemon.logger.child('trust');
  const config = () => daemon.config as TrustConfig;
  /** The last entry of each current target and the round that made it. */
  let entries: Array<{ target: string; entry: Record<string, unknown>; round: number }> = [];
  /** Rounds finished (with or without an error); an entry from an earlier one is stale. */
  let rounds = 0;
  let roundError: string | null = null;
  let lastCheck: { at_ms: number; reason: string } | null = null;
  let caProblems: string[] = [];
  let ssoError: string | null = null;
  let correctionSource: string | null = null;
  const previousVerdict = new Map<string, string>();

  /** The guardrail's corrected time, when it has a confident estimate. */
  const correction = (): Correction | null => {
    const estimate = daemon.bus.latest('clock.estimate');
    if (!estimate || !estimate.confident || estimate.offset_ms === null) return null;
    return {
      kind: 'offset',
      offsetMs: estimate.offset_ms,
      uncertaintyMs: estimate.uncertainty_ms,
      source: 'the guardrail',
      ntpHost: null,
    };
  };

  const anchors = async (files: readonly string[]): Promise<Buffer[]> => {
    const out: Buffer[] = [];
    const problems: string[] = [];
    for (const file of files) {
      try {
        out.push(...(await readProtectedCertificateFile(file, caFileLimits)));
      } catch (error) {
        if (!(error instanceof CertificateFileError)) throw error;
        problems.push(error.message);
      }
    }
    if (problems.join('\n') !== caProblems.join('\n'))
      for (const p of problems) logger.warn('TrustCAFiles: a file is not usable', { error: p });
    caProblems = problems;
    return out;
  };

  /** A target whose check threw (a bug, never a bad peer): its previous entry, or one saying so. */
  const failedEntry = (target: string, origin: string, message: string): Record<string, unknown> => {
    const previous = entries.find((e) => e.target === target);
    const error = { code: 'evaluation_failed', message: boundText(message) };
    if (previous) return { ...previous.entry, stale_error: error };
    return {
      target,
      origin,
      trusted: false,
      result: null,
      diagnosis: 'malformed',
      findings: ['malformed'],
      error,
      at_corrected_time: null,
      revocation: null,
      leaf: null,
      leaf_expires_in_days: null,
      hint: null,
      checked_at: null,
    };
  };

  const round = async (reason: string, signal: AbortSignal): Promise<void> => {
    const c = config();
    const sso = await installedSsoTargets();
    ssoError = sso.error === null ? null : boundText(sso.error);
    const targets: Array<{ target: string; origin: 'configured' | 'sso_payload' }> = [
      ...c.TrustTargets.map((target) => ({ target, origin: 'configured' as const })),
      ...sso.targets
        .filter((t) => !c.TrustTargets.includes(t))
        .map((target) => ({ target, origin: 'sso_payload' as const })),
    ];
    const extra = await anchors(c.TrustCAFiles);
    const corrected = correction();
    const revocation = c.TrustRevocation as RevocationMode;
    const outcomes = await untilAborted(
      mapLimited(targets, CONCURRENCY, async ({ target, origin }) => {
        try {
          const report = await checkTrust({
            target,
            anchors: extra.length ? extra : undefined,
            correction: corrected,
            revocation,
            protectedFiles: true,
            ocspAllowLocal: c.TrustOCSPAllowLocal,
          });
          return { target, origin, report, error: null };
        } catch (error) {
          return { target, origin, report: null, error: (error as Error)?.message ?? String(error) };
        }
      }),
      signal,
    );
    // Shutting down: a check cut short is not a result.
    if (outcomes === undefined) return;
    const thisRound = rounds + 1;
    entries = outcomes.map(({ target, origin, report, error }) => {
      if (report) return { target, entry: statusEntry(report, origin), round: thisRound };
      logger.error(`trust ${boundText(target, 200)}: the check failed`, { target, error: boundText(error ?? '') });
      const previous = entries.find((e) => e.target === target);
      return { target, entry: failedEntry(target, origin, error ?? ''), round: previous?.round ?? thisRound };
    });
    rounds = thisRound;
    roundError = null;
    correctionSource = corrected ? corrected.source : null;
    lastCheck = { at_ms: Date.now(), reason };
    const reports = outcomes.filter((o) => o.report !== null).map((o) => ({ report: o.report! }));
    for (const { report } of reports) {
      // What a fleet counts is a change: one event per target when its verdict or findings
      // change (and its first result after a start), not one per check.
      const key = `${report.trusted}:${report.findings.join(',')}`;
      const before = previousVerdict.get(report.target);
      previousVerdict.set(report.target, key);
      const attributes = {
        target: report.target,
        trusted: report.trusted,
        result: report.result,
        findings: report.findings,
        error_code: report.error === null ? null : String(report.error.code),
        leaf_expires_in_days: report.leaf_expires_in_days,
        corrected: report.at_corrected_time !== null,
        previous_findings: before === undefined ? null : before.slice(before.indexOf(':') + 1).split(','),
      };
      if (before !== key) {
        daemon.bus.event({
          name: 'trust.changed',
          severity: report.trusted ? 'info' : 'warn',
          code: report.diagnosis,
          attributes,
        });
      }
      const log = report.trusted ? logger.info.bind(logger) : logger.warn.bind(logger);
      log(`trust ${report.target}: ${report.trusted ? 'trusted' : 'not trusted'} (${report.diagnosis})`, {
        ...attributes,
        reason,
        hint: report.hint,
      });
    }
    for (const target of [...previousVerdict.keys()])
      if (!targets.some((t) => t.target === target)) previousVerdict.delete(target);
  };

  daemon.scheduler.every('trust', config().TrustCheckIntervalSeconds * 1000, async ({ reason, signal }) => {
    try {
      await round(reason, signal);
    } catch (error) {
      // Every verdict shown is now older than this round: status says so (stale), and why.
      rounds += 1;
      roundError = boundText((error as Error)?.message ?? String(error));
      lastCheck = { at_ms: Date.now(), reason };
      throw error;
    }
  });

  daemon.status.section('trust', () => ({
    targets: entries.map(({ entry, round: made }) => ({ ...entry, stale: made < rounds })),
    revocation: config().TrustRevocation,
    interval_s: config().TrustCheckIntervalSeconds,
    ca_files: config().TrustCAFiles,
    ca_file_problems: caProblems,
    sso_payload_error: ssoError,
    corrected_time_source: correctionSource,
    last_check_ms: lastCheck?.at_ms ?? null,
    last_check_reason: lastCheck?.reason ?? null,
    last_check_error: roundError,
  }));

  // A change of the guardrail's state changes the corrected time (or whether there is one).
  let clockState: string | null = null;
  daemon.bus.subscribe('clock.estimate', (estimate) => {
    const state = `${estimate.state}/${estimate.confident}`;
    if (state === clockState) return;
    const first = clockState === null;
    clockState = state;
    logger.debug('clock estimate changed', { state: estimate.state, confident: estimate.confident });
    void daemon.scheduler.runNow('trust', (first ? 'clock_estimate' : 'clock_state_changed') satisfies CheckReason);
  });

  daemon.on('config', ({ changed }) => {
    if (changed.includes('TrustCheckIntervalSeconds'))
      daemon.scheduler.setInterval('trust', config().TrustCheckIntervalSeconds * 1000);
    if (changed.some((k) => k === 'TrustTargets' || k === 'TrustCAFiles' || k === 'TrustRevocation'))
      void daemon.scheduler.runNow('trust', 'config_changed' satisfies CheckReason);
  });
}
