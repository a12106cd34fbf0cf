// `agentctl status`: asks the daemon and prints the verdict, the problems, then its sections;
// exits 0 healthy, 2 any problem, 1 daemon unreachable or error, 64 usage. Support staff run this and it
// must answer at once: it loads only node:net, the formatter and the capabilities' views.
import type { CommandInput, FlagValue } from '../../capability.js';
import { DaemonUnreachableError, request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { coreCommands } from '../core-commands.js';
import { chooseSocket, unreachableMessage } from '../socket.js';

/**
 * `agentctl status ARGS` straight from agentctl's entry (agent/cli/agentctl.cts), without
 * agentctl's command table (every capability's descriptors): issue 21, status within 1.15 ×
 * `node -e 0`. Only a command line that agentctl would run as it is runs here: status's own
 * flags (its descriptor's), `--name`, `--name value` or `--name=value`, no argument. For any
 * other (--help, a usage error, a value that looks like a flag) it returns false having done
 * nothing, and agentctl parses it as always. (Not node:util's parseArgs: its first call costs
 * about a millisecond, and this accepts a subset of what it would give the same values.)
 */
export function runFromEntry(argv: string[]): boolean {
  const specs = coreCommands.find((c) => c.name === 'status')?.flags ?? [];
  if (specs.some((f) => f.required)) return false;
  const flags: Record<string, FlagValue> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(argv[i]!);
    const flag = match && specs.find((f) => f.name === match[1]);
    if (!match || !flag || flag.multiple || flag.choices || flag.integer) return false;
    const inline = match[2];
    if (!flag.value) {
      if (inline !== undefined) return false;
      flags[flag.name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('-'))) return false;
    flags[flag.name] = value;
  }
  run({ args: [], flags }).then(
    (code) => {
      process.exitCode = code;
      // The verdict is on stdout and the daemon's socket is closed: leave once stdout has
      // taken it, without the event loop's last turn (where V8 collected garbage, ~1.5 ms).
      // Not after an error: its sentence is on stderr.
      if (code === exitCodes.ok || code === exitCodes.checkFailed) process.stdout.write('', () => process.exit());
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
  let socket = await chooseSocket(options, { preferDefault: true });
  // Ask first, then load the formatter while the daemon answers (in this command's bundle, run
  // when imported: scripts/bundle.mjs). The request leaves when the connection is made, in the event loop's
  // next turn: give it that turn before loading, or the daemon starts only once all is loaded.
  let pending = request(socket.path, 'status');
  if (socket.configured) {
    // The default socket, taken without reading the preference files: when it does not answer,
    // the socket they name, if another.
    const { configured } = socket;
    pending = pending.catch(async (error: unknown) => {
      const other = error instanceof DaemonUnreachableError ? await configured() : null;
      if (!other || other.path === socket.path) throw error;
      socket = other;
      return request(other.path, 'status');
    });
  }
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
