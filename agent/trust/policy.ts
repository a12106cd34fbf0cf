// The trust policy that TypeScript applies to the path the OS built, the same on macOS and
// Linux: Apple's TLS server rules that OpenSSL does not make (key sizes, SHA-1, the SAN-only
// name match, validity maximums, the serverAuth EKU), validity with an inclusive notAfter, the
// wildcard-versus-excluded-subtree check OpenSSL misses (CVE-2025-61727), and the RFC 5280 /
// CA/Browser Forum profile checks listed in docs/trust.md. Each rule names its source; each
// failure is a Fault with the certificate it concerns. Apple sources cited are those of
// apple-oss-distributions/Security (OSX/sec/Security/SecPolicy.c, trust/trustd/SecPolicyServer.c,
// OSX/sec/Security/SecPolicyLeafCallbacks.c, OSX/sec/Security/SecCertificate.c).
import { isIP } from 'node:net';
import type { DiagnosisCode } from './codes.js';
import { isPublicSuffix } from './public-suffix.js';
import { hasOwnName, isSelfIssued, oids, type X509Info } from './x509.js';

export interface Fault {
  code: DiagnosisCode;
  /** The certificate it concerns: its index in the path (0 = the leaf), or null for the chain as a whole. */
  certificate: number | null;
  message: string;
}

export interface PolicyContext {
  policy: 'ssl' | 'basic';
  hostname: string | null;
  atMs: number;
  /** The path's last certificate is one of the caller's anchors ("other trust" in Apple's terms). */
  customAnchor: boolean;
  /** The path ends at an anchor (custom or system). */
  anchored: boolean;
  /** Most intermediates (not counting self-issued ones) a path may have; the suite's max_chain_depth. */
  maxIntermediates?: number;
}

const DAY_S = 86_400;
// CFAbsoluteTime dates of SecPolicyServer.c, as Unix ms.
const JULY_2019 = Date.UTC(2019, 6, 1);
const SEPTEMBER_2020 = Date.UTC(2020, 8, 1);

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A certificate's common name for a sentence, bounded (it comes from outside). */
function cn(cert: X509Info): string {
  const name = cert.commonNames[0] ?? '(no common name)';
  return name.length > 64 ? `${name.slice(0, 63)}…` : name;
}

/** A name from a certificate for a sentence, bounded. */
function shown(value: string): string {
  return value.length > 64 ? `${value.slice(0, 63)}…` : value;
}

/** RFC 1034 preferred name syntax, with a whole-label wildcard allowed on the left (RFC 6125 §6.4.3). */
export function isValidDnsName(name: string, allowWildcard: boolean): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every(
    (label, i) =>
      (allowWildcard && i === 0 && label === '*' && labels.length > 2) ||
      /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/i.test(label),
  );
}

function dnsWithin(name: string, subtree: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const s = subtree.toLowerCase().replace(/^\./, '');
  return s === '' || n === s || n.endsWith(`.${s}`);
}

/**
 * A wildcard name `*.B` stands for every one-label name under B; an excluded subtree E rules it
 * out when some such name lies in E: E is one label under B (bar.B), or B lies within E (OpenSSL
 * finds that one). CVE-2025-61727: OpenSSL compares the literal "*.B" and misses the first.
 */
export function wildcardMeetsSubtree(wildcard: string, subtree: string): boolean {
  if (!wildcard.startsWith('*.')) return false;
  const base = wildcard.slice(2).toLowerCase();
  const e = subtree.toLowerCase().replace(/^\./, '');
  if (dnsWithin(base, e)) return true;
  if (!e.endsWith(`.${base}`)) return false;
  const head = e.slice(0, -(base.length + 1));
  return head.length > 0 && !head.includes('.');
}

/** RFC 6125 §6.4.3 as SecDNSMatch: equal labels, a whole-label wildcard on the left only. */
function dnsMatches(host: string, presented: string): boolean {
  const p = presented.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === p.slice(2);
}

// What is wrong with a certificate's SAN entries depends on the certificate alone: read once.
const sanProblemCache = new WeakMap<X509Info, string[]>();

function sanProblems(cert: X509Info): string[] {
  let problems = sanProblemCache.get(cert);
  if (problems) return problems;
  problems = [];
  for (const name of cert.subjectAltName?.names ?? []) {
    if (name.kind === 'dns' && !isValidDnsName(name.value, true))
      problems.push(`the leaf's name "${shown(name.value)}" is not a valid DNS name`);
    if (name.kind === 'email' && !/^[^@\s]+@[^@\s]+$/.test(name.value))
      problems.push(`the leaf's e-mail name "${shown(name.value)}" is not an address`);
  }
  sanProblemCache.set(cert, problems);
  return problems;
}

/** The faults of one path (leaf first) under the policy. */
export function policyFaults(path: readonly X509Info[], ctx: PolicyContext): Fault[] {
  const faults: Fault[] = [];
  const add = (code: DiagnosisCode, certificate: number | null, message: string) =>
    faults.push({ code, certificate, message });
  const last = path.length - 1;
  const leaf = path[0]!;
  const ssl = ctx.policy === 'ssl';

  path.forEach((cert, i) => {
    const who = i === 0 ? 'the leaf' : `"${cn(cert)}"`;
    // Validity, notAfter inclusive (RFC 5280 §4.1.2.5), for every certificate of the path as
    // Apple's TemporalValidity check (SecPolicyServer.c SecPolicyCheckTemporalValidity).
    if (cert.notBefore !== null && ctx.atMs < cert.notBefore)
      add('not_yet_valid', i, `${who} is valid only from ${isoSeconds(cert.notBefore)}`);
    else if (cert.notAfter !== null && ctx.atMs >= cert.notAfter + 1000)
      add('expired', i, `${who} expired at ${isoSeconds(cert.notAfter)}`);

    // Keys. ssl: SecPolicyCheckKeySize over every certificate (RSA ≥ 2048 bits, EC ≥ P-256, no
    // other type: SecPolicyAddStrongKeySizeOptions); basic: SecCertificateIsWeakKey (RSA ≥ 1024,
    // EC ≥ 160, Ed25519/Ed448; DSA and others weak).
    const { type, bits } = cert.key;
    const weak = ssl
      ? !((type === 'rsa' && bits >= 2041) || (type === 'ec' && bits >= 256))
      : !((type === 'rsa' && bits >= 1017) || (type === 'ec' && bits >= 160) || type === 'ed25519' || type === 'ed448');
    const userAnchoredLeaf = i === 0 && last === 0 && ctx.customAnchor;
    if (weak && !userAnchoredLeaf)
      add('weak_key', i, `${who} has a ${type === 'other' ? 'unsupported' : `${bits}-bit ${type.toUpperCase()}`} key`);
    else if (type === 'rsa' && bits % 8 !== 0)
      // CA/B Forum Baseline Requirements §6.1.5: a modulus size divisible by 8.
      add('nonconforming', i, `${who} has an RSA modulus of ${bits} bits, not a multiple of 8`);

    // Signature hash, skipped on self-signed certificates as Apple does
    // (SecPolicyCheckCertSignatureHashAlgorithms, SecPolicyCheckCertWeakSignature).
    const selfIssued = isSelfIssued(cert);
    const disallowed = ssl ? ['md2', 'md4', 'md5', 'sha1'] : ['md2', 'md4', 'md5'];
    if (!selfIssued && disallowed.includes(cert.hash))
      add('weak_signature', i, `${who} is signed with ${cert.hash.toUpperCase()}`);

    // Extensions that do not parse or occur twice (SecPolicyCheckUnparseableExtension,
    // SecPolicyCheckDuplicateExtension).
    for (const oid of cert.unparseable) add('malformed', i, `${who} has an extension ${oid} that does not parse`);

    // Subject: SecPolicyCheckCertNonEmptySubject.
    if (cert.subjectEmpty) {
      if (i > 0 || cert.basicConstraints?.ca) add('nonconforming', i, `${who} is a CA with an empty subject`);
      else if (!cert.subjectAltName?.critical)
        add('nonconforming', i, 'the leaf has an empty subject and no critical subjectAltName');
    } else if (i === 0 && cert.subjectAltName?.critical) {
      // RFC 5280 §4.2.1.6 and CA/B BR §7.1.2.7.12: critical only when the subject is empty.
      add('nonconforming', i, 'the leaf marks subjectAltName critical although it has a subject');
    }

    // Version: X.509 v3 below the anchor (CA/B BR §7.1.1).
    if (cert.version !== 3 && !(i === last && ctx.anchored))
      add('nonconforming', i, `${who} is an X.509 v${cert.version} certificate`);

    // CA certificates (issuers in the path).
    if (i > 0) {
      const bc = cert.basicConstraints;
      if (i === last && ctx.anchored && hasOwnName(cert)) {
        // Root anchors: RFC 5280 §4.2.1.9 (basicConstraints, critical) and CA/B BR §7.1.2.1.3
        // (authorityKeyIdentifier: the keyIdentifier, equal to the subjectKeyIdentifier, only).
        if (!bc) add('nonconforming', i, `the root "${cn(cert)}" has no basicConstraints`);
        else if (!bc.critical) add('nonconforming', i, `the root "${cn(cert)}" has a non-critical basicConstraints`);
        const aki = cert.authorityKeyId;
        if (
          aki &&
          (aki.issuer ||
            aki.serial ||
            !aki.keyId ||
            (cert.subjectKeyId !== null && !aki.keyId.equals(cert.subjectKeyId)))
        )
          add('nonconforming', i, `the root "${cn(cert)}" has an authorityKeyIdentifier other than its own key id`);
      }
      const nc = cert.nameConstraints;
      if (nc) {
        if (!nc.critical) add('nonconforming', i, `${who} has non-critical nameConstraints (RFC 5280 §4.2.1.10)`);
        if ((nc.permitted ?? []).length === 0 && (nc.excluded ?? []).length === 0)
          add('nonconforming', i, `${who} has nameConstraints with neither permitted nor excluded subtrees`);
        for (const subtree of [...(nc.permitted ?? []), ...(nc.excluded ?? [])])
          if (
            subtree.kind === 'dns' &&
            !isValidDnsName(subtree.value.replace(/^\./, ''), false) &&
            subtree.value !== ''
          )
            add('nonconforming', i, `${who} has a name constraint "${shown(subtree.value)}" that is not a DNS name`);
          else if (subtree.kind === 'dns' && subtree.value.startsWith('.'))
            add(
              'nonconforming',
              i,
              `${who} has a DNS name constraint with a leading period, "${shown(subtree.value)}"`,
            );
        // CVE-2025-61727: wildcard SAN names of the leaf against excluded DNS subtrees.
        for (const name of leaf.subjectAltName?.names ?? []) {
          if (name.kind !== 'dns' || !name.value.startsWith('*.')) continue;
          for (const excluded of nc.excluded ?? [])
            if (excluded.kind === 'dns' && wildcardMeetsSubtree(name.value, excluded.value))
              add(
                'name_not_permitted',
                0,
                `the leaf's name "${shown(name.value)}" covers "${shown(excluded.value)}", which ${who} excludes`,
              );
        }
      }
      if (cert.policyConstraints && !cert.policyConstraints.critical)
        add('nonconforming', i, `${who} has non-critical policyConstraints (RFC 5280 §4.2.1.11)`);
      // An intermediate's EKU, when present, must allow server authentication (OpenSSL's
      // check_ssl_ca; Apple's SecPolicyCheckServerAuthEKU for system anchors).
      if (ssl && i < last) {
        const eku = cert.extendedKeyUsage?.oids;
        if (eku && !eku.includes(oids.serverAuth) && !eku.includes(oids.anyExtendedKeyUsage))
          add('bad_usage', i, `${who} may not issue TLS server certificates (its extKeyUsage lacks serverAuth)`);
      }
    }
  });

  // The leaf.
  if (leaf.nameConstraints)
    add('bad_usage', 0, 'the leaf carries nameConstraints, which only a CA may (RFC 5280 §4.2.1.10)');
  const ku = leaf.keyUsage;
  if (ku?.has('keyCertSign') && !leaf.basicConstraints?.ca)
    add('bad_usage', 0, 'the leaf may sign certificates (keyCertSign) but is not a CA (RFC 5280 §4.2.1.9)');
  if (leaf.basicConstraints?.ca && ku && !ku.has('keyCertSign'))
    add('bad_usage', 0, 'the leaf is marked as a CA without the keyCertSign usage (RFC 5280 §4.2.1.3)');
  for (const problem of sanProblems(leaf)) add('nonconforming', 0, problem);

  if (ssl) {
    // SecPolicyCheckCertSSLHostname: the SAN's dNSName and iPAddress entries only, never the CN.
    const sanNames = (leaf.subjectAltName?.names ?? []).filter((n) => n.kind === 'dns' || n.kind === 'ip');
    if (ctx.hostname !== null && sanNames.length === 0)
      add(
        'hostname_mismatch',
        0,
        `the leaf has no subjectAltName ${isIP(ctx.hostname) ? 'address' : 'DNS name'}; its common name is not used for ${ctx.hostname}`,
      );
    // A wildcard directly before a public suffix matches nothing (SecDNSMatch, SecDNSIsTLD):
    // when only such wildcards cover the host name, the name does not match.
    const host = ctx.hostname?.toLowerCase().replace(/\.$/, '') ?? null;
    if (host !== null && sanNames.some((n) => n.value.startsWith('*.')) && !isIP(host)) {
      const matching = sanNames.filter((n) => n.kind === 'dns' && dnsMatches(host, n.value));
      if (matching.length > 0 && matching.every((n) => n.value.startsWith('*.') && isPublicSuffix(n.value.slice(2))))
        add('hostname_mismatch', 0, `the leaf's "${shown(matching[0]!.value)}" is a wildcard over a public suffix`);
    }
    // EKU (set_ssl_ekus: if present, serverAuth or anyExtendedKeyUsage; SecPolicyCheckServerAuthEKU:
    // present and serverAuth for system-anchored leaves, and for leaves issued after 1 July 2019).
    const eku = leaf.extendedKeyUsage?.oids ?? null;
    const strict = !ctx.customAnchor || (leaf.notBefore !== null && leaf.notBefore > JULY_2019);
    if (eku && !eku.includes(oids.serverAuth) && !eku.includes(oids.anyExtendedKeyUsage))
      add('bad_usage', 0, 'the leaf may not be used for TLS servers (its extKeyUsage lacks serverAuth)');
    else if (strict && ctx.anchored && !(eku ?? []).includes(oids.serverAuth))
      add('bad_usage', 0, 'the leaf lacks the serverAuth extKeyUsage that Apple requires of it');
    // Validity maximums (SecPolicyCheckValidityPeriodMaximums): system trust 825 days + 1 h before
    // 1 September 2020, 398 days from then; other trust 825 days + 1 h after 1 July 2019.
    if (leaf.notBefore !== null && leaf.notAfter !== null && ctx.anchored && !(last === 0 && ctx.customAnchor)) {
      const periodS = (leaf.notAfter - leaf.notBefore) / 1000;
      let max: number | null = null;
      if (!ctx.customAnchor) max = leaf.notBefore < SEPTEMBER_2020 ? 825 * DAY_S + 3600 : 398 * DAY_S;
      else if (leaf.notBefore > JULY_2019) max = 825 * DAY_S + 3600;
      if (max !== null && periodS > max)
        add(
          'validity_too_long',
          0,
          `the leaf is valid for ${Math.round(periodS / DAY_S)} days; Apple allows at most ${Math.floor(max / DAY_S)} for a certificate issued then`,
        );
    }
  }

  if (ctx.maxIntermediates !== undefined) {
    const intermediates = path.slice(1, ctx.anchored ? -1 : undefined).filter((c) => !hasOwnName(c)).length;
    if (intermediates > ctx.maxIntermediates)
      add(
        'bad_usage',
        null,
        `the path has ${intermediates} intermediates; at most ${ctx.maxIntermediates} are allowed`,
      );
  }
  return faults;
}
