// The shared corpora (real-world files kept beside the repository, never in it): shared/ next
// to the checkout, as CI lays it out, or the workplace's copy.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The folder of corpus `name`, or null when no copy is here. */
export function corpus(name: string): string | null {
  for (const base of [
    process.env.TRUSTGUARD_CORPORA,
    path.join(repoRoot, '..', 'shared', 'corpora'),
    '/work/shared/corpora',
  ]) {
    if (base && existsSync(path.join(base, name))) return path.join(base, name);
  }
  return null;
}
