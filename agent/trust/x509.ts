// The fields of an X.509 certificate (RFC 5280 §4.1) that the trust policy judges itself, read
// from DER in TypeScript so that the same rules apply on macOS and Linux: key type and size,
// signature hash, names, validity, and the extensions that say what a certificate may be used
// for. Every read is bounds-checked (der.ts); a field that does not parse is recorded as such
// (`unparseable`), never guessed. Results are cached by DER, bounded.
import { children, DerError, readTlv, type Tlv } from './der.js';

export type KeyType = 'rsa' | 'ec' | 'dsa' | 'ed25519' | 'ed448' | 'other';
export type HashName = 'md2' | 'md4' | 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'none' | 'unknown';

export interface GeneralName {
  kind: 'dns' | 'ip' | 'email' | 'uri' | 'dn' | 'other';
  /** dns/email/uri: the IA5 text; ip: the address bytes (with the mask for a constraint); dn: hex DER. */
  value: string;
  bytes: Buffer;
}

export interface X509Info {
  der: Buffer;
  /** 1, 2 or 3. */
  version: number;
  serial: Buffer;
  signatureOid: string;
  hash: HashName;
  /** The DER of the issuer and subject Names, byte for byte. */
  issuerName: Buffer;
  subjectName: Buffer;
  subjectEmpty: boolean;
  /** The subject's commonName values (text). */
  commonNames: string[];
  notBefore: number | null;
  notAfter: number | null;
  key: { type: KeyType; bits: number; curve: string | null };
  extensions: Array<{ oid: string; critical: boolean }>;
  /** OIDs of known extensions whose value does not parse, or that occur twice. */
  unparseable: string[];
  subjectKeyId: Buffer | null;
  authorityKeyId: { keyId: Buffer | null; issuer: boolean; serial: boolean } | null;
  basicConstraints: { ca: boolean; pathLen: number | null; critical: boolean } | null;
  /** keyUsage bits by name, null when the extension is absent. */
  keyUsage: Set<string> | null;
  extendedKeyUsage: { oids: string[]; critical: boolean } | null;
  subjectAltName: { names: GeneralName[]; critical: boolean } | null;
  nameConstraints: { permitted: GeneralName[] | null; excluded: GeneralName[] | null; critical: boolean } | null;
  policyConstraints: { critical: boolean } | null;
  authorityInfoAccess: { count: number } | null;
}

export const oids = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

const signatureHashes: Record<string, HashName> = {
  '1.2.840.113549.1.1.2': 'md2',
  '1.2.840.113549.1.1.3': 'md4',
  '1.2.840.113549.1.1.4': 'md5',
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.10040.4.3': 'sha1', // dsa-with-sha1
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.3.14.3.2.29': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '2.16.840.1.101.3.4.3.1': 'sha224', // dsa-with-sha224
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
  '1.3.101.112': 'none', // Ed25519
  '1.3.101.113': 'none', // Ed448
  // RSASSA-PSS names its hash in the parameters: read below.
};

const curves: Record<string, { name: string; bits: number }> = {
  '1.2.840.10045.3.1.1': { name: 'P-192', bits: 192 },
  '1.3.132.0.33': { name: 'P-224', bits: 224 },
  '1.2.840.10045.3.1.7': { name: 'P-256', bits: 256 },
  '1.3.132.0.34': { name: 'P-384', bits: 384 },
  '1.3.132.0.35': { name: 'P-521', bits: 521 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
};

const hashOids: Record<string, HashName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const keyUsageBits = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

export function oidText(buf: Buffer, t: Tlv | undefined): string {
  if (!t || t.tag !== 0x06 || t.end === t.contentStart) throw new DerError('not an OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (let i = t.contentStart; i < t.end; i++) {
    value = value * 128 + (buf[i]! & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 256) throw new DerError('OBJECT IDENTIFIER arc too large');
    if ((buf[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function content(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.contentStart, t.end);
}

function time(buf: Buffer, t: Tlv | undefined): number | null {
  if (!t || (t.tag !== 0x17 && t.tag !== 0x18)) return null;
  const s = content(buf, t).toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) return null;
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isFinite(ms) ? ms : null;
}

function generalName(buf: Buffer, t: Tlv): GeneralName {
  const bytes = Buffer.from(content(buf, t));
  switch (t.tag) {
    case 0x82:
      return { kind: 'dns', value: bytes.toString('latin1'), bytes };
    case 0x81:
      return { kind: 'email', value: bytes.toString('latin1'), bytes };
    case 0x86:
      return { kind: 'uri', value: bytes.toString('latin1'), bytes };
    case 0x87:
      return { kind: 'ip', value: bytes.toString('hex'), bytes };
    case 0xa4:
      return { kind: 'dn', value: bytes.toString('hex'), bytes };
    default:
      return { kind: 'other', value: `[${t.tag & 0x1f}]`, bytes };
  }
}

function generalNames(buf: Buffer, seq: Tlv): GeneralName[] {
  if (seq.tag !== 0x30 && seq.tag !== 0xa0 && seq.tag !== 0xa1) throw new DerError('GeneralNames is not a SEQUENCE');
  return children(buf, seq).map((t) => generalName(buf, t));
}

function subtrees(buf: Buffer, t: Tlv): GeneralName[] {
  // GeneralSubtrees ::= SEQUENCE OF GeneralSubtree { base GeneralName, minimum [0], maximum [1] }
  return children(buf, t).map((subtree) => {
    if (subtree.tag !== 0x30) throw new DerError('GeneralSubtree is not a SEQUENCE');
    const [base] = children(buf, subtree);
    if (!base) throw new DerError('GeneralSubtree without a base');
    return generalName(buf, base);
  });
}

function commonNames(buf: Buffer, name: Tlv): string[] {
  const out: string[] = [];
  for (const rdn of children(buf, name)) {
    for (const atv of children(buf, rdn)) {
      const [type, value] = children(buf, atv);
      if (type && value && oidText(buf, type) === '2.5.4.3') {
        const bytes = content(buf, value);
        out.push(value.tag === 0x1e ? Buffer.from(bytes).swap16().toString('utf16le') : bytes.toString('utf8'));
      }
    }
  }
  return out;
}

function publicKey(buf: Buffer, spki: Tlv): X509Info['key'] {
  const [alg, bits] = children(buf, spki);
  if (!alg || !bits || bits.tag !== 0x03) throw new DerError('subjectPublicKeyInfo');
  const [algOid, params] = children(buf, alg);
  const oid = oidText(buf, algOid);
  const keyBytes = buf.subarray(bits.contentStart + 1, bits.end);
  if (oid === '1.2.840.113549.1.1.1' || oid === '1.2.840.113549.1.1.10') {
    const keyBuf = Buffer.from(keyBytes);
    const seq = readTlv(keyBuf, 0);
    const [modulus] = children(keyBuf, seq);
    if (!modulus || modulus.tag !== 0x02) throw new DerError('RSA public key');
    let start = modulus.contentStart;
    while (start < modulus.end && keyBuf[start] === 0) start++;
    const length = modulus.end - start;
    const top = length > 0 ? keyBuf[start]! : 0;
    return { type: 'rsa', bits: length === 0 ? 0 : (length - 1) * 8 + (32 - Math.clz32(top)), curve: null };
  }
  if (oid === '1.2.840.10045.2.1') {
    const curve = params && params.tag === 0x06 ? curves[oidText(buf, params)] : undefined;
    return { type: 'ec', bits: curve?.bits ?? 0, curve: curve?.name ?? null };
  }
  if (oid === '1.2.840.10040.4.1') {
    // DSA: the size of p in the parameters.
    let size = 0;
    if (params && params.tag === 0x30) {
      const [p] = children(buf, params);
      if (p && p.tag === 0x02) {
        let start = p.contentStart;
        while (start < p.end && buf[start] === 0) start++;
        size = (p.end - start) * 8;
      }
    }
    return { type: 'dsa', bits: size, curve: null };
  }
  if (oid === '1.3.101.112') return { type: 'ed25519', bits: 256, curve: null };
  if (oid === '1.3.101.113') return { type: 'ed448', bits: 456, curve: null };
  return { type: 'other', bits: 0, curve: null };
}

function signatureHash(buf: Buffer, alg: Tlv): { oid: string; hash: HashName } {
  const [algOid, params] = children(buf, alg);
  const oid = oidText(buf, algOid);
  if (oid === '1.2.840.113549.1.1.10') {
    // RSASSA-PSS-params: hashAlgorithm [0] (default SHA-1).
    let hash: HashName = 'sha1';
    if (params && params.tag === 0x30) {
      const first = children(buf, params)[0];
      if (first && first.tag === 0xa0) {
        const [hashAlg] = children(buf, first);
        const [hashOid] = hashAlg ? children(buf, hashAlg) : [];
        hash = hashOid ? (hashOids[oidText(buf, hashOid)] ?? 'unknown') : 'unknown';
      }
    }
    return { oid, hash };
  }
  return { oid, hash: signatureHashes[oid] ?? 'unknown' };
}

function parse(der: Buffer): X509Info {
  const cert = readTlv(der, 0);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw new DerError('not one DER certificate');
  const [tbs, outerAlg] = children(der, cert);
  if (!tbs || tbs.tag !== 0x30 || !outerAlg) throw new DerError('tbsCertificate');
  const fields = children(der, tbs);
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v] = children(der, fields[0]);
    version = v && v.tag === 0x02 && v.end - v.contentStart === 1 ? der[v.contentStart]! + 1 : 0;
    i++;
  }
  const at = (tag: number, what: string) => {
    const t = fields[i++];
    if (!t || t.tag !== tag) throw new DerError(`${what} is missing or has the wrong type`);
    return t;
  };
  const serial = at(0x02, 'serialNumber');
  at(0x30, 'signature');
  const issuer = at(0x30, 'issuer');
  const validity = at(0x30, 'validity');
  const subject = at(0x30, 'subject');
  const spki = at(0x30, 'subjectPublicKeyInfo');
  const [nb, na] = children(der, validity);
  const { oid: signatureOid, hash } = signatureHash(der, outerAlg);
  const info: X509Info = {
    der,
    version,
    serial: Buffer.from(content(der, serial)),
    signatureOid,
    hash,
    issuerName: Buffer.from(der.subarray(issuer.start, issuer.end)),
    subjectName: Buffer.from(der.subarray(subject.start, subject.end)),
    subjectEmpty: subject.end === subject.contentStart,
    commonNames: [],
    notBefore: time(der, nb),
    notAfter: time(der, na),
    key: { type: 'other', bits: 0, curve: null },
    extensions: [],
    unparseable: [],
    subjectKeyId: null,
    authorityKeyId: null,
    basicConstraints: null,
    keyUsage: null,
    extendedKeyUsage: null,
    subjectAltName: null,
    nameConstraints: null,
    policyConstraints: null,
    authorityInfoAccess: null,
  };
  try {
    info.commonNames = commonNames(der, subject);
  } catch {
    info.unparseable.push('subject');
  }
  try {
    info.key = publicKey(der, spki);
  } catch {
    info.unparseable.push('subjectPublicKeyInfo');
  }
  const extsWrapper = fields.slice(i).find((t) => t.tag === 0xa3);
  if (!extsWrapper) return info;
  const [exts] = children(der, extsWrapper);
  if (!exts) return info;
  for (const ext of children(der, exts)) {
    const parts = children(der, ext);
    const oid = oidText(der, parts[0]);
    const critical = parts.length === 3 && parts[1]!.tag === 0x01 && der[parts[1]!.contentStart] !== 0;
    const octets = parts[parts.length - 1]!;
    if (info.extensions.some((e) => e.oid === oid)) info.unparseable.push(oid);
    info.extensions.push({ oid, critical });
    try {
      if (octets.tag !== 0x04) throw new DerError('extnValue is not an OCTET STRING');
      const value = Buffer.from(content(der, octets));
      const top = readTlv(value, 0);
      if (top.end !== value.length) throw new DerError('trailing bytes in an extension');
      switch (oid) {
        case '2.5.29.14':
          if (top.tag !== 0x04) throw new DerError('subjectKeyIdentifier');
          info.subjectKeyId = Buffer.from(content(value, top));
          break;
        case '2.5.29.35': {
          if (top.tag !== 0x30) throw new DerError('authorityKeyIdentifier');
          const aki = { keyId: null as Buffer | null, issuer: false, serial: false };
          for (const f of children(value, top)) {
            if (f.tag === 0x80) aki.keyId = Buffer.from(content(value, f));
            else if (f.tag === 0xa1) aki.issuer = true;
            else if (f.tag === 0x82) aki.serial = true;
          }
          info.authorityKeyId = aki;
          break;
        }
        case '2.5.29.19': {
          if (top.tag !== 0x30) throw new DerError('basicConstraints');
          const [a, b] = children(value, top);
          const ca = a?.tag === 0x01 ? value[a.contentStart] !== 0 : false;
          const len = a?.tag === 0x02 ? a : b?.tag === 0x02 ? b : undefined;
          info.basicConstraints = {
            ca,
            pathLen: len ? Number.parseInt(content(value, len).toString('hex') || '0', 16) : null,
            critical,
          };
          break;
        }
        case '2.5.29.15': {
          if (top.tag !== 0x03 || top.end - top.contentStart < 1) throw new DerError('keyUsage');
          const set = new Set<string>();
          const bytes = content(value, top).subarray(1);
          keyUsageBits.forEach((name, bit) => {
            if (bit >> 3 < bytes.length && (bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) set.add(name);
          });
          info.keyUsage = set;
          break;
        }
        case '2.5.29.37':
          if (top.tag !== 0x30) throw new DerError('extKeyUsage');
          info.extendedKeyUsage = { oids: children(value, top).map((t) => oidText(value, t)), critical };
          break;
        case '2.5.29.17':
          info.subjectAltName = { names: generalNames(value, top), critical };
          break;
        case '2.5.29.30': {
          if (top.tag !== 0x30) throw new DerError('nameConstraints');
          const nc = { permitted: null as GeneralName[] | null, excluded: null as GeneralName[] | null, critical };
          for (const f of children(value, top)) {
            if (f.tag === 0xa0) nc.permitted = subtrees(value, f);
            else if (f.tag === 0xa1) nc.excluded = subtrees(value, f);
          }
          info.nameConstraints = nc;
          break;
        }
        case '2.5.29.36':
          info.policyConstraints = { critical };
          break;
        case '1.3.6.1.5.5.7.1.1': {
          if (top.tag !== 0x30) throw new DerError('authorityInfoAccess');
          const descriptions = children(value, top);
          for (const d of descriptions) {
            const [method, location] = children(value, d);
            if (!method || !location) throw new DerError('AccessDescription');
            oidText(value, method);
            generalName(value, location);
          }
          if (descriptions.length === 0) throw new DerError('authorityInfoAccess is empty');
          info.authorityInfoAccess = { count: descriptions.length };
          break;
        }
      }
    } catch {
      // DerError, or a field of the wrong shape (a missing element): the extension does not parse.
      info.unparseable.push(oid);
    }
  }
  return info;
}

const cache = new Map<string, X509Info>();
const cacheLimit = 512;

/**
 * The certificate's fields; throws DerError when the certificate itself does not parse. `id`
 * names the DER in the cache (its SHA-256 when the caller has it; else the bytes themselves).
 */
export function parseCertificate(der: Buffer, id?: string): X509Info {
  const key = id ?? der.toString('latin1');
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const info = parse(der);
  cache.set(key, info);
  if (cache.size > cacheLimit) cache.delete(cache.keys().next().value!);
  return info;
}

/** The certificate's fields, or null when it does not parse (whatever the bytes: never throws). */
export function tryParseCertificate(der: Buffer, id?: string): X509Info | null {
  try {
    return parseCertificate(der, id);
  } catch {
    return null;
  }
}

/** Self-issued in RFC 5280's sense (§6.1): the same Name as subject and issuer. */
export function hasOwnName(cert: X509Info): boolean {
  return cert.subjectName.equals(cert.issuerName);
}

/** Issued by itself: same Name, and key identifiers that agree when both are present. */
export function isSelfIssued(cert: X509Info): boolean {
  if (!cert.subjectName.equals(cert.issuerName)) return false;
  const aki = cert.authorityKeyId?.keyId;
  return !aki || !cert.subjectKeyId || aki.equals(cert.subjectKeyId);
}

/** `child` names `issuer` as its issuer (Name, and key identifier when both carry one). */
export function namesAsIssuer(child: X509Info, issuer: X509Info): boolean {
  if (!child.issuerName.equals(issuer.subjectName)) return false;
  const aki = child.authorityKeyId?.keyId;
  return !aki || !issuer.subjectKeyId || aki.equals(issuer.subjectKeyId);
}
