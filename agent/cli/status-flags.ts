// `agentctl status`'s flags and exit codes, and the socket flags every daemon command shares:
// a module of their own because `status` reads its flags straight from agentctl's entry
// (commands/status.ts runFromEntry) without loading agentctl's command table (core-commands.ts).
import type { FlagSpec } from '../capability.js';

export const socketFlag: FlagSpec = { name: 'socket', value: '<path>', description: 'the daemon control socket' };
export const findSocketFlag: FlagSpec = {
  name: 'config',
  value: '<file>',
  description: 'find the socket through this configuration file',
};

/** The one table of `status`'s exit codes (README.md has the same). */
export const statusExits = [
  [0, 'healthy: no problem in any section'],
  [
    2,
    'a problem in any section: the clock uncertain, warn or active; a time source failing; a trust target not trusted; configuration problems; telemetry failing; a keychain scrub error; a section the daemon could not give',
  ],
  [1, 'the daemon is unreachable, or another error'],
  [64, 'usage error'],
] as const;

export const statusFlags: readonly FlagSpec[] = [
  { name: 'json', description: 'print stable snake_case JSON (with healthy and problems)' },
  { name: 'verbose', description: 'add the internals: jobs, control counters, sockets, memory' },
  socketFlag,
  findSocketFlag,
];
