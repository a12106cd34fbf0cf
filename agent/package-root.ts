// Where the package is installed: the nearest folder above this module that holds package.json
// (the repository in development, the install root on a Mac). Found by walking up, not by a
// fixed number of '..': tsc puts this module at dist/agent/, but the daemon and agentctl are
// bundled (scripts/bundle.mjs) into dist/agent/daemon/ and dist/agent/cli/, where import.meta.url
// is the bundle's own.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return (cached = dir);
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}: TrustGuard is not installed whole`);
  }
}
