// Trust's row of `agentctl doctor`: every configured target trusted in the daemon's last round.
// Codes: docs/codes.md, "Doctor checks".
import type { CheckResult, DoctorCheck } from '../capability.js';
import { trustProblems } from './problems.js';

export const trustCheck: DoctorCheck = {
  name: 'trust targets',
  deadlineMs: 5_000,
  codes: ['not_checked', 'trust_no_targets', 'trust_not_checked', 'trust_target_untrusted', 'trust_target_expiring'],
  run({ config, status }): CheckResult {
    const configured = Array.isArray(config.TrustTargets) ? (config.TrustTargets as string[]) : [];
    if (configured.length === 0)
      return { status: 'info', code: 'trust_no_targets', message: 'No trust targets are configured (TrustTargets).' };
    if (!status)
      return {
        status: 'info',
        code: 'not_checked',
        message: `${configured.length} target${configured.length === 1 ? ' is' : 's are'} configured; not checked without the daemon.`,
      };
    const trust = status.trust as Record<string, unknown> | undefined;
    const targets = Array.isArray(trust?.targets) ? (trust.targets as unknown[]) : [];
    if (!trust || targets.length === 0)
      return {
        status: 'warning',
        code: 'trust_not_checked',
        message: `${configured.length} target${configured.length === 1 ? ' is' : 's are'} configured, but the daemon has no verdict yet.`,
        fix: 'start the daemon, or run agentctl trust TARGET',
      };
    const problems = trustProblems(trust);
    const untrusted = problems.filter((p) => p.code === 'trust_target_untrusted');
    if (untrusted.length > 0)
      return {
        status: 'failing',
        code: 'trust_target_untrusted',
        message: untrusted.map((p) => p.sentence).join(' '),
        fix: untrusted[0]!.fix,
      };
    const expiring = problems.filter((p) => p.code === 'trust_target_expiring');
    if (expiring.length > 0)
      return {
        status: 'warning',
        code: 'trust_target_expiring',
        message: expiring.map((p) => p.sentence).join(' '),
        fix: expiring[0]!.fix,
      };
    return {
      status: 'passing',
      code: 'ok',
      message: `${targets.length} target${targets.length === 1 ? ' is' : 's are'} trusted.`,
    };
  },
};

export const checks: readonly DoctorCheck[] = [trustCheck];
