// Loads the addon once and hands each capability's wrapper (native/<capability>.ts) its part.
// Every argument is checked in those wrappers, before it reaches C++, so that a wrong call is
// a TypeError and never a crash.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../agent/package-root.js';

function addonCandidates(): string[] {
  return ['Release', 'Debug'].map((build) => path.join(packageRoot(), 'build', build, 'trustguard.node'));
}

let addon: Record<string, unknown> | undefined;

function loadAddon(): Record<string, unknown> {
  const candidates = addonCandidates();
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new Error(`TrustGuard's native addon is not built (looked for ${candidates[0]}). Run: npm ci`);
  }
  // node:module only here (getBuiltinModule, Node ≥ 20.16): agentctl status loads this module
  // for the admin socket's peer check and should not pay for Node's module API otherwise.
  return process.getBuiltinModule('node:module').createRequire(import.meta.url)(found) as Record<string, unknown>;
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
