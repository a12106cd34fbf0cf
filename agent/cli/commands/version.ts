// `agentctl version [--json]`: agentctl, the running agentd (asked over the control socket),
// the addon, the Node runtime and the OS. Exit 0 (also when the daemon does not answer: its
// line says so), 64 usage.
import type { CommandInput } from '../../capability.js';
import { request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { chooseSocket } from '../socket.js';
import { versions } from '../versions.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; socket?: string; config?: string };
  let daemon: { version: string; pid: unknown } | null = null;
  let why = 'not running';
  try {
    const socket = await chooseSocket(options);
    const response = await request(socket.path, 'status', {}, 3000);
    const section = response.ok ? (response.result as { daemon?: { version?: unknown; pid?: unknown } }).daemon : null;
    if (section && typeof section.version === 'string') daemon = { version: section.version, pid: section.pid };
    else if (!response.ok) why = `refused: ${response.error.message.slice(0, 100)}`;
  } catch (error) {
    why = `not reachable (${(error as Error).message.slice(0, 120)})`;
  }
  const v = versions(daemon?.version ?? null);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    return exitCodes.ok;
  }
  const os =
    v.os.platform === 'darwin' && v.os.product_version
      ? `macOS ${v.os.product_version} (Darwin ${v.os.release}, ${v.os.arch})`
      : `${v.os.platform === 'linux' ? 'Linux' : v.os.platform} ${v.os.release} (${v.os.arch}; ${v.os.version})`;
  const rows: Array<[string, string]> = [
    ['agentctl', v.agentctl],
    ['agentd', daemon ? `${daemon.version} (running, pid ${String(daemon.pid)})` : why],
    [
      'addon',
      v.addon.file
        ? `${v.addon.file} (N-API ${v.addon.napi}, sha256 ${v.addon.sha256?.slice(0, 12) ?? '?'})`
        : 'not built',
    ],
    ['node', v.node],
    ['os', os],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(8)} ${value}`);
  return exitCodes.ok;
}
