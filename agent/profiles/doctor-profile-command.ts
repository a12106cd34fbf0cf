// `agentctl doctor profile FILE…`: the pre-flight of configuration profiles. Exit 0 no error
// (warnings allowed; --strict: none), 2 a check failed, 1 could not run, 64 usage.
import type { CommandInput } from '../capability.js';
import { styleFor } from '../cli/format.js';
import { exitCodes } from '../exit-codes.js';
import { caFileLimits, readCertificateFile } from '../trust/certificates.js';
import { parseAt } from '../trust/trust-command.js';
import { productVersion } from '../version.js';
import type { RevocationMode } from './cert-checks.js';
import { runDoctor, type DoctorReport } from './doctor.js';
import { formatHuman, formatJson, formatSarif } from './format.js';
import { loadSchemas, SchemaLoadError, type SchemaSet } from './schema.js';

function usage(message: string): number {
  console.error(`agentctl doctor profile: ${message}\n(run agentctl doctor profile --help for usage)`);
  return exitCodes.usage;
}

export function exitCodeOf(report: DoctorReport, strict: boolean): number {
  const { errors, warnings } = report.summary;
  return errors > 0 || (strict && warnings > 0) ? exitCodes.checkFailed : exitCodes.ok;
}

export async function run({ args, flags }: CommandInput): Promise<number> {
  if (flags.json && flags.sarif) return usage('--json and --sarif cannot be combined');
  let targetMacos: number[] | null = null;
  if (typeof flags['target-macos'] === 'string') {
    if (!/^\d{1,2}(\.\d{1,2}){0,2}$/.test(flags['target-macos']))
      return usage('--target-macos takes a version such as 13.0');
    targetMacos = flags['target-macos'].split('.').map(Number);
  }
  let atMs = Date.now();
  if (typeof flags.at === 'string') {
    const parsed = parseAt(flags.at);
    if (parsed === null) return usage(`--at: "${flags.at.slice(0, 60)}" is not an ISO 8601 date or date-time`);
    atMs = parsed;
  }
  const anchors: Buffer[] = [];
  for (const file of (flags.ca as string[] | undefined) ?? []) {
    try {
      anchors.push(...(await readCertificateFile(file, caFileLimits)));
    } catch (error) {
      console.error(`agentctl doctor profile: --ca ${(error as Error).message}`);
      return exitCodes.error;
    }
  }
  let schemas: SchemaSet | null = null;
  if (typeof flags.schemas === 'string') {
    try {
      schemas = await loadSchemas(flags.schemas);
    } catch (error) {
      if (!(error instanceof SchemaLoadError)) throw error;
      console.error(`agentctl doctor profile: --schemas: ${error.message}`);
      return exitCodes.error;
    }
  }
  let report: DoctorReport;
  try {
    report = await runDoctor(args, {
      schemas,
      targetMacos,
      atMs,
      minDays: (flags['min-days'] as number | undefined) ?? 30,
      revocation: (flags.revocation as RevocationMode | undefined) ?? 'soft',
      anchors,
      timeoutMs: (flags.timeout as number | undefined) ?? 5000,
      allowLocal: flags['allow-local-urls'] === true,
    });
  } catch (error) {
    // A payload type's schema file is parsed when first needed (schema.ts SchemaIndex).
    if (!(error instanceof SchemaLoadError)) throw error;
    console.error(`agentctl doctor profile: --schemas: ${error.message}`);
    return exitCodes.error;
  }
  const code = exitCodeOf(report, flags.strict === true);
  if (flags.json) console.log(formatJson(report, code));
  else if (flags.sarif) console.log(formatSarif(report, productVersion()));
  else console.log(formatHuman(report, styleFor(process.stdout)));
  return code;
}
