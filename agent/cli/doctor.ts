// `agentctl doctor`: every check of the agent as one table, like `santactl doctor` and Kolide's
// doctor: the daemon's own checks (configuration, daemon, permissions) and each capability's
// (Capability.doctor, agent/capability.ts). Checks are functions of one gathered context; each
// has a deadline and its time is reported. Codes: docs/codes.md, "Doctor checks".
import type { execFile as ExecFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CheckResult, CheckStatus, DoctorCheck, DoctorContext } from '../capability.js';
import { capabilities } from '../capabilities.js';
import { domain } from '../config/defaults.js';
import { paint, wrapText, type Style } from './format.js';

export interface CheckRow extends CheckResult {
  name: string;
  fix: string;
  duration_ms: number;
}

const configurationCheck: DoctorCheck = {
  name: 'configuration',
  deadlineMs: 10_000,
  codes: ['config_invalid', 'config_last_good'],
  run({ configProblems, sources, status }) {
    const daemonProblems = (status?.daemon as { config_problems?: unknown[] } | undefined)?.config_problems ?? [];
    const problems = [...new Set([...configProblems, ...daemonProblems.map(String)])];
    if (problems.length > 0)
      return {
        status: 'failing',
        code: 'config_invalid',
        message: `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems[0]!.slice(0, 200)}`,
        fix: 'agentctl config validate FILE names every problem; fix the profile, then agentctl reload',
      };
    const lastGood = Object.entries(sources).filter(([, source]) => String(source ?? '').endsWith('(last good)'));
    if (lastGood.length > 0)
      return {
        status: 'warning',
        code: 'config_last_good',
        message: `${lastGood.length} key${lastGood.length === 1 ? ' keeps its' : 's keep their'} last good value (${lastGood
          .slice(0, 3)
          .map(([k]) => k)
          .join(', ')}): a file did not parse or validate`,
        fix: 'fix the profile or file the daemon reads, then agentctl reload',
      };
    const files = [...new Set(Object.values(sources).filter((s) => typeof s === 'string' && s !== 'default'))];
    return {
      status: 'passing',
      code: 'ok',
      message: `Valid, from ${files.length ? files.join(', ') : 'the defaults'}.`,
    };
  },
};

function modeOf(file: string): { mode: number; uid: number } | null {
  try {
    const s = statSync(file);
    return { mode: s.mode & 0o777, uid: s.uid };
  } catch {
    return null;
  }
}

function launchctlPrint(signal: AbortSignal): Promise<{ loaded: boolean; detail: string }> {
  // node:child_process only here, on a Mac (issue 21: loading it costs `doctor` ~1 ms).
  const { execFile } = createRequire(import.meta.url)('node:child_process') as { execFile: typeof ExecFile };
  return new Promise((resolve) => {
    execFile('/bin/launchctl', ['print', `system/${domain}`], { signal, timeout: 5000 }, (error, stdout) => {
      if (!error) resolve({ loaded: true, detail: /state = (\S+)/.exec(stdout)?.[1] ?? 'loaded' });
      else resolve({ loaded: false, detail: (error as Error).message.split('\n')[0]!.slice(0, 200) });
    });
  });
}

const daemonCheck: DoctorCheck = {
  name: 'daemon',
  deadlineMs: 10_000,
  codes: ['daemon_unreachable', 'daemon_socket_unsafe', 'daemon_other_instance', 'launchd_not_loaded'],
  async run({ status, statusError, config, signal }) {
    if (process.platform === 'darwin') {
      const job = await launchctlPrint(signal);
      if (!job.loaded)
        return {
          status: 'failing',
          code: 'launchd_not_loaded',
          message: `The launchd job ${domain} is not loaded (${job.detail}).`,
          fix: `sudo launchctl bootstrap system /Library/LaunchDaemons/${domain}.plist`,
        };
    }
    const daemon = status?.daemon as Record<string, unknown> | undefined;
    if (!status || !daemon)
      return {
        status: 'failing',
        code: 'daemon_unreachable',
        message: `The daemon does not answer${statusError ? ` (${statusError})` : ''}.`,
        fix:
          process.platform === 'darwin'
            ? `sudo launchctl kickstart -k system/${domain}`
            : 'start agentd (npm start in a checkout, or the service manager)',
      };
    const control = String(daemon.control_socket ?? '');
    const admin = String(daemon.admin_socket ?? '');
    const c = modeOf(control);
    const a = modeOf(admin);
    const unsafe: string[] = [];
    if (!c || c.mode !== 0o666) unsafe.push(`${control} mode ${c ? c.mode.toString(8) : 'missing'} (want 666)`);
    if (!a || a.mode !== 0o600) unsafe.push(`${admin} mode ${a ? a.mode.toString(8) : 'missing'} (want 600)`);
    if (c && a && c.uid !== a.uid) unsafe.push(`the sockets have different owners (${c.uid}, ${a.uid})`);
    if (unsafe.length)
      return {
        status: 'failing',
        code: 'daemon_socket_unsafe',
        message: `Control sockets: ${unsafe.join('; ')}.`,
        fix: 'restart the daemon (it recreates its sockets); if it recurs, something else changes them',
      };
    let lockPid: number | null = null;
    try {
      const text = readFileSync(path.join(String(config.StateDirectory), 'agentd.lock'), 'utf8').slice(0, 32);
      lockPid = /^\d+/.test(text) ? Number.parseInt(text, 10) : null;
    } catch {
      // Unreadable for this user: not evidence of a second instance.
    }
    if (lockPid !== null && lockPid !== daemon.pid)
      return {
        status: 'failing',
        code: 'daemon_other_instance',
        message: `The daemon answering (pid ${String(daemon.pid)}) is not the one holding the state lock (pid ${lockPid}).`,
        fix: 'stop the extra agentd; only the launchd job should run',
      };
    const owner = c!.uid === 0 ? 'root' : `uid ${c!.uid}`;
    return {
      status: 'passing',
      code: 'ok',
      message: `Running (pid ${String(daemon.pid)}, version ${String(daemon.version)}); sockets 666/600 owned by ${owner}.`,
    };
  },
};

const permissionsCheck: DoctorCheck = {
  name: 'permissions',
  deadlineMs: 5_000,
  codes: ['not_applicable', 'full_disk_access_not_granted', 'full_disk_access_unknown'],
  run({ status }) {
    if (process.platform !== 'darwin')
      return { status: 'info', code: 'not_applicable', message: 'Full Disk Access exists only on macOS.' };
    const fda = String((status?.permissions as { full_disk_access?: unknown } | undefined)?.full_disk_access ?? '');
    if (fda === 'authorized') return { status: 'passing', code: 'ok', message: 'Full Disk Access is granted.' };
    // Needed only for files in TCC-protected folders (docs/install.md): information, not a failure.
    if (fda === 'denied' || fda === 'not determined' || fda === 'restricted')
      return {
        status: 'info',
        code: 'full_disk_access_not_granted',
        message: `Full Disk Access is ${fda}: needed only when a file key names a file in a protected folder.`,
        fix: 'if so, install the PPPC profile (examples/com.trustguard.agent.pppc.mobileconfig) with the MDM',
      };
    return {
      status: 'warning',
      code: 'full_disk_access_unknown',
      message: `Full Disk Access cannot be read (${fda.slice(0, 120) || 'no answer from the daemon'}).`,
      fix: 'check System Settings > Privacy & Security > Full Disk Access',
    };
  },
};

/** The daemon's own checks, then each capability's, in the order `status` shows them. */
export async function allChecks(): Promise<DoctorCheck[]> {
  const own = await Promise.all(capabilities.map(async (c) => (c.doctor ? await c.doctor() : [])));
  return [configurationCheck, daemonCheck, ...own.flat(), permissionsCheck];
}

/** Every code a check can give (besides `ok`), for docs/codes.md. */
export async function allCheckCodes(): Promise<string[]> {
  return [...new Set((await allChecks()).flatMap((c) => c.codes))];
}

export type GatheredContext = Omit<DoctorContext, 'signal' | 'progress'>;

/** Runs every check at once, each under its deadline; the rows keep the checks' order. */
export async function runChecks(
  checks: readonly DoctorCheck[],
  context: GatheredContext,
  progress: (text: string) => void = () => {},
): Promise<CheckRow[]> {
  let done = 0;
  progress(`running ${checks.length} checks… 0 done`);
  return Promise.all(
    checks.map(async (check): Promise<CheckRow> => {
      const started = performance.now();
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => {
          controller.abort();
          resolve({
            status: 'error',
            code: 'check_timeout',
            message: `The check did not finish within its deadline (${check.deadlineMs} ms).`,
            fix: 'run agentctl doctor again; if it recurs, run agentctl flare and report it',
          });
        }, check.deadlineMs);
      });
      let result: CheckResult;
      try {
        result = await Promise.race([
          Promise.resolve().then(() =>
            check.run({
              ...context,
              signal: controller.signal,
              progress: (text) => progress(`${check.name}: ${text}`),
            }),
          ),
          deadline,
        ]);
      } catch (error) {
        result = {
          status: 'error',
          code: 'check_failed',
          message: `The check failed: ${(error as Error).message.slice(0, 200)}`,
          fix: 'run agentctl flare and report it',
        };
      } finally {
        clearTimeout(timer);
      }
      done++;
      progress(`running ${checks.length} checks… ${done} done`);
      return {
        name: check.name,
        status: result.status,
        code: result.code,
        message: result.message,
        fix: result.fix ?? '',
        duration_ms: Math.round(performance.now() - started),
      };
    }),
  );
}

const statusWords: Record<CheckStatus, [string, 'green' | 'yellow' | 'red' | 'dim']> = {
  passing: ['Passing', 'green'],
  warning: ['Warning', 'yellow'],
  failing: ['Failing', 'red'],
  error: ['Error', 'red'],
  info: ['Info', 'dim'],
};

/** One table at 80 columns: check, result, time, then the finding (code, sentence, fix) wrapped. */
export function renderChecks(rows: readonly CheckRow[], style: Style): string {
  const nameWidth = Math.min(16, Math.max(5, ...rows.map((r) => r.name.length)));
  const resultWidth = 7;
  const tookWidth = 7;
  const left = 2 + nameWidth + 2 + resultWidth + 2 + tookWidth + 2;
  const lines = [
    `  ${'Check'.padEnd(nameWidth)}  ${'Result'.padEnd(resultWidth)}  ${'Took'.padStart(tookWidth)}  Finding`,
  ];
  for (const row of rows) {
    const [word, colour] = statusWords[row.status];
    const text =
      row.status === 'passing' || !row.fix
        ? `${row.code === 'ok' ? '' : `${row.code}: `}${row.message}`
        : `${row.code}: ${row.message} Fix: ${row.fix}`;
    const took = row.duration_ms >= 1000 ? `${(row.duration_ms / 1000).toFixed(1)} s` : `${row.duration_ms} ms`;
    const wrapped = wrapText(text, style.columns - left);
    const name = row.name.length > nameWidth ? `${row.name.slice(0, nameWidth - 1)}…` : row.name;
    lines.push(
      `  ${name.padEnd(nameWidth)}  ${paint(style, colour, word.padEnd(resultWidth))}  ${took.padStart(tookWidth)}  ${wrapped.shift()!}`,
    );
    for (const l of wrapped) lines.push(`${' '.repeat(left)}${l}`);
  }
  const count = (s: CheckStatus) => rows.filter((r) => r.status === s).length;
  const bad = count('failing') + count('error') + count('warning');
  const summary = bad
    ? `${paint(style, 'red', 'Problems found')}: ${[
        count('failing') ? `${count('failing')} failing` : '',
        count('error') ? `${count('error')} error${count('error') === 1 ? '' : 's'}` : '',
        count('warning') ? `${count('warning')} warning${count('warning') === 1 ? '' : 's'}` : '',
      ]
        .filter(Boolean)
        .join(', ')}`
    : paint(style, 'green', 'All checks passing');
  return [summary, '', ...lines].join('\n');
}

/** `doctor --json`: the verdict, then every row (durations in ms, the time in RFC 3339 UTC). */
export function checksJson(rows: readonly CheckRow[], at: Date): Record<string, unknown> {
  return {
    healthy: rows.every((r) => r.status === 'passing' || r.status === 'info'),
    checked_at: at.toISOString(),
    checks: rows,
  };
}
