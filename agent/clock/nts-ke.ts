// NTS Key Establishment (RFC 8915 §4): TLS 1.3 with ALPN "ntske/1", one request, one response
// of records, then keys exported from the TLS session.
//
// Records are parsed with bounds: a whole response is at most 64 KiB, a cookie at most 1 KiB,
// at most 8 cookies are kept; the critical bit is honoured (an unknown critical record is an
// error, an unknown non-critical one is skipped), and the response must end with End of Message.
// Every failure has a code (codes.ts: ntsKeCodes) and one sentence.
//
// Trust: the server's chain is collected here, its name checked against the host asked
// (tls.checkServerIdentity, time-independent); the chain itself is evaluated by the caller
// (nts-source.ts) with the trust capability, at the server's time, as for HTTPS time.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls, { type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { NtsKeCode } from './codes.js';

export const DEFAULT_NTS_KE_PORT = 4460;
export const NTS_ALPN = 'ntske/1';
export const AEAD_AES_SIV_CMAC_256 = 15;
export const NTP_PROTOCOL_ID = 0;
export const EXPORTER_LABEL = 'EXPORTER-network-time-security';
/** AEAD_AES_SIV_CMAC_256's key length. */
export const KEY_LENGTH = 32;
export const MAX_COOKIES = 8;
export const MAX_COOKIE_BYTES = 1024;
export const MAX_RESPONSE_BYTES = 64 * 1024;

export const recordTypes = {
  endOfMessage: 0,
  nextProtocol: 1,
  error: 2,
  warning: 3,
  aead: 4,
  newCookie: 5,
  server: 6,
  port: 7,
} as const;

export interface NtsKeRecord {
  critical: boolean;
  type: number;
  body: Buffer;
}

export class NtsKeError extends Error {
  constructor(
    readonly code: NtsKeCode,
    message: string,
  ) {
    super(message);
  }
}

/** One record: the critical bit and 15-bit type, the 16-bit body length, the body. */
export function encodeRecord(critical: boolean, type: number, body: Uint8Array = Buffer.alloc(0)): Buffer {
  if (body.length > 0xffff) throw new RangeError('an NTS-KE record body is at most 65535 bytes');
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt16BE((critical ? 0x8000 : 0) | (type & 0x7fff), 0);
  out.writeUInt16BE(body.length, 2);
  out.set(body, 4);
  return out;
}

/** The client's request: NTPv4 next protocol, AES-SIV-CMAC-256, End of Message (all critical). */
export function encodeClientRequest(): Buffer {
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  return Buffer.concat([
    encodeRecord(true, recordTypes.nextProtocol, u16(NTP_PROTOCOL_ID)),
    encodeRecord(true, recordTypes.aead, u16(AEAD_AES_SIV_CMAC_256)),
    encodeRecord(true, recordTypes.endOfMessage),
  ]);
}

/**
 * Splits `data` into records up to and including End of Message. Returns null while the
 * message is incomplete; throws an NtsKeError for anything malformed (bytes after End of
 * Message, an End of Message with a body).
 */
export function splitRecords(data: Buffer): NtsKeRecord[] | null {
  const records: NtsKeRecord[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const head = data.readUInt16BE(offset);
    const length = data.readUInt16BE(offset + 2);
    if (offset + 4 + length > data.length) return null;
    const record = {
      critical: (head & 0x8000) !== 0,
      type: head & 0x7fff,
      body: data.subarray(offset + 4, offset + 4 + length),
    };
    records.push(record);
    offset += 4 + length;
    if (record.type === recordTypes.endOfMessage) {
      if (length !== 0) throw new NtsKeError('nts_ke_malformed', 'the End of Message record has a body');
      if (offset !== data.length)
        throw new NtsKeError('nts_ke_malformed', `${data.length - offset} bytes follow the End of Message record`);
      return records;
    }
  }
  return null;
}

export interface NtsKeResponse {
  cookies: Buffer[];
  /** From the NTPv4 Server Negotiation record, or null: the NTS-KE host. */
  server: string | null;
  /** From the NTPv4 Port Negotiation record, or null: 123. */
  port: number | null;
  /** Warning codes the server sent (kept for the log). */
  warnings: number[];
}

const errorNames: Record<number, string> = {
  0: 'unrecognized critical record',
  1: 'bad request',
  2: 'internal server error',
};

function u16List(record: NtsKeRecord, what: string): number[] {
  if (record.body.length % 2 !== 0)
    throw new NtsKeError('nts_ke_malformed', `the ${what} record has an odd length (${record.body.length})`);
  const out: number[] = [];
  for (let i = 0; i < record.body.length; i += 2) out.push(record.body.readUInt16BE(i));
  return out;
}

/** Server names we will send NTP to: a host name of letters, digits, "-" and ".", or an IP literal. */
function validServerName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  if (net.isIP(text)) return true;
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/.test(text);
}

/** Reads a complete response (as splitRecords returned it) against RFC 8915 §4. */
export function parseResponse(records: readonly NtsKeRecord[]): NtsKeResponse {
  let protocols: number[] | null = null;
  let aeads: number[] | null = null;
  const cookies: Buffer[] = [];
  let server: string | null = null;
  let port: number | null = null;
  const warnings: number[] = [];
  for (const record of records) {
    switch (record.type) {
      case recordTypes.endOfMessage:
        break;
      case recordTypes.error: {
        if (record.body.length !== 2) throw new NtsKeError('nts_ke_malformed', 'the Error record is not 2 bytes');
        const code = record.body.readUInt16BE(0);
        throw new NtsKeError(
          'nts_ke_server_error',
          `the server answered with error ${code} (${errorNames[code] ?? 'unknown error'})`,
        );
      }
      case recordTypes.warning:
        if (record.body.length !== 2) throw new NtsKeError('nts_ke_malformed', 'the Warning record is not 2 bytes');
        warnings.push(record.body.readUInt16BE(0));
        break;
      case recordTypes.nextProtocol:
        if (protocols !== null) throw new NtsKeError('nts_ke_malformed', 'two Next Protocol records');
        protocols = u16List(record, 'Next Protocol');
        break;
      case recordTypes.aead:
        if (aeads !== null) throw new NtsKeError('nts_ke_malformed', 'two AEAD Algorithm records');
        aeads = u16List(record, 'AEAD Algorithm');
        break;
      case recordTypes.newCookie:
        if (record.body.length === 0 || record.body.length > MAX_COOKIE_BYTES)
          throw new NtsKeError(
            'nts_ke_malformed',
            `a cookie of ${record.body.length} bytes (expected 1 to ${MAX_COOKIE_BYTES})`,
          );
        if (cookies.length < MAX_COOKIES) cookies.push(Buffer.from(record.body));
        break;
      case recordTypes.server: {
        if (server !== null) throw new NtsKeError('nts_ke_malformed', 'two Server Negotiation records');
        const text = record.body.toString('latin1');
        if (!validServerName(text))
          throw new NtsKeError(
            'nts_ke_server_invalid',
            `the server named an NTP server that is not a host name or address (${JSON.stringify(text.slice(0, 64))})`,
          );
        server = text.replace(/\.$/, '');
        break;
      }
      case recordTypes.port:
        if (port !== null) throw new NtsKeError('nts_ke_malformed', 'two Port Negotiation records');
        if (record.body.length !== 2)
          throw new NtsKeError('nts_ke_malformed', 'the Port Negotiation record is not 2 bytes');
        port = record.body.readUInt16BE(0);
        if (port === 0) throw new NtsKeError('nts_ke_server_invalid', 'the server named NTP port 0');
        break;
      default:
        if (record.critical)
          throw new NtsKeError(
            'nts_ke_unknown_critical',
            `the server sent an unknown critical record (type ${record.type})`,
          );
    }
  }
  if (protocols === null || protocols.length !== 1 || protocols[0] !== NTP_PROTOCOL_ID)
    throw new NtsKeError(
      'nts_ke_protocol_unsupported',
      protocols === null
        ? 'the response has no Next Protocol record'
        : `the server did not agree to NTPv4 (protocols: ${protocols.slice(0, 8).join(', ') || 'none'})`,
    );
  if (aeads === null || aeads.length !== 1 || aeads[0] !== AEAD_AES_SIV_CMAC_256)
    throw new NtsKeError(
      'nts_ke_aead_unsupported',
      aeads === null
        ? 'the response has no AEAD Algorithm record'
        : `the server did not agree to AEAD_AES_SIV_CMAC_256 (algorithms: ${aeads.slice(0, 8).join(', ') || 'none'})`,
    );
  if (cookies.length === 0) throw new NtsKeError('nts_ke_no_cookies', 'the server sent no cookie');
  return { cookies, server, port, warnings };
}

/** RFC 8915 §5.1's exporter context: protocol 0x0000, AEAD id, then 0x00 (client to server) or 0x01. */
export function exporterContext(direction: 'c2s' | 's2c', aead = AEAD_AES_SIV_CMAC_256): Buffer {
  const context = Buffer.alloc(5);
  context.writeUInt16BE(NTP_PROTOCOL_ID, 0);
  context.writeUInt16BE(aead, 2);
  context[4] = direction === 'c2s' ? 0 : 1;
  return context;
}

export interface NtsKeOptions {
  host: string;
  port?: number;
  /** Extra trusted CA certificates (PEM), used by Node's own check when no chain evaluator is given. */
  ca?: (string | Buffer)[];
  /** When true, Node's TLS checks the chain at the local time (tests); else the caller evaluates it. */
  verifyNatively?: boolean;
  /** The whole handshake and response; default 5000 ms. */
  timeoutMs?: number;
  /** Where to connect (what measure.ts resolved); default: the host. */
  connectAddress?: string;
}

export interface NtsKeResult extends NtsKeResponse {
  c2s: Buffer;
  s2c: Buffer;
  /** The server's chain (DER, leaf first, as sent). */
  chain: Buffer[];
  /** Each certificate's validity (Unix ms), leaf first. */
  validity: Array<{ subject: string; from: number; to: number }>;
  /** Monotonic ns the handshake took (bench). */
  elapsedNs: bigint;
}

function peerChainOf(socket: TLSSocket): DetailedPeerCertificate[] {
  const out: DetailedPeerCertificate[] = [];
  let cert = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256) && out.length < 16) {
    seen.add(cert.fingerprint256);
    out.push(cert);
    cert = cert.issuerCertificate;
  }
  return out;
}

function describeTlsError(error: NodeJS.ErrnoException, where: string): NtsKeError {
  if (error instanceof NtsKeError) return error;
  const code = error.code ?? '';
  if (/NO_APPLICATION_PROTOCOL/.test(code) || /no application protocol/i.test(error.message))
    return new NtsKeError('nts_ke_no_alpn', `${where} does not speak ${NTS_ALPN}: ${error.message}`);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new NtsKeError('nts_ke_name_mismatch', `the certificate of ${where} is not for that name: ${error.message}`);
  if (/CERT|SELF_SIGNED|UNABLE_TO/.test(code))
    return new NtsKeError('nts_ke_untrusted', `the certificate of ${where} is not trusted: ${error.message}`);
  if (['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code))
    return new NtsKeError('nts_ke_connect_failed', `cannot connect to ${where}: ${code}`);
  return new NtsKeError('nts_ke_tls_failed', `TLS with ${where} failed: ${error.message}`);
}

/** One NTS-KE exchange. Rejects only with an NtsKeError. */
export function performNtsKe(options: NtsKeOptions): Promise<NtsKeResult> {
  const port = options.port ?? DEFAULT_NTS_KE_PORT;
  const timeoutMs = options.timeoutMs ?? 5000;
  const where = net.isIPv6(options.host) ? `[${options.host}]:${port}` : `${options.host}:${port}`;
  const startNs = process.hrtime.bigint();
  return new Promise<NtsKeResult>((resolve, reject) => {
    let settled = false;
    const received: Buffer[] = [];
    let size = 0;
    const socket = tls.connect({
      host: options.connectAddress ?? options.host,
      port,
      servername: net.isIP(options.host) ? undefined : options.host,
      ALPNProtocols: [NTS_ALPN],
      minVersion: 'TLSv1.3',
      ca: options.ca,
      rejectUnauthorized: options.verifyNatively === true,
      // The name is checked below on secureConnect, where its failure gets its own code.
      ...(options.verifyNatively === true ? {} : { checkServerIdentity: () => undefined }),
    });
    const finish = (error: NtsKeError | null, result?: NtsKeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(result!);
    };
    const timer = setTimeout(
      () => finish(new NtsKeError('nts_ke_timeout', `${where} did not complete NTS-KE within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (error) => finish(describeTlsError(error, where)));
    socket.on('secureConnect', () => {
      if (socket.alpnProtocol !== NTS_ALPN) {
        finish(new NtsKeError('nts_ke_no_alpn', `${where} did not agree to ALPN ${NTS_ALPN}`));
        return;
      }
      const leaf = socket.getPeerCertificate(true);
      if (!options.verifyNatively) {
        const mismatch = leaf && leaf.raw ? tls.checkServerIdentity(options.host, leaf) : new Error('no certificate');
        if (mismatch) {
          finish(
            new NtsKeError(
              'nts_ke_name_mismatch',
              `the certificate of ${where} is not for ${options.host}: ${mismatch.message}`,
            ),
          );
          return;
        }
      }
      socket.write(encodeClientRequest());
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        finish(new NtsKeError('nts_ke_too_large', `${where} sent more than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      received.push(chunk);
      let records: NtsKeRecord[] | null;
      let response: NtsKeResponse;
      try {
        records = splitRecords(Buffer.concat(received));
        if (records === null) return;
        response = parseResponse(records);
      } catch (error) {
        finish(error instanceof NtsKeError ? error : new NtsKeError('nts_ke_malformed', (error as Error).message));
        return;
      }
      let c2s: Buffer;
      let s2c: Buffer;
      try {
        c2s = socket.exportKeyingMaterial(KEY_LENGTH, EXPORTER_LABEL, exporterContext('c2s'));
        s2c = socket.exportKeyingMaterial(KEY_LENGTH, EXPORTER_LABEL, exporterContext('s2c'));
      } catch (error) {
        finish(
          new NtsKeError('nts_ke_tls_failed', `cannot export keys from the TLS session: ${(error as Error).message}`),
        );
        return;
      }
      const peer = peerChainOf(socket);
      finish(null, {
        ...response,
        c2s,
        s2c,
        chain: peer.map((c) => c.raw),
        validity: peer.map((c) => ({
          subject: String(c.subject?.CN ?? 'a certificate').slice(0, 128),
          from: Date.parse(c.valid_from),
          to: Date.parse(c.valid_to),
        })),
        elapsedNs: process.hrtime.bigint() - startNs,
      });
    });
    socket.on('end', () =>
      finish(new NtsKeError('nts_ke_malformed', `${where} closed the connection before End of Message`)),
    );
  });
}

/** A random 32-byte Unique Identifier (RFC 8915 §5.3). */
export function newUniqueIdentifier(): Buffer {
  return randomBytes(32);
}
