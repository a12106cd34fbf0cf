#!/usr/bin/env node
// agentd: the daemon that launchd runs in the foreground. `agentd [--config FILE]`.
// Capabilities are plugged in in main() below, after startDaemon().
import { parseArgs } from 'node:util';
import path from 'node:path';
import { startDaemon, type Daemon } from './daemon.js';
import { AlreadyRunningError } from './lock.js';
import { attachClockGuardrail } from '../clock/service.js';

const usage = 'usage: agentd [--config FILE]\n  --config FILE  read the configuration from FILE (XML or binary plist, or JSON) instead of the system preferences';
const shutdownCapMs = 4500;

function parseCommandLine(): { configFile?: string } {
  try {
    const { values } = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return { configFile: values.config === undefined ? undefined : path.resolve(values.config) };
  } catch (error) {
    console.error(`agentd: ${(error as Error).message}\n${usage}`);
    process.exit(64);
  }
}

async function main(): Promise<void> {
  const { configFile } = parseCommandLine();
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ configFile });
  } catch (error) {
    const message = error instanceof AlreadyRunningError ? `agentd: ${error.message}; not starting a second one` : `agentd: cannot start: ${(error as Error).message}`;
    console.error(message);
    process.exit(1);
  }

  // Capabilities plug in here.
  attachClockGuardrail(daemon);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // launchd sends SIGKILL if we linger; exit on our own terms first.
    setTimeout(() => {
      console.error(`agentd: ${signal}: in-flight work did not finish within ${shutdownCapMs} ms; exiting`);
      process.exit(0);
    }, shutdownCapMs);
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
  process.on('SIGHUP', () => void daemon.reload('SIGHUP'));
  process.on('unhandledRejection', (reason) => daemon.logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) }));
}

void main();
