// The daemon's own agentctl commands (capabilities bring theirs in their descriptors). Each
// command's code is its own file in ./commands, imported only when it runs.
import type { CommandDescriptor } from '../capability.js';
import { findSocketFlag, socketFlag, statusExits, statusFlags } from './status-flags.js';

export const coreCommands: readonly CommandDescriptor[] = [
  {
    name: 'status',
    summary: 'say whether this Mac is healthy, list its problems, then every section',
    flags: statusFlags,
    needsRoot: false,
    needsDaemon: true,
    exits: statusExits,
    load: () => import('./commands/status.js'),
  },
  {
    name: 'config show',
    summary: 'show the effective configuration and the source of each value (secrets redacted)',
    flags: [
      { name: 'json', description: 'print JSON' },
      socketFlag,
      {
        name: 'config',
        value: '<file>',
        description: 'read this file instead of the system preferences when the daemon is not running',
      },
    ],
    needsRoot: false,
    needsDaemon: false,
    load: () => import('./commands/config-show.js'),
  },
  {
    name: 'config validate',
    summary: 'check a configuration file or profile (XML or binary plist, or JSON): exit 0 valid, 2 invalid',
    args: [{ name: 'file', description: 'the file to check', required: true }],
    needsRoot: false,
    needsDaemon: false,
    load: () => import('./commands/config-validate.js'),
  },
  {
    name: 'reload',
    summary: 'make the daemon re-read its configuration (root only)',
    flags: [
      { ...socketFlag, description: 'the daemon control socket (the admin socket is <path>.admin)' },
      findSocketFlag,
    ],
    needsRoot: true,
    needsDaemon: true,
    load: () => import('./commands/reload.js'),
  },
  {
    name: 'doctor',
    summary:
      'run every check of the agent (configuration, daemon, clock, trust, SSO payloads, keychain, telemetry, permissions) in one table; doctor profile|sso check files',
    flags: [{ name: 'json', description: 'print stable snake_case JSON' }, socketFlag, findSocketFlag],
    needsRoot: false,
    needsDaemon: false,
    exits: [
      [0, 'every check passes (or is for information)'],
      [2, 'a check warns, fails or could not finish'],
      [1, 'doctor could not run'],
      [64, 'usage error'],
    ],
    load: () => import('./commands/doctor.js'),
  },
  {
    name: 'flare',
    summary:
      'write a support bundle (.tar.gz: versions, status, doctor, configuration without secrets, log tail, manifest)',
    flags: [
      {
        name: 'output',
        value: '<file>',
        description: 'where to write it (default: ./trustguard-flare-HOST-TIME.tar.gz)',
      },
      {
        name: 'lines',
        value: '<n>',
        integer: { min: 0, max: 100_000 },
        description: 'how many lines of the agent log (default 2000)',
      },
      socketFlag,
      findSocketFlag,
    ],
    needsRoot: false,
    needsDaemon: false,
    exits: [
      [0, 'written (as a user: a reduced bundle, and what it leaves out on stderr)'],
      [1, 'it could not be written'],
      [64, 'usage error'],
    ],
    load: () => import('./commands/flare.js'),
  },
  {
    name: 'version',
    summary: 'print the versions of agentctl, the running agentd, the addon, Node and the OS',
    flags: [{ name: 'json', description: 'print JSON' }, socketFlag, findSocketFlag],
    needsRoot: false,
    needsDaemon: false,
    load: () => import('./commands/version.js'),
  },
];
