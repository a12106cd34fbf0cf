// Sentences for people, made from the codes at the edge (agentctl output, status). Reports and
// logs carry the codes.
import type { KeychainErrorCode } from './errors.js';
import type { SkipReason } from './scrub.js';
import type { DecisionReason } from './decide.js';

export const errorHints: Record<KeychainErrorCode, string> = {
  library_missing: 'libsecret is not installed (libsecret-1.so.0 could not be loaded); install libsecret-1-0.',
  no_session: "There is no D-Bus session bus to reach the keyring on: run the scrub inside the user's desktop session.",
  no_secret_service: 'No Secret Service (gnome-keyring, KWallet) is running in this session.',
  keychain_locked:
    'A keychain is locked: its items were left alone. Run the scrub again once the user has logged in and unlocked it.',
  no_keychain: 'This session has no keychain to search (is a user logged in?).',
  missing_entitlement: 'The data-protection keychain was not searched: the agent is not entitled to that access group.',
  not_found: 'The item was already gone.',
  unsupported: 'Not available on this platform.',
  search_failed: 'The keychain could not be searched; nothing was deleted.',
  delete_failed: 'An item could not be deleted; run the scrub again.',
};

export const skipHints: Record<SkipReason, string> = {
  no_tenant: 'No tenant is configured (TenantDomain): nothing to scrub.',
  no_services: 'No services are configured (ScrubServices): the scrub is disabled.',
};

export const reasonWords: Record<DecisionReason, string> = {
  other_tenant: 'another tenant',
  current_tenant: 'current tenant',
  untagged: 'untagged',
  service_not_listed: 'service not listed',
};
