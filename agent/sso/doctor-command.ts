// `agentctl doctor sso`: exit 0 no error (warnings allowed), 2 a check failed, 1 could not run,
// 64 usage.
import { printable } from '../bounded-text.js';
import type { CommandInput } from '../capability.js';
import { styleFor } from '../cli/format.js';
import { loadCommandConfig } from '../config/command-config.js';
import { exitCodes } from '../exit-codes.js';
import { caFileLimits, readCertificateFile } from '../trust/certificates.js';
import type { SsoConfig } from './config.js';
import { chooseSocket, unreachableMessage } from '../cli/socket.js';
import { DaemonUnreachableError, request } from '../control/client.js';
import { ssoCodes, type SsoDoctorCode } from './codes.js';
import { defaultCdnBase, runSsoDoctor, runSsoDoctorInstalled, type SsoReport } from './doctor.js';
import { checkInstalledAnswer, type InstalledAnswer } from './installed.js';
import { formatHuman, formatJson } from './format.js';
import { trustSetup } from './tls.js';

const offMacos =
  'off macOS there are no installed profiles to read: give --profile FILE, a .mobileconfig\n' +
  'or the output of `sudo profiles show -output stdout-xml` copied from the Mac (repeatable).';

/** What agentd said to `sso.installed`, or why it said nothing. */
export type DaemonReply =
  | { kind: 'answer'; value: unknown }
  | { kind: 'unreachable'; socketPath: string; code: string }
  | { kind: 'error'; message: string };

async function askDaemon(configFile: string | undefined): Promise<DaemonReply> {
  let socketPath = '(unknown)';
  try {
    socketPath = (await chooseSocket({ config: configFile })).path;
    // agentd's own deadline for the request is 45 s (installed-service.ts).
    const response = await request(socketPath, 'sso.installed', {}, 50_000);
    if (!response.ok) return { kind: 'error', message: `${response.error.code}: ${response.error.message}` };
    return { kind: 'answer', value: response.result };
  } catch (error) {
    if (error instanceof DaemonUnreachableError)
      return { kind: 'unreachable', socketPath: error.socketPath, code: error.code };
    return { kind: 'error', message: (error as Error).message };
  }
}

/**
 * What `doctor sso` without --profile does with agentd's reply: the installed payloads to check,
 * or the message and exit code (1 could not run, 64 usage: off macOS, say what to pass).
 */
export function installedOutcome(
  reply: DaemonReply,
  platform: NodeJS.Platform,
): (InstalledAnswer & { code: 'ok' }) | { code: SsoDoctorCode; message: string; exit: number } {
  const say = (code: SsoDoctorCode, what: string, exit: number = exitCodes.error) => ({
    code,
    exit,
    message: `agentctl doctor sso: ${code}: ${what}\nfix: ${ssoCodes[code].fix}`,
  });
  if (reply.kind === 'unreachable') {
    if (platform !== 'darwin')
      return { code: 'installed_not_macos', exit: exitCodes.usage, message: `agentctl doctor sso: ${offMacos}` };
    return say(
      'installed_daemon_unreachable',
      `${unreachableMessage(reply.socketPath, reply.code).replace(/^agentctl: /, '')}; it reads the installed profiles as root`,
    );
  }
  if (reply.kind === 'error') return say('installed_daemon_error', reply.message.slice(0, 300));
  const answer = checkInstalledAnswer(reply.value);
  if (!answer) return say('installed_daemon_error', 'the answer to sso.installed has the wrong shape');
  if (answer.code === 'ok') return answer;
  if (answer.code === 'installed_not_macos')
    return {
      code: answer.code,
      exit: exitCodes.usage,
      message: `agentctl doctor sso: ${offMacos}\n(agentd says: ${answer.message})`,
    };
  return say(answer.code, `${answer.message} (agentd, ${answer.read_at})`);
}

function usage(message: string): number {
  console.error(`agentctl doctor sso: ${message}\n(run agentctl doctor sso --help for usage)`);
  return exitCodes.usage;
}

export function exitCodeOf(report: SsoReport): number {
  return report.summary.errors > 0 ? exitCodes.checkFailed : exitCodes.ok;
}

function httpsBase(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

export async function run({ args, flags }: CommandInput): Promise<number> {
  if (args.length > 0)
    return usage(`unexpected argument ${JSON.stringify(args[0]!.slice(0, 60))}: give files with --profile`);
  const files = (flags.profile as string[] | undefined) ?? [];
  let installed: (InstalledAnswer & { code: 'ok' }) | null = null;
  if (files.length === 0) {
    const outcome = installedOutcome(await askDaemon(flags.config as string | undefined), process.platform);
    if (!('payloads' in outcome)) {
      console.error(outcome.message);
      return outcome.exit;
    }
    installed = outcome;
  }
  const cdnFlag = flags.cdn as string | undefined;
  if (cdnFlag !== undefined && !httpsBase(cdnFlag))
    return usage(`--cdn: "${cdnFlag.slice(0, 80)}" is not an https URL`);
  const issuer = (flags.issuer as string | undefined) ?? null;
  if (issuer !== null && !httpsBase(issuer)) return usage(`--issuer: "${issuer.slice(0, 80)}" is not an https URL`);
  const timeoutMs = ((flags.timeout as number | undefined) ?? 10) * 1000;
  let cdnBase = cdnFlag ?? defaultCdnBase;
  if (cdnFlag === undefined) {
    const config = (await loadCommandConfig(flags.config as string | undefined)) as SsoConfig;
    cdnBase = config.SSOAssociationCDNURL ?? defaultCdnBase;
  }
  const anchors: Buffer[] = [];
  for (const file of (flags.ca as string[] | undefined) ?? []) {
    try {
      anchors.push(...(await readCertificateFile(file, caFileLimits)));
    } catch (error) {
      console.error(`agentctl doctor sso: --ca ${(error as Error).message}`);
      return exitCodes.error;
    }
  }
  const trust = await trustSetup(anchors, { timeoutMs });
  const allowLocal = flags['allow-local-urls'] === true;
  const options = { trust, cdnBase, issuer, timeoutMs, allowLocal };
  const report = files.length ? await runSsoDoctor(files, options) : await runSsoDoctorInstalled(installed!, options);
  if (installed)
    report.installed = { read_at: installed.read_at, left_out: installed.left_out, as_root: installed.as_root };
  if (report.summary.payloads === 0 && report.payloads.length === 0) {
    console.error(
      files.length
        ? `agentctl doctor sso: no com.apple.extensiblesso payload in ${printable(files.join(', ').slice(0, 200))}`
        : `agentctl doctor sso: no com.apple.extensiblesso payload among the installed profiles (read by agentd at ${printable(installed!.read_at)})`,
    );
    return exitCodes.error;
  }
  const code = exitCodeOf(report);
  if (flags.json) console.log(formatJson(report, code));
  else console.log(formatHuman(report, styleFor(process.stdout)));
  return code;
}
