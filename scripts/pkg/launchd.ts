// The launchd jobs, written from the build settings with the `plist` library: the root
// LaunchDaemon (agentd) and the per-user LaunchAgent of the keychain scrub (the same program
// in session mode: `agentd --session`). launchd/ in the repository holds the output for the
// default identifier prefix; a test keeps it equal to what this file generates.
import { build } from 'plist';
import { agentdNodeOptions } from '../../agent/daemon/node-options.js';
import { installPaths, type BuildSettings } from './settings.js';

/** The argument that starts agentd as the per-user session agent (the keychain scrub). */
export const sessionModeArgument = '--session';

export type LaunchdJob = Record<string, string | number | boolean | string[] | Record<string, boolean>>;

export function daemonJob(settings: BuildSettings): LaunchdJob {
  const paths = installPaths(settings);
  return {
    // launchctl bootstrap/bootout address the job as system/<Label>: Label = file name.
    Label: settings.daemonLabel,
    // The bundled runtime, its options (agent/daemon/node-options.ts) and the daemon entry, in
    // the root-owned install root (never /usr/local/bin, which admins and Homebrew can write).
    ProgramArguments: [paths.runtime, ...agentdNodeOptions, paths.daemonEntry],
    RunAtLoad: true,
    KeepAlive: true,
    // At most one restart every 10 s when it crashes in a loop.
    ThrottleInterval: 10,
    // agentd finishes in-flight work within 5 s of SIGTERM; launchd waits a little longer.
    ExitTimeOut: 10,
    // Names the daemon's code in System Settings > General > Login Items (macOS 13+): the
    // runtime is signed with this identifier (scripts/pkg/macos.ts).
    AssociatedBundleIdentifiers: [settings.runtimeSigningIdentifier],
    ProcessType: 'Background',
    StandardOutPath: `${settings.logDirectory}/agentd.stdout.log`,
    StandardErrorPath: `${settings.logDirectory}/agentd.stderr.log`,
  };
}

export function sessionJob(settings: BuildSettings): LaunchdJob {
  const paths = installPaths(settings);
  return {
    Label: settings.sessionLabel,
    // Same program as the daemon, in session mode: keychain items are per user, so the scrub
    // runs in the user's login session and reports its result to the daemon.
    ProgramArguments: [paths.runtime, ...agentdNodeOptions, paths.daemonEntry, sessionModeArgument],
    // GUI login sessions only (not ssh, not the login window).
    LimitLoadToSessionType: 'Aqua',
    RunAtLoad: true,
    // Restarted after a crash, not after a clean exit.
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 30,
    AssociatedBundleIdentifiers: [settings.runtimeSigningIdentifier],
    ProcessType: 'Background',
    // No StandardOutPath: the user cannot write the root-owned log folder; the session agent
    // logs through the unified log.
  };
}

export function launchdPlist(job: LaunchdJob): string {
  return `${build(job)}\n`;
}

/** The jobs with their install paths (relative to the target volume) and plist text. */
export function launchdFiles(
  settings: BuildSettings,
): Array<{ installPath: string; job: LaunchdJob; text: string; kind: 'daemon' | 'session' }> {
  const paths = installPaths(settings);
  return [
    { installPath: paths.daemonPlist, job: daemonJob(settings), kind: 'daemon' as const },
    { installPath: paths.sessionPlist, job: sessionJob(settings), kind: 'session' as const },
  ].map((f) => ({ ...f, text: launchdPlist(f.job) }));
}

// Every key launchd.plist(5) documents that our jobs may use; anything else is a typo.
const knownKeys = new Set([
  'Label',
  'Program',
  'ProgramArguments',
  'RunAtLoad',
  'KeepAlive',
  'ThrottleInterval',
  'ExitTimeOut',
  'AssociatedBundleIdentifiers',
  'ProcessType',
  'StandardOutPath',
  'StandardErrorPath',
  'LimitLoadToSessionType',
  'EnvironmentVariables',
  'Umask',
  'WorkingDirectory',
]);

/**
 * Problems of a parsed launchd job (empty when it is right): the keys launchd needs, paths
 * into the install root, and identifiers that are ours.
 */
export function checkLaunchdJob(
  job: unknown,
  expected: { fileName: string; kind: 'daemon' | 'session'; settings: BuildSettings },
): string[] {
  const problems: string[] = [];
  if (job === null || typeof job !== 'object' || Array.isArray(job)) return ['the top level is not a dictionary'];
  const j = job as Record<string, unknown>;
  const { settings, kind } = expected;
  const paths = installPaths(settings);
  for (const key of Object.keys(j)) if (!knownKeys.has(key)) problems.push(`unexpected key ${key}`);
  const label = expected.fileName.replace(/\.plist$/, '');
  if (j.Label !== label) problems.push(`Label ${JSON.stringify(j.Label)} is not the file name ${label}`);
  if (typeof j.Label === 'string' && /^com\.apple\./i.test(j.Label)) problems.push('Label is an Apple identifier');
  const argv = j.ProgramArguments;
  if (!Array.isArray(argv) || argv.length < 2 || !argv.every((a) => typeof a === 'string')) {
    problems.push('ProgramArguments is not an array of at least two strings');
  } else {
    if (argv[0] !== paths.runtime) problems.push(`ProgramArguments[0] is not the bundled runtime ${paths.runtime}`);
    const options = argv.slice(1, 1 + agentdNodeOptions.length);
    if (options.join(' ') !== agentdNodeOptions.join(' '))
      problems.push(`ProgramArguments do not pass the runtime options ${agentdNodeOptions.join(' ')}`);
    const entry = 1 + agentdNodeOptions.length;
    if (argv[entry] !== paths.daemonEntry)
      problems.push(`ProgramArguments[${entry}] is not the daemon entry ${paths.daemonEntry}`);
    const wantSession = kind === 'session';
    if (argv.includes(sessionModeArgument) !== wantSession)
      problems.push(`ProgramArguments ${wantSession ? 'lacks' : 'has'} ${sessionModeArgument}`);
  }
  if (j.RunAtLoad !== true) problems.push('RunAtLoad is not true');
  if (kind === 'daemon' && j.KeepAlive !== true) problems.push('KeepAlive is not true');
  if (kind === 'session' && (typeof j.KeepAlive !== 'object' || j.KeepAlive === null))
    problems.push('KeepAlive is not a dictionary');
  if (!Number.isInteger(j.ThrottleInterval) || (j.ThrottleInterval as number) < 1)
    problems.push('ThrottleInterval is not a positive integer');
  const associated = j.AssociatedBundleIdentifiers;
  if (
    !Array.isArray(associated) ||
    associated.length === 0 ||
    !associated.every((a) => typeof a === 'string' && a.startsWith(`${settings.identifierPrefix}.`))
  ) {
    problems.push(`AssociatedBundleIdentifiers is not a list of ${settings.identifierPrefix}.* identifiers`);
  }
  if (!['Background', 'Standard', 'Adaptive', 'Interactive'].includes(j.ProcessType as string))
    problems.push('ProcessType is missing or unknown');
  if (kind === 'daemon') {
    for (const key of ['StandardOutPath', 'StandardErrorPath']) {
      if (typeof j[key] !== 'string' || !(j[key] as string).startsWith(`${settings.logDirectory}/`))
        problems.push(`${key} is not under ${settings.logDirectory}`);
    }
    if ('LimitLoadToSessionType' in j) problems.push('a LaunchDaemon has no LimitLoadToSessionType');
  } else if (j.LimitLoadToSessionType !== 'Aqua') {
    problems.push('LimitLoadToSessionType is not Aqua');
  }
  const apple = findStrings(j).filter((s) => /^com\.apple\./i.test(s));
  if (apple.length > 0) problems.push(`Apple identifiers: ${apple.join(', ')}`);
  return problems;
}

export function findStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(findStrings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...findStrings(v)]);
  return [];
}
