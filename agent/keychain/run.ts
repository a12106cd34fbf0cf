// One scrub in this user's session, audited to the session's own log, and its summary filed
// with the daemon: what `agentctl scrub` and `agentd --session` both do.
import os from 'node:os';
import path from 'node:path';
import { chooseSocket } from '../cli/socket.js';
import { DaemonUnreachableError, request } from '../control/client.js';
import type { Logger } from '../log/logger.js';
import { createAgentLogger, type AgentLogger } from '../log/winston.js';
import type { ScrubSettings } from './config.js';
import { summarize, type SessionReport } from './report.js';
import { runScrub, type ScrubReport } from './scrub.js';

/** Where a session's own log goes: the user's Library/Logs (macOS) or XDG state directory. */
export function sessionLogDirectory(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Logs', 'TrustGuard');
  const state =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'trustguard');
}

// When the session's log cannot be opened, the audit still goes somewhere: stderr, as JSON lines.
const stderrLine = (level: string) => (message: string, fields?: Record<string, unknown>) =>
  void process.stderr.write(`${JSON.stringify({ level, message, category: 'keychain', ...fields })}\n`);
const stderrLogger: Logger = {
  debug() {},
  info: stderrLine('info'),
  warn: stderrLine('warn'),
  error: stderrLine('error'),
};

function openLogger(): AgentLogger | null {
  try {
    // The unified log on macOS (admins read it with `log show`); on Linux the session's file is
    // enough: a desktop user's process has no business in the system's syslog.
    const subsystem = process.platform === 'darwin' ? 'com.trustguard.agent' : null;
    return createAgentLogger({ directory: sessionLogDirectory(), level: 'info', console: false, subsystem });
  } catch {
    return null;
  }
}

export type Filing = { filed: true; uid: number } | { filed: false; why: string };

async function fileWithDaemon(report: SessionReport, socket: { socket?: string; config?: string }): Promise<Filing> {
  try {
    const choice = await chooseSocket(socket);
    const response = await request(choice.path, 'keychain.report', { report }, 3000);
    if (!response.ok) return { filed: false, why: `${response.error.code}: ${response.error.message}` };
    const result = response.result as { filed?: boolean; uid?: number; code?: string; message?: string };
    return result.filed === true
      ? { filed: true, uid: result.uid ?? -1 }
      : { filed: false, why: `${result.code ?? 'refused'}: ${result.message ?? ''}` };
  } catch (error) {
    return {
      filed: false,
      why:
        error instanceof DaemonUnreachableError
          ? `the daemon is not reachable (${error.code} on ${error.socketPath})`
          : (error as Error).message,
    };
  }
}

export async function scrubAndFile(
  settings: ScrubSettings,
  trigger: SessionReport['trigger'],
  socket: { socket?: string; config?: string },
): Promise<{ report: ScrubReport; filing: Filing }> {
  const agentLogger = openLogger();
  let report: ScrubReport;
  try {
    report = await runScrub({ ...settings, logger: agentLogger?.child('keychain') ?? stderrLogger });
  } finally {
    await agentLogger?.close();
  }
  return { report, filing: await fileWithDaemon(summarize(report, trigger), socket) };
}
