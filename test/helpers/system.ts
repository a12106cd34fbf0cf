// What the machine running the tests can do. Tests that need a missing part are declared
// with `test.skip` through these helpers, and scripts/test.mjs prints the list loudly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

const libfaketimeCandidates = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];

export function libfaketimePath(): string | undefined {
  return libfaketimeCandidates.find((p) => existsSync(p));
}

/** Returns why a test cannot run here, or undefined when it can. */
export function missing(...needs: Array<'root' | 'linux' | 'chronyd' | 'libfaketime' | 'openssl' | 'python3' | 'nginx'>): string | undefined {
  const absent: string[] = [];
  for (const need of needs) {
    if (need === 'root' && !isRoot) absent.push('root');
    else if (need === 'linux' && process.platform !== 'linux') absent.push('linux');
    else if (need === 'libfaketime' && !libfaketimePath()) absent.push('libfaketime');
    else if (need === 'chronyd' && !hasCommand('chronyd') && !existsSync('/usr/sbin/chronyd')) absent.push('chrony');
    else if (!['root', 'linux', 'libfaketime', 'chronyd'].includes(need) && !hasCommand(need)) absent.push(need);
  }
  return absent.length ? absent.join(', ') : undefined;
}
