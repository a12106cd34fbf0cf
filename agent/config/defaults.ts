// Where the configuration lives and what it is when nobody configured anything. This module
// loads nothing heavy (no zod, no plist) because `agentctl status` needs the default socket
// path on its fast path.
import path from 'node:path';
import { isRoot } from '../process.js';

export const domain = 'com.trustguard.agent';

/**
 * The metadata keys of a payload (Apple's CommonPayloadKeys.yaml, and PayloadEnabled), not
 * settings: left out of the agent's settings a profile carries, and of a profile's preferences.
 */
export const payloadMetadataKeys: ReadonlySet<string> = new Set([
  'PayloadType',
  'PayloadVersion',
  'PayloadIdentifier',
  'PayloadUUID',
  'PayloadDisplayName',
  'PayloadDescription',
  'PayloadOrganization',
  'PayloadEnabled',
  'PayloadScope',
]);

/** The system preference files, highest precedence first. */
export const systemConfigFiles = [
  `/Library/Managed Preferences/${domain}.plist`,
  `/Library/Preferences/${domain}.plist`,
] as const;

export interface PathDefaults {
  StateDirectory: string;
  LogDirectory: string;
  ControlSocketPath: string;
}

/**
 * As root the daemon uses the system locations (macOS paths, or their FHS equivalents on
 * Linux); anyone else gets a private tree under ~/.trustguard so `npm start` works unprivileged.
 */
export function defaultPaths(platform: NodeJS.Platform = process.platform, root: boolean = isRoot()): PathDefaults {
  if (!root) {
    // node:os only here: root's agentctl status never needs it (getBuiltinModule, Node ≥ 20.16).
    const base = path.join(process.getBuiltinModule('node:os').homedir(), '.trustguard');
    return {
      StateDirectory: path.join(base, 'state'),
      LogDirectory: path.join(base, 'logs'),
      ControlSocketPath: path.join(base, 'agent.sock'),
    };
  }
  if (platform === 'darwin') {
    return {
      StateDirectory: '/Library/Application Support/TrustGuard/state',
      LogDirectory: '/Library/Logs/TrustGuard',
      // Its own directory: /var/run itself is root:daemon 0775, and the socket directory must be
      // writable by root alone (docs/security.md).
      ControlSocketPath: '/var/run/trustguard/agent.sock',
    };
  }
  return {
    StateDirectory: '/var/lib/trustguard',
    LogDirectory: '/var/log/trustguard',
    ControlSocketPath: '/run/trustguard/agent.sock',
  };
}

/** The admin (root-only, mutating) socket sits beside the read-only one. */
export function adminSocketPath(controlSocketPath: string): string {
  return `${controlSocketPath}.admin`;
}
