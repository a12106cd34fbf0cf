// `agentctl doctor sso`: exit 0 no error (warnings allowed), 2 a check failed, 1 could not run,
// 64 usage.
import { printable } from '../bounded-text.js';
import type { CommandInput } from '../capability.js';
import { styleFor } from '../cli/format.js';
import { loadCommandConfig } from '../config/command-config.js';
import { exitCodes } from '../exit-codes.js';
import { caFileLimits, readCertificateFile } from '../trust/certificates.js';
import type { SsoConfig } from './config.js';
import { defaultCdnBase, runSsoDoctor, type SsoReport } from './doctor.js';
import { formatHuman, formatJson } from './format.js';
import { trustSetup } from './tls.js';

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
  if (files.length === 0) {
    if (process.platform === 'darwin')
      console.error(
        'agentctl doctor sso: reading the installed profiles through agentd is not available yet.\n' +
          'Run: sudo profiles show -output stdout-xml > /tmp/installed.xml\n' +
          'then: agentctl doctor sso --profile /tmp/installed.xml',
      );
    else
      console.error(
        'agentctl doctor sso: off macOS there are no installed profiles to read: give --profile FILE, a .mobileconfig\n' +
          'or the output of `sudo profiles show -output stdout-xml` copied from the Mac (repeatable).',
      );
    return exitCodes.usage;
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
  const report = await runSsoDoctor(files, { trust, cdnBase, issuer, timeoutMs, allowLocal });
  if (report.summary.payloads === 0 && report.payloads.length === 0) {
    console.error(
      `agentctl doctor sso: no com.apple.extensiblesso payload in ${printable(files.join(', ').slice(0, 200))}`,
    );
    return exitCodes.error;
  }
  const code = exitCodeOf(report);
  if (flags.json) console.log(formatJson(report, code));
  else console.log(formatHuman(report, styleFor(process.stdout)));
  return code;
}
