// HTTPS time: the `Date` header (or a JSON time field) of a configured URL, typically the MDM
// server, which a device must reach anyway.
//
// Timing: the wall clock is read once when the measurement starts and every later instant is
// that reading plus monotonic elapsed time (process.hrtime), so a clock step during the request
// cannot corrupt it. The server's clock was read somewhere between the moment the TLS connection
// was up (the request is written right after) and the moment the response headers arrived.
// A `Date` header is truncated to whole seconds, so the server's time at that moment lies in
// [Date, Date + 1 s): we centre on Date + 0.5 s, and the half-width is RTT/2 + 0.5 s.
//
// Trust: Node's TLS verifies the chain against its bundled roots plus the configured CA file —
// at the *local* time, so a badly skewed local clock can make a valid server look expired.
// The trust capability supplies a native evaluator that checks the chain at the server-reported
// time; it plugs in through `verifyChain`, which switches Node's verification off and calls the
// evaluator with the chain and the server's time instead. Either way the server's time must lie
// inside every certificate's validity window.
import path from 'node:path';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import tls, { type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { wallClock } from '../../native/clock.js';
import { isUnsafePath, readSafeFile } from '../fs-safety.js';
import type { SourceFailureCode } from './codes.js';
import type { SourceFailure, SourceMeasurement } from './types.js';

/** HTTPSTimeCAFile holds a few PEM certificates; anything larger is refused. */
const caFileMaxBytes = 1 << 20;

export type ChainVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Evaluates the server's chain (DER, leaf first, as sent) for `hostname` at `atTimeMs`, the
 * server-reported time. Returns a reason when it is not trusted.
 */
export type VerifyChain = (
  certificates: Buffer[],
  atTimeMs: number,
  hostname: string,
) => ChainVerdict | Promise<ChainVerdict>;

export interface HttpsTimeOptions {
  url: string;
  /** Extra trusted CA certificates (PEM text), added to Node's bundled roots. */
  ca?: string | Buffer;
  /** A PEM file of extra trusted CA certificates (read at each measurement). */
  caFile?: string;
  /** Whole measurement, default 5000 ms. */
  timeoutMs?: number;
  /**
   * Dotted path of a JSON field holding the time (ISO 8601 string, or Unix seconds/ms number);
   * when set, a GET is made and the field is used instead of the `Date` header.
   */
  jsonField?: string;
  verifyChain?: VerifyChain;
  /**
   * The addresses the URL's host resolved to when measure.ts de-duplicated the sources: the
   * connection goes only to one of these, so the server measured is the peer that was counted.
   */
  peerAddresses?: readonly PeerAddress[];
}

export interface PeerAddress {
  address: string;
  family: 4 | 6;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MAX_JSON_BYTES = 64 * 1024;

export type ParsedDate = { ok: true; ms: number } | { ok: false; reason: string };

function fromParts(
  weekday: number,
  day: number,
  month: number,
  year: number,
  h: number,
  m: number,
  s: number,
): ParsedDate {
  if (h > 23 || m > 59 || s > 60) return { ok: false, reason: 'time of day out of range' };
  const ms = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  const d = new Date(ms);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month) return { ok: false, reason: 'no such day in that month' };
  if (d.getUTCDay() !== weekday) return { ok: false, reason: 'weekday does not match the date' };
  return { ok: true, ms };
}

/**
 * Parses an HTTP date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms that recipients must accept. Anything else is refused with a reason; Date.parse is not
 * used because it accepts almost anything.
 */
export function parseHttpDate(text: string): ParsedDate {
  const months = MONTHS.join('|');
  let m = new RegExp(`^(${DAYS.join('|')}), (\\d{2}) (${months}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`).exec(text);
  if (m) return fromParts(DAYS.indexOf(m[1]!), +m[2]!, MONTHS.indexOf(m[3]!), +m[4]!, +m[5]!, +m[6]!, +m[7]!);
  m = new RegExp(`^(${LONG_DAYS.join('|')}), (\\d{2})-(${months})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`).exec(text);
  if (m) {
    // Two-digit years: RFC 9110 says a date more than 50 years ahead is in the past century.
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + +m[4]!;
    if (year > thisYear + 50) year -= 100;
    return fromParts(LONG_DAYS.indexOf(m[1]!), +m[2]!, MONTHS.indexOf(m[3]!), year, +m[5]!, +m[6]!, +m[7]!);
  }
  m = new RegExp(`^(${DAYS.join('|')}) (${months}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`).exec(text);
  if (m) return fromParts(DAYS.indexOf(m[1]!), +m[3]!.trim(), MONTHS.indexOf(m[2]!), +m[7]!, +m[4]!, +m[5]!, +m[6]!);
  return { ok: false, reason: 'not an HTTP date (expected e.g. "Sun, 06 Nov 1994 08:49:37 GMT")' };
}

/** A JSON time value: the time and its resolution (ms). */
export function parseJsonTime(
  value: unknown,
): { ok: true; ms: number; resolutionMs: number } | { ok: false; reason: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0)
      return { ok: false, reason: `time value ${value} is not a positive number` };
    // Below 1e11 it is seconds (that is year 5138 in seconds, 1973 in milliseconds).
    if (value < 1e11) return { ok: true, ms: value * 1000, resolutionMs: Number.isInteger(value) ? 1000 : 1 };
    return { ok: true, ms: value, resolutionMs: 1 };
  }
  if (typeof value === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
    if (!m)
      return { ok: false, reason: `time value "${value.slice(0, 60)}" is not an ISO 8601 date-time with a time zone` };
    const ms = Date.parse(value.replace(' ', 'T'));
    if (!Number.isFinite(ms)) return { ok: false, reason: `time value "${value.slice(0, 60)}" is not a valid date` };
    const fraction = m[7] ? m[7].length - 1 : 0;
    return { ok: true, ms, resolutionMs: Math.max(1, 1000 / 10 ** fraction) };
  }
  return { ok: false, reason: `time field is ${value === null ? 'null' : typeof value}, not a string or number` };
}

function fieldAt(json: unknown, dotted: string): unknown {
  let node = json;
  for (const key of dotted.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

interface Exchange {
  response: IncomingMessage;
  /** Monotonic ns: TLS up (request about to be written), response headers in. */
  sentNs: bigint;
  receivedNs: bigint;
  chain: Buffer[];
  peerChain: DetailedPeerCertificate[];
  body: string | null;
}

function peerChainOf(socket: TLSSocket): DetailedPeerCertificate[] {
  const out: DetailedPeerCertificate[] = [];
  let cert = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(cert);
    cert = cert.issuerCertificate;
  }
  return out;
}

/** An error of our own making while requesting, with its code (a timeout, an oversized body). */
class RequestError extends Error {
  constructor(
    readonly reasonCode: SourceFailureCode,
    message: string,
  ) {
    super(message);
  }
}

function describeNetworkError(err: NodeJS.ErrnoException, url: URL): { code: SourceFailureCode; error: string } {
  const where = `${url.hostname}:${url.port || 443}`;
  const tlsCodes = /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ERR_TLS|SSL/;
  if (err.code && tlsCodes.test(err.code))
    return { code: 'tls_untrusted', error: `TLS certificate of ${where} is not trusted: ${err.message}` };
  if (err.code === 'ECONNREFUSED') return { code: 'connection_refused', error: `connection to ${where} refused` };
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
    return { code: 'dns', error: `cannot resolve ${url.hostname}: ${err.code}` };
  const unreachable = ['ENETUNREACH', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'];
  const error = `request to ${where} failed: ${err.message}`;
  if (err instanceof RequestError) return { code: err.reasonCode, error };
  if (err.code && unreachable.includes(err.code)) return { code: 'network_unreachable', error };
  return { code: 'request_failed', error };
}

function request(
  url: URL,
  method: 'HEAD' | 'GET',
  ca: (string | Buffer)[] | undefined,
  verifyNatively: boolean,
  deadlineNs: bigint,
  readBody: boolean,
  peerAddresses: readonly PeerAddress[] | undefined,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const remainingMs = Math.max(1, Number(deadlineNs - process.hrtime.bigint()) / 1e6);
    let sentNs: bigint | null = null;
    const req = https.request(url, {
      method,
      agent: false, // a fresh connection each time: the timing must not include a reused socket's history
      ca,
      rejectUnauthorized: verifyNatively,
      headers: {
        'user-agent': 'TrustGuard clock check',
        accept: readBody ? 'application/json' : '*/*',
        'cache-control': 'no-cache',
      },
      timeout: remainingMs,
      ...(peerAddresses && peerAddresses.length > 0 ? { lookup: pinnedLookup(peerAddresses) } : {}),
    });
    const timer = setTimeout(
      () => req.destroy(new RequestError('timeout', 'no response within the time limit')),
      remainingMs,
    );
    req.on('socket', (socket: TLSSocket) => {
      socket.once('secureConnect', () => {
        sentNs = process.hrtime.bigint();
      });
    });
    req.on('timeout', () => req.destroy(new RequestError('timeout', 'no response within the time limit')));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (response) => {
      const receivedNs = process.hrtime.bigint();
      const socket = response.socket as TLSSocket;
      const peerChain = peerChainOf(socket);
      const base = {
        response,
        sentNs: sentNs ?? receivedNs,
        receivedNs,
        chain: peerChain.map((c) => c.raw),
        peerChain,
      };
      if (!readBody) {
        clearTimeout(timer);
        response.resume();
        req.destroy();
        resolve({ ...base, body: null });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JSON_BYTES)
          req.destroy(new RequestError('body_too_large', `response body larger than ${MAX_JSON_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ ...base, body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end();
  });
}

/** A `lookup` for the request that answers with the addresses already resolved (no second DNS query). */
function pinnedLookup(addresses: readonly PeerAddress[]) {
  return (
    _hostname: string,
    options: { all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | PeerAddress[], family?: number) => void,
  ): void => {
    if (options?.all)
      callback(
        null,
        addresses.map((a) => ({ ...a })),
      );
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}

/** The host (IPv6 without brackets) and port an https URL connects to, or null for anything else. */
export function httpsPeer(text: string): { host: string; port: number } | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.hostname === '') return null;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 443 : Number(url.port) };
}

/** One HTTPS URL as a time source. Mirrors NtpSource: `measure()` never rejects. */
export class HttpsTimeSource {
  readonly address: string;
  constructor(private readonly options: HttpsTimeOptions) {
    this.address = options.url;
  }
  /** `peerAddresses`: what the host resolved to when the caller de-duplicated the sources. */
  measure(peerAddresses?: readonly PeerAddress[]): Promise<SourceMeasurement> {
    return measureHttpsTime(peerAddresses ? { ...this.options, peerAddresses } : this.options);
  }
}

export async function measureHttpsTime(options: HttpsTimeOptions): Promise<SourceMeasurement> {
  const anchorWallMs = wallClock();
  const anchorNs = process.hrtime.bigint();
  const wallAt = (ns: bigint) => anchorWallMs + Number(ns - anchorNs) / 1e6;
  const fail = (code: SourceFailureCode, error: string): SourceFailure => ({
    ok: false,
    kind: 'https',
    address: options.url,
    code,
    error,
    kissCode: null,
    measuredAtMs: wallAt(process.hrtime.bigint()),
  });
  try {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      return fail('url_invalid', `"${options.url}" is not a URL`);
    }
    if (url.protocol !== 'https:') return fail('url_invalid', `"${options.url}" is not an https URL`);
    const timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      return fail('options_invalid', `timeout must be a positive number of ms, got ${timeoutMs}`);
    const deadlineNs = anchorNs + BigInt(Math.round(timeoutMs * 1e6));

    let ca: (string | Buffer)[] | undefined;
    if (options.ca !== undefined || options.caFile !== undefined) {
      ca = [...tls.rootCertificates];
      if (options.ca !== undefined) ca.push(options.ca);
      if (options.caFile !== undefined) {
        // Root relies on it: a CA file another user could write or link would let them vouch
        // for their own server, and move the clock (agent/fs-safety.ts).
        try {
          if (!path.isAbsolute(options.caFile)) throw new Error('not an absolute path');
          ca.push(readSafeFile(options.caFile, { maxBytes: caFileMaxBytes }));
        } catch (err) {
          if (isUnsafePath(err) && err.code !== 'missing')
            return fail('ca_file_unsafe', `cannot use CA file ${err.message.replace(/^the file /, '')}`);
          return fail(
            'ca_file_unreadable',
            `cannot read CA file ${options.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          );
        }
      }
    }
    const verifyNatively = options.verifyChain === undefined;

    let exchange: Exchange;
    let sent = 1;
    try {
      if (options.jsonField !== undefined) {
        exchange = await request(url, 'GET', ca, verifyNatively, deadlineNs, true, options.peerAddresses);
      } else {
        exchange = await request(url, 'HEAD', ca, verifyNatively, deadlineNs, false, options.peerAddresses);
        // Some servers refuse HEAD; GET costs a body we do not read.
        if (exchange.response.statusCode === 405 || exchange.response.statusCode === 501) {
          sent = 2;
          exchange = await request(url, 'GET', ca, verifyNatively, deadlineNs, false, options.peerAddresses);
        }
      }
    } catch (err) {
      const { code, error } = describeNetworkError(err as NodeJS.ErrnoException, url);
      return fail(code, error);
    }

    const rttMs = Number(exchange.receivedNs - exchange.sentNs) / 1e6;
    const midpointMs = wallAt(exchange.sentNs + (exchange.receivedNs - exchange.sentNs) / 2n);

    let serverMs: number;
    let halfResolutionMs: number;
    if (options.jsonField !== undefined) {
      const status = exchange.response.statusCode ?? 0;
      if (status < 200 || status > 299)
        return fail('http_status', `server answered HTTP ${status} to GET; expected 2xx with a JSON body`);
      let json: unknown;
      try {
        json = JSON.parse(exchange.body ?? '');
      } catch {
        return fail('json_invalid', 'response body is not JSON');
      }
      const value = fieldAt(json, options.jsonField);
      if (value === undefined) return fail('json_field_missing', `JSON response has no field "${options.jsonField}"`);
      const parsed = parseJsonTime(value);
      if (!parsed.ok) return fail('json_time_invalid', `JSON field "${options.jsonField}": ${parsed.reason}`);
      // The value may be truncated or rounded: centre on it and allow a whole resolution step.
      serverMs = parsed.ms;
      halfResolutionMs = parsed.resolutionMs;
    } else {
      const header = exchange.response.headers.date;
      if (header === undefined || header === '') return fail('date_missing', 'server sent no Date header');
      const parsed = parseHttpDate(header);
      if (!parsed.ok)
        return fail('date_malformed', `server's Date header "${header.slice(0, 80)}" is malformed: ${parsed.reason}`);
      serverMs = parsed.ms + 500;
      halfResolutionMs = 500;
    }

    // The server's own time must lie inside every certificate's validity window.
    for (const cert of exchange.peerChain) {
      const from = Date.parse(cert.valid_from);
      const to = Date.parse(cert.valid_to);
      if (!(serverMs >= from && serverMs <= to)) {
        const name = cert.subject?.CN ?? 'a certificate';
        return fail(
          'cert_validity',
          `server time ${new Date(serverMs).toISOString()} lies outside the validity of ${name} (${new Date(from).toISOString()} to ${new Date(to).toISOString()})`,
        );
      }
    }
    if (options.verifyChain) {
      let verdict: ChainVerdict;
      try {
        verdict = await options.verifyChain(exchange.chain, serverMs, url.hostname.replace(/^\[|\]$/g, ''));
      } catch (err) {
        verdict = { ok: false, reason: `chain evaluation failed: ${(err as Error).message}` };
      }
      if (!verdict.ok)
        return fail(
          'tls_untrusted',
          `TLS certificate of ${url.host} is not trusted at the server's time: ${verdict.reason}`,
        );
    }

    return {
      ok: true,
      kind: 'https',
      address: options.url,
      offsetMs: serverMs - midpointMs,
      delayMs: rttMs,
      uncertaintyMs: rttMs / 2 + halfResolutionMs,
      stratum: null,
      rootDistanceMs: null,
      samplesSent: sent,
      samplesValid: 1,
      measuredAtMs: wallAt(exchange.receivedNs),
    };
  } catch (err) {
    return fail('internal_error', `HTTPS time measurement failed unexpectedly: ${(err as Error).message}`);
  }
}
