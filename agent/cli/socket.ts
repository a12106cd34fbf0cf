// Which control socket agentctl talks to. Fast path: no configuration parsing unless a
// preference file exists or --config is given.
import { existsSync } from 'node:fs';
import { adminSocketPath, defaultPaths, domain, systemConfigFiles } from '../config/defaults.js';
import { isRoot } from '../process.js';

export interface SocketChoice {
  path: string;
  /** Where the path came from, for messages. */
  origin: string;
  /**
   * Set when the default socket was taken without reading the preference files that exist
   * (`preferDefault`): the socket they name, to ask when the default one does not answer.
   */
  configured?: () => Promise<SocketChoice | null>;
}

/** The socket the system preference files name, or null when they name none (or do not exist). */
async function configuredSocket(): Promise<SocketChoice | null> {
  if (!systemConfigFiles.some((f) => existsSync(f))) return null;
  const { loadConfig } = await import('../config/load.js');
  const loaded = await loadConfig();
  return loaded.sources.ControlSocketPath !== 'default'
    ? { path: loaded.config.ControlSocketPath, origin: loaded.sources.ControlSocketPath }
    : null;
}

/**
 * `preferDefault` (status, which must answer at once): when the system daemon's default socket
 * exists, take it without reading the preference files, which every managed Mac has (reading
 * them is most of a command's start-up); the caller asks `configured()` when that socket does
 * not answer (a daemon moved by ControlSocketPath, a stale socket file left behind).
 */
export async function chooseSocket(
  options: { socket?: string; config?: string },
  { preferDefault = false }: { preferDefault?: boolean } = {},
): Promise<SocketChoice> {
  if (options.socket) return { path: options.socket, origin: '--socket' };
  if (options.config) {
    const { loadConfig } = await import('../config/load.js');
    const loaded = await loadConfig({ configFile: options.config });
    return { path: loaded.config.ControlSocketPath, origin: options.config };
  }
  // The installed daemon runs as root; a development daemon (npm start) as the user.
  const system = defaultPaths(process.platform, true).ControlSocketPath;
  if (preferDefault && existsSync(system) && systemConfigFiles.some((f) => existsSync(f)))
    return { path: system, origin: 'default', configured: configuredSocket };
  const configured = await configuredSocket();
  if (configured) return configured;
  const user = defaultPaths(process.platform, false).ControlSocketPath;
  if (existsSync(system)) return { path: system, origin: 'default' };
  if (existsSync(user)) return { path: user, origin: 'default (development)' };
  const installed = isRoot() || existsSync(`/Library/LaunchDaemons/${domain}.plist`);
  return { path: installed ? system : user, origin: 'default' };
}

export { adminSocketPath };

/** One sentence: the daemon is not answering, where we looked, how to start it. */
export function unreachableMessage(socketPath: string, code: string): string {
  const how =
    process.platform === 'darwin'
      ? 'start it with: sudo launchctl kickstart -k system/com.trustguard.agent (or npm start in a development checkout)'
      : 'start it with: npm start (in the TrustGuard checkout) or your service manager';
  const why =
    code === 'EACCES'
      ? 'permission denied on'
      : code === 'ENOENT'
        ? 'no socket at'
        : code === 'ECONNREFUSED'
          ? 'nobody is listening on'
          : `${code} on`;
  return `agentctl: the TrustGuard daemon is not reachable (${why} ${socketPath}); ${how}`;
}
