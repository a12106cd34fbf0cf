// `agentctl doctor`: every check of the agent in one table (agent/cli/doctor.ts). Exit 0 when
// every check passes (or is for information), 2 when any warns, fails or could not run, 1 when
// doctor itself could not run, 64 usage.
import type { CommandInput } from '../../capability.js';
import { loadConfig } from '../../config/load.js';
import { request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { allChecks, checksJson, renderChecks, runChecks, type GatheredContext } from '../doctor.js';
import { styleFor } from '../format.js';
import { progressLine } from '../progress.js';
import { chooseSocket } from '../socket.js';

/** What every check reads: the configuration (files), the daemon's status and its key sources. */
export async function gatherContext(flags: { socket?: string; config?: string }): Promise<GatheredContext> {
  const loaded = await loadConfig({ configFile: flags.config });
  const socket = await chooseSocket(flags);
  let status: Record<string, unknown> | null = null;
  let statusError: string | undefined;
  let sources: Record<string, string> = { ...loaded.sources };
  try {
    const response = await request(socket.path, 'status', {}, 5000);
    if (response.ok) status = response.result as Record<string, unknown>;
    else statusError = response.error.message;
    const config = await request(socket.path, 'config', {}, 5000);
    if (config.ok) {
      const keys = (config.result as { keys?: Record<string, { source: string }> }).keys ?? {};
      sources = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, v.source]));
    }
  } catch (error) {
    statusError ??= `${(error as Error).message.slice(0, 200)}`;
  }
  return {
    config: loaded.config as Record<string, unknown>,
    sources,
    configProblems: loaded.problems,
    status,
    statusError,
    ask: (name, timeoutMs) => request(socket.path, name, {}, timeoutMs),
  };
}

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; socket?: string; config?: string };
  if (options.socket !== undefined && options.config !== undefined) {
    console.error('agentctl doctor: --socket and --config name the socket twice; give one');
    return exitCodes.usage;
  }
  const progress = progressLine();
  progress.update('reading the configuration and asking the daemon…');
  const context = await gatherContext(options);
  const at = new Date();
  const rows = await runChecks(await allChecks(), context, (text) => progress.update(text));
  progress.done();
  const json = checksJson(rows, at);
  if (options.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${renderChecks(rows, styleFor(process.stdout))}\n`);
  return json.healthy ? exitCodes.ok : exitCodes.checkFailed;
}
