// The build settings of the package: the one source of truth for every identifier, path and
// version that the launchd plists, the install scripts, the Distribution and PackageInfo
// files and the PPPC profile carry. A company rebrands with one setting, the identifier
// prefix (`npm run pkg -- --identifier-prefix com.acme.trustguard`); everything else follows.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Our identifiers start with this unless the build says otherwise. */
export const defaultIdentifierPrefix = 'com.trustguard';

/** Where the package installs the agent (SPEC §1.7): root-owned, carrying its own Node runtime. */
export const installRoot = '/Library/Application Support/TrustGuard';
export const logDirectory = '/Library/Logs/TrustGuard';
/** The convenience link support staff type; it points into the install root. */
export const cliLink = '/usr/local/bin/agentctl';
/** Oldest macOS the addon is built for (binding.gyp MACOSX_DEPLOYMENT_TARGET). */
export const minimumMacOS = '12.0';

export interface BuildSettings {
  identifierPrefix: string;
  productName: string;
  version: string;
  /** The daemon's launchd label, its plist's file name, the managed-preferences domain. */
  daemonLabel: string;
  /** The per-user LaunchAgent of the keychain scrub (agentd --session). */
  sessionLabel: string;
  /** The component package's identifier, also the receipt `pkgutil --forget` removes. */
  packageIdentifier: string;
  /** The product id in the Distribution file. */
  productIdentifier: string;
  /** Code-signing identifier of the bundled Node runtime (what PPPC and Login Items name). */
  runtimeSigningIdentifier: string;
  installRoot: string;
  logDirectory: string;
  cliLink: string;
  minimumMacOS: string;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Reverse-DNS, ours: never com.apple.* (those identifiers belong to Apple). */
export function checkIdentifierPrefix(prefix: string): string | undefined {
  if (prefix.length === 0 || prefix.length > 100) return 'must be 1 to 100 characters';
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(prefix))
    return 'must be reverse-DNS such as com.acme.trustguard (letters, digits, hyphens, at least two dot-separated parts)';
  if (/^com\.apple(\.|$)/i.test(prefix)) return 'must not start with com.apple: those identifiers belong to Apple';
  return undefined;
}

export function checkVersion(version: string): string | undefined {
  // Installer compares versions part by part; keep them numeric (semver pre-release tags are not).
  return /^\d+(\.\d+){0,3}$/.test(version) ? undefined : 'must be numeric dot-separated such as 1.2.3';
}

export function buildSettings(options: { identifierPrefix?: string; version: string }): BuildSettings {
  const prefix = options.identifierPrefix ?? defaultIdentifierPrefix;
  const prefixProblem = checkIdentifierPrefix(prefix);
  if (prefixProblem) throw new SettingsError(`identifier prefix "${prefix}" ${prefixProblem}`);
  const versionProblem = checkVersion(options.version);
  if (versionProblem) throw new SettingsError(`version "${options.version}" ${versionProblem}`);
  const daemonLabel = `${prefix}.agent`;
  return {
    identifierPrefix: prefix,
    productName: 'TrustGuard',
    version: options.version,
    daemonLabel,
    sessionLabel: `${daemonLabel}.session`,
    packageIdentifier: daemonLabel,
    productIdentifier: daemonLabel,
    runtimeSigningIdentifier: daemonLabel,
    installRoot,
    logDirectory,
    cliLink,
    minimumMacOS,
  };
}

/** The version in the repository's package.json. */
export function repositoryVersion(repoRoot: string): string {
  return (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Paths inside the install root, as launchd and the scripts see them on the Mac. */
export function installPaths(settings: BuildSettings) {
  const root = settings.installRoot;
  return {
    runtime: `${root}/bin/node`,
    agentctlWrapper: `${root}/bin/agentctl`,
    uninstall: `${root}/bin/uninstall`,
    daemonEntry: `${root}/dist/agent/daemon/agentd.cjs`,
    cliEntry: `${root}/dist/agent/cli/agentctl.cjs`,
    addon: `${root}/build/Release/trustguard.node`,
    stateDirectory: `${root}/state`,
    daemonPlist: `/Library/LaunchDaemons/${settings.daemonLabel}.plist`,
    sessionPlist: `/Library/LaunchAgents/${settings.sessionLabel}.plist`,
  };
}
