// The scrub's failure codes (a closed union) and how an OS failure maps onto them. The
// sentences a person reads are made at the edge (hints.ts); reports and logs carry the code.
import type { KeychainFailure } from '../../native/keychain.js';

export const keychainErrorCodes = [
  /** Linux: libsecret-1.so.0 could not be loaded. */
  'library_missing',
  /** Linux: no D-Bus session bus to reach the Secret Service on. */
  'no_session',
  /** Linux: the session bus has no Secret Service (no gnome-keyring or KWallet running). */
  'no_secret_service',
  /** The keyring (Linux) or keychain (macOS) is locked: attributes cannot be read or items deleted. */
  'keychain_locked',
  /** macOS: no keychain to search (no default keychain in this session). */
  'no_keychain',
  /** macOS: the data-protection keychain needs an entitlement for this access group. */
  'missing_entitlement',
  /** The item is no longer there (deleted meanwhile). */
  'not_found',
  /** Not available on this platform (access groups on Linux). */
  'unsupported',
  'search_failed',
  'delete_failed',
] as const;

export type KeychainErrorCode = (typeof keychainErrorCodes)[number];

// GDBusError codes (gio/gioenums.h) and SecretError codes (libsecret/secret-types.h).
const gdbus = { serviceUnknown: 2, nameHasNoOwner: 3, unknownMethod: 19, unknownObject: 41 } as const;
const secretError = { isLocked: 2, noSuchObject: 3 } as const;
// OSStatus values (Security/SecBase.h).
const osStatus = {
  missingEntitlement: -34018,
  interactionNotAllowed: -25308,
  itemNotFound: -25300,
  noSuchKeychain: -25294,
  noDefaultKeychain: -25307,
  notAvailable: -25291,
} as const;

export function classifyFailure(failure: KeychainFailure): KeychainErrorCode {
  const { stage, domain, code } = failure;
  if (domain === 'dlopen') return 'library_missing';
  if (domain === 'unsupported') return 'unsupported';
  if (domain === 'OSStatus') {
    if (code === osStatus.missingEntitlement) return 'missing_entitlement';
    if (code === osStatus.interactionNotAllowed) return 'keychain_locked';
    if (code === osStatus.itemNotFound && stage !== 'search') return 'not_found';
    if (code === osStatus.noSuchKeychain || code === osStatus.noDefaultKeychain || code === osStatus.notAvailable)
      return 'no_keychain';
  }
  if (domain === 'g-dbus-error-quark') {
    if (code === gdbus.serviceUnknown || code === gdbus.nameHasNoOwner) return 'no_secret_service';
    if ((code === gdbus.unknownMethod || code === gdbus.unknownObject) && stage !== 'search') return 'not_found';
  }
  if (domain === 'secret-error') {
    if (code === secretError.isLocked) return 'keychain_locked';
    if (code === secretError.noSuchObject) return 'not_found';
  }
  if (stage === 'load') return 'library_missing';
  if (stage === 'connect') return 'no_session';
  return stage === 'search' ? 'search_failed' : 'delete_failed';
}
