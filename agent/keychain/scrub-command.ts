// `agentctl scrub [--dry-run] [--json] [--tenant DOMAIN] [--service NAME]…`: runs the scrub in
// this user's session (keychains are per user, so it is never run for someone else), prints the
// result, and files a summary with the daemon when it is reachable. The per-user LaunchAgent
// runs the same scrub as `agentd --session` (session-run.ts).
//
// Mode: --dry-run forces dry-run; otherwise ScrubMode decides (default dry-run). Exit 0 when
// the run had no error (also when the scrub is not configured), 1 on any error, 64 on usage.
import type { CommandInput } from '../capability.js';
import { loadCommandConfig } from '../config/command-config.js';
import { hostname } from '../config/schema.js';
import { exitCodes } from '../exit-codes.js';
import { scrubSettings, type ScrubSettings } from './config.js';
import { errorHints, reasonWords, skipHints } from './hints.js';
import { scrubAndFile, type Filing } from './run.js';
import type { ReportEntry, ScrubReport } from './scrub.js';

class UsageError extends Error {}

function overrides(flags: CommandInput['flags'], settings: ScrubSettings): ScrubSettings {
  const tenant = flags.tenant as string | undefined;
  const services = flags.service as string[] | undefined;
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
  if (process.getuid?.() === 0)
    out.push("Run as root: this was root's own keychain; each user's session scrubs its own.");
  out.push(
    filing.filed
      ? `Reported to the daemon (filed under uid ${filing.uid}).`
      : `Not reported to the daemon: ${filing.why}.`,
  );
  return out.join('\n');
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
  const socket = { socket: flags.socket as string | undefined, config: flags.config as string | undefined };
  const { report, filing } = await scrubAndFile(settings, 'command', socket);
  if (flags.json === true) {
    const json = { ...report, reported: filing.filed, ...(filing.filed ? {} : { report_problem: filing.why }) };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(`${human(report, filing)}\n`);
  }
  return report.errors.length ? exitCodes.error : exitCodes.ok;
}
