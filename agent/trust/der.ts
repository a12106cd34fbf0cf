// The little DER this capability reads and writes itself: splitting concatenated DER
// certificates, and the fields of a certificate an OCSP request names (RFC 6960 §4.1.1). Every
// read is bounds-checked; anything unexpected is a DerError, never an out-of-range read.

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** One tag-length-value at `offset`, within `limit` (default: the buffer's end). Definite lengths only, as DER requires. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset >= limit) throw new DerError(`truncated: no tag at byte ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported multi-byte tag at byte ${offset}`);
  if (offset + 1 >= limit) throw new DerError(`truncated: no length at byte ${offset + 1}`);
  if (buf[offset + 1] === 0x80) throw new DerError(`indefinite length at byte ${offset + 1} (not DER)`);
  const { length, contentStart } = definiteLength(buf, offset, limit);
  const end = contentStart + length;
  if (end > limit)
    throw new DerError(`truncated: element at byte ${offset} needs ${length} bytes, ${limit - contentStart} remain`);
  return { tag, start: offset, contentStart, end };
}

/**
 * The definite length of the element whose tag is at `offset` (its length byte is in the
 * buffer), in at most 4 bytes read within `limit`: the content's length and where it starts.
 * Throws what `fail` makes of the reason (a DerError unless told).
 */
export function definiteLength(
  buf: Uint8Array,
  offset: number,
  limit: number,
  fail: (message: string) => Error = (message) => new DerError(message),
): { length: number; contentStart: number } {
  const first = buf[offset + 1]!;
  if (first < 0x80) return { length: first, contentStart: offset + 2 };
  const count = first & 0x7f;
  if (count > 4) throw fail(`length of ${count} bytes at byte ${offset + 1} is too large`);
  if (offset + 2 + count > limit) throw fail(`truncated length at byte ${offset + 1}`);
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
  return { length, contentStart: offset + 2 + count };
}

/** The elements inside a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const child = readTlv(buf, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** Top-level elements of a buffer (concatenated DER), at most `max`. */
export function splitDer(buf: Uint8Array, max: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (out.length === max) throw new DerError(`more than ${max} certificates`);
    const tlv = readTlv(buf, at);
    if (tlv.tag !== 0x30) throw new DerError(`element at byte ${at} is not a SEQUENCE (tag 0x${tlv.tag.toString(16)})`);
    out.push(Buffer.from(buf.subarray(tlv.start, tlv.end)));
    at = tlv.end;
  }
  return out;
}

function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`${what} is missing or has the wrong type`);
  return t;
}

export interface CertificateFields {
  /** The serialNumber INTEGER, whole (tag, length, content). */
  serialTlv: Buffer;
  /** The issuer and subject Names, whole. */
  issuerName: Buffer;
  subjectName: Buffer;
  /** The subjectPublicKey BIT STRING's key bytes (after the unused-bits byte). */
  publicKey: Buffer;
}

/** The fields of a DER certificate that OCSP's CertID is made of. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = readTlv(der, 0);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw new DerError('not one DER certificate');
  const [tbs] = children(der, cert);
  const fields = children(der, expectTag(tbs, 0x30, 'tbsCertificate'));
  let i = 0;
  if (fields[0]?.tag === 0xa0) i++; // [0] version
  const serial = expectTag(fields[i++], 0x02, 'serialNumber');
  expectTag(fields[i++], 0x30, 'signature algorithm');
  const issuer = expectTag(fields[i++], 0x30, 'issuer');
  expectTag(fields[i++], 0x30, 'validity');
  const subject = expectTag(fields[i++], 0x30, 'subject');
  const spki = expectTag(fields[i++], 0x30, 'subjectPublicKeyInfo');
  const [, bitString] = children(der, spki);
  const key = expectTag(bitString, 0x03, 'subjectPublicKey');
  if (key.end - key.contentStart < 1) throw new DerError('subjectPublicKey is empty');
  const slice = (t: Tlv) => Buffer.from(der.subarray(t.start, t.end));
  return {
    serialTlv: slice(serial),
    issuerName: slice(issuer),
    subjectName: slice(subject),
    publicKey: Buffer.from(der.subarray(key.contentStart + 1, key.end)),
  };
}

/** A DER element with the given tag around `content`. */
export function encode(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}
