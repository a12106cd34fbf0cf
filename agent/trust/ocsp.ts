// OCSP over HTTP (RFC 6960 Appendix A): one request per certificate, POSTed to the responder
// its authorityInfoAccess names, with a time limit and a size limit. The response is not
// interpreted here: its bytes go to the native evaluation, which checks its signature,
// authority, status and freshness the way the OS does.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { trustLimits } from '../../native/trust.js';
import type { RevocationCode } from './codes.js';
import { certificateFields, encode } from './der.js';

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

export type OcspFailureCode =
  | Extract<
      RevocationCode,
      'responder_url_invalid' | 'responder_unreachable' | 'responder_timeout' | 'responder_http_status'
    >
  | 'response_too_large';

export type OcspFetch =
  { ok: true; url: string; response: Buffer } | { ok: false; url: string; code: OcspFailureCode; message: string };

/** POSTs `request` to `url`. Never rejects. */
export function fetchOcsp(
  url: string,
  request: Buffer,
  timeoutMs: number,
  maxBytes: number = trustLimits.ocspResponseBytes,
): Promise<OcspFetch> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve({
      ok: false,
      url,
      code: 'responder_url_invalid',
      message: `"${url.slice(0, 100)}" is not a URL`,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return Promise.resolve({
      ok: false,
      url,
      code: 'responder_url_invalid',
      message: `OCSP responder ${url.slice(0, 100)} is not an http URL`,
    });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: OcspFetch) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const client = parsed.protocol === 'https:' ? https : http;
    const req = client.request(parsed, {
      method: 'POST',
      agent: false,
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
      finish({ ok: false, url, code: 'responder_unreachable', message: error.code ?? error.message }),
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
        finish({ ok: false, url, code: 'responder_unreachable', message: error.code ?? error.message }),
      );
    });
    req.end(request);
  });
}
