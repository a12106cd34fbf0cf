// The telemetry capability's configuration keys and the one mapping from configuration to the
// exporter's and the forwarder's options.
import * as z from 'zod/mini';
import type { ConfigContribution } from '../capability.js';
import type { ConfigOf, KeySpecs, RelationProblem } from '../config/key-spec.js';
import { int, optionalAbsolutePath, type CoreConfig } from '../config/schema.js';
import { collectorUrlProblem } from './endpoint.js';

export const telemetryKeys = {
  CollectorURL: {
    // Checked by the parser that uses it (issue 17, item 8): a value a regular expression
    // passes but `new URL` refuses (http://127.0.0.1:99999/) would take telemetry away.
    schema: z.string().check(z.refine((u) => u === '' || collectorUrlProblem(u) === null)),
    expected: 'an https URL (http only to loopback), or empty to disable telemetry',
    meaning: 'OTLP/HTTP collector base URL (events go to <URL>/v1/logs)',
    default: () => '',
  },
  CollectorCAFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path to a PEM file, or empty',
    meaning: 'extra CA certificates for the collector, added to the system roots (root-owned, not writable by others)',
    default: () => '',
  },
  CollectorBearerToken: {
    schema: z.string().check(z.maxLength(8192)),
    expected: 'a string',
    meaning: 'bearer token sent to the collector (prefer CollectorBearerTokenFile: a profile is readable by admins)',
    default: () => '',
    secret: true,
  },
  CollectorBearerTokenFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path, or empty',
    meaning:
      'file holding the bearer token; must be owned by root with mode 0600 or 0400, never a link; re-read for every batch',
    default: () => '',
  },
  CollectorClientCertificateFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path to a PEM file, or empty',
    meaning: 'TLS client certificate (with its chain) presented to the collector; needs CollectorClientKeyFile',
    default: () => '',
  },
  CollectorClientKeyFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path to a PEM file, or empty',
    meaning: "the client certificate's private key; owned by root, mode 0600 or 0400",
    default: () => '',
  },
  CollectorTimeoutSeconds: {
    schema: int(1, 300),
    expected: 'an integer from 1 to 300',
    meaning: 'how long one upload may take, connection to last byte of the answer; then it is retried',
    default: () => 30,
  },
  TelemetryMaxDiskMB: {
    schema: int(1, 10240),
    expected: 'an integer from 1 to 10240',
    meaning: 'disk the telemetry queue may use; the oldest events are dropped (and counted) beyond it',
    default: () => 64,
  },
  TelemetryFlushIntervalSeconds: {
    schema: int(1, 3600),
    expected: 'an integer from 1 to 3600',
    meaning: 'mean seconds between uploads; each wait is randomised between half and one and a half times this',
    default: () => 60,
  },
  TelemetryMaxEventsPerSecond: {
    schema: int(1, 100000),
    expected: 'an integer from 1 to 100000',
    meaning:
      'upload rate cap per device (events per second), so a fleet back from an outage does not stampede the collector',
    default: () => 200,
  },
  TelemetryHeartbeatIntervalSeconds: {
    schema: int(10, 86400),
    expected: 'an integer from 10 to 86400',
    meaning: 'seconds between heartbeats (version, mode, guardrail and compliance state, queue)',
    default: () => 3600,
  },
} satisfies KeySpecs;

export type TelemetryConfig = CoreConfig & ConfigOf<typeof telemetryKeys>;
export type TelemetryKey = keyof typeof telemetryKeys;

/** Batches: at most this many events and this many bytes of stored events (before gzip). */
export const batchLimits = { maxRecords: 500, maxBytes: 512 << 10 } as const;

/** What a change of each key rebuilds in the running daemon. */
export const rebuilds = {
  exporter: [
    'CollectorURL',
    'CollectorCAFile',
    'CollectorBearerToken',
    'CollectorBearerTokenFile',
    'CollectorClientCertificateFile',
    'CollectorClientKeyFile',
    'CollectorTimeoutSeconds',
  ],
  spool: ['TelemetryMaxDiskMB'],
  forwarder: ['TelemetryFlushIntervalSeconds', 'TelemetryMaxEventsPerSecond'],
  heartbeat: ['TelemetryHeartbeatIntervalSeconds'],
} as const satisfies Record<string, readonly TelemetryKey[]>;

export function touches(changed: readonly string[], what: keyof typeof rebuilds): boolean {
  return changed.some((key) => (rebuilds[what] as readonly string[]).includes(key));
}

export function relations(config: Record<string, unknown>): RelationProblem[] {
  const problems: RelationProblem[] = [];
  if (config.CollectorBearerToken && config.CollectorBearerTokenFile) {
    problems.push({
      keys: ['CollectorBearerToken', 'CollectorBearerTokenFile'],
      message: 'set CollectorBearerToken or CollectorBearerTokenFile, not both',
    });
  }
  if (Boolean(config.CollectorClientCertificateFile) !== Boolean(config.CollectorClientKeyFile)) {
    problems.push({
      keys: ['CollectorClientCertificateFile', 'CollectorClientKeyFile'],
      message: 'CollectorClientCertificateFile and CollectorClientKeyFile go together: set both or neither',
    });
  }
  return problems;
}

export const contribution: ConfigContribution = { keys: telemetryKeys, relations };
