// `agentctl reload`: asks the daemon, over the root-only admin socket, to re-read its
// configuration. The OS enforces "root only" (the admin socket's permissions).
import type { CommandInput } from '../../capability.js';
import { DaemonUnreachableError, request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { adminSocketPath, chooseSocket, unreachableMessage } from '../socket.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { socket?: string; config?: string };
  const socket = await chooseSocket(options);
  const admin = adminSocketPath(socket.path);
  let response;
  try {
    response = await request(admin, 'reload');
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.code === 'EACCES') {
      console.error(
        `agentctl: reload changes the daemon and needs root (permission denied on ${admin}); run: sudo agentctl reload`,
      );
      return exitCodes.error;
    }
    if (error instanceof DaemonUnreachableError) {
      console.error(unreachableMessage(admin, error.code));
      return exitCodes.error;
    }
    throw error;
  }
  if (!response.ok) {
    console.error(`agentctl: reload refused: ${response.error.message}`);
    return exitCodes.error;
  }
  const result = response.result as { changed: string[]; problems: string[]; kept_previous: boolean };
  console.log(result.changed.length ? `Reloaded; changed: ${result.changed.join(', ')}` : 'Reloaded; nothing changed');
  if (result.kept_previous)
    console.log('A configuration file did not parse: the last good configuration stays in force.');
  for (const problem of result.problems) console.log(`  - ${problem}`);
  return result.problems.length ? exitCodes.error : exitCodes.ok;
}
