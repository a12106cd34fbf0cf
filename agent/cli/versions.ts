// The version of everything, for `agentctl version` and `agentctl flare`: agentctl, the running
// agentd (from the daemon), the addon, the Node runtime, the OS.
import type { execFileSync as ExecFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../package-root.js';
import { productVersion } from '../version.js';

export interface Versions {
  agentctl: string;
  /** The running daemon's version; null when it does not answer. */
  agentd: string | null;
  addon: { file: string | null; sha256: string | null; napi: string };
  node: string;
  os: { platform: string; release: string; version: string; arch: string; product_version: string | null };
}

function addonFile(): string | null {
  return (
    ['Release', 'Debug']
      .map((b) => path.join(packageRoot(), 'build', b, 'trustguard.node'))
      .find((f) => existsSync(f)) ?? null
  );
}

/** macOS's product version (sw_vers), e.g. 14.5; null elsewhere. */
function productVersionOfOs(): string | null {
  if (process.platform !== 'darwin') return null;
  try {
    // node:child_process only here, on a Mac (issue 21: loading it costs `version` ~1 ms).
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as {
      execFileSync: typeof ExecFileSync;
    };
    return execFileSync('/usr/bin/sw_vers', ['-productVersion'], { encoding: 'utf8', timeout: 3000 }).trim();
  } catch {
    return null;
  }
}

export function versions(daemonVersion: string | null): Versions {
  const file = addonFile();
  let sha256: string | null = null;
  try {
    if (file) sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    sha256 = null;
  }
  return {
    agentctl: productVersion(),
    agentd: daemonVersion,
    addon: { file, sha256, napi: process.versions.napi ?? 'unknown' },
    node: process.versions.node,
    os: {
      platform: process.platform,
      release: os.release(),
      version: os.version(),
      arch: process.arch,
      product_version: productVersionOfOs(),
    },
  };
}
