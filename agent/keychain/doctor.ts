// The keychain scrub's row of `agentctl doctor`: configured, and every session that reported
// did so recently and without errors. Codes: docs/codes.md, "Doctor checks".
import type { CheckResult, DoctorCheck } from '../capability.js';
import { keychainProblems } from './problems.js';

/** A session's report older than this is stale: the LaunchAgent runs the scrub at each login. */
const recentMs = 7 * 86_400_000;

export const keychainCheck: DoctorCheck = {
  name: 'keychain scrub',
  deadlineMs: 5_000,
  codes: [
    'not_checked',
    'keychain_not_configured',
    'keychain_not_checked',
    'keychain_no_report',
    'keychain_report_old',
    'keychain_scrub_error',
  ],
  run({ config, status }): CheckResult {
    const services = Array.isArray(config.ScrubServices) ? (config.ScrubServices as string[]) : [];
    if (!config.TenantDomain || services.length === 0)
      return {
        status: 'info',
        code: 'keychain_not_configured',
        message: 'The scrub is not configured (TenantDomain and ScrubServices).',
      };
    if (!status)
      return {
        status: 'info',
        code: 'not_checked',
        message: "The sessions' reports are not checked without the daemon.",
      };
    const keychain = status.keychain as Record<string, unknown> | undefined;
    if (!keychain || typeof keychain.error === 'string')
      return {
        status: 'warning',
        code: 'keychain_not_checked',
        message: 'The daemon gave no keychain section to check.',
        fix: 'start the daemon',
      };
    const errors = keychainProblems(keychain);
    if (errors.length > 0)
      return { status: 'failing', code: 'keychain_scrub_error', message: errors[0]!.sentence, fix: errors[0]!.fix };
    const users = Array.isArray(keychain.users)
      ? (keychain.users as Array<{ uid?: number; received_at?: string }>)
      : [];
    if (users.length === 0)
      return {
        status: 'warning',
        code: 'keychain_no_report',
        message: 'No login session has reported a scrub.',
        fix: 'check that the per-user LaunchAgent is installed and loaded (docs/install.md)',
      };
    const old = users.filter((u) => !u.received_at || Date.now() - Date.parse(u.received_at) > recentMs);
    if (old.length > 0)
      return {
        status: 'warning',
        code: 'keychain_report_old',
        message: `No report for 7 days from ${old.map((u) => `uid ${u.uid ?? '?'}`).join(', ')}.`,
        fix: 'check the per-user LaunchAgent in those sessions (launchctl print gui/UID/com.trustguard.agent.session)',
      };
    return {
      status: 'passing',
      code: 'ok',
      message: `${users.length} session${users.length === 1 ? '' : 's'} reported a scrub without errors this week.`,
    };
  },
};

export const checks: readonly DoctorCheck[] = [keychainCheck];
