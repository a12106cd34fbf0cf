// OCSP over HTTP (RFC 6960 Appendix A): one request per certificate, POSTed to the responder
// its authorityInfoAccess names, with a time limit and a size limit. The response is not
// interpreted here: its bytes go to the native evaluation, which checks its signature,
// authority, status and freshness the way the OS does.
// The responder URL comes from a certificate, so root POSTs where a certificate says: check.ts
// asks only for a chain the OS already trusts, and here only http(s) URLs of at most 1 KiB are
// asked, never (unless allowed) an address on loopback, link-local or unspecified, checked on
// the addresses the connection actually uses (a custom lookup: no second resolution to rebind).
import { createHash } from 'node:crypto';
import type dns from 'node:dns';
import type http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import { boundText } from '../bounded-text.js';
import { trustLimits } from '../../native/trust.js';
import type { RevocationCode } from './codes.js';
import { certificateFields, encode } from './der.js';

// node:http and node:https (and node:tls under it) are loaded on the first request only:
// `agentctl trust FILE --revocation off` makes none (issue 21: its start-up is budgeted).
const requireBuiltin = createRequire(import.meta.url);

// id-sha1 (1.3.14.3.2.26) with NULL parameters: the CertID hash every responder accepts.
const sha1AlgorithmIdentifier = Buffer.from('300906052b0e03021a0500', 'hex');

/** The DER OCSPRequest for `certificate` (issued by `issuer`): one Request, no extensions. */
export function ocspRequest(certificate: Uint8Array, issuer: Uint8Array): Buffer {
  const cert = certificateFields(certificate);
  const ca = certificateFields(issuer);
  const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();
  const certId = encode(
    0x30,
    sha1AlgorithmIdentifier,
    encode(0x04, sha1(ca.subjectName)),
    encode(0x04, sha1(ca.publicKey)),
    cert.serialTlv,
  );
  const request = encode(0x30, certId);
  const tbsRequest = encode(0x30, encode(0x30, request));
  return encode(0x30, tbsRequest);
}

export type OcspFailureCode = Extract<
  RevocationCode,
  | 'responder_url_invalid'
  | 'responder_not_allowed'
  | 'responder_unreachable'
  | 'responder_timeout'
  | 'responder_http_status'
  | 'response_too_large'
>;

/** The longest responder URL asked (a real one is a few dozen characters). */
export const maxResponderUrlChars = 1024;

const localAddresses = (() => {
  const block = new net.BlockList();
  block.addSubnet('127.0.0.0', 8, 'ipv4');
  block.addSubnet('0.0.0.0', 8, 'ipv4');
  block.addSubnet('169.254.0.0', 16, 'ipv4');
  block.addSubnet('::1', 128, 'ipv6');
  block.addSubnet('::', 128, 'ipv6');
  block.addSubnet('fe80::', 10, 'ipv6');
  return block;
})();

/** Loopback, link-local or unspecified: an address a certificate must not make root POST to. */
/** A URL host (brackets removed) that names this machine or its link: a local address or `localhost`. */
export function isLocalHost(host: string): boolean {
  return isLocalAddress(host) || /^localhost\.?$|\.localhost\.?$/i.test(host);
}

export function isLocalAddress(address: string): boolean {
  const ip = address.toLowerCase();
  const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : null;
  if (family === null) return false;
  // An IPv4-mapped IPv6 address (::ffff:127.0.0.1, which the URL parser writes ::ffff:7f00:1)
  // is checked against the IPv4 subnets too: BlockList matches it against them.
  return localAddresses.check(ip, family);
}

function refusedAddress(host: string, address: string, allowedBy = 'TrustOCSPAllowLocal is off'): string {
  return `${host} is ${address === host ? 'a' : `${address}, a`} loopback, link-local or unspecified address (${allowedBy})`;
}

/** dns.lookup that fails for a local address (Node's http calls it for a name, never for an IP literal). */
export function guardedLookup(allowLocal: boolean, allowedBy?: string): net.LookupFunction {
  return (hostname, options, callback) => {
    // node:dns when a name is looked up (issue 21: `agentctl trust FILE` never does).
    (requireBuiltin('node:dns') as typeof dns).lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const list = addresses as unknown as dns.LookupAddress[];
      const local = list.find((a) => isLocalAddress(a.address));
      if (!allowLocal && local) {
        const refused = Object.assign(new Error(refusedAddress(hostname, local.address, allowedBy)), {
          code: 'ERR_LOCAL_ADDRESS',
        });
        return callback(refused, '', 4);
      }
      if ((options as dns.LookupOptions).all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

export type OcspFetch =
  { ok: true; url: string; response: Buffer } | { ok: false; url: string; code: OcspFailureCode; message: string };

export interface OcspFetchOptions {
  maxBytes?: number;
  /** Ask responders on loopback and link-local addresses too (TrustOCSPAllowLocal; tests). */
  allowLocal?: boolean;
}

/** POSTs `request` to `url`. Never rejects. */
export function fetchOcsp(
  url: string,
  request: Buffer,
  timeoutMs: number,
  options: OcspFetchOptions = {},
): Promise<OcspFetch> {
  const maxBytes = options.maxBytes ?? trustLimits.ocspResponseBytes;
  const allowLocal = options.allowLocal ?? false;
  const refuse = (code: OcspFailureCode, message: string): Promise<OcspFetch> =>
    Promise.resolve({ ok: false, url, code, message });
  if (url.length > maxResponderUrlChars)
    return refuse(
      'responder_url_invalid',
      `the responder URL is ${url.length} characters; at most ${maxResponderUrlChars} are asked`,
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('responder_url_invalid', `"${boundText(url, 100)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return refuse('responder_url_invalid', `OCSP responder ${boundText(url, 100)} is not an http URL`);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!allowLocal && isLocalHost(host)) return refuse('responder_not_allowed', refusedAddress(host, host));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: OcspFetch) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const client =
      parsed.protocol === 'https:'
        ? (requireBuiltin('node:https') as typeof https)
        : (requireBuiltin('node:http') as typeof http);
    const req = client.request(parsed, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup(allowLocal),
      headers: {
        'content-type': 'application/ocsp-request',
        accept: 'application/ocsp-response',
        'content-length': request.length,
        'user-agent': 'TrustGuard trust check',
      },
    });
    const timer = setTimeout(
      () => finish({ ok: false, url, code: 'responder_timeout', message: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish(
        error.code === 'ERR_LOCAL_ADDRESS'
          ? { ok: false, url, code: 'responder_not_allowed', message: error.message }
          : { ok: false, url, code: 'responder_unreachable', message: boundText(error.code ?? error.message) },
      ),
    );
    req.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        finish({ ok: false, url, code: 'responder_http_status', message: `HTTP ${response.statusCode}` });
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish({
          ok: false,
          url,
          code: 'response_too_large',
          message: `the response is ${declared} bytes; at most ${maxBytes} are accepted`,
        });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes)
          finish({ ok: false, url, code: 'response_too_large', message: `the response exceeds ${maxBytes} bytes` });
        else chunks.push(chunk);
      });
      response.on('end', () => finish({ ok: true, url, response: Buffer.concat(chunks) }));
      response.on('error', (error: NodeJS.ErrnoException) =>
        finish({ ok: false, url, code: 'responder_unreachable', message: boundText(error.code ?? error.message) }),
      );
    });
    req.end(request);
  });
}
