// Signing a product archive the way productsign does, so that `pkgutil --check-signature`
// and Installer read it: two signatures of the xar TOC checksum (xar.ts), both in the heap
// and both listing the certificate chain in the TOC (<KeyInfo><X509Data>):
//   <signature style="RSA">: PKCS#1 v1.5 over the 20-byte SHA-1 TOC checksum, taken as the
//     digest it is (DigestInfo sha1 || checksum; the signature libxar's RSA style verifies);
//   <x-signature style="CMS">: a detached CMS SignedData (RFC 5652) over the checksum bytes:
//     SHA-256, signed attributes content-type (id-data), signing-time, message-digest; the
//     certificates; the signer named by issuer and serial number.
// The key never leaves node:crypto. Given the same time, the output is the same bytes
// (PKCS#1 v1.5 signatures are deterministic), so signed builds are reproducible too.
import {
  createHash,
  createPrivateKey,
  constants,
  privateEncrypt,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import {
  explicit,
  implicitConstructed,
  integer,
  issuerAndSerial,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
  time,
  tlv,
} from './der.js';
import type { XarSigner } from './xar.js';

const oids = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
};

/** DER prefix of a DigestInfo for SHA-1 (RFC 8017 9.2, note 1). */
const sha1DigestInfo = Buffer.from('3021300906052b0e03021a05000414', 'hex');

const algorithm = (id: string) => sequence(oid(id), nullValue());

export function signedAttributes(content: Buffer, signingTime: Date): Buffer[] {
  return [
    sequence(oid(oids.contentType), setOf(oid(oids.data))),
    sequence(oid(oids.signingTime), setOf(time(signingTime))),
    sequence(oid(oids.messageDigest), setOf(octetString(createHash('sha256').update(content).digest()))),
  ];
}

/** Detached CMS SignedData of `content` by `key` with `certificates` (the signer's first). */
export function cmsSign(content: Buffer, key: KeyObject, certificates: Buffer[], signingTime: Date): Buffer {
  const attributes = signedAttributes(content, signingTime);
  // RFC 5652 5.4: the signature covers the attributes encoded as an explicit SET OF.
  const signature = sign('sha256', setOf(...attributes), key);
  const { issuer, serial } = issuerAndSerial(certificates[0]);
  const signerInfo = sequence(
    integer(1),
    sequence(issuer, serial),
    algorithm(oids.sha256),
    implicitConstructed(0, setOf(...attributes)),
    algorithm(oids.rsaEncryption),
    octetString(signature),
  );
  const signedData = sequence(
    integer(1),
    setOf(algorithm(oids.sha256)),
    sequence(oid(oids.data)),
    tlv(0xa0, Buffer.concat(certificates)), // [0] IMPLICIT SET OF Certificate, in chain order
    setOf(signerInfo),
  );
  return sequence(oid(oids.signedData), explicit(0, signedData));
}

export class SigningError extends Error {
  override name = 'SigningError';
}

export interface SigningIdentity {
  key: KeyObject;
  /** The signer's certificate first, then the rest of its chain. */
  certificates: X509Certificate[];
}

/** Puts the certificate of `key` first; refuses a key that none of them carries, or not RSA. */
export function signingIdentity(key: KeyObject, certificates: X509Certificate[]): SigningIdentity {
  if (key.asymmetricKeyType !== 'rsa')
    throw new SigningError(`the signing key is ${key.asymmetricKeyType ?? 'unknown'}; installer signatures are RSA`);
  const leaf = certificates.find((c) => c.checkPrivateKey(key));
  if (!leaf) throw new SigningError('no certificate given matches the signing key');
  return { key, certificates: [leaf, ...certificates.filter((c) => c !== leaf)] };
}

export function xarSigner(identity: SigningIdentity, signingTime: Date): XarSigner {
  const der = identity.certificates.map((c) => c.raw);
  const rsa = (checksum: Buffer) =>
    privateEncrypt(
      { key: identity.key, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([sha1DigestInfo, checksum]),
    );
  const cms = (checksum: Buffer) => cmsSign(checksum, identity.key, der, signingTime);
  const probe = Buffer.alloc(20);
  return {
    certificates: der,
    rsaSize: rsa(probe).length,
    cmsSize: cms(probe).length,
    signRsa: rsa,
    signCms: cms,
  };
}

/** PEM blocks of one kind in `text`. */
function pemBlocks(text: string, label: RegExp): string[] {
  const re = new RegExp(`-----BEGIN (${label.source})-----[\\s\\S]+?-----END \\1-----`, 'g');
  return [...text.matchAll(re)].map((m) => m[0]);
}

/** Reads a key and a certificate chain from PEM text (any order, one or more files' worth). */
export function identityFromPem(text: string, passphrase?: string): SigningIdentity {
  const keys = pemBlocks(text, /(?:RSA |ENCRYPTED )?PRIVATE KEY/);
  if (keys.length !== 1) throw new SigningError(`expected one private key in the PEM input, found ${keys.length}`);
  const certs = pemBlocks(text, /CERTIFICATE/).map((pem) => new X509Certificate(pem));
  if (certs.length === 0) throw new SigningError('no certificate in the PEM input');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keys[0], format: 'pem', passphrase });
  } catch (error) {
    throw new SigningError(`cannot read the signing key: ${(error as Error).message}`);
  }
  return signingIdentity(key, certs);
}
