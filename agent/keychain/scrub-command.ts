// `agentctl scrub [--dry-run] [--json] [--tenant DOMAIN] [--service NAME]… [--session]`: runs the
// scrub in this user's session (keychains are per user, so it is never run for someone else),
// prints the result, and files a summary with the daemon when it is reachable. The per-user
// LaunchAgent runs `agentctl scrub --session` at login and user switch.
//
// Mode: --dry-run forces dry-run; otherwise ScrubMode decides (default dry-run). Exit 0 when
// the run had no error (also when the scrub is not configured), 1 on any error, 64 on usage.
import os from 'node:os';
import path from 'node:path';
import type { CommandInput } from '../capability.js';
import { chooseSocket } from '../cli/socket.js';
import { loadCommandConfig } from '../config/command-config.js';
import { hostname } from '../config/schema.js';
import { DaemonUnreachableError, request } from '../control/client.js';
import { exitCodes } from '../exit-codes.js';
import type { Logger } from '../log/logger.js';
import { createAgentLogger, type AgentLogger } from '../log/winston.js';
import { scrubSettings, type ScrubSettings } from './config.js';
import { errorHints, reasonWords, skipHints } from './hints.js';
import { summarize, type SessionReport } from './report.js';
import { runScrub, type ReportEntry, type ScrubReport } from './scrub.js';

/** Where a session's own log goes: the user's Library/Logs (macOS) or XDG state directory. */
export function sessionLogDirectory(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Logs', 'TrustGuard');
  const state =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'trustguard');
}

class UsageError extends Error {}

function overrides(flags: CommandInput['flags'], settings: ScrubSettings): ScrubSettings {
  const session = flags.session === true;
  const tenant = flags.tenant as string | undefined;
  const services = flags.service as string[] | undefined;
  if (session && (tenant !== undefined || services !== undefined || flags['dry-run'] === true)) {
    throw new UsageError('--session runs the configured scrub; it takes no --tenant, --service or --dry-run');
  }
  const out = { ...settings };
  if (tenant !== undefined) {
    if (!hostname.safeParse(tenant).success || tenant.length > 253)
      throw new UsageError(`--tenant must be a domain name such as acme.okta.com, got ${JSON.stringify(tenant)}`);
    out.tenant = tenant;
  }
  if (services !== undefined) {
    if (services.length > 64) throw new UsageError('--service may be given at most 64 times');
    for (const s of services)
      if (s === '' || s.length > 1024 || s.includes('\0'))
        throw new UsageError(`--service must be a service name of 1 to 1024 characters, got ${JSON.stringify(s)}`);
    out.services = [...new Set(services)];
  }
  if (flags['dry-run'] === true) out.mode = 'dry-run';
  return out;
}

type Filing = { filed: true; uid: number } | { filed: false; why: string };

async function fileWithDaemon(report: SessionReport, flags: CommandInput['flags']): Promise<Filing> {
  try {
    const socket = await chooseSocket({
      socket: flags.socket as string | undefined,
      config: flags.config as string | undefined,
    });
    const response = await request(socket.path, 'keychain.report', { report }, 3000);
    if (!response.ok) return { filed: false, why: `${response.error.code}: ${response.error.message}` };
    const result = response.result as { filed?: boolean; uid?: number; code?: string; message?: string };
    return result.filed === true
      ? { filed: true, uid: result.uid ?? -1 }
      : { filed: false, why: `${result.code ?? 'refused'}: ${result.message ?? ''}` };
  } catch (error) {
    return {
      filed: false,
      why:
        error instanceof DaemonUnreachableError
          ? `the daemon is not reachable (${error.code} on ${error.socketPath})`
          : (error as Error).message,
    };
  }
}

function entryLine(e: ReportEntry): string {
  return `  ${e.service}  ${e.account ?? '(no account)'}  ${e.tag ? `tag ${e.tag.slice(0, 12)}…` : 'no tag'}  (${reasonWords[e.reason]})`;
}

function human(report: ScrubReport, filing: Filing): string {
  const out: string[] = [];
  const tag = report.tenant_tag ? ` (tag ${report.tenant_tag.slice(0, 12)}…)` : '';
  out.push(`Keychain scrub, ${report.mode}, tenant ${report.tenant || '(none)'}${tag}`);
  if (report.skipped) {
    out.push(skipHints[report.skipped]);
  } else {
    out.push(`Scanned ${report.scanned} item${report.scanned === 1 ? '' : 's'} of ${report.services.join(', ')}`);
    const acted = report.deleted ?? report.would_delete ?? [];
    const verb = report.deleted ? 'Deleted' : 'Would delete';
    out.push(`${verb} ${acted.length}${acted.length ? ':' : ''}`, ...acted.map(entryLine));
    out.push(`Kept ${report.kept}`);
    if (report.mode === 'dry-run' && acted.length)
      out.push('Dry run: nothing was deleted (ScrubMode "enforce" deletes).');
    for (const n of report.not_searched)
      out.push(`Not searched: access group ${n.access_group}: ${errorHints[n.code]}`);
  }
  for (const e of report.errors) {
    const where = e.service ? ` (${e.service} ${e.account ?? ''})` : '';
    out.push(`Error ${e.code}${where}: ${errorHints[e.code]} [${e.message}]`);
  }
  out.push(
    filing.filed
      ? `Reported to the daemon (filed under uid ${filing.uid}).`
      : `Not reported to the daemon: ${filing.why}.`,
  );
  return out.join('\n');
}

// When the session's log cannot be opened, the audit still goes somewhere: stderr, as JSON lines.
const stderrLine = (level: string) => (message: string, fields?: Record<string, unknown>) =>
  void process.stderr.write(`${JSON.stringify({ level, message, category: 'keychain', ...fields })}\n`);
const stderrLogger: Logger = {
  debug() {},
  info: stderrLine('info'),
  warn: stderrLine('warn'),
  error: stderrLine('error'),
};

function openLogger(): AgentLogger | null {
  try {
    return createAgentLogger({
      directory: sessionLogDirectory(),
      level: 'info',
      console: false,
      subsystem: 'com.trustguard.agent',
    });
  } catch {
    return null;
  }
}

export async function run({ flags }: CommandInput): Promise<number> {
  const config = await loadCommandConfig(flags.config as string | undefined);
  let settings: ScrubSettings;
  try {
    settings = overrides(flags, scrubSettings(config));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`agentctl scrub: ${error.message}\n(run agentctl scrub --help for usage)`);
    return exitCodes.usage;
  }
  const agentLogger = openLogger();
  const logger: Logger = agentLogger?.child('keychain') ?? stderrLogger;
  let report: ScrubReport;
  try {
    report = await runScrub({ ...settings, logger });
  } finally {
    await agentLogger?.close();
  }
  const session = flags.session === true;
  const filing = await fileWithDaemon(summarize(report, session ? 'session' : 'command'), flags);
  if (flags.json === true || session) {
    const json = { ...report, reported: filing.filed, ...(filing.filed ? {} : { report_problem: filing.why }) };
    process.stdout.write(session ? `${JSON.stringify(json)}\n` : `${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(`${human(report, filing)}\n`);
  }
  return report.errors.length ? exitCodes.error : exitCodes.ok;
}
