// A small DER writer and reader: what the CMS signature of a package needs (X.690 DER;
// RFC 5652 for the structures built from it). Written by hand because the subset is small:
// SEQUENCE, SET OF (sorted, as DER wants), INTEGER, OID, NULL, OCTET STRING, UTCTime and
// GeneralizedTime, context tags, and splicing in DER that is already encoded (certificates).

export type Der = Buffer;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Der {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const sequence = (...items: Der[]): Der => tlv(0x30, Buffer.concat(items));

/** SET OF: DER sorts the encodings as octet strings (X.690 11.6). */
export function setOf(...items: Der[]): Der {
  return tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));
}

/** [n] IMPLICIT, constructed: the content of `inner` under a context tag. */
export function implicitConstructed(n: number, inner: Der): Der {
  return tlv(0xa0 | n, contentOf(inner));
}

/** [n] EXPLICIT. */
export const explicit = (n: number, inner: Der): Der => tlv(0xa0 | n, inner);

export const nullValue = (): Der => Buffer.from([0x05, 0x00]);
export const octetString = (bytes: Buffer): Der => tlv(0x04, bytes);

export function integer(value: number): Der {
  const bytes: number[] = [];
  let n = value;
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

export function oid(dotted: string): Der {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [40 * parts[0] + parts[1]];
  for (const part of parts.slice(2)) {
    const group: number[] = [];
    let n = part;
    do {
      group.unshift((n & 0x7f) | (group.length ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
    bytes.push(...group);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5, RFC 5652 11.3). */
export function time(date: Date): Der {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

// --- Reading ---------------------------------------------------------------------------

export interface Element {
  tag: number;
  /** The whole encoding, tag and length included. */
  der: Buffer;
  content: Buffer;
}

/** The element at `offset` of `buf`; throws on a truncated or indefinite-length encoding. */
export function readElement(buf: Buffer, offset = 0): Element {
  if (offset + 2 > buf.length) throw new Error('DER: truncated');
  const tag = buf[offset];
  let length = buf[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length');
    if (offset + 2 + count > buf.length) throw new Error('DER: truncated');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i];
    header += count;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Error('DER: truncated');
  return { tag, der: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed element's content. */
export function children(content: Buffer): Element[] {
  const out: Element[] = [];
  for (let offset = 0; offset < content.length;) {
    const element = readElement(content, offset);
    out.push(element);
    offset += element.der.length;
  }
  return out;
}

function contentOf(der: Der): Buffer {
  return readElement(der).content;
}

/** Issuer Name and serial number of an X.509 certificate, as encoded (RFC 5280 4.1). */
export function issuerAndSerial(certificate: Buffer): { issuer: Der; serial: Der } {
  const tbs = children(readElement(certificate).content)[0];
  const fields = children(tbs.content);
  const at = fields[0].tag === 0xa0 ? 1 : 0; // [0] version is optional
  return { serial: fields[at].der, issuer: fields[at + 2].der };
}
