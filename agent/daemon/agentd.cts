#!/usr/bin/env node
// agentd: the daemon that launchd runs in the foreground. `agentd [--config FILE]`.
// Every capability in agent/capabilities.ts is attached after startDaemon().
// `agentd --session` is the same program as the per-user LaunchAgent: it runs each
// capability's session work once, as the logged-in user, and exits.
//
// This file is the entry point and stays tiny (scripts/bundle.mjs leaves it out of the bundle):
// CommonJS (Node starts running it about 10 ms sooner than an ES module: the ES module loader
// is not started until the bundle is imported), only node: built-ins, the signal handlers
// first, and only then the daemon's bundle (agentd-main.js: zod, winston, every capability). Node parses a module before
// it runs any of it, so handlers installed inside the bundle would come only after the whole
// bundle is parsed and compiled (about 540 ms on a busy machine, issue 17 item 14), during
// which a SIGHUP from launchd kills the process.
import { parseArgs } from 'node:util';
import path from 'node:path';
import type { StartSignals } from './agentd-main.js' with { 'resolution-mode': 'import' };

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
  if (session) return (await import('./agentd-main.js')).runSession({ configFile });
  // Signal handlers next, before the daemon's modules are loaded: a SIGTERM or SIGHUP that
  // arrives while the daemon starts (launchd sends them whenever it likes) is acted on once it
  // has started, never fatal.
  const signals: StartSignals = { daemon: undefined, stopping: false, reloadQueued: false, shutdown };
  function shutdown(signal: string): void {
    if (signals.stopping) return;
    signals.stopping = true;
    // launchd sends SIGKILL if we linger; exit on our own terms first.
    setTimeout(() => {
      console.error(`agentd: ${signal}: in-flight work did not finish within ${shutdownCapMs} ms; exiting`);
      process.exit(0);
    }, shutdownCapMs);
    const daemon = signals.daemon;
    if (!daemon) return; // runDaemon() stops it as soon as it exists
    daemon.stop().then(
      () => process.exit(0),
      (error) => {
        console.error(`agentd: error while stopping: ${(error as Error).message}`);
        process.exit(0);
      },
    );
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    if (signals.daemon) void signals.daemon.reload('SIGHUP');
    else signals.reloadQueued = true;
  });
  await (await import('./agentd-main.js')).runDaemon({ configFile, stateDirectory }, signals);
}

void main();
