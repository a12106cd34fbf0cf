#!/usr/bin/env node
// agentd: the daemon that launchd runs in the foreground. `agentd [--config FILE]`.
// Every capability in agent/capabilities.ts is attached after startDaemon().
// `agentd --session` is the same program as the per-user LaunchAgent: it runs each
// capability's session work once, as the logged-in user, and exits.
// Only node: built-ins are imported statically: the signal handlers below are installed before
// the daemon's modules load (zod, winston, every capability: hundreds of milliseconds on a busy
// machine, during which a SIGHUP would otherwise kill the process).
import { parseArgs } from 'node:util';
import path from 'node:path';
import type { Daemon } from './daemon.js';

const usage = [
  'usage: agentd [--config FILE] [--state-dir DIR]',
  '       agentd --session [--config FILE]',
  '  --config FILE    read the configuration from FILE (XML or binary plist, or JSON) instead of the system preferences',
  '  --state-dir DIR  keep state in DIR, whatever StateDirectory says (development and tests: the last good',
  '                   configuration is found there even when the configuration file does not parse)',
  "  --session        run as the per-user session agent (the LaunchAgent): each capability's per-user work, once",
].join('\n');
const shutdownCapMs = 4500;

function parseCommandLine(): { configFile?: string; stateDirectory?: string; session: boolean } {
  try {
    const { values } = parseArgs({
      options: {
        config: { type: 'string' },
        'state-dir': { type: 'string' },
        session: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    const resolve = (value: string | undefined) => (value === undefined ? undefined : path.resolve(value));
    if (values.session && values['state-dir'] !== undefined)
      throw new Error('--session keeps no state: --state-dir does not apply');
    return {
      configFile: resolve(values.config),
      stateDirectory: resolve(values['state-dir']),
      session: values.session === true,
    };
  } catch (error) {
    console.error(`agentd: ${(error as Error).message}\n${usage}`);
    process.exit(64);
  }
}

async function main(): Promise<void> {
  // The command line first (node:util only, nothing else is loaded yet).
  const { configFile, stateDirectory, session } = parseCommandLine();
  if (session) return (await import('./session.js')).runSession({ configFile });
  // Signal handlers next, before the daemon's modules are loaded: a SIGTERM or SIGHUP that
  // arrives while the daemon starts (launchd sends them whenever it likes) is acted on once it
  // has started, never fatal.
  let daemon: Daemon | undefined;
  let stopping = false;
  let reloadQueued = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // launchd sends SIGKILL if we linger; exit on our own terms first.
    setTimeout(() => {
      console.error(`agentd: ${signal}: in-flight work did not finish within ${shutdownCapMs} ms; exiting`);
      process.exit(0);
    }, shutdownCapMs);
    if (!daemon) return; // main() stops it as soon as it exists
    daemon.stop().then(
      () => process.exit(0),
      (error) => {
        console.error(`agentd: error while stopping: ${(error as Error).message}`);
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    if (daemon) void daemon.reload('SIGHUP');
    else reloadQueued = true;
  });

  const [{ startDaemon }, { AlreadyRunningError }, { capabilities }] = await Promise.all([
    import('./daemon.js'),
    import('./lock.js'),
    import('../capabilities.js'),
  ]);
  try {
    daemon = await startDaemon({ configFile, stateDirectory, capabilities });
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
  const running = daemon;
  process.on('unhandledRejection', (reason) =>
    running.logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) }),
  );
  if (stopping) {
    stopping = false;
    shutdown('SIGTERM (during start-up)');
    return;
  }
  if (reloadQueued) void running.reload('SIGHUP (during start-up)');
}

void main();
