// Who the device is, for the collector's resource attributes: on macOS the hardware UUID and
// serial number from IOKit's IOPlatformExpertDevice (read with `ioreg -rd1 -c
// IOPlatformExpertDevice`, the command Apple documents for them, so no native code), on Linux
// /etc/machine-id (systemd's machine-id(5)); the OS name and version; the host name.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';

export type IdentityProblem = 'identity_unavailable';

export interface DeviceIdentity {
  /** host.id: the hardware UUID (macOS) or the machine-id (Linux). */
  hostId: string | null;
  /** The hardware serial number (macOS only). */
  serial: string | null;
  hostName: string;
  /** os.type in OpenTelemetry's vocabulary: darwin, linux. */
  osType: string;
  /** os.version: the product version (14.5) on macOS, VERSION_ID on Linux, else the kernel release. */
  osVersion: string;
  /** os.description: e.g. "macOS 14.5 (23F79)" or PRETTY_NAME. */
  osDescription: string | null;
  /** host.arch in OpenTelemetry's vocabulary: amd64, arm64. */
  arch: string;
  problem?: { code: IdentityProblem; reason: string };
}

/** The two values we need from `ioreg -rd1 -c IOPlatformExpertDevice`. */
export function parseIoregPlatform(output: string): { uuid: string | null; serial: string | null } {
  const field = (name: string) => {
    const m = new RegExp(`"${name}"\\s*=\\s*"([^"\\n]{1,128})"`).exec(output);
    return m ? m[1]! : null;
  };
  const uuid = field('IOPlatformUUID');
  return {
    uuid: uuid && /^[0-9A-Fa-f-]{32,36}$/.test(uuid) ? uuid.toUpperCase() : null,
    serial: field('IOPlatformSerialNumber'),
  };
}

/** machine-id(5): 32 lowercase hex characters and a newline. */
export function parseMachineId(text: string): string | null {
  const id = text.trim();
  return /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id) ? id : null;
}

/** KEY=value lines of os-release(5), quotes removed. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2').replace(/\\(.)/g, '$1');
  }
  return out;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: 5000, maxBuffer: 1 << 20, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

const archNames: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: 'x86',
  arm: 'arm32',
  ppc64: 'ppc64',
  s390x: 's390x',
};

export async function readDeviceIdentity(
  platform: NodeJS.Platform = process.platform,
  files = { machineId: '/etc/machine-id', osRelease: '/etc/os-release' },
): Promise<DeviceIdentity> {
  const identity: DeviceIdentity = {
    hostId: null,
    serial: null,
    hostName: os.hostname(),
    osType: platform,
    osVersion: os.release(),
    osDescription: null,
    arch: archNames[process.arch] ?? process.arch,
  };
  if (platform === 'darwin') {
    try {
      const { uuid, serial } = parseIoregPlatform(
        await run('/usr/sbin/ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice']),
      );
      identity.hostId = uuid;
      identity.serial = serial;
      if (!uuid) identity.problem = { code: 'identity_unavailable', reason: 'ioreg printed no IOPlatformUUID' };
    } catch (error) {
      identity.problem = { code: 'identity_unavailable', reason: `ioreg: ${(error as Error).message}` };
    }
    try {
      const version = (await run('/usr/bin/sw_vers', ['-productVersion'])).trim();
      const build = (await run('/usr/bin/sw_vers', ['-buildVersion'])).trim();
      if (version) identity.osVersion = version;
      identity.osDescription = `macOS ${version}${build ? ` (${build})` : ''}`;
    } catch {
      // The kernel release stays.
    }
    return identity;
  }
  try {
    identity.hostId = parseMachineId(await readFile(files.machineId, 'utf8'));
    if (!identity.hostId)
      identity.problem = { code: 'identity_unavailable', reason: `${files.machineId} does not hold a machine ID` };
  } catch (error) {
    identity.problem = {
      code: 'identity_unavailable',
      reason: `${files.machineId}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    };
  }
  try {
    const release = parseOsRelease(await readFile(files.osRelease, 'utf8'));
    if (release.VERSION_ID) identity.osVersion = release.VERSION_ID;
    identity.osDescription = release.PRETTY_NAME ?? null;
  } catch {
    // The kernel release stays.
  }
  return identity;
}
