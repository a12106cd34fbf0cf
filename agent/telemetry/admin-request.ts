// One root-only request to the daemon for the telemetry commands: the admin socket's
// permissions make it root only (the OS enforces it), with the same messages as `reload`.
import { DaemonUnreachableError, request } from '../control/client.js';
import { adminSocketPath, chooseSocket, unreachableMessage } from '../cli/socket.js';

export type AdminResult = { ok: true; result: unknown } | { ok: false; message: string };

export async function adminRequest(
  command: string,
  name: string,
  args: Record<string, unknown>,
  flags: { socket?: string; config?: string },
  timeoutMs = 30_000,
): Promise<AdminResult> {
  const socket = await chooseSocket(flags);
  const admin = adminSocketPath(socket.path);
  try {
    const response = await request(admin, name, args, timeoutMs);
    if (!response.ok) return { ok: false, message: `agentctl ${command}: refused: ${response.error.message}` };
    return { ok: true, result: response.result };
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.code === 'EACCES') {
      return {
        ok: false,
        message: `agentctl ${command}: needs root (permission denied on ${admin}); run: sudo agentctl ${command}`,
      };
    }
    if (error instanceof DaemonUnreachableError) return { ok: false, message: unreachableMessage(admin, error.code) };
    return { ok: false, message: `agentctl ${command}: ${(error as Error).message}` };
  }
}
