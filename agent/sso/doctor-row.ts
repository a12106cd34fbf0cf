// The SSO row of `agentctl doctor` ("sso payloads"): the installed com.apple.extensiblesso
// payloads, as agentd reads them (`sso.installed`, installed-service.ts), put through the SSO
// doctor's own checks (doctor.ts, the same run as `agentctl doctor sso` without --profile) and
// graded in one row; `agentctl doctor sso` shows the details. Codes: docs/codes.md, "Doctor
// checks".
//
// Light on purpose: doctor and flare inline this file (scripts/bundle.mjs). The SSO doctor
// itself (the network checks, the trust evaluation) is loaded only when there are payloads to
// check. Grading is two pure functions of the daemon's answer and the doctor's report.
import { boundText, printable } from '../bounded-text.js';
import type { CheckResult, DaemonAnswer, DoctorCheck } from '../capability.js';
import type { SsoReport } from './doctor.js';
import { checkInstalledAnswer, type InstalledAnswer } from './installed.js';

export type Installed = InstalledAnswer & { code: 'ok' };

/** agentd's own deadline for `sso.installed` is 45 s (installed-service.ts); it answers from a 60 s cache. */
const installedTimeoutMs = 30_000;
/** Each request and command of the SSO doctor (`doctor sso --timeout`, whose default is 10 s). */
export const rowRequestTimeoutMs = 5_000;
const defaultCdnBase = 'https://app-site-association.cdn-apple.com/a/v1';

const details = 'run agentctl doctor sso for every check of every payload and its fix';
const offMacos = 'check a profile file with agentctl doctor sso --profile FILE';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** Outside text (agentd's, a peer's through the report) shown on one line, printable, at most `max` long. */
const bounded = (text: string, max: number) => boundText(printable(text.slice(0, 4 * max).replace(/\s+/g, ' ')), max);

/**
 * What the daemon's reply to `sso.installed` leaves to do: the payloads to check, or the row
 * (info when there is nothing to check, error when agentd could not say).
 */
export function judgeInstalled(reply: DaemonAnswer | { error: string }): Installed | CheckResult {
  const failed = (why: string): CheckResult => ({
    status: 'error',
    code: 'sso_installed_error',
    message: `agentd could not say which SSO payloads are installed: ${bounded(why, 300)}`,
    fix: `${details}; if it says the same, check agentd's log`,
  });
  if ('error' in reply && typeof reply.error === 'string') return failed(reply.error);
  const answer = reply as DaemonAnswer;
  if (!answer.ok) return failed(`${answer.error.code}: ${answer.error.message}`);
  const installed = checkInstalledAnswer(answer.result);
  if (!installed) return failed('the answer to sso.installed has the wrong shape');
  if (installed.code === 'installed_not_macos')
    return {
      status: 'info',
      code: 'not_applicable',
      message: `agentd: ${bounded(installed.message, 160)}.`,
      fix: offMacos,
    };
  if (installed.code !== 'ok') return failed(`${installed.code}: ${installed.message}`);
  if (installed.payloads.length === 0)
    return {
      status: 'info',
      code: 'sso_no_payloads',
      message: `No com.apple.extensiblesso payload is installed (read by agentd at ${bounded(installed.read_at, 40)}).`,
    };
  return installed;
}

/** The row for the SSO doctor's report on the installed payloads: its worst finding heads it. */
export function judgeReport(report: SsoReport, installed: Installed): CheckResult {
  const n = report.payloads.length;
  const findings = report.payloads.flatMap((p) =>
    p.checks.filter((c) => c.status === 'fail').map((check) => ({ payload: p, check })),
  );
  const worst =
    findings.find((f) => f.check.severity === 'error') ?? findings.find((f) => f.check.severity === 'warning');
  const bad = report.payloads.filter((p) => p.checks.some((c) => c.status === 'fail')).length;
  const leftOut = installed.left_out;
  const notRoot = installed.as_root ? '' : ' agentd does not run as root: computer-level profiles may be missing.';
  if (worst) {
    const { payload, check } = worst;
    const where = [check.target, payload.payload_identifier ?? payload.file].filter(Boolean).join(', ');
    const counts = [
      report.summary.errors ? plural(report.summary.errors, 'error') : '',
      report.summary.warnings ? plural(report.summary.warnings, 'warning') : '',
    ]
      .filter(Boolean)
      .join(', ');
    const failing = check.severity === 'error';
    return {
      status: failing ? 'failing' : 'warning',
      code: failing ? 'sso_payload_failing' : 'sso_payload_warning',
      message: bounded(
        `${check.code} (${check.check} check, ${where}): ${check.detail.replace(/[.\s]+$/, '')}; findings in ${bad} of ${plural(n, 'payload')}: ${counts}.${
          leftOut ? ` ${leftOut} more not checked.` : ''
        }${notRoot}`,
        400,
      ),
      fix: details,
    };
  }
  if (leftOut > 0)
    return {
      status: 'warning',
      code: 'sso_payload_warning',
      message: `installed_left_out: ${plural(n, 'payload')} pass every check, but ${leftOut} more are installed than agentd answers; they are not checked.${notRoot}`,
      fix: details,
    };
  const ran = new Set(report.payloads.flatMap((p) => p.checks.filter((c) => c.status === 'pass').map((c) => c.check)));
  return {
    status: 'passing',
    code: 'ok',
    message: bounded(
      `${n === 1 ? 'The installed SSO payload passes' : `All ${n} installed SSO payloads pass`} every check (${[...ran].join(', ')}).${notRoot}`,
      400,
    ),
  };
}

export const ssoCheck: DoctorCheck = {
  name: 'sso payloads',
  deadlineMs: 45_000,
  codes: [
    'not_applicable',
    'not_checked',
    'sso_no_payloads',
    'sso_installed_error',
    'sso_payload_failing',
    'sso_payload_warning',
  ],
  async run({ status, ask, config, signal, progress }): Promise<CheckResult> {
    if (!status || !ask) {
      if (process.platform !== 'darwin')
        return {
          status: 'info',
          code: 'not_applicable',
          message: 'No installed profiles to read off macOS.',
          fix: offMacos,
        };
      return {
        status: 'info',
        code: 'not_checked',
        message: 'Not checked without the daemon: it reads the installed profiles as root.',
      };
    }
    progress('asking agentd for the installed SSO payloads…');
    let reply: DaemonAnswer | { error: string };
    try {
      reply = await ask('sso.installed', installedTimeoutMs);
    } catch (error) {
      reply = { error: String((error as Error)?.message ?? error) };
    }
    const judged = judgeInstalled(reply);
    if ('status' in judged) return judged;
    const total = judged.payloads.length;
    progress(`checking ${plural(total, 'SSO payload')}… 0 done`);
    // Only now: the SSO doctor, its network checks and the trust evaluation.
    const { runSsoDoctorInstalled, trustSetup } = await import('./doctor.js');
    const cdn = typeof config.SSOAssociationCDNURL === 'string' ? config.SSOAssociationCDNURL : defaultCdnBase;
    const report = await runSsoDoctorInstalled(judged, {
      trust: await trustSetup([], { timeoutMs: rowRequestTimeoutMs }),
      cdnBase: cdn,
      issuer: null,
      timeoutMs: rowRequestTimeoutMs,
      // As `agentctl doctor sso` without --allow-local-urls: a payload's loopback or link-local
      // hosts are not asked (the CDN base is the administrator's own, and always asked).
      allowLocal: false,
      signal,
      onPayload: (done) => progress(`checking ${plural(total, 'SSO payload')}… ${done} done`),
    });
    return judgeReport(report, judged);
  },
};

export const checks: readonly DoctorCheck[] = [ssoCheck];
