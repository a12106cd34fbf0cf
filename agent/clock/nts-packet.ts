// NTS-protected NTP packets (RFC 8915 §5): the request's extension fields and the reply's
// verification. Pure functions, no I/O. The NTP header itself is checked by ntp-packet.ts after
// the reply has authenticated, so that nothing in an unauthenticated header is believed (a
// forged Kiss-o'-Death included), except the NTSN "NTS negative acknowledgment", which by
// design carries only our Unique Identifier.
import { randomBytes } from 'node:crypto';
import { sivDecrypt, sivEncrypt } from './aes-siv.js';
import type { NtsReplyCode } from './codes.js';
import { decodeKissCode, encodeClientRequest, NTP_HEADER_LENGTH } from './ntp-packet.js';
import { MAX_COOKIE_BYTES, MAX_COOKIES } from './nts-ke.js';

export const extensionTypes = {
  uniqueIdentifier: 0x0104,
  cookie: 0x0204,
  cookiePlaceholder: 0x0304,
  authenticator: 0x0404,
} as const;

const NONCE_LENGTH = 16;
const TAG_LENGTH = 16;

const pad4 = (n: number): number => (n + 3) & ~3;

/** One extension field: type, length (the whole field, padded to 4 bytes), body. */
export function extensionField(type: number, body: Uint8Array): Buffer {
  const length = 4 + pad4(body.length);
  const out = Buffer.alloc(length);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(length, 2);
  out.set(body, 4);
  return out;
}

/** The Authenticator and Encrypted extension field over `associated` (the packet before it). */
export function authenticatorField(
  key: Uint8Array,
  associated: Uint8Array,
  plaintext: Uint8Array,
  nonce = randomBytes(NONCE_LENGTH),
): Buffer {
  const sealed = sivEncrypt(key, [associated, nonce], plaintext);
  const body = Buffer.alloc(4 + pad4(nonce.length) + pad4(sealed.length));
  body.writeUInt16BE(nonce.length, 0);
  body.writeUInt16BE(sealed.length, 2);
  body.set(nonce, 4);
  body.set(sealed, 4 + pad4(nonce.length));
  return extensionField(extensionTypes.authenticator, body);
}

export interface NtsRequest {
  bytes: Buffer;
  /** The random transmit timestamp a genuine reply echoes as its origin. */
  transmit: Buffer;
  uniqueIdentifier: Buffer;
}

/**
 * A request: the 48-byte client header (random transmit timestamp), our Unique Identifier, one
 * cookie, `placeholders` Cookie Placeholders as long as the cookie (each asks for one more
 * cookie in the reply), then the Authenticator over all of it with the client-to-server key.
 */
export function encodeNtsRequest(c2s: Uint8Array, cookie: Uint8Array, placeholders: number): NtsRequest {
  const header = encodeClientRequest();
  const uniqueIdentifier = randomBytes(32);
  const fields = [
    header.bytes,
    extensionField(extensionTypes.uniqueIdentifier, uniqueIdentifier),
    extensionField(extensionTypes.cookie, cookie),
  ];
  for (let i = 0; i < Math.min(placeholders, MAX_COOKIES - 1); i++)
    fields.push(extensionField(extensionTypes.cookiePlaceholder, Buffer.alloc(cookie.length)));
  const associated = Buffer.concat(fields);
  const bytes = Buffer.concat([associated, authenticatorField(c2s, associated, Buffer.alloc(0))]);
  return { bytes, transmit: header.transmit, uniqueIdentifier };
}

interface Field {
  type: number;
  start: number;
  body: Buffer;
}

/** The extension fields from `offset` on, or null when they do not tile the bytes exactly. */
function fieldsOf(packet: Buffer, offset: number): Field[] | null {
  const out: Field[] = [];
  while (offset < packet.length) {
    if (packet.length - offset < 4) return null;
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    if (length < 4 || length % 4 !== 0 || offset + length > packet.length) return null;
    out.push({ type, start: offset, body: packet.subarray(offset + 4, offset + length) });
    offset += length;
    if (out.length > 64) return null;
  }
  return out;
}

export type NtsReplyCheck = { ok: true; cookies: Buffer[] } | { ok: false; code: NtsReplyCode; reason: string };

/**
 * Verifies a reply's NTS fields: it must carry our Unique Identifier inside what the
 * Authenticator covers, and authenticate with the server-to-client key; its new cookies are
 * the NTS Cookie fields inside the encrypted part. A Kiss-o'-Death NTSN with our Unique
 * Identifier and no Authenticator is `kiss_ntsn`: the server no longer accepts our cookies.
 */
export function verifyNtsReply(packet: Uint8Array, uniqueIdentifier: Uint8Array, s2c: Uint8Array): NtsReplyCheck {
  const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const fail = (code: NtsReplyCode, reason: string): NtsReplyCheck => ({ ok: false, code, reason });
  if (bytes.length < NTP_HEADER_LENGTH)
    return fail('nts_malformed', `reply is ${bytes.length} bytes, shorter than an NTP header`);
  const fields = fieldsOf(bytes, NTP_HEADER_LENGTH);
  if (fields === null) return fail('nts_malformed', 'reply extension fields do not parse');
  const uid = fields.find((f) => f.type === extensionTypes.uniqueIdentifier);
  if (!uid || !uid.body.equals(Buffer.from(uniqueIdentifier)))
    return fail(
      'nts_uid_mismatch',
      uid
        ? "reply carries another request's unique identifier (a replay or a misdirected reply)"
        : 'reply carries no unique identifier',
    );
  const auth = fields.find((f) => f.type === extensionTypes.authenticator);
  if (!auth) {
    const stratum = bytes[1];
    if (stratum === 0 && decodeKissCode(bytes.subarray(12, 16)) === 'NTSN')
      return fail('kiss_ntsn', "server sent Kiss-o'-Death NTSN: it no longer accepts our cookies");
    return fail('nts_auth_missing', 'reply has no NTS authenticator');
  }
  if (uid.start > auth.start)
    return fail('nts_uid_mismatch', 'reply carries its unique identifier outside what is authenticated');
  if (auth.body.length < 4) return fail('nts_malformed', 'the authenticator field is too short');
  const nonceLength = auth.body.readUInt16BE(0);
  const sealedLength = auth.body.readUInt16BE(2);
  if (sealedLength < TAG_LENGTH || 4 + pad4(nonceLength) + pad4(sealedLength) > auth.body.length)
    return fail('nts_malformed', "the authenticator field's lengths do not fit it");
  const nonce = auth.body.subarray(4, 4 + nonceLength);
  const sealed = auth.body.subarray(4 + pad4(nonceLength), 4 + pad4(nonceLength) + sealedLength);
  const plaintext = sivDecrypt(s2c, [bytes.subarray(0, auth.start), nonce], sealed);
  if (plaintext === null)
    return fail('nts_auth_failed', 'reply does not authenticate (altered, or not from the server we share keys with)');
  const inner = fieldsOf(plaintext, 0);
  if (inner === null) return fail('nts_malformed', 'the encrypted extension fields do not parse');
  const cookies: Buffer[] = [];
  for (const field of inner) {
    if (field.type !== extensionTypes.cookie) continue;
    if (field.body.length === 0 || field.body.length > MAX_COOKIE_BYTES || cookies.length >= MAX_COOKIES) continue;
    cookies.push(Buffer.from(field.body));
  }
  return { ok: true, cookies };
}
