// The daemon's own keys of the com.trustguard.agent domain (mode, paths, logging) and the
// validators capabilities use for theirs. Each capability's keys live in its own config
// module; agent/config/keys.ts gathers them all. docs/configuration.md is the same table for
// admins; a test keeps them in step.
import * as z from 'zod/mini';
import { redactMessage, stripUrlSecrets } from '../log/redact.js';
import { defaultPaths } from './defaults.js';

export { stripUrlSecrets };
import type { ConfigOf, KeySpec, KeySpecs } from './key-spec.js';

export type { KeySpec };

export const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
export const absolutePath = z.string().check(z.refine((p) => p.startsWith('/'), 'not an absolute path'));
export const optionalAbsolutePath = z
  .string()
  .check(z.refine((p) => p === '' || p.startsWith('/'), 'not an absolute path'));
export const httpsURL = z.string().check(
  z.refine((u) => {
    try {
      return new URL(u).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'not an https URL'),
);
// host, host:port or [v6]:port; no spaces, no scheme, and no leading '-': the host may be put
// on a command line ("{server}" in RemediationCommand), where it would be read as an option.
export const ntpServer = z.string().check(z.regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.][A-Za-z0-9._-]*)(:\d{1,5})?$/));
export const hostname = z
  .string()
  .check(z.regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/));

export const coreKeys = {
  Mode: {
    schema: z.enum(['observe', 'remediate', 'enforce']),
    expected: 'one of "observe", "remediate", "enforce"',
    meaning:
      'observe: measure and report; remediate: also correct the clock on a confident estimate; enforce: also report non-compliance while the guardrail is active',
    default: () => 'observe',
  },
  StateDirectory: {
    schema: absolutePath,
    expected: 'an absolute path',
    meaning: 'where the daemon keeps its state and lock',
    default: (platform, root) => defaultPaths(platform, root).StateDirectory,
    restart: true,
  },
  ControlSocketPath: {
    schema: absolutePath,
    expected: 'an absolute path',
    meaning: 'the read-only control socket; the root-only one is the same path plus ".admin"',
    default: (platform, root) => defaultPaths(platform, root).ControlSocketPath,
    restart: true,
  },
  LogDirectory: {
    schema: absolutePath,
    expected: 'an absolute path',
    meaning: 'where agent.log and its rotations are written',
    default: (platform, root) => defaultPaths(platform, root).LogDirectory,
    restart: true,
  },
  LogLevel: {
    schema: z.enum(['error', 'warn', 'info', 'debug']),
    expected: 'one of "error", "warn", "info", "debug"',
    meaning: 'the least severe level written to the logs',
    default: () => 'info',
  },
} satisfies KeySpecs;

/**
 * Keys whose capabilities have not moved into the contract yet: none are left (each
 * capability's keys are in its own config module). Kept for a capability on its way in.
 */
export const pendingKeys: KeySpecs = {};

/** The daemon's own configuration. */
export type CoreConfig = ConfigOf<typeof coreKeys>;

/** A value in words for a problem message: short, never throwing, without credentials (agent/log/redact.ts). */
export function describeValue(value: unknown): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'an invalid date' : `a date (${value.toISOString()})`;
  if (value instanceof Uint8Array) return `data (${value.length} bytes)`;
  if (Array.isArray(value))
    return `an array of ${value.length} item${value.length === 1 ? '' : 's'} ${truncate(safeJson(value))}`;
  if (value !== null && typeof value === 'object') return 'a dictionary';
  if (typeof value === 'string') return `the string ${truncate(JSON.stringify(redactMessage(value)))}`;
  if (typeof value === 'bigint') return `the integer ${value}`;
  return `${typeof value} ${String(value)}`;
}

/** JSON for a message: bigints as numbers' text, nested objects elided, URLs stripped; never throws. */
function safeJson(value: unknown[]): string {
  try {
    return JSON.stringify(value.slice(0, 8), (_key, v: unknown) =>
      typeof v === 'bigint'
        ? v.toString()
        : typeof v === 'string'
          ? redactMessage(v)
          : v instanceof Uint8Array
            ? `<${v.length} bytes>`
            : v,
    );
  } catch {
    return '[…]';
  }
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
