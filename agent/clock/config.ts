// The clock guardrail's configuration keys, which of them rebuild what in the running daemon,
// and the one mapping from configuration to the options of the sources and the guardrail
// (used by the daemon and by `agentctl time`).
import type { ConfigContribution } from '../capability.js';
import type { ConfigOf, KeySpecs, RelationProblem } from '../config/key-spec.js';
import { httpsURL, int, ntpServer, optionalAbsolutePath, type CoreConfig } from '../config/schema.js';
import * as z from 'zod/mini';
import { timeSourcePolicies } from './auth-policy.js';
import { defaultThresholds } from './levels.js';
import type { TimeSourcesOptions } from './measure.js';
import { defaultRemediationCommand, serverPlaceholder, untrustedProgram } from './remediation.js';

/** PTB (Germany's national metrology institute), Netnod (Sweden's exchange, for the Swedish time authority), NPL (the UK's national physical laboratory). */
export const defaultNtpServers = ['ptbtime1.ptb.de', 'sth1.ntp.se', 'ntp1.npl.co.uk'] as const;

export const clockKeys = {
  WarnThresholdSeconds: {
    schema: int(1, 3600),
    expected: 'an integer from 1 to 3600, below EnforceThresholdSeconds',
    meaning: 'clock skew (seconds) at which the guardrail state becomes warn',
    default: () => defaultThresholds.warnSeconds,
  },
  EnforceThresholdSeconds: {
    schema: int(2, 86400),
    expected: 'an integer from 2 to 86400, above WarnThresholdSeconds',
    meaning: 'clock skew (seconds) at which the guardrail becomes active',
    default: () => defaultThresholds.enforceSeconds,
  },
  MeasureIntervalSeconds: {
    schema: int(10, 86400),
    expected: 'an integer from 10 to 86400',
    meaning: 'seconds between clock measurements (clock steps and wake also trigger one)',
    default: () => 90,
  },
  NTPServers: {
    schema: z.array(ntpServer).check(z.maxLength(16)),
    expected: 'an array of at most 16 "host" or "host:port" strings',
    meaning: 'NTP servers to measure against',
    // Three, because one source is never trusted alone and two cannot outvote each other; of
    // three independent operators (national time laboratories and an exchange), none of which
    // smears leap seconds, so they agree across a leap second (docs/configuration.md).
    default: () => [...defaultNtpServers],
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
  NTSServers: {
    schema: z.array(ntpServer).check(z.maxLength(16)),
    expected: 'an array of at most 16 "host" or "host:port" strings (the NTS-KE port, default 4460)',
    meaning: "NTS servers (RFC 8915): authenticated NTP, the chain checked like HTTPSTimeCAFile's",
    default: () => [],
  },
  TimeSourcePolicy: {
    schema: z.enum(['', ...timeSourcePolicies]),
    expected: 'require, prefer, mix, ignore, or empty (prefer when NTSServers is set, else ignore)',
    meaning: "how authenticated (NTS) and unauthenticated sources combine, like chrony's authselectmode",
    default: () => '',
  },
  HTTPSTimeURLs: {
    schema: z.array(httpsURL).check(z.maxLength(16)),
    expected: 'an array of at most 16 https URLs',
    meaning: 'HTTPS servers (typically the MDM server) whose Date header is a time source',
    default: () => [],
  },
  HTTPSTimeCAFile: {
    schema: optionalAbsolutePath,
    expected: 'an absolute path to a PEM file, or empty',
    meaning: 'extra CA certificates for the HTTPS time sources and the NTS-KE servers',
    default: () => '',
  },
  RemediationCommand: {
    // Root runs it: an absolute path (never a PATH lookup), to a program root owns and nobody
    // else can write, from the managed preferences only (docs/security.md).
    schema: z.array(z.string().check(z.minLength(1))).check(
      z.maxLength(32),
      z.refine((argv) => argv.length === 0 || argv[0]!.startsWith('/'), 'the program must be an absolute path'),
    ),
    expected: `an array of strings: the absolute path of a root-owned program nobody else can write, then its arguments ("${serverPlaceholder}" is replaced)`,
    meaning:
      'command run in remediate mode to correct the clock against an agreeing server; accepted only from the managed preferences',
    default: (platform) => defaultRemediationCommand(platform) ?? [],
    managedOnly: true,
    check: (value) => {
      const argv = value as string[];
      return argv.length === 0 ? undefined : (untrustedProgram(argv[0]!) ?? undefined);
    },
  },
} satisfies KeySpecs;

export type ClockConfig = CoreConfig & ConfigOf<typeof clockKeys>;
export type ClockKey = keyof typeof clockKeys;

/**
 * What a change of each key rebuilds. Sources are rebuilt only when their own keys change: a
 * new TimeSources forgets what the NTP servers asked for (RATE back-off, DENY/RSTR
 * retirement), which only reconfiguring may clear.
 */
export const rebuilds = {
  sources: [
    'NTPServers',
    'NTPSamplesPerServer',
    'NTPTimeoutMilliseconds',
    'NTPSampleSpacingMilliseconds',
    'HTTPSTimeURLs',
    'HTTPSTimeCAFile',
    'NTSServers',
    'TimeSourcePolicy',
  ],
  guardrail: ['Mode', 'WarnThresholdSeconds', 'EnforceThresholdSeconds', 'RemediationCommand', 'StateDirectory'],
  schedule: ['MeasureIntervalSeconds'],
} as const satisfies Record<string, ReadonlyArray<ClockKey | keyof CoreConfig>>;

export function touches(changed: readonly string[], what: keyof typeof rebuilds): boolean {
  return changed.some((key) => (rebuilds[what] as readonly string[]).includes(key));
}

export function relations(config: Record<string, unknown>): RelationProblem[] {
  const warn = config.WarnThresholdSeconds as number;
  const enforce = config.EnforceThresholdSeconds as number;
  if (warn < enforce) return [];
  return [
    {
      keys: ['WarnThresholdSeconds', 'EnforceThresholdSeconds'],
      message: `WarnThresholdSeconds (${warn}) must be below EnforceThresholdSeconds (${enforce})`,
    },
  ];
}

export const contribution: ConfigContribution = { keys: clockKeys, relations };

/** The time sources a configuration names. */
export function sourceOptions(config: ClockConfig): TimeSourcesOptions {
  return {
    ntp: config.NTPServers,
    https: config.HTTPSTimeURLs,
    nts: config.NTSServers,
    policy: config.TimeSourcePolicy,
    caFile: config.HTTPSTimeCAFile || undefined,
    samples: config.NTPSamplesPerServer,
    timeoutMs: config.NTPTimeoutMilliseconds,
    sampleSpacingMs: config.NTPSampleSpacingMilliseconds,
  };
}

export function thresholdOptions(config: ClockConfig): { warnSeconds: number; enforceSeconds: number } {
  return { warnSeconds: config.WarnThresholdSeconds, enforceSeconds: config.EnforceThresholdSeconds };
}

/** The longest one measurement round can take with this configuration: the slowest NTP server (servers run in parallel) or an HTTPS source. */
export function measureRoundMs(config: ClockConfig): number {
  const ntp = config.NTPSamplesPerServer * (config.NTPSampleSpacingMilliseconds + config.NTPTimeoutMilliseconds);
  const httpsTimeoutMs = 5000;
  // NTS: up to two NTS-KE handshakes (5 s each) besides its NTP requests.
  const nts = config.NTSServers.length > 0 ? ntp + 2 * 5000 : 0;
  return Math.max(ntp, nts, config.HTTPSTimeURLs.length > 0 ? httpsTimeoutMs : 0);
}
