// One NTS server (RFC 8915) as a time source: NTS-KE for keys and cookies (nts-ke.ts), then
// NTS-protected NTP requests, each reply authenticated (nts-packet.ts) before its header is
// checked like any NTP reply (ntp-packet.ts) and its offset taken. Timing as in ntp-source.ts:
// T1 is the wall clock read right before sending, T4 is T1 plus monotonic elapsed time.
//
// Cookies: up to eight are kept; each request spends one and asks, with placeholders, for as
// many as bring the store back to eight; each authenticated reply's cookies are added. NTS-KE
// runs again when no cookie is left or the server answers Kiss-o'-Death NTSN (it no longer
// knows our cookies: restarted with new keys) and no authenticated reply follows within the
// request's timeout (RFC 8915 §5.7), at most once more per measurement.
//
// Trust: the chain the NTS-KE server sent is evaluated by `verifyChain` (the trust capability,
// as for HTTPS time) at the server's time: the time of the first authenticated reply of the
// session, so a skewed local clock cannot make a valid server look expired. Until then nothing
// from the session is reported as a sample. When no reply authenticates, the chain is evaluated
// at the local time so that an untrusted server is named as such rather than as a timeout.
import dgram from 'node:dgram';
import path from 'node:path';
import { wallClock } from '../../native/clock.js';
import { isUnsafePath, readSafeFile } from '../fs-safety.js';
import type { NtpSampleCode, SourceFailureCode } from './codes.js';
import type { ChainVerdict, VerifyChain } from './https-time.js';
import { evaluateExchange, parseServerReply, type NtpReply } from './ntp-packet.js';
import { bestSample, DEFAULT_NTP_PORT, formatAddress, parseServerAddress, resolve, sameAddress } from './ntp-source.js';
import { DEFAULT_NTS_KE_PORT, MAX_COOKIES, NtsKeError, performNtsKe, type NtsKeResult } from './nts-ke.js';
import { KissState } from './kiss-state.js';
import { encodeNtsRequest, verifyNtsReply } from './nts-packet.js';
import type { SourceFailure, SourceMeasurement } from './types.js';

export interface NtsSourceOptions {
  host: string;
  /** NTS-KE port, default 4460. */
  port?: number;
  /** Requests per measurement. Default 4. */
  samples?: number;
  /** How long to wait for each reply. Default 1000 ms. */
  timeoutMs?: number;
  sampleSpacingMs?: number;
  /** The whole NTS-KE exchange. Default 5000 ms. */
  keTimeoutMs?: number;
  /** Evaluates the NTS-KE chain at a time; without it Node's TLS checks it at the local time against `ca`. */
  verifyChain?: VerifyChain;
  /** Extra CA certificates (PEM) for Node's own check (when no verifyChain). */
  ca?: (string | Buffer)[];
  /**
   * The CA file `verifyChain` reads (HTTPSTimeCAFile, `--ca`): checked before each NTS-KE like
   * the HTTPS sources' (agent/fs-safety.ts): a file another user could write or link would let
   * them vouch for their own server, and move the clock.
   */
  caFile?: string;
  onRejected?: (reason: string, code: NtpSampleCode | SourceFailureCode) => void;
}

/** "host", "host:port", "[v6]:port" or a bare IPv6 address; the port defaults to 4460 (NTS-KE). */
export function parseNtsServerAddress(text: string): { host: string; port: number } {
  const parsed = parseServerAddress(text);
  const trimmed = text.trim();
  const hasPort = trimmed.startsWith('[') ? /\]:\d+$/.test(trimmed) : trimmed.split(':').length === 2;
  return hasPort ? parsed : { host: parsed.host, port: DEFAULT_NTS_KE_PORT };
}

/** HTTPSTimeCAFile holds a few PEM certificates; anything larger is refused (as https-time.ts). */
const caFileMaxBytes = 1 << 20;

interface Session {
  ke: NtsKeResult;
  cookies: Buffer[];
  ntpHost: string;
  ntpPort: number;
  /** The chain's verdict once evaluated at the server's time; null before. */
  verdict: ChainVerdict | null;
}

interface Taken {
  reply: NtpReply;
  offsetMs: number;
  delayMs: number;
  uncertaintyMs: number;
  serverMs: number;
}

type Outcome =
  | { ok: true; taken: Taken; cookies: Buffer[] }
  | {
      ok: false;
      code: NtpSampleCode | SourceFailureCode;
      reason: string;
      kissCode: string | null;
      /** Already reported through onRejected (a refused datagram, then the timeout). */
      reported?: boolean;
    };

export class NtsSource {
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly samples: number;
  private readonly timeoutMs: number;
  private readonly sampleSpacingMs: number;
  private readonly keTimeoutMs: number;
  private session: Session | null = null;
  /**
   * What an authenticated Kiss-o'-Death asked, as for ntp-source.ts: DENY or RSTR retire the
   * source until reconfigured; RATE backs off 64 s, doubling up to 64×. An unauthenticated kiss
   * is never obeyed (RFC 8915 §5.7): replies authenticate before their header is read.
   */
  private readonly kiss = new KissState();
  /** A failure prepare() met (NTS-KE), reported by the next measure(). */
  private prepared: SourceFailure | null = null;
  /** NTS-KE handshakes done so far, and the last one's duration (tests, bench). */
  keCount = 0;
  lastKeMs: number | null = null;

  constructor(private readonly options: NtsSourceOptions) {
    this.host = options.host;
    this.port = options.port ?? DEFAULT_NTS_KE_PORT;
    this.samples = options.samples ?? 4;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.sampleSpacingMs = options.sampleSpacingMs ?? 0;
    this.keTimeoutMs = options.keTimeoutMs ?? 5000;
    if (!Number.isInteger(this.samples) || this.samples < 1 || this.samples > 32)
      throw new RangeError(`samples must be an integer from 1 to 32, got ${this.samples}`);
    this.address = formatAddress(this.host, this.port);
  }

  /** Cookies left in the current session (tests). */
  get cookiesLeft(): number {
    return this.session?.cookies.length ?? 0;
  }

  get serverPort(): number {
    return this.port;
  }

  /**
   * The NTP server this source will ask (address and port), after an NTS-KE when it holds no
   * cookie: measure.ts de-duplicates sources by the peer they measure, so that an NTS source and
   * a plain NTP entry for the same server are one source, never two votes. Null when there is
   * nothing to ask this round (the failure is kept for measure() to report).
   */
  async prepare(): Promise<{ address: string; family: 4 | 6; port: number } | null> {
    this.prepared = null;
    if (this.kiss.holdsBack()) return null;
    try {
      let session = this.session;
      if (session === null || session.cookies.length === 0) {
        let keAddress: { address: string; family: 4 | 6 };
        try {
          keAddress = await resolve(this.host);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          this.prepared = this.failure('dns', `cannot resolve NTS-KE server ${this.host}: ${code}`, null);
          return null;
        }
        const made = await this.keyExchange(keAddress);
        if (!('ke' in made)) {
          this.prepared = made;
          return null;
        }
        session = made;
      }
      const target = await resolve(session.ntpHost);
      return { ...target, port: session.ntpPort };
    } catch {
      return null; // measure() meets the same problem and reports it
    }
  }

  /** Never rejects: every failure is a SourceFailure. */
  async measure(keAddress?: { address: string; family: 4 | 6 }): Promise<SourceMeasurement> {
    const prepared = this.prepared;
    this.prepared = null;
    if (prepared) return prepared;
    try {
      return await this.measureOnce(keAddress);
    } catch (error) {
      return this.failure('internal_error', `NTS measurement failed unexpectedly: ${(error as Error).message}`, null);
    }
  }

  private async keyExchange(keAddress?: { address: string }): Promise<Session | SourceFailure> {
    this.session = null;
    if (this.options.caFile !== undefined) {
      const caFile = this.options.caFile;
      try {
        if (!path.isAbsolute(caFile)) throw new Error('not an absolute path');
        readSafeFile(caFile, { maxBytes: caFileMaxBytes });
      } catch (err) {
        if (isUnsafePath(err) && err.code !== 'missing')
          return this.failure('ca_file_unsafe', `cannot use CA file ${err.message.replace(/^the file /, '')}`, null);
        const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        return this.failure('ca_file_unreadable', `cannot read CA file ${caFile}: ${why}`, null);
      }
    }
    let ke: NtsKeResult;
    try {
      ke = await performNtsKe({
        host: this.host,
        port: this.port,
        ca: this.options.ca,
        verifyNatively: this.options.verifyChain === undefined,
        timeoutMs: this.keTimeoutMs,
        connectAddress: keAddress?.address,
      });
    } catch (error) {
      if (error instanceof NtsKeError)
        return this.failure(error.code, `NTS-KE with ${this.address}: ${error.message}`, null);
      throw error;
    }
    this.keCount++;
    this.lastKeMs = Number(ke.elapsedNs) / 1e6;
    const session: Session = {
      ke,
      cookies: ke.cookies,
      ntpHost: ke.server ?? keAddress?.address ?? this.host,
      ntpPort: ke.port ?? DEFAULT_NTP_PORT,
      verdict: this.options.verifyChain === undefined ? { ok: true } : null,
    };
    this.session = session;
    return session;
  }

  private async measureOnce(keAddress?: { address: string; family: 4 | 6 }): Promise<SourceMeasurement> {
    const held = this.kiss.holdsBack();
    if (held) return this.failure(held.code, held.reason, held.kissCode);
    let session = this.session;
    let keyExchanges = 0;
    if (session === null || session.cookies.length === 0) {
      const made = await this.keyExchange(keAddress);
      keyExchanges++;
      if (!('ke' in made)) return made;
      session = made;
    }

    const taken: Taken[] = [];
    let worst: Extract<Outcome, { ok: false }> | null = null;
    let sent = 0;
    let channel: Channel | null = null;
    try {
      for (let i = 0; i < this.samples; i++) {
        if (i > 0 && this.sampleSpacingMs > 0) await new Promise((r) => setTimeout(r, this.sampleSpacingMs));
        if (session.cookies.length === 0) {
          if (keyExchanges >= 2) break;
          const made = await this.keyExchange(keAddress);
          keyExchanges++;
          if (!('ke' in made)) {
            worst = { ok: false, code: made.code, reason: made.error, kissCode: null };
            break;
          }
          session = made;
        }
        let target: { address: string; family: 4 | 6 };
        try {
          target = await resolve(session.ntpHost);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          return this.failure('dns', `cannot resolve the NTS server's NTP host ${session.ntpHost}: ${code}`, null);
        }
        if (channel && !channel.reaches(target.address, session.ntpPort)) {
          channel.close();
          channel = null;
        }
        if (!channel) {
          channel = new Channel(target, session.ntpPort);
          await channel.open();
        }
        sent++;
        const outcome = await this.sample(session, channel);
        if (outcome.ok) {
          session.cookies.push(...outcome.cookies.slice(0, MAX_COOKIES - session.cookies.length));
          if (session.verdict === null) {
            // The session's first authenticated reply: its chain, at the server's time.
            session.verdict = await this.evaluate(session, outcome.taken.serverMs);
            if (!session.verdict.ok) {
              this.session = null;
              return this.failure(
                'nts_ke_untrusted',
                `the NTS-KE certificate of ${this.address} is not trusted at the server's time: ${session.verdict.reason}`,
                null,
              );
            }
          }
          taken.push(outcome.taken);
          continue;
        }
        if (!outcome.reported) this.options.onRejected?.(outcome.reason, outcome.code);
        worst = outcome;
        if (outcome.code === 'kiss_ntsn') {
          // The server forgot our cookies (a restart with new keys): a new NTS-KE, then go on.
          session.cookies = [];
          this.session = null;
          continue;
        }
        if (outcome.kissCode !== null) {
          this.kiss.obey(outcome.kissCode, outcome.reason);
          break;
        }
      }
    } finally {
      channel?.close();
    }

    if (taken.length === 0 && session.verdict === null) {
      // No reply authenticated: the chain at our own time, so that an untrusted server is named
      // as such rather than as a timeout. Passing here proves nothing: it is judged again at
      // the server's time once a reply authenticates.
      const local = await this.evaluate(session, wallClock());
      if (!local.ok) {
        this.session = null;
        return this.failure(
          'nts_ke_untrusted',
          `the NTS-KE certificate of ${this.address} is not trusted: ${local.reason}`,
          null,
        );
      }
    }
    if (taken.length === 0) {
      const why = worst ? worst.reason : 'no reply';
      return this.failure(
        worst?.code ?? 'timeout',
        `no authenticated reply from ${this.address} to ${sent} request${sent === 1 ? '' : 's'}: ${why}`,
        worst?.kissCode ?? null,
      );
    }
    this.kiss.answered(worst?.kissCode);
    return bestSample('nts', this.address, taken, sent);
  }

  private async evaluate(session: Session, atMs: number): Promise<ChainVerdict> {
    if (!this.options.verifyChain) return { ok: true }; // Node's TLS checked it at the handshake
    for (const cert of session.ke.validity) {
      if (!(atMs >= cert.from && atMs <= cert.to))
        return {
          ok: false,
          reason: `${new Date(atMs).toISOString()} lies outside the validity of ${cert.subject}`,
        };
    }
    try {
      return await this.options.verifyChain!(session.ke.chain, atMs, this.host);
    } catch (error) {
      return { ok: false, reason: `chain evaluation failed: ${(error as Error).message}` };
    }
  }

  /** One request and its reply, on the measurement's socket. */
  private sample(session: Session, channel: Channel): Promise<Outcome> {
    const cookie = session.cookies.shift()!;
    const placeholders = MAX_COOKIES - session.cookies.length - 1;
    const request = encodeNtsRequest(session.ke.c2s, cookie, placeholders);
    const target = channel.target;
    return new Promise<Outcome>((settleOuter) => {
      let strongest: Extract<Outcome, { ok: false }> | null = null;
      let done = false;
      const settle = (outcome: Outcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        channel.handler = null;
        settleOuter(outcome);
      };
      const timer = setTimeout(() => {
        settle(
          strongest
            ? {
                ...strongest,
                reason: `${strongest.reason}, and no valid reply came within ${this.timeoutMs} ms`,
                reported: true,
              }
            : { ok: false, code: 'timeout', reason: `no reply within ${this.timeoutMs} ms`, kissCode: null },
        );
      }, this.timeoutMs);
      const note = (code: Extract<Outcome, { ok: false }>['code'], reason: string): void => {
        this.options.onRejected?.(reason, code);
        // An NTS NAK already seen stays the outcome: it is what makes the source run NTS-KE again.
        if (strongest?.code !== 'kiss_ntsn') strongest = { ok: false, code, reason, kissCode: null };
      };
      if (channel.error) {
        settle({ ok: false, code: 'socket_error', reason: `socket error: ${channel.error.message}`, kissCode: null });
        return;
      }
      channel.onError = (error) =>
        settle({ ok: false, code: 'socket_error', reason: `socket error: ${error.message}`, kissCode: null });
      channel.handler = (message, remote, receivedNs) => {
        if (!sameAddress(remote.address, target.address) || remote.port !== session.ntpPort) {
          note(
            'stray_datagram',
            `ignored a datagram from ${formatAddress(remote.address, remote.port)}, which is not the server`,
          );
          return;
        }
        // Authenticate first: nothing in the header is believed before. A reply that fails may
        // be forged by anyone on the path, so it never ends the request: the genuine one may follow.
        const nts = verifyNtsReply(message, request.uniqueIdentifier, session.ke.s2c);
        if (!nts.ok) {
          if (nts.code === 'kiss_ntsn') {
            const header = parseServerReply(message, request.transmit);
            if (!header.ok && header.kissCode === 'NTSN') {
              // RFC 8915 §5.7: on an NTS NAK the client SHOULD wait for a valid NTS-protected
              // response before it runs NTS-KE again. The NAK is unauthenticated by design and
              // its Unique Identifier is visible on the path, so it does not end the request: a
              // genuine reply that follows within the timeout is taken; only when none comes is
              // the outcome kiss_ntsn, and the source re-keys (measureOnce).
              this.options.onRejected?.(nts.reason, 'kiss_ntsn');
              strongest = { ok: false, code: 'kiss_ntsn', reason: nts.reason, kissCode: 'NTSN' };
              return;
            }
            note('origin_mismatch', 'an NTSN reply that does not echo our request');
            return;
          }
          note(nts.code, nts.reason);
          return;
        }
        const header = parseServerReply(message, request.transmit);
        if (!header.ok) {
          if (header.code === 'origin_mismatch') {
            note(header.code, header.reason);
            return;
          }
          settle({ ok: false, code: header.code, reason: header.reason, kissCode: header.kissCode });
          return;
        }
        const t4Ms = t1Ms + Number(receivedNs - sentNs) / 1e6;
        const exchange = evaluateExchange(header.reply, t1Ms, t4Ms);
        if (!exchange.ok) {
          settle({ ok: false, code: exchange.code, reason: exchange.reason, kissCode: null });
          return;
        }
        settle({
          ok: true,
          cookies: nts.cookies,
          taken: {
            reply: header.reply,
            offsetMs: exchange.offsetMs,
            delayMs: exchange.delayMs,
            uncertaintyMs: exchange.uncertaintyMs,
            serverMs: (t1Ms + t4Ms) / 2 + exchange.offsetMs,
          },
        });
      };
      // Read both clocks as late as possible before the datagram leaves.
      const t1Ms = wallClock();
      const sentNs = process.hrtime.bigint();
      channel.socket.send(request.bytes, session.ntpPort, target.address, (error) => {
        if (error)
          settle({
            ok: false,
            code: 'send_failed',
            reason: `cannot send to ${target.address}: ${error.message}`,
            kissCode: null,
          });
      });
    });
  }

  private failure(code: SourceFailureCode, error: string, kissCode: string | null): SourceFailure {
    return { ok: false, kind: 'nts', address: this.address, code, error, kissCode, measuredAtMs: wallClock() };
  }
}

/**
 * One unconnected UDP socket for one measurement's requests to one NTP server (as ntp-source.ts):
 * a datagram from anyone else is seen and reported, and the socket's first-use costs fall on
 * the first request only.
 */
class Channel {
  readonly socket: dgram.Socket;
  handler: ((message: Buffer, remote: dgram.RemoteInfo, receivedNs: bigint) => void) | null = null;
  onError: ((error: Error) => void) | null = null;
  error: Error | null = null;

  constructor(
    readonly target: { address: string; family: 4 | 6 },
    private readonly port: number,
  ) {
    this.socket = dgram.createSocket(target.family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (message, remote) => this.handler?.(message, remote, process.hrtime.bigint()));
    this.socket.on('error', (error) => {
      this.error = error;
      this.onError?.(error);
    });
  }

  reaches(address: string, port: number): boolean {
    return sameAddress(address, this.target.address) && port === this.port;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.socket.once('error', onError);
      this.socket.bind(0, () => {
        this.socket.off('error', onError);
        resolve();
      });
    });
  }

  close(): void {
    this.handler = null;
    try {
      this.socket.close();
    } catch {
      // never bound or already closed
    }
  }
}
