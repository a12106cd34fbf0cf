// A server's certificate chain, fetched with one TLS handshake: SNI set, no verification in
// Node (the OS evaluates the chain afterwards), the peer's chain walked to DER up to a number
// of certificates (a peer decides how many it sends), a time limit.
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import type { DetailedPeerCertificate } from 'node:tls';
import type { FailureCode } from './codes.js';

// node:tls is loaded on the first fetch only: `agentctl trust FILE` makes none (issue 21).
const requireBuiltin = createRequire(import.meta.url);

export interface ChainFetchOptions {
  host: string;
  port: number;
  /** Server name sent as SNI; default `host` unless it is an IP address (SNI never carries one). */
  servername?: string;
  timeoutMs: number;
  /** Stop walking the peer's chain after this many certificates (default 65: one past what is evaluated). */
  maxCertificates?: number;
}

export type ChainFetch =
  | { ok: true; chain: Buffer[]; protocol: string | null }
  | {
      ok: false;
      code: Extract<
        FailureCode,
        'connection_refused' | 'dns' | 'network_unreachable' | 'timeout' | 'tls_failed' | 'no_certificate'
      >;
      message: string;
    };

/** A socket or TLS error as one of our codes and a phrase (the OS's own code stays in the phrase). */
function describeError(
  error: NodeJS.ErrnoException,
  host: string,
): { code: Exclude<ChainFetch, { ok: true }>['code']; why: string } {
  const errno = error.code ?? '';
  if (errno === 'ECONNREFUSED') return { code: 'connection_refused', why: 'connection refused' };
  if (errno === 'ENOTFOUND' || errno === 'EAI_AGAIN' || errno === 'EAI_FAIL')
    return { code: 'dns', why: `cannot resolve ${host} (${errno})` };
  if (errno === 'ENETUNREACH' || errno === 'EHOSTUNREACH' || errno === 'EADDRNOTAVAIL')
    return { code: 'network_unreachable', why: `${errno}` };
  if (errno === 'ETIMEDOUT') return { code: 'timeout', why: 'connection timed out' };
  if (errno === 'ECONNRESET') return { code: 'tls_failed', why: 'connection reset during the TLS handshake' };
  return { code: 'tls_failed', why: `${error.message}${errno ? ` (${errno})` : ''}` };
}

/** The certificates the server sent, leaf first, as DER. Never rejects. */
export function fetchChain(options: ChainFetchOptions): Promise<ChainFetch> {
  const { host, port, timeoutMs } = options;
  const maxCertificates = options.maxCertificates ?? 65;
  const servername = options.servername ?? (net.isIP(host) ? undefined : host);
  const where = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ChainFetch) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = (requireBuiltin('node:tls') as typeof tls).connect({
      host,
      port,
      servername,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(
      () => finish({ ok: false, code: 'timeout', message: `no TLS handshake with ${where} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      const chain: Buffer[] = [];
      const seen = new Set<string>();
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert && cert.raw && !seen.has(cert.fingerprint256) && chain.length < maxCertificates) {
        seen.add(cert.fingerprint256);
        chain.push(Buffer.from(cert.raw));
        cert = cert.issuerCertificate;
      }
      if (chain.length === 0) finish({ ok: false, code: 'no_certificate', message: `${where} sent no certificate` });
      else finish({ ok: true, chain, protocol: socket.getProtocol() });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const { code, why } = describeError(error, host);
      finish({ ok: false, code, message: `${where}: ${why}` });
    });
  });
}
