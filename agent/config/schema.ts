// The one schema of the com.trustguard.agent domain: every key, its type, range, default and
// meaning. docs/configuration.md is the same table for admins; keep them in step.
import { z } from 'zod';
import { defaultPaths } from './defaults.js';

export interface AgentConfig {
  Mode: 'observe' | 'remediate' | 'enforce';
  WarnThresholdSeconds: number;
  EnforceThresholdSeconds: number;
  MeasureIntervalSeconds: number;
  NTPServers: string[];
  NTPSamplesPerServer: number;
  NTPTimeoutMilliseconds: number;
  NTPSampleSpacingMilliseconds: number;
  HTTPSTimeURLs: string[];
  HTTPSTimeCAFile: string;
  RemediationCommand: string[];
  TrustTargets: string[];
  TrustCheckIntervalSeconds: number;
  TenantDomain: string;
  ScrubServices: string[];
  ScrubMode: 'dry-run' | 'delete';
  CollectorURL: string;
  CollectorCAFile: string;
  CollectorBearerToken: string;
  TelemetryMaxDiskMB: number;
  StateDirectory: string;
  ControlSocketPath: string;
  LogDirectory: string;
  LogLevel: 'error' | 'warn' | 'info' | 'debug';
}

export type ConfigKey = keyof AgentConfig;

import type { KeySpec } from './key-spec.js';

export type { KeySpec };

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const absolutePath = z.string().refine((p) => p.startsWith('/'), 'not an absolute path');
const optionalAbsolutePath = z.string().refine((p) => p === '' || p.startsWith('/'), 'not an absolute path');
const httpsURL = z.string().refine((u) => {
  try {
    return new URL(u).protocol === 'https:';
  } catch {
    return false;
  }
}, 'not an https URL');
// host, host:port or [v6]:port; no spaces, no scheme.
const ntpServer = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/);
const hostname = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/);

export const keys: Record<ConfigKey, KeySpec> = {
  Mode: {
    schema: z.enum(['observe', 'remediate', 'enforce']),
    expected: 'one of "observe", "remediate", "enforce"',
    meaning: 'observe: measure and report; remediate: also correct the clock on a confident estimate; enforce: also report non-compliance while the guardrail is active',
    default: () => 'observe',
  },
  WarnThresholdSeconds: {
    schema: int(1, 3600),
    expected: 'an integer from 1 to 3600, below EnforceThresholdSeconds',
    meaning: 'clock skew (seconds) at which the guardrail state becomes warn',
    default: () => 30,
  },
  EnforceThresholdSeconds: {
    schema: int(2, 86400),
    expected: 'an integer from 2 to 86400, above WarnThresholdSeconds',
    meaning: 'clock skew (seconds) at which the guardrail becomes active',
    default: () => 75,
  },
  MeasureIntervalSeconds: {
    schema: int(10, 86400),
    expected: 'an integer from 10 to 86400',
    meaning: 'seconds between clock measurements (clock steps and wake also trigger one)',
    default: () => 90,
  },
  NTPServers: {
    schema: z.array(ntpServer).max(16),
    expected: 'an array of at most 16 "host" or "host:port" strings',
    meaning: 'NTP servers to measure against',
    // Linux has no vendor time service; the NTP pool is what distributions use by default.
    default: (platform) => (platform === 'darwin' ? ['time.apple.com'] : ['pool.ntp.org']),
  },
  NTPSamplesPerServer: {
    schema: int(1, 16),
    expected: 'an integer from 1 to 16',
    meaning: 'NTP samples per server per measurement; the lowest-delay one counts',
    default: () => 4,
  },
  NTPTimeoutMilliseconds: {
    schema: int(100, 30000),
    expected: 'an integer from 100 to 30000',
    meaning: 'how long to wait for one NTP reply',
    default: () => 1000,
  },
  NTPSampleSpacingMilliseconds: {
    schema: int(0, 10000),
    expected: 'an integer from 0 to 10000',
    meaning: "pause between one server's samples; rate-limited servers answer tight bursts with Kiss-o'-Death RATE",
    default: () => 2000,
  },
  HTTPSTimeURLs: {
    schema: z.array(httpsURL).max(16),
    expected: 'an array of at most 16 https URLs',
    meaning: 'HTTPS servers (typically the MDM server) whose Date header is a time source',
    default: () => [],
  },
  HTTPSTimeCAFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path to a PEM file, or empty',
    meaning: 'extra CA certificates for the HTTPS time sources',
    default: () => '',
  },
  RemediationCommand: {
    schema: z.array(z.string().min(1)).max(32),
    expected: 'an array of strings (the program and its arguments; "{server}" is replaced)',
    meaning: 'command run in remediate mode to correct the clock against an agreeing server',
    default: (platform) => (platform === 'darwin' ? ['/usr/bin/sntp', '-sS', '{server}'] : []),
  },
  TrustTargets: {
    schema: z.array(z.string().min(1)).max(64),
    expected: 'an array of at most 64 https URLs or absolute certificate file paths',
    meaning: 'endpoints and certificate files whose trust is evaluated',
    default: () => [],
  },
  TrustCheckIntervalSeconds: {
    schema: int(60, 604800),
    expected: 'an integer from 60 to 604800',
    meaning: 'seconds between trust evaluations',
    default: () => 3600,
  },
  TenantDomain: {
    schema: z.union([z.literal(''), hostname]),
    expected: 'a domain name such as acme.okta.com, or empty',
    meaning: 'the current SSO tenant; keychain items tagged for another tenant are scrubbed',
    default: () => '',
  },
  ScrubServices: {
    schema: z.array(z.string().min(1)).max(64),
    expected: 'an array of keychain service names',
    meaning: 'generic-password services the scrub may delete from; empty disables the scrub',
    default: () => [],
  },
  ScrubMode: {
    schema: z.enum(['dry-run', 'delete']),
    expected: 'one of "dry-run", "delete"',
    meaning: 'dry-run reports what would be deleted; delete deletes it',
    default: () => 'dry-run',
  },
  CollectorURL: {
    schema: z.union([z.literal(''), httpsURL, z.string().regex(/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/.*)?$/)]),
    expected: 'an https URL (http only to loopback), or empty to disable telemetry',
    meaning: 'OTLP/HTTP collector base URL',
    default: () => '',
  },
  CollectorCAFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path to a PEM file, or empty',
    meaning: 'extra CA certificates for the collector',
    default: () => '',
  },
  CollectorBearerToken: {
    schema: z.string().max(8192),
    expected: 'a string',
    meaning: 'bearer token sent to the collector',
    default: () => '',
    secret: true,
  },
  TelemetryMaxDiskMB: {
    schema: int(1, 10240),
    expected: 'an integer from 1 to 10240',
    meaning: 'disk the telemetry queue may use; the oldest events are dropped (and counted) beyond it',
    default: () => 64,
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
};

export const keyNames = Object.keys(keys) as ConfigKey[];

export function defaultConfig(platform: NodeJS.Platform = process.platform, root = typeof process.getuid === 'function' && process.getuid() === 0): AgentConfig {
  const out: Record<string, unknown> = {};
  for (const name of keyNames) out[name] = keys[name].default(platform, root);
  return out as unknown as AgentConfig;
}

/** Checks one value; returns the problem in words, or undefined when it is valid. */
export function checkValue(name: ConfigKey, value: unknown): string | undefined {
  const result = keys[name].schema.safeParse(value);
  if (result.success) return undefined;
  return `${name} must be ${keys[name].expected}; got ${describeValue(value)}`;
}

export function describeValue(value: unknown): string {
  if (value instanceof Date) return `a date (${value.toISOString()})`;
  if (value instanceof Uint8Array) return `data (${value.length} bytes)`;
  if (Array.isArray(value)) return `an array ${truncate(JSON.stringify(value))}`;
  if (value !== null && typeof value === 'object') return 'a dictionary';
  if (typeof value === 'string') return `the string ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'bigint') return `the integer ${value}`;
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Cross-key rules; each problem names every key involved. */
export function checkRelations(config: AgentConfig): Array<{ keys: ConfigKey[]; message: string }> {
  const problems: Array<{ keys: ConfigKey[]; message: string }> = [];
  if (config.WarnThresholdSeconds >= config.EnforceThresholdSeconds) {
    problems.push({
      keys: ['WarnThresholdSeconds', 'EnforceThresholdSeconds'],
      message: `WarnThresholdSeconds (${config.WarnThresholdSeconds}) must be below EnforceThresholdSeconds (${config.EnforceThresholdSeconds})`,
    });
  }
  return problems;
}
