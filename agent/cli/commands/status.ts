// `agentctl status`: asks the daemon and prints the verdict, the problems, then its sections;
// exits 0 healthy, 2 any problem, 1 daemon unreachable or error, 64 usage. Support staff run this and it
// must answer at once: it loads only node:net, the formatter and the capabilities' views.
import { parseArgs } from 'node:util';
import type { CommandInput, FlagValue } from '../../capability.js';
import { DaemonUnreachableError, request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { coreCommands } from '../core-commands.js';
import { chooseSocket, unreachableMessage } from '../socket.js';

/**
 * `agentctl status ARGS` straight from agentctl's entry (agent/cli/agentctl.cts), without
 * agentctl's command table (every capability's descriptors, then this command's again in the
 * formatter): issue 21, status within 1.15 × `node -e 0`. Only a command line that agentctl
 * would run as it is (status's own flags, no argument) runs here; for any other (--help, a
 * usage error) it returns false having done nothing, and agentctl handles it as always.
 */
export function runFromEntry(argv: string[]): boolean {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const f of coreCommands.find((c) => c.name === 'status')?.flags ?? []) {
    if (f.multiple || f.choices || f.integer || f.required) return false;
    options[f.name] = { type: f.value ? 'string' : 'boolean' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch {
    return false;
  }
  if (parsed.positionals.length > 0) return false;
  run({ args: [], flags: parsed.values as Record<string, FlagValue> }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`agentctl: ${(error as Error).message}`);
      process.exitCode = exitCodes.error;
    },
  );
  return true;
}

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; verbose?: boolean; socket?: string; config?: string };
  if (options.socket !== undefined && options.config !== undefined) {
    console.error('agentctl status: --socket and --config name the socket twice; give one');
    return exitCodes.usage;
  }
  const socket = await chooseSocket(options);
  // Ask first, then load the formatter while the daemon answers (its own file in the bundle:
  // scripts/bundle.mjs). The request leaves when the connection is made, in the event loop's
  // next turn: give it that turn before loading, or the daemon starts only once all is loaded.
  const pending = request(socket.path, 'status');
  pending.catch(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  const { renderStatus, statusExitCode, statusJson } = await import('../status.js');
  let response;
  try {
    response = await pending;
  } catch (error) {
    if (error instanceof DaemonUnreachableError) {
      console.error(unreachableMessage(socket.path, error.code));
      return exitCodes.error;
    }
    console.error(`agentctl: ${(error as Error).message}`);
    return exitCodes.error;
  }
  if (!response.ok) {
    console.error(`agentctl: the daemon refused status: ${response.error.message}`);
    return exitCodes.error;
  }
  const status = response.result as Record<string, unknown>;
  process.stdout.write(
    options.json
      ? `${JSON.stringify(statusJson(status), null, 2)}\n`
      : `${renderStatus(status, process.stdout, { verbose: options.verbose === true })}\n`,
  );
  return statusExitCode(status);
}
