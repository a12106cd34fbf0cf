// `agentctl status`: asks the daemon and prints its sections. Loads only node:net and the
// formatter: support staff run this and it must answer at once.
import { DaemonUnreachableError, request } from '../control/client.js';
import { renderSection, rowsFor, styleFor } from './format.js';
import { chooseSocket, unreachableMessage } from './socket.js';
import { clockView, complianceView } from '../clock/status-view.js';

export const exitCodes = { ok: 0, error: 1, guardrail: 2, usage: 64 } as const;

const sections: Array<[key: string, title: string, absent: string]> = [
  ['daemon', 'Daemon', 'No data'],
  ['clock', 'Clock', 'No data: this daemon does not run the clock guardrail'],
  ['trust', 'Trust', 'No data: this daemon does not run trust checks'],
  ['keychain', 'Keychain', 'No data: no keychain scrub has reported'],
  ['telemetry', 'Telemetry', 'No data: telemetry is not running in this daemon'],
  ['compliance', 'Compliance', 'No data: the clock guardrail has not reported'],
  ['permissions', 'Permissions', 'No data'],
];

// Sections whose human form is a summary (the JSON keeps every field).
const views: Record<string, (section: Record<string, unknown>) => Record<string, unknown>> = {
  clock: clockView,
  compliance: complianceView,
};

/** Exit 2 when the guardrail is active or the device is reported non-compliant. */
export function statusExitCode(status: Record<string, unknown>): number {
  const clock = status.clock as { state?: unknown } | undefined;
  const compliance = status.compliance as { compliant?: unknown; state?: unknown } | undefined;
  if (clock?.state === 'active' || compliance?.compliant === false || compliance?.state === 'non_compliant') return exitCodes.guardrail;
  return exitCodes.ok;
}

export function renderStatus(status: Record<string, unknown>, stream: NodeJS.WriteStream): string {
  const style = styleFor(stream);
  const known = new Set(sections.map(([key]) => key));
  const titled = [...sections, ...Object.keys(status).filter((k) => !known.has(k)).map((k): [string, string, string] => [k, k[0]!.toUpperCase() + k.slice(1).replaceAll('_', ' '), 'No data'])];
  return titled
    .map(([key, title, absent]) => {
      const section = status[key];
      if (section === undefined || section === null) return renderSection(title, absent, style);
      if (typeof section !== 'object' || Array.isArray(section)) return renderSection(title, [['Value', JSON.stringify(section)]], style);
      const view = views[key]?.(section as Record<string, unknown>) ?? (section as Record<string, unknown>);
      const rows = rowsFor(view, style);
      return renderSection(title, rows.length ? rows : 'No data', style);
    })
    .join('\n');
}

export async function runStatus(options: { json?: boolean; socket?: string; config?: string }): Promise<number> {
  const socket = await chooseSocket(options);
  let response;
  try {
    response = await request(socket.path, 'status');
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
  process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${renderStatus(status, process.stdout)}\n`);
  return statusExitCode(status);
}
