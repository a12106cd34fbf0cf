// The SSO doctor's configuration key (loaded only where configuration is read).
import * as z from 'zod/mini';
import type { ConfigContribution } from '../capability.js';
import type { ConfigOf, KeySpecs } from '../config/key-spec.js';
import type { CoreConfig } from '../config/schema.js';

const httpsUrl = z.string().check(
  z.refine((value) => {
    try {
      return new URL(value).protocol === 'https:' && value.length <= 512;
    } catch {
      return false;
    }
  }, 'not an https URL'),
);

export const ssoKeys = {
  SSOAssociationCDNURL: {
    schema: httpsUrl,
    expected: 'an https URL of at most 512 characters',
    meaning:
      "base of Apple's associated-domains CDN that `agentctl doctor sso` compares the IdP's association file with (<base>/<host>); --cdn overrides it",
    default: () => 'https://app-site-association.cdn-apple.com/a/v1',
  },
} satisfies KeySpecs;

export type SsoConfig = CoreConfig & ConfigOf<typeof ssoKeys>;

export const contribution: ConfigContribution = { keys: ssoKeys };
