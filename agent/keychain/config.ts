// The keychain scrub's configuration keys (SPEC §1.4) and the one mapping from configuration
// to scrub options, used by `agentctl scrub`, the session run and the daemon.
import * as z from 'zod/mini';
import type { ConfigContribution } from '../capability.js';
import type { ConfigOf, KeySpecs } from '../config/key-spec.js';
import { hostname } from '../config/schema.js';

export const scrubModes = ['dry-run', 'enforce'] as const;
export const tagAttributes = ['comment', 'label'] as const;

const serviceName = z.string().check(
  z.minLength(1),
  z.maxLength(1024),
  z.refine((s) => !s.includes('\0'), 'contains NUL'),
);
// A keychain access group: "<TeamID>.<group>" (Team IDs are 10 upper-case letters or digits).
const accessGroup = z.string().check(z.regex(/^[A-Z0-9]{10}\.[A-Za-z0-9._-]{1,200}$/));

export const keychainKeys = {
  TenantDomain: {
    schema: z.union([z.literal(''), hostname.check(z.maxLength(253))]),
    expected: 'a domain name such as acme.okta.com, or empty',
    meaning: 'the current SSO tenant; keychain items tagged for another tenant are scrubbed (empty: no scrub)',
    default: () => '',
  },
  ScrubServices: {
    schema: z.array(serviceName).check(
      z.maxLength(64),
      z.refine((list) => new Set(list).size === list.length, 'lists a service twice'),
    ),
    expected: 'an array of at most 64 distinct keychain service names',
    meaning: 'generic-password services the scrub may delete from; empty disables the scrub',
    default: () => [],
  },
  ScrubMode: {
    schema: z.enum(scrubModes),
    expected: 'one of "dry-run", "enforce"',
    meaning: 'dry-run reports what would be deleted; enforce deletes it',
    default: () => 'dry-run' as const,
  },
  ScrubUntagged: {
    schema: z.boolean(),
    expected: 'a boolean',
    meaning: 'also scrub items of ScrubServices that carry no tenant tag (default: keep them)',
    default: () => false,
  },
  ScrubTagAttribute: {
    schema: z.enum(tagAttributes),
    expected: 'one of "comment", "label"',
    meaning:
      "the item attribute holding the tenant tag (lowercase hex SHA-256 of the tenant domain): kSecAttrComment or kSecAttrLabel on macOS, the Secret Service's comment attribute or label on Linux",
    default: () => 'comment' as const,
  },
  ScrubAccessGroups: {
    schema: z.array(accessGroup).check(z.maxLength(16)),
    expected: 'an array of at most 16 access groups such as "ABCDE12345.com.example.sso"',
    meaning:
      'macOS: data-protection keychain access groups also searched (only those the signed agent is entitled to; others are reported as not searched)',
    default: () => [],
  },
} satisfies KeySpecs;

export type KeychainConfig = ConfigOf<typeof keychainKeys>;
export type ScrubMode = (typeof scrubModes)[number];
export type TagAttribute = (typeof tagAttributes)[number];

export const contribution: ConfigContribution = { keys: keychainKeys };

/** What a scrub does, from the configuration; each field may be overridden on the command line. */
export interface ScrubSettings {
  tenant: string;
  services: string[];
  mode: ScrubMode;
  scrubUntagged: boolean;
  tagAttribute: TagAttribute;
  accessGroups: string[];
}

export function scrubSettings(config: Record<string, unknown>): ScrubSettings {
  const c = config as Partial<KeychainConfig>;
  return {
    tenant: c.TenantDomain ?? '',
    services: [...(c.ScrubServices ?? [])],
    mode: c.ScrubMode ?? 'dry-run',
    scrubUntagged: c.ScrubUntagged ?? false,
    tagAttribute: c.ScrubTagAttribute ?? 'comment',
    accessGroups: [...(c.ScrubAccessGroups ?? [])],
  };
}
