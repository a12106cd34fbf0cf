// The daemon's bundle: everything agentd runs, imported by the entry file (agentd.ts) once its
// signal handlers are installed. scripts/bundle.mjs bundles this file with its packages.
import type { Daemon } from './daemon.js';
import { startDaemon } from './daemon.js';
import { AlreadyRunningError } from './lock.js';
import { capabilities } from '../capabilities.js';
export { runSession } from './session.js';

/** What the entry's signal handlers saw before the daemon existed, and how to stop it. */
export interface StartSignals {
  /** Set once the daemon has started: the handlers act on it from then on. */
  daemon: Daemon | undefined;
  /** A SIGTERM or SIGINT came (the entry's shutdown() ran). */
  stopping: boolean;
  /** A SIGHUP came before the daemon existed. */
  reloadQueued: boolean;
  shutdown(signal: string): void;
}

export async function runDaemon(
  options: { configFile?: string; stateDirectory?: string },
  signals: StartSignals,
): Promise<void> {
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ ...options, capabilities });
  } catch (error) {
    const message =
      error instanceof AlreadyRunningError
        ? `agentd: ${error.message}; not starting a second one`
        : `agentd: cannot start: ${(error as Error).message}`;
    console.error(message);
    // The file log may be what was refused (an unsafe directory): the OS log still gets why.
    await import('../../native/log.js')
      .then(({ osLog }) => osLog('com.trustguard.agent', 'agent', 'error', message))
      .catch(() => undefined);
    process.exit(1);
  }
  signals.daemon = daemon;
  process.on('unhandledRejection', (reason) =>
    daemon.logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) }),
  );
  if (signals.stopping) {
    signals.stopping = false;
    signals.shutdown('SIGTERM (during start-up)');
    return;
  }
  if (signals.reloadQueued) void daemon.reload('SIGHUP (during start-up)');
}
