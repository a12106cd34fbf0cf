// Loads the addon once and hands each capability's wrapper (native/<capability>.ts) its part.
// Every argument is checked in those wrappers, before it reaches C++, so that a wrong call is
// a TypeError and never a crash.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The package root is found by walking up from this module: tsc puts it at dist/native/, but
// agentctl's fast path is bundled (scripts/bundle-cli.mjs) into dist/agent/cli/…, where a fixed
// number of '..' would miss build/.
function addonCandidates(): string[] {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidates = ['Release', 'Debug'].map((build) => path.join(dir, 'build', build, 'trustguard.node'));
    if (candidates.some((file) => existsSync(file)) || existsSync(path.join(dir, 'binding.gyp'))) return candidates;
    const parent = path.dirname(dir);
    if (parent === dir)
      return ['Release', 'Debug'].map((build) =>
        path.join(
          path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'),
          'build',
          build,
          'trustguard.node',
        ),
      );
    dir = parent;
  }
}

let addon: Record<string, unknown> | undefined;

function loadAddon(): Record<string, unknown> {
  const candidates = addonCandidates();
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new Error(`TrustGuard's native addon is not built (looked for ${candidates[0]}). Run: npm ci`);
  }
  return createRequire(import.meta.url)(found) as Record<string, unknown>;
}

/** The addon's exports, typed by the caller's own interface (its part of the addon). */
export function native<T>(): T {
  addon ??= loadAddon();
  return addon as T;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

export function expectNoArguments(name: string, args: unknown[]): void {
  if (args.length !== 0) throw new TypeError(`${name}() takes no arguments, got ${args.length}`);
}
