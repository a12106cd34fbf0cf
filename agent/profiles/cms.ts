// A signed configuration profile is CMS SignedData (RFC 5652 §5) around the plist, as
// `security cms -S` and `openssl cms -sign -nodetach` write it. This reads the DER (with
// agent/trust/der.ts: every read bounds-checked), finds the signer's certificate and verifies
// the signature with node:crypto: over the DER of the signed attributes (their [0] tag made a
// SET, §5.4) after checking that their message digest is the content's, or over the content
// when there are none. Nothing here decides trust: the signer's chain goes to the trust
// capability's evaluation.
import { createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import { certificateFields, definiteLength, DerError } from '../trust/der.js';

export class CmsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CmsError';
  }
}

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  /** Just past the content (before the end-of-contents octets of an indefinite length). */
  contentEnd: number;
  /** Just past the element. */
  end: number;
}

/**
 * One BER element: DER, and the indefinite lengths Apple's `security cms` writes (constructed
 * elements ended by 00 00, X.690 §8.1.3.6), nested at most 32 deep. Every read is bounds-checked.
 */
function readTlv(buf: Uint8Array, offset: number, limit = buf.length, depth = 0): Tlv {
  if (depth > 32) throw new CmsError('nested deeper than 32 levels');
  if (offset + 1 >= limit) throw new CmsError(`truncated at byte ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new CmsError(`unsupported multi-byte tag at byte ${offset}`);
  const first = buf[offset + 1]!;
  if (first === 0x80) {
    if ((tag & 0x20) === 0) throw new CmsError(`indefinite length of a primitive element at byte ${offset}`);
    let at = offset + 2;
    for (;;) {
      if (at + 1 >= limit) throw new CmsError(`truncated: the element at byte ${offset} has no end`);
      if (buf[at] === 0 && buf[at + 1] === 0)
        return { tag, start: offset, contentStart: offset + 2, contentEnd: at, end: at + 2 };
      at = readTlv(buf, at, limit, depth + 1).end;
    }
  }
  const { length, contentStart } = definiteLength(buf, offset, limit, (message) => new CmsError(message));
  const end = contentStart + length;
  if (end > limit)
    throw new CmsError(
      `truncated: the element at byte ${offset} needs ${length} bytes, ${limit - contentStart} remain`,
    );
  return { tag, start: offset, contentStart, contentEnd: end, end };
}

function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.contentEnd;) {
    const child = readTlv(buf, at, parent.contentEnd);
    out.push(child);
    at = child.end;
    if (out.length > 10_000) throw new CmsError('too many elements');
  }
  return out;
}

export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new CmsError('an empty object identifier');
  const parts: number[] = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new CmsError('an object identifier arc too large');
    if ((bytes[i]! & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
};

const digestNames: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.4': 'sha224',
};
/** Signature algorithms that name their digest (else the SignerInfo's digestAlgorithm is used). */
const signatureDigests: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const plainKeyAlgorithms = new Set(['1.2.840.113549.1.1.1', '1.2.840.10045.2.1']);

export interface SignerInfo {
  digest: string | null;
  signatureAlgorithm: string;
  signature: Buffer;
  /** The signed attributes re-tagged as a SET (what is signed), or null. */
  signedAttributes: Buffer | null;
  messageDigest: Buffer | null;
  signingTime: Date | null;
  /** How the signer names its certificate. */
  issuerAndSerial: { issuer: Buffer; serial: Buffer } | null;
  subjectKeyIdentifier: Buffer | null;
}

export interface SignedData {
  content: Buffer;
  certificates: Buffer[];
  signers: SignerInfo[];
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag)
    throw new CmsError(`${what} is missing or has the wrong type${t ? ` (tag 0x${t.tag.toString(16)})` : ''}`);
  return t;
}

/** An OCTET STRING's bytes, a constructed one (BER chunks of definite length) joined. */
function octets(buf: Buffer, t: Tlv, depth = 0): Buffer {
  if (t.tag === 0x04) return buf.subarray(t.contentStart, t.contentEnd);
  if (t.tag === 0x24 && depth < 8) return Buffer.concat(children(buf, t).map((c) => octets(buf, c, depth + 1)));
  throw new CmsError('the content is not an OCTET STRING');
}

function parseTime(buf: Buffer, t: Tlv): Date | null {
  const text = buf.toString('latin1', t.contentStart, t.end);
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** Parses DER CMS SignedData (ContentInfo). Throws CmsError for anything else. */
export function parseSignedData(der: Buffer): SignedData {
  try {
    const info = readTlv(der, 0);
    if (info.tag !== 0x30) throw new CmsError('not a DER SEQUENCE');
    const [type, explicit] = children(der, info);
    const oid = decodeOid(der.subarray(expect(type, 0x06, 'the content type').contentStart, type!.end));
    if (oid !== OID.signedData) throw new CmsError(`the content type is ${oid}, not signedData (${OID.signedData})`);
    const sd = expect(children(der, expect(explicit, 0xa0, 'the signed data'))[0], 0x30, 'SignedData');
    const fields = children(der, sd);
    let i = 0;
    expect(fields[i++], 0x02, 'the version');
    expect(fields[i++], 0x31, 'the digest algorithms');
    const encap = children(der, expect(fields[i++], 0x30, 'the encapsulated content'));
    const innerType = decodeOid(
      der.subarray(expect(encap[0], 0x06, 'the inner content type').contentStart, encap[0]!.end),
    );
    if (innerType !== OID.data) throw new CmsError(`the signed content is ${innerType}, not data`);
    if (!encap[1]) throw new CmsError('the signature is detached: the profile is not inside it');
    const wrapped = children(der, expect(encap[1], 0xa0, 'the content'))[0];
    if (!wrapped) throw new CmsError('the content is empty');
    const content = Buffer.from(octets(der, wrapped));
    const certificates: Buffer[] = [];
    if (fields[i]?.tag === 0xa0) {
      for (const c of children(der, fields[i]!)) {
        if (c.tag === 0x30) certificates.push(Buffer.from(der.subarray(c.start, c.end)));
        if (certificates.length > 64) throw new CmsError('more than 64 certificates');
      }
      i++;
    }
    if (fields[i]?.tag === 0xa1) i++;
    const signerSet = expect(fields[i], 0x31, 'the signer infos');
    const signers = children(der, signerSet)
      .slice(0, 16)
      .map((s) => parseSignerInfo(der, s));
    return { content, certificates, signers };
  } catch (error) {
    if (error instanceof DerError) throw new CmsError(error.message);
    throw error;
  }
}

function parseSignerInfo(der: Buffer, s: Tlv): SignerInfo {
  const f = children(der, expect(s, 0x30, 'a SignerInfo'));
  let i = 0;
  expect(f[i++], 0x02, "the signer's version");
  const sid = f[i++];
  let issuerAndSerial: SignerInfo['issuerAndSerial'] = null;
  let subjectKeyIdentifier: Buffer | null = null;
  if (sid?.tag === 0x30) {
    const [issuer, serial] = children(der, sid);
    expect(issuer, 0x30, "the signer's issuer");
    expect(serial, 0x02, "the signer's serial number");
    issuerAndSerial = {
      issuer: Buffer.from(der.subarray(issuer!.start, issuer!.end)),
      serial: Buffer.from(der.subarray(serial!.start, serial!.end)),
    };
  } else if (sid?.tag === 0x80) subjectKeyIdentifier = Buffer.from(der.subarray(sid.contentStart, sid.end));
  else throw new CmsError("the signer's identifier is missing");
  const digestAlg = children(der, expect(f[i++], 0x30, "the signer's digest algorithm"))[0];
  const digestOid = decodeOid(der.subarray(expect(digestAlg, 0x06, 'the digest OID').contentStart, digestAlg!.end));
  let signedAttributes: Buffer | null = null;
  let messageDigest: Buffer | null = null;
  let signingTime: Date | null = null;
  if (f[i]?.tag === 0xa0) {
    const attrs = f[i++]!;
    signedAttributes = Buffer.from(der.subarray(attrs.start, attrs.end));
    signedAttributes[0] = 0x31;
    for (const attr of children(der, attrs)) {
      const [type, values] = children(der, expect(attr, 0x30, 'an attribute'));
      const oid = decodeOid(der.subarray(expect(type, 0x06, 'an attribute type').contentStart, type!.end));
      const first = children(der, expect(values, 0x31, 'attribute values'))[0];
      if (!first) continue;
      if (oid === OID.messageDigest && first.tag === 0x04)
        messageDigest = Buffer.from(der.subarray(first.contentStart, first.end));
      if (oid === OID.signingTime && (first.tag === 0x17 || first.tag === 0x18)) signingTime = parseTime(der, first);
    }
  }
  const sigAlg = children(der, expect(f[i++], 0x30, "the signer's signature algorithm"))[0];
  const sigOid = decodeOid(der.subarray(expect(sigAlg, 0x06, 'the signature OID').contentStart, sigAlg!.end));
  const signature = expect(f[i++], 0x04, 'the signature');
  return {
    digest: digestNames[digestOid] ?? null,
    signatureAlgorithm: sigOid,
    signature: Buffer.from(der.subarray(signature.contentStart, signature.end)),
    signedAttributes,
    messageDigest,
    signingTime,
    issuerAndSerial,
    subjectKeyIdentifier,
  };
}

export type SignatureVerdict =
  | { status: 'valid'; signer: Buffer; signingTime: Date | null }
  | {
      status: 'content_altered' | 'signature_invalid' | 'signer_missing' | 'unsupported';
      signer: Buffer | null;
      signingTime: Date | null;
      detail: string;
    };

function findSigner(data: SignedData, signer: SignerInfo): Buffer | null {
  for (const der of data.certificates) {
    try {
      if (signer.issuerAndSerial) {
        const fields = certificateFields(der);
        if (
          fields.issuerName.equals(signer.issuerAndSerial.issuer) &&
          fields.serialTlv.equals(signer.issuerAndSerial.serial)
        )
          return der;
      } else if (signer.subjectKeyIdentifier) {
        // RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey bits, what most tools write.
        const keyId = createHash('sha1').update(certificateFields(der).publicKey).digest();
        if (keyId.equals(signer.subjectKeyIdentifier)) return der;
      }
    } catch {
      // a certificate that does not parse is not the signer
    }
  }
  return null;
}

/** Verifies the first signer of `data` over its content. */
export function verifySignedData(data: SignedData): SignatureVerdict {
  const signer = data.signers[0];
  if (!signer)
    return { status: 'signer_missing', signer: null, signingTime: null, detail: 'the envelope has no signer' };
  const cert = findSigner(data, signer);
  const signingTime = signer.signingTime;
  if (!cert)
    return {
      status: 'signer_missing',
      signer: null,
      signingTime,
      detail: "the signer's certificate is not in the envelope",
    };
  const digest = signatureDigests[signer.signatureAlgorithm] ?? signer.digest;
  if (!digest || (!plainKeyAlgorithms.has(signer.signatureAlgorithm) && !signatureDigests[signer.signatureAlgorithm]))
    return {
      status: 'unsupported',
      signer: cert,
      signingTime,
      detail: `the signature algorithm ${signer.signatureAlgorithm} is not supported`,
    };
  let signed: Buffer;
  if (signer.signedAttributes) {
    if (!signer.messageDigest || !signer.digest)
      return {
        status: 'signature_invalid',
        signer: cert,
        signingTime,
        detail: 'the signed attributes carry no message digest',
      };
    const actual = createHash(signer.digest).update(data.content).digest();
    if (!actual.equals(signer.messageDigest))
      return {
        status: 'content_altered',
        signer: cert,
        signingTime,
        detail: 'the digest of the content is not the one that was signed',
      };
    signed = signer.signedAttributes;
  } else signed = data.content;
  let ok: boolean;
  try {
    ok = verifySignature(digest, signed, new X509Certificate(cert).publicKey, signer.signature);
  } catch (error) {
    return { status: 'signature_invalid', signer: cert, signingTime, detail: (error as Error).message };
  }
  if (ok) return { status: 'valid', signer: cert, signingTime };
  return {
    status: signer.signedAttributes ? 'signature_invalid' : 'content_altered',
    signer: cert,
    signingTime,
    detail: "the signature does not verify with the signer's key",
  };
}

/**
 * The certificates of a certificates-only CMS SignedData (no content, no signer): what a SCEP
 * server's GetCACert answers with `application/x-x509-ca-ra-cert` (RFC 8894 §4.2.1.2). At most 16.
 */
export function certificatesOnly(der: Buffer): Buffer[] {
  try {
    const info = readTlv(der, 0);
    if (info.tag !== 0x30) throw new CmsError('not a DER SEQUENCE');
    const [type, explicit] = children(der, info);
    const oid = decodeOid(der.subarray(expect(type, 0x06, 'the content type').contentStart, type!.end));
    if (oid !== OID.signedData) throw new CmsError(`the content type is ${oid}, not signedData`);
    const sd = expect(children(der, expect(explicit, 0xa0, 'the signed data'))[0], 0x30, 'SignedData');
    const certs = children(der, sd).find((f) => f.tag === 0xa0);
    if (!certs) throw new CmsError('it carries no certificates');
    return children(der, certs)
      .filter((c) => c.tag === 0x30)
      .slice(0, 16)
      .map((c) => Buffer.from(der.subarray(c.start, c.end)));
  } catch (error) {
    if (error instanceof DerError) throw new CmsError(error.message);
    throw error;
  }
}
