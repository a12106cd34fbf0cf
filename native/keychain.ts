// Keychain capability (native/keychain.h): list generic-password items by service (attributes
// only, never a secret) and delete one item by its ref. Both run off the JS thread. An OS
// failure is thrown as a KeychainOSError carrying the OS's own terms; agent/keychain decides
// what it means.
import { describe, native } from './addon.js';

/** One generic-password item, as the OS describes it (no secret data). */
export interface KeychainItem {
  service: string;
  account: string | null;
  label: string | null;
  /** kSecAttrComment on macOS, the "comment" attribute on Linux: where the tenant tag is kept. */
  comment: string | null;
  /** Unix time in seconds, or null when the OS does not say. */
  created: number | null;
  modified: number | null;
  /** Opaque handle for deleteItem (a persistent reference on macOS, a D-Bus object path on Linux). */
  ref: string;
  /**
   * The keyring (Linux: its attributes are then hidden) or file-based keychain (macOS) holding
   * the item is locked, so deleting it would fail or prompt. Always false for the macOS
   * data-protection keychain.
   */
  locked: boolean;
}

/** Where an OS call failed, in the OS's terms. */
export interface KeychainFailure {
  /** 'load' (the library), 'connect', 'search', 'open' (an item), 'delete'. */
  stage: string;
  /** 'dlopen', a GError domain ('g-io-error-quark', 'secret-error'...), 'OSStatus', 'ref', 'unsupported'. */
  domain: string;
  /** The GError code or the OSStatus. */
  code: number;
  message: string;
}

export class KeychainOSError extends Error {
  constructor(readonly failure: KeychainFailure) {
    super(`${failure.stage}: ${failure.message}${failure.domain === 'OSStatus' ? ` (OSStatus ${failure.code})` : ''}`);
    this.name = 'KeychainOSError';
  }
}

type Resolved<T> = ({ ok: true } & T) | { ok: false; failure: KeychainFailure };

interface KeychainAddon {
  listGenericPasswords(services: string[], accessGroup: string): Promise<Resolved<{ items: KeychainItem[] }>>;
  deleteItem(ref: string): Promise<Resolved<object>>;
}

export const maxServices = 64;
const maxText = 1024;
const maxRef = 4096;

function checkText(what: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  if (value === '' || value.length > max)
    throw new TypeError(`${what} must be 1 to ${max} characters, got ${value.length}`);
  if (value.includes('\0')) throw new TypeError(`${what} must not contain NUL`);
  return value;
}

export interface ListOptions {
  /** The services to search, 1 to 64 distinct names. */
  services: string[];
  /**
   * macOS: search the data-protection keychain for this access group instead of the user's own
   * file-based keychains (the user domain's search list; System.keychain is not in it).
   */
  accessGroup?: string;
}

/** The generic-password items of `services` (attributes and a ref; never the secret). */
export async function listGenericPasswords(options: ListOptions, ...rest: unknown[]): Promise<KeychainItem[]> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`listGenericPasswords(options) expects an object, got ${describe(options)}`);
  }
  if (rest.length !== 0) throw new TypeError(`listGenericPasswords() takes one argument, got ${rest.length + 1}`);
  const unknown = Object.keys(options).filter((k) => k !== 'services' && k !== 'accessGroup');
  if (unknown.length) throw new TypeError(`listGenericPasswords: unknown option ${unknown.join(', ')}`);
  const { services, accessGroup } = options;
  if (!Array.isArray(services))
    throw new TypeError(`listGenericPasswords: services must be an array, got ${describe(services)}`);
  if (services.length === 0 || services.length > maxServices) {
    throw new TypeError(
      `listGenericPasswords: services must name 1 to ${maxServices} services, got ${services.length}`,
    );
  }
  services.forEach((s, i) => checkText(`listGenericPasswords: services[${i}]`, s, maxText));
  if (new Set(services).size !== services.length)
    throw new TypeError('listGenericPasswords: services must be distinct');
  const group = accessGroup === undefined ? '' : checkText('listGenericPasswords: accessGroup', accessGroup, maxText);
  const result = await native<KeychainAddon>().listGenericPasswords([...services], group);
  if (!result.ok) throw new KeychainOSError(result.failure);
  return result.items;
}

/** Deletes one item by the ref that listGenericPasswords gave. */
export async function deleteItem(ref: string, ...rest: unknown[]): Promise<void> {
  checkText('deleteItem: ref', ref, maxRef);
  if (rest.length !== 0) throw new TypeError(`deleteItem() takes one argument, got ${rest.length + 1}`);
  const result = await native<KeychainAddon>().deleteItem(ref);
  if (!result.ok) throw new KeychainOSError(result.failure);
}
