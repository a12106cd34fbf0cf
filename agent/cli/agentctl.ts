#!/usr/bin/env node
// agentctl: the support-staff CLI. Exit codes: 0 healthy, 1 error or daemon unreachable,
// 2 guardrail active or non-compliant, 64 usage error. Only `status` is on the fast path;
// every other command imports what it needs when it runs.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { exitCodes, runStatus } from './status.js';

const commands = () => import('./commands.js');

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function notYet(name: string) {
  return async () => {
    console.error(`agentctl: '${name}' is not yet implemented`);
    return exitCodes.error;
  };
}

function build(run: (action: Promise<number>) => void): Command {
  const program = new Command('agentctl')
    .description('Ask the TrustGuard agent how this Mac is doing, and tell it what to do.')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('status')
    .description('show the daemon, clock, trust, keychain, telemetry and permissions status')
    .option('--json', 'print stable snake_case JSON')
    .addOption(new Option('--socket <path>', 'the daemon control socket').conflicts('config'))
    .option('--config <file>', 'find the socket through this configuration file')
    .action((o) => run(runStatus(o)));

  const config = program.command('config').description('show or validate the configuration');
  config
    .command('show')
    .description('show the effective configuration and the source of each value (secrets redacted)')
    .option('--json', 'print JSON')
    .option('--socket <path>', 'the daemon control socket')
    .option('--config <file>', 'read this file instead of the system preferences when the daemon is not running')
    .action((o) => run(commands().then((c) => c.runConfigShow(o))));
  config
    .command('validate')
    .description('check a configuration file (XML or binary plist, or JSON): exit 0 valid, 1 invalid')
    .argument('<file>', 'the file to check')
    .action((file: string) => run(commands().then((c) => c.runConfigValidate(file))));

  program
    .command('reload')
    .description('make the daemon re-read its configuration (root only)')
    .option('--socket <path>', 'the daemon control socket (the admin socket is <path>.admin)')
    .option('--config <file>', 'find the socket through this configuration file')
    .action((o) => run(commands().then((c) => c.runReload(o))));

  program
    .command('version')
    .description('print the version')
    .action(() => run(commands().then((c) => c.runVersion())));

  program
    .command('time')
    .description('measure the clock against the time sources now (standalone, no daemon needed)')
    .option('--json', 'print JSON')
    .option('--ntp <host[:port]>', 'an NTP server (repeatable; default: the configured ones)', collect)
    .option('--https <url>', 'an HTTPS time source (repeatable; default: the configured ones)', collect)
    .option('--ca <file>', 'extra CA certificates (PEM) for the HTTPS sources')
    .option('--samples <n>', 'NTP samples per server', integer('--samples', 1, 16))
    .option('--timeout <ms>', 'NTP reply timeout in milliseconds', integer('--timeout', 100, 30000))
    .option('--spacing <ms>', 'pause between one server\'s samples in milliseconds (default: NTPSampleSpacingMilliseconds, 2000)', integer('--spacing', 0, 10000))
    .option('--config <file>', 'read the configured sources and thresholds from this file')
    .action((o) => run(commands().then((c) => c.runTime(o))));

  program
    .command('compliance')
    .description('print the device compliance for Jamf extension attributes, Intune custom compliance, or JSON')
    .addOption(new Option('--format <format>', 'output format').choices(['jamf', 'intune', 'json']).makeOptionMandatory())
    .option('--config <file>', 'read the state directory from this configuration file')
    .action((o) => run(commands().then((c) => c.runCompliance(o))));

  program.command('trust').description('evaluate certificate trust of a URL or certificate file (not yet implemented)').argument('[target]').action(() => run(notYet('trust')()));
  program.command('doctor').description('check the SSO extension setup (not yet implemented)').argument('[what]').action(() => run(notYet('doctor')()));
  program.command('scrub').description('scrub the previous tenant\'s SSO keychain items (not yet implemented)').option('--dry-run').action(() => run(notYet('scrub')()));

  // Commander's own errors (unknown command, missing argument) are usage errors.
  program.commands.forEach(function override(c: Command): void {
    c.exitOverride();
    c.commands.forEach(override);
  });
  return program;
}

async function main(): Promise<void> {
  let pending: Promise<number> | undefined;
  const program = build((action) => {
    pending = action;
  });
  if (process.argv.length <= 2) {
    program.outputHelp({ error: true });
    process.exit(exitCodes.usage);
  }
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and version exit 0; help shown because a command was incomplete exits non-zero.
      const benign = ['commander.helpDisplayed', 'commander.version'].includes(error.code) || (error.code === 'commander.help' && error.exitCode === 0);
      process.exit(benign ? exitCodes.ok : exitCodes.usage);
    }
    throw error;
  }
  if (!pending) {
    // A command group without a subcommand, e.g. `agentctl config`.
    program.outputHelp({ error: true });
    process.exit(exitCodes.usage);
  }
  let code: number;
  try {
    code = await pending;
  } catch (error) {
    console.error(`agentctl: ${(error as Error).message}`);
    code = exitCodes.error;
  }
  process.exitCode = code;
}

void main();
