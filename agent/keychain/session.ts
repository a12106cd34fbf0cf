// Asking the console user's session to run the scrub now: when TenantDomain changes, and when
// another user comes to the console (fast user switching does not reload an already logged-in
// user's agents, so RunAtLoad alone would miss it). Keychain items are per user, so the daemon
// (root) never scrubs itself: on macOS it kickstarts the per-user LaunchAgent
// (launchd/com.trustguard.agent.session.plist: `agentd --session`, which scrubs once and exits)
// in the console user's GUI domain. Elsewhere there is no such agent: the request is reported
// as unsupported.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { domain } from '../config/defaults.js';

/** The per-user LaunchAgent's label (its plist is made by scripts/pkg/launchd.ts). */
export const sessionAgentLabel = `${domain}.session`;

export type SessionRequestOutcome = 'requested' | 'no_console_user' | 'unsupported' | 'kickstart_failed';

export interface SessionRequestResult {
  outcome: SessionRequestOutcome;
  uid: number | null;
  /** launchctl's exit status and first line of output when it failed. */
  detail?: string;
}

/** `launchctl asuser <uid> launchctl kickstart gui/<uid>/<label>` as an argv. */
export function kickstartArgv(uid: number, label = sessionAgentLabel): string[] {
  if (!Number.isInteger(uid) || uid <= 0) throw new RangeError(`not a user's uid: ${uid}`);
  return ['/bin/launchctl', 'asuser', String(uid), '/bin/launchctl', 'kickstart', `gui/${uid}/${label}`];
}

/**
 * The uid of the user at the console: the owner of /dev/console, which macOS gives to the user
 * logged in at the screen and back to root at the login window. null when nobody is logged in.
 */
export async function consoleUid(): Promise<number | null> {
  try {
    const { uid } = await stat('/dev/console');
    return uid === 0 ? null : uid;
  } catch {
    return null;
  }
}

function run(argv: string[], timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs }, (error, stdout, stderr) => {
      const firstLine = `${stderr}${stdout}`.split('\n').find((l) => l.trim() !== '') ?? '';
      resolve({ ok: !error, detail: error ? `${error.code ?? error.message}: ${firstLine}`.slice(0, 300) : '' });
    });
  });
}

/** Asks the console user's session to scrub now. */
export async function requestSessionScrub(platform: NodeJS.Platform = process.platform): Promise<SessionRequestResult> {
  if (platform !== 'darwin') return { outcome: 'unsupported', uid: null };
  const uid = await consoleUid();
  if (uid === null) return { outcome: 'no_console_user', uid: null };
  // launchctl kickstart starts the agent's run now; an agent already running is left alone.
  const result = await run(kickstartArgv(uid), 10_000);
  return result.ok ? { outcome: 'requested', uid } : { outcome: 'kickstart_failed', uid, detail: result.detail };
}
