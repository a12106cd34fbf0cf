// The clock's row of `agentctl doctor`: at least three independent sources configured, and the
// running daemon's last round agreeing on an on-time clock. Codes: docs/codes.md, "Doctor checks".
import type { CheckResult, DoctorCheck } from '../capability.js';
import { describeOffset } from './wording.js';

interface SourceRow {
  kind?: string;
  address?: string;
  status?: string;
  code?: string | null;
}

export const clockCheck: DoctorCheck = {
  name: 'clock',
  deadlineMs: 5_000,
  codes: [
    'not_checked',
    'clock_too_few_sources',
    'clock_duplicate_sources',
    'clock_not_measured',
    'clock_uncertain',
    'clock_skewed',
    'clock_source_failing',
  ],
  run({ config, status }): CheckResult {
    const ntp = Array.isArray(config.NTPServers) ? (config.NTPServers as string[]) : [];
    const https = Array.isArray(config.HTTPSTimeURLs) ? (config.HTTPSTimeURLs as string[]) : [];
    const configured = ntp.length + https.length;
    // Three so that one wrong or silent source is outvoted (the majority rule, docs/codes.md).
    if (configured < 3)
      return {
        status: 'failing',
        code: 'clock_too_few_sources',
        message: `${configured} time source${configured === 1 ? ' is' : 's are'} configured; the agent trusts a majority, so it needs at least 3 independent ones.`,
        fix: 'list three servers of independent operators in NTPServers (docs/configuration.md)',
      };
    // Without the daemon there is no measurement: the daemon's row says why (not this one).
    if (!status)
      return {
        status: 'info',
        code: 'not_checked',
        message: `${configured} sources are configured; their agreement is not checked without the daemon.`,
      };
    const clock = status.clock as Record<string, unknown> | undefined;
    if (!clock || typeof clock !== 'object' || typeof clock.error === 'string')
      return {
        status: 'warning',
        code: 'clock_not_measured',
        message: `${configured} sources are configured, but the daemon gave no measurement to check their agreement.`,
        fix: 'check the Clock section of agentctl status --json',
      };
    const sources = Array.isArray(clock.sources) ? (clock.sources as SourceRow[]) : [];
    const duplicates = sources.filter((s) => s.code === 'duplicate');
    if (duplicates.length > 0)
      return {
        status: 'failing',
        code: 'clock_duplicate_sources',
        message: `${duplicates.map((s) => s.address).join(', ')} reach${duplicates.length === 1 ? 'es' : ''} the same server as another entry: they count once.`,
        fix: 'replace the duplicates with servers of other operators',
      };
    if (clock.measurements === 0)
      return {
        status: 'warning',
        code: 'clock_not_measured',
        message: 'The daemon has not measured yet.',
        fix: 'wait for the first round, or run sudo agentctl doctor again',
      };
    const agreeing = Number(clock.agreeing_sources ?? 0);
    const total = Number(clock.total_sources ?? sources.length);
    if (clock.state === 'uncertain')
      return {
        status: 'failing',
        code: 'clock_uncertain',
        message: `No confident estimate (${String(clock.uncertain_reason ?? 'unknown')}): ${agreeing} of ${total} sources agree.`,
        fix: 'see the sources in agentctl status --verbose; each failing one has a code in docs/codes.md',
      };
    const offset = typeof clock.offset_ms === 'number' ? clock.offset_ms : 0;
    if (clock.state === 'warn' || clock.state === 'active')
      return {
        status: 'failing',
        code: 'clock_skewed',
        message: `The clock is ${describeOffset(offset)} (${String(clock.state)}); ${agreeing} of ${total} sources agree.`,
        fix: typeof clock.hint === 'string' && clock.hint ? clock.hint : 'set the clock from a trusted time server',
      };
    const failing = sources.filter((s) => s.status === 'error' || s.status === 'falseticker');
    if (failing.length > 0)
      return {
        status: 'warning',
        code: 'clock_source_failing',
        message: `${agreeing} of ${total} sources agree; ${failing.map((s) => `${s.address} (${s.code ?? s.status})`).join(', ')} did not.`,
        fix: 'check or replace the failing sources (codes in docs/codes.md)',
      };
    return {
      status: 'passing',
      code: 'ok',
      message: `${configured} sources configured, ${agreeing} of ${total} agree; the clock is ${describeOffset(offset)}.`,
    };
  },
};

export const checks: readonly DoctorCheck[] = [clockCheck];
