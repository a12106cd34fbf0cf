// `agentctl compliance --format jamf|intune|json`: the guardrail's persisted compliance.
import type { CommandInput } from '../capability.js';
import { loadCommandConfig } from '../config/command-config.js';
import { runComplianceCommand } from './cli.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const config = await loadCommandConfig(flags.config as string | undefined);
  return runComplianceCommand({ format: flags.format as 'jamf' | 'intune' | 'json', stateDir: config.StateDirectory });
}
