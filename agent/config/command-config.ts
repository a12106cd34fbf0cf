// The configuration a standalone agentctl command uses: --config FILE or the system files;
// each problem is one line on stderr, and the command carries on with what is valid.
import { loadConfig, type AgentConfig } from './load.js';

export async function loadCommandConfig(file: string | undefined): Promise<AgentConfig> {
  const loaded = await loadConfig({ configFile: file });
  for (const problem of loaded.problems) console.error(`agentctl: configuration: ${problem}`);
  return loaded.config;
}
