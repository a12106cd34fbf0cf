// `agentctl status`: asks the daemon and prints the verdict, the problems, then its sections;
// exits 0 healthy, 2 any problem, 1 daemon unreachable or error, 64 usage. Support staff run this and it
// must answer at once: it loads only node:net, the formatter and the capabilities' views.
import type { CommandInput } from '../../capability.js';
import { DaemonUnreachableError, request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { chooseSocket, unreachableMessage } from '../socket.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; verbose?: boolean; socket?: string; config?: string };
  if (options.socket !== undefined && options.config !== undefined) {
    console.error('agentctl status: --socket and --config name the socket twice; give one');
    return exitCodes.usage;
  }
  const socket = await chooseSocket(options);
  // Ask first, then load the formatter while the daemon answers (its own file in the bundle:
  // scripts/bundle.mjs), so that its parse overlaps the round trip.
  const pending = request(socket.path, 'status');
  pending.catch(() => undefined);
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
