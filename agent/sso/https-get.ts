// One HTTPS GET with a deadline: no redirect followed, at most `maxBytes` of body read, the
// server's certificate chain kept (DER, leaf first) so that the OS evaluates it afterwards
// through the trust capability; Node does not verify here. Nothing secret is sent: the files
// asked for are public. Never rejects.
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { guardedLookup, isLocalHost } from '../trust/ocsp.js';
import type { HttpAnswer } from './association.js';

export type GetResult =
  | ({ ok: true; chain: Buffer[] } & HttpAnswer)
  | { ok: false; code: 'unreachable' | 'timeout' | 'tls_failed'; message: string; chain: Buffer[] };

function peerChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate(true);
  while (cert && cert.raw && !seen.has(cert.fingerprint256) && chain.length < 64) {
    seen.add(cert.fingerprint256);
    chain.push(Buffer.from(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

export function httpsGet(
  url: URL,
  options: {
    timeoutMs: number;
    maxBytes: number;
    accept?: string;
    /**
     * false: a URL that comes from a profile (outside input) must not make agentctl, often run
     * as root, reach this machine's own services: a loopback, link-local or unspecified address
     * (literal, `localhost`, or a name resolving to one) is refused, as for OCSP.
     */
    allowLocal?: boolean;
    /** Aborted: the request stops at once and the result is a timeout. */
    signal?: AbortSignal;
  },
): Promise<GetResult> {
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (options.allowLocal === false && isLocalHost(literal))
    return Promise.resolve({
      ok: false,
      code: 'unreachable',
      message: `${literal} is a loopback, link-local or unspecified address: not asked (--allow-local-urls)`,
      chain: [],
    });
  const signal = options.signal;
  if (signal?.aborted)
    return Promise.resolve({ ok: false, code: 'timeout', message: 'not asked: the deadline has passed', chain: [] });
  return new Promise((resolve) => {
    let chain: Buffer[] = [];
    let settled = false;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const finish = (result: GetResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, code: 'timeout', message: 'stopped: the deadline has passed', chain });
    const request = https.request(
      {
        host,
        port: url.port === '' ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        servername: net.isIP(host) ? undefined : host,
        rejectUnauthorized: false,
        agent: false,
        lookup: guardedLookup(options.allowLocal !== false, '--allow-local-urls is off'),
        headers: { accept: options.accept ?? 'application/json', 'user-agent': 'TrustGuard-agentctl-doctor-sso' },
      },
      (response) => {
        const parts: Buffer[] = [];
        let length = 0;
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(response.headers))
          headers[k] = Array.isArray(v) ? v.join(', ').slice(0, 2000) : v?.slice(0, 2000);
        const done = (truncated: boolean) =>
          finish({ ok: true, chain, status: response.statusCode ?? 0, headers, body: Buffer.concat(parts), truncated });
        response.on('data', (chunk: Buffer) => {
          const room = options.maxBytes - length;
          if (chunk.length > room) {
            parts.push(chunk.subarray(0, Math.max(room, 0)));
            length = options.maxBytes;
            done(true);
            return;
          }
          parts.push(chunk);
          length += chunk.length;
        });
        response.on('end', () => done(false));
        response.on('error', (error) => finish({ ok: false, code: 'unreachable', message: error.message, chain }));
      },
    );
    request.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        chain = peerChain(socket as TLSSocket);
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const errno = error.code ?? '';
      const network = [
        'ECONNREFUSED',
        'ENOTFOUND',
        'EAI_AGAIN',
        'EAI_FAIL',
        'ENETUNREACH',
        'EHOSTUNREACH',
        'EADDRNOTAVAIL',
      ];
      if (errno === 'ERR_LOCAL_ADDRESS')
        return finish({ ok: false, code: 'unreachable', message: `${error.message.slice(0, 200)}`, chain });
      const what = errno === 'ENOTFOUND' || errno === 'EAI_AGAIN' ? `cannot resolve ${host}` : error.message;
      finish({
        ok: false,
        code: network.includes(errno)
          ? 'unreachable'
          : errno === 'ETIMEDOUT'
            ? 'timeout'
            : chain.length
              ? 'unreachable'
              : 'tls_failed',
        message: `${what.slice(0, 200)}${errno && !what.includes(errno) ? ` (${errno})` : ''}`,
        chain,
      });
    });
    const timer = setTimeout(
      () => finish({ ok: false, code: 'timeout', message: `no answer within ${options.timeoutMs} ms`, chain }),
      options.timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    request.end();
  });
}
