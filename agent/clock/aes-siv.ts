// AES-SIV (RFC 5297) on node:crypto's AES: CMAC (RFC 4493) from AES-CBC with a zero IV, S2V, and
// AES-CTR. Node has no SIV mode and no well-kept npm package provides RFC 5297 AES-SIV without
// native code (@noble/ciphers has AES-GCM-SIV, RFC 8452, a different construction), so it is
// built here on the same AES that runs on macOS and Linux. test/clock/aes-siv.test.ts checks
// RFC 5297's test vectors (Appendix A) and that any change to the ciphertext, tag, nonce or
// associated data fails authentication.
//
// Keys: 32 bytes (AEAD_AES_SIV_CMAC_256, NTS's AEAD algorithm 15: two AES-128 keys), 48 or 64
// bytes (AES-192, AES-256). The first half is the S2V (CMAC) key, the second half the CTR key.
import { createCipheriv, timingSafeEqual } from 'node:crypto';

const BLOCK = 16;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

function aesName(keyLength: number, mode: 'cbc' | 'ctr'): string {
  if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32) {
    throw new RangeError(`an AES-SIV key half must be 16, 24 or 32 bytes, got ${keyLength}`);
  }
  return `aes-${keyLength * 8}-${mode}`;
}

/** Doubling in GF(2^128) with the polynomial x^128 + x^7 + x^2 + x + 1 (RFC 5297 §2.3). */
function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[BLOCK - 1] ^= 0x87;
  return out;
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function cbcMacRaw(key: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv(aesName(key.length, 'cbc'), key, ZERO_BLOCK);
  cipher.setAutoPadding(false);
  const out = Buffer.concat([cipher.update(data), cipher.final()]);
  return out.subarray(out.length - BLOCK);
}

/** AES-CMAC (RFC 4493) of `message`. */
export function cmac(key: Buffer, message: Buffer): Buffer {
  const l = cbcMacRaw(key, ZERO_BLOCK);
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const n = message.length === 0 ? 1 : Math.ceil(message.length / BLOCK);
  const complete = message.length > 0 && message.length % BLOCK === 0;
  const padded = Buffer.alloc(n * BLOCK);
  message.copy(padded);
  if (!complete) padded[message.length] = 0x80;
  const last = padded.subarray((n - 1) * BLOCK);
  const subkey = complete ? k1 : k2;
  for (let i = 0; i < BLOCK; i++) last[i]! ^= subkey[i]!;
  return cbcMacRaw(key, padded);
}

/** S2V (RFC 5297 §2.4) over the strings; the last one is the plaintext. */
export function s2v(key: Buffer, strings: readonly Buffer[]): Buffer {
  if (strings.length === 0) {
    const one = Buffer.alloc(BLOCK);
    one[BLOCK - 1] = 1;
    return cmac(key, one);
  }
  if (strings.length > 126) throw new RangeError('S2V takes at most 126 associated data strings and a plaintext');
  let d = cmac(key, ZERO_BLOCK);
  for (const s of strings.slice(0, -1)) d = xor(dbl(d), cmac(key, s));
  const last = strings[strings.length - 1]!;
  let t: Buffer;
  if (last.length >= BLOCK) {
    t = Buffer.from(last);
    const tail = t.subarray(t.length - BLOCK);
    for (let i = 0; i < BLOCK; i++) tail[i]! ^= d[i]!;
  } else {
    const padded = Buffer.alloc(BLOCK);
    last.copy(padded);
    padded[last.length] = 0x80;
    t = xor(dbl(d), padded);
  }
  return cmac(key, t);
}

function splitKey(key: Uint8Array): { macKey: Buffer; ctrKey: Buffer } {
  if (key.length !== 32 && key.length !== 48 && key.length !== 64) {
    throw new RangeError(`an AES-SIV key must be 32, 48 or 64 bytes, got ${key.length}`);
  }
  const k = Buffer.from(key);
  return { macKey: k.subarray(0, k.length / 2), ctrKey: k.subarray(k.length / 2) };
}

function ctr(ctrKey: Buffer, v: Buffer, data: Buffer): Buffer {
  const q = Buffer.from(v);
  q[8]! &= 0x7f;
  q[12]! &= 0x7f;
  const cipher = createCipheriv(aesName(ctrKey.length, 'ctr'), ctrKey, q);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/**
 * SIV-encrypts `plaintext` with the associated data strings (RFC 5297 §2.6); a nonce, when used,
 * is the last associated data string (§3). Returns V ‖ C: the 16-byte synthetic IV, then the
 * ciphertext, as long as the plaintext.
 */
export function sivEncrypt(key: Uint8Array, associatedData: readonly Uint8Array[], plaintext: Uint8Array): Buffer {
  const { macKey, ctrKey } = splitKey(key);
  const p = Buffer.from(plaintext);
  const v = s2v(macKey, [...associatedData.map((a) => Buffer.from(a)), p]);
  return Buffer.concat([v, ctr(ctrKey, v, p)]);
}

/** The plaintext of V ‖ C, or null when it does not authenticate (RFC 5297 §2.7). */
export function sivDecrypt(key: Uint8Array, associatedData: readonly Uint8Array[], sealed: Uint8Array): Buffer | null {
  const { macKey, ctrKey } = splitKey(key);
  if (sealed.length < BLOCK) return null;
  const s = Buffer.from(sealed);
  const v = s.subarray(0, BLOCK);
  const p = ctr(ctrKey, v, s.subarray(BLOCK));
  const expected = s2v(macKey, [...associatedData.map((a) => Buffer.from(a)), p]);
  return timingSafeEqual(expected, v) ? p : null;
}
