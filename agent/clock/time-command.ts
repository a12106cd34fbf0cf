// `agentctl time`: measure now against the given or configured sources, print, exit 0 / 2 / 1.
import type { CommandInput } from '../capability.js';
import { loadCommandConfig } from '../config/command-config.js';
import { runTimeCommand } from './cli.js';
import { sourceOptions, thresholdOptions, type ClockConfig } from './config.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const config = (await loadCommandConfig(flags.config as string | undefined)) as ClockConfig;
  const configured = sourceOptions(config);
  return runTimeCommand({
    json: flags.json === true,
    ntp: (flags.ntp as string[] | undefined) ?? [],
    https: (flags.https as string[] | undefined) ?? [],
    nts: (flags.nts as string[] | undefined) ?? [],
    ca: (flags.ca as string | undefined) ?? configured.caFile,
    samples: (flags.samples as number | undefined) ?? configured.samples,
    timeout: (flags.timeout as number | undefined) ?? configured.timeoutMs,
    sampleSpacingMs: (flags.spacing as number | undefined) ?? configured.sampleSpacingMs,
    configuredNtp: [...configured.ntp],
    configuredHttps: [...configured.https],
    configuredNts: [...(configured.nts ?? [])],
    policy: configured.policy,
    thresholds: thresholdOptions(config),
  });
}
