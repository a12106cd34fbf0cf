// `agentd --session`: the per-user LaunchAgent's run (launchd/com.trustguard.agent.session.plist,
// at login; agentd kickstarts it again when TenantDomain changes or another user comes to the
// console). The configured scrub of this user's keychain, once: audited to the session's log,
// filed with the daemon, one JSON line on stdout. Exit 0 whatever the scrub found (errors are in
// the report, the log and the daemon's status): a non-zero exit would make launchd retry in a loop.
import type { SessionOptions } from '../capability.js';
import { loadConfig } from '../config/load.js';
import { scrubSettings } from './config.js';
import { scrubAndFile } from './run.js';

export async function runSession(options: SessionOptions): Promise<number> {
  const { config, problems } = await loadConfig({ configFile: options.configFile });
  for (const problem of problems) console.error(`agentd --session: configuration: ${problem}`);
  const { report, filing } = await scrubAndFile(scrubSettings(config), 'session', { config: options.configFile });
  const line = { ...report, reported: filing.filed, ...(filing.filed ? {} : { report_problem: filing.why }) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return 0;
}
