// Trust reporting's configuration keys (loaded only where configuration is read).
import * as z from 'zod/mini';
import type { ConfigContribution } from '../capability.js';
import type { ConfigOf, KeySpecs } from '../config/key-spec.js';
import { int, type CoreConfig } from '../config/schema.js';

// An https URL, or an absolute path to a certificate file.
const target = z.string().check(
  z.refine((value) => {
    if (value.startsWith('/')) return !value.includes('\0');
    try {
      return new URL(value).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'not an https URL or an absolute path'),
);
const absolutePath = z.string().check(z.refine((p) => p.startsWith('/') && !p.includes('\0'), 'not an absolute path'));

export const trustKeys = {
  TrustTargets: {
    schema: z.array(target).check(z.maxLength(64)),
    expected: 'an array of at most 64 https URLs or absolute certificate file paths',
    meaning:
      'endpoints and certificate files whose trust is evaluated (on macOS, the IdP hosts of installed Extensible SSO payloads are added)',
    default: () => [],
  },
  TrustCAFiles: {
    schema: z.array(absolutePath).check(z.maxLength(16)),
    expected: 'an array of at most 16 absolute paths to PEM or DER certificate files',
    meaning: "extra trust anchors (e.g. the organisation's root CA) added to the system's roots for trust checks",
    default: () => [],
  },
  TrustCheckIntervalSeconds: {
    schema: int(60, 604800),
    expected: 'an integer from 60 to 604800',
    meaning: "seconds between trust evaluations (a change of the clock guardrail's state also triggers one)",
    default: () => 3600,
  },
  TrustRevocation: {
    schema: z.enum(['off', 'soft', 'require']),
    expected: 'one of "off", "soft", "require"',
    meaning:
      'OCSP revocation checking: off; soft (a responder that cannot be reached is reported, the chain still trusted); require (no positive answer = not trusted)',
    default: () => 'soft',
  },
  TrustOCSPAllowLocal: {
    schema: z.boolean(),
    expected: 'a boolean',
    meaning:
      'also ask OCSP responders at loopback or link-local addresses (default: never; a certificate must not make root send requests to this machine or its link)',
    default: () => false,
  },
} satisfies KeySpecs;

export type TrustConfig = CoreConfig & ConfigOf<typeof trustKeys>;

export const contribution: ConfigContribution = { keys: trustKeys };
