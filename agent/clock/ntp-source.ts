// One configured NTP server as a time source: several sequential samples over UDP, each reply
// validated by ntp-packet.ts, the lowest-delay sample wins.
//
// Timestamps: T1 is the wall clock read once, right before sending; T4 is T1 plus the elapsed
// monotonic time (process.hrtime) from send to receive. So a wall-clock step during an exchange
// cannot corrupt it, and performance.timeOrigin (which drifts from the wall clock) is never used.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { wallClock } from '../../native/clock.js';
import { kissReplyCode, type NtpSampleCode, type SourceFailureCode } from './codes.js';
import { KissState } from './kiss-state.js';
import { encodeClientRequest, validateReply, type NtpReply } from './ntp-packet.js';
import type { SourceFailure, SourceMeasurement, SourceSample } from './types.js';

export const DEFAULT_NTP_PORT = 123;

export interface NtpSourceOptions {
  host: string;
  /** Default 123. */
  port?: number;
  /** Requests per measurement, sent one after another. Default 4. */
  samples?: number;
  /** How long to wait for each reply. Default 1000 ms. */
  timeoutMs?: number;
  /**
   * Pause between the samples of one measurement. Default 0; the daemon uses 2000 ms (chrony's
   * iburst spacing), because servers with rate limits (ntpd `limited`, chrony `ratelimit`)
   * answer a tight burst with Kiss-o'-Death RATE.
   */
  sampleSpacingMs?: number;
  /** First back-off after a Kiss-o'-Death RATE; doubles on each further RATE, up to 64×. Default 64 s. */
  rateBackoffMs?: number;
  /** Called for every datagram or sample that was rejected, with one sentence and its code (for debug logs). */
  onRejected?: (reason: string, code: NtpSampleCode) => void;
  /** Monotonic clock (ns) that times the RATE back-off; process.hrtime.bigint by default. Tests pass their own. */
  backoffClockNs?: () => bigint;
}

const MAX_SAMPLES = 32;

export interface TakenSample {
  reply: NtpReply;
  offsetMs: number;
  delayMs: number;
  uncertaintyMs: number;
}

/**
 * What one measurement of `sent` requests gives: the reply with the least delay of those taken
 * (at least one), and how many were valid.
 */
export function bestSample(
  kind: SourceSample['kind'],
  address: string,
  taken: readonly TakenSample[],
  sent: number,
): SourceSample {
  const best = taken.reduce((a, b) => (b.delayMs < a.delayMs ? b : a));
  return {
    ok: true,
    kind,
    address,
    offsetMs: best.offsetMs,
    delayMs: best.delayMs,
    uncertaintyMs: best.uncertaintyMs,
    stratum: best.reply.stratum,
    rootDistanceMs: best.reply.rootDistanceMs,
    samplesSent: sent,
    samplesValid: taken.length,
    measuredAtMs: wallClock(),
  };
}

type SampleOutcome =
  | { ok: true; sample: TakenSample }
  | {
      ok: false;
      code: NtpSampleCode;
      reason: string;
      kissCode: string | null;
      /** How telling the reason is when all samples fail. */
      weight: number;
    };

// Ranking of failure reasons: a kiss beats a rejected reply, which beats a stray datagram,
// which beats silence.
const WEIGHT_KISS = 4;
const WEIGHT_REJECTED_REPLY = 3;
const WEIGHT_STRAY = 2;
const WEIGHT_TIMEOUT = 1;

export class NtpSource {
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly samples: number;
  private readonly timeoutMs: number;
  private readonly sampleSpacingMs: number;
  private readonly onRejected: ((reason: string, code: NtpSampleCode) => void) | undefined;
  /** What the server's Kiss-o'-Death asked (kiss-state.ts). */
  private readonly kiss: KissState;

  constructor(options: NtpSourceOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('NtpSource needs an options object');
    const {
      host,
      port = DEFAULT_NTP_PORT,
      samples = 4,
      timeoutMs = 1000,
      sampleSpacingMs = 0,
      rateBackoffMs = 64_000,
    } = options;
    if (typeof host !== 'string' || host.trim() === '')
      throw new TypeError('NtpSource host must be a non-empty string');
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new RangeError(`NTP port must be an integer 1–65535, got ${port}`);
    if (!Number.isInteger(samples) || samples < 1 || samples > MAX_SAMPLES) {
      throw new RangeError(`samples must be an integer 1–${MAX_SAMPLES}, got ${samples}`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    if (!Number.isFinite(sampleSpacingMs) || sampleSpacingMs < 0 || sampleSpacingMs > 60_000) {
      throw new RangeError(`sampleSpacingMs must be a number 0–60000, got ${sampleSpacingMs}`);
    }
    if (!Number.isFinite(rateBackoffMs) || rateBackoffMs <= 0)
      throw new RangeError(`rateBackoffMs must be a positive number, got ${rateBackoffMs}`);
    // "[::1]" is accepted as the bracketed form of an IPv6 literal.
    const trimmed = host.trim();
    this.host = /^\[.*\]$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
    this.port = port;
    this.samples = samples;
    this.timeoutMs = timeoutMs;
    this.sampleSpacingMs = sampleSpacingMs;
    this.onRejected = options.onRejected;
    this.kiss = new KissState(rateBackoffMs, options.backoffClockNs);
    this.address = formatAddress(this.host, this.port);
  }

  /** Why this source no longer sends (Kiss-o'-Death DENY or RSTR), or null while it is in use. */
  get retired(): string | null {
    return this.kiss.retired?.reason ?? null;
  }

  /** The server's port. */
  get serverPort(): number {
    return this.port;
  }

  /** The address this round would ask (DNS for a name): measure.ts de-duplicates sources by it. */
  resolveTarget(): Promise<{ address: string; family: 4 | 6 }> {
    return resolve(this.host);
  }

  /**
   * Never rejects: every failure is a SourceFailure. `target`: the address resolveTarget()
   * gave, so that the server asked is the one the caller de-duplicated.
   */
  async measure(target?: { address: string; family: 4 | 6 }): Promise<SourceMeasurement> {
    try {
      return await this.measureOnce(target);
    } catch (error) {
      return this.failure('internal_error', `NTP measurement failed unexpectedly: ${(error as Error).message}`, null);
    }
  }

  private async measureOnce(given?: { address: string; family: 4 | 6 }): Promise<SourceMeasurement> {
    const held = this.kiss.holdsBack();
    if (held) return this.failure(held.code, held.reason, held.kissCode);

    let target: { address: string; family: 4 | 6 };
    try {
      target = given ?? (await resolve(this.host));
    } catch (error) {
      return this.failure(
        'dns',
        `cannot resolve NTP server ${this.host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        null,
      );
    }

    const exchange = new Exchange(target, this.port, this.timeoutMs, (reason, code) => this.onRejected?.(reason, code));
    const taken: TakenSample[] = [];
    let worst: Extract<SampleOutcome, { ok: false }> | null = null;
    let sent = 0;
    try {
      await exchange.open();
      for (let i = 0; i < this.samples; i++) {
        if (i > 0 && this.sampleSpacingMs > 0) await new Promise((r) => setTimeout(r, this.sampleSpacingMs));
        sent++;
        const outcome = await exchange.sample();
        if (outcome.ok) {
          taken.push(outcome.sample);
          continue;
        }
        this.onRejected?.(outcome.reason, outcome.code);
        if (!worst || outcome.weight >= worst.weight) worst = outcome;
        if (outcome.kissCode !== null) {
          // A kiss ends the measurement: sending more would ignore what the server asked.
          this.kiss.obey(outcome.kissCode, outcome.reason);
          break;
        }
      }
    } finally {
      exchange.close();
    }

    // Retired in this round: the code says what the server sent (kiss_deny / kiss_rstr).
    const retired = this.kiss.retired;
    if (retired !== null) return this.failure(kissReplyCode(retired.kissCode), retired.reason, retired.kissCode);
    if (taken.length === 0) {
      if (worst?.kissCode === 'RATE') return this.failure(worst.code, worst.reason, 'RATE');
      const why = worst ? worst.reason : 'no reply';
      const text = `no valid reply from ${this.address} to ${sent} request${sent === 1 ? '' : 's'}: ${why}`;
      return this.failure(worst?.code ?? 'timeout', text, worst?.kissCode ?? null);
    }
    this.kiss.answered(worst?.kissCode);
    return bestSample('ntp', this.address, taken, sent);
  }

  private failure(code: SourceFailureCode, error: string, kissCode: string | null): SourceFailure {
    return { ok: false, kind: 'ntp', address: this.address, code, error, kissCode, measuredAtMs: wallClock() };
  }
}

/**
 * One socket for one measurement. The socket is unconnected so that a datagram from any other
 * address or port is seen, reported and ignored instead of being silently filtered; one reply is
 * accepted per request, and a second reply to an answered request is rejected as a duplicate.
 */
class Exchange {
  private readonly socket: dgram.Socket;
  private readonly answered = new Set<string>();
  private pending: {
    transmit: Buffer;
    t1Ms: number;
    sentNs: bigint;
    strongest: Extract<SampleOutcome, { ok: false }> | null;
    settle: (outcome: SampleOutcome) => void;
  } | null = null;
  private socketError: Error | null = null;
  private closed = false;

  constructor(
    private readonly target: { address: string; family: 4 | 6 },
    private readonly port: number,
    private readonly timeoutMs: number,
    private readonly report: (reason: string, code: NtpSampleCode) => void,
  ) {
    this.socket = dgram.createSocket(target.family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (message, remote) => this.receive(message, remote, process.hrtime.bigint()));
    this.socket.on('error', (error) => {
      this.socketError = error;
      this.pending?.settle({
        ok: false,
        code: 'socket_error',
        reason: `socket error: ${error.message}`,
        kissCode: null,
        weight: WEIGHT_TIMEOUT,
      });
    });
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

  sample(): Promise<SampleOutcome> {
    if (this.socketError) {
      const reason = `socket error: ${this.socketError.message}`;
      return Promise.resolve({ ok: false, code: 'socket_error', reason, kissCode: null, weight: WEIGHT_TIMEOUT });
    }
    const request = encodeClientRequest();
    return new Promise<SampleOutcome>((resolve) => {
      // settle() runs only after the timer below exists (its callback, a reply, a send error).
      const settle = (outcome: SampleOutcome): void => {
        if (this.pending?.settle !== settle) return;
        this.pending = null;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        const strongest = this.pending?.strongest;
        settle(
          strongest
            ? { ...strongest, reason: `${strongest.reason}, and no valid reply came within ${this.timeoutMs} ms` }
            : {
                ok: false,
                code: 'timeout',
                reason: `no reply within ${this.timeoutMs} ms`,
                kissCode: null,
                weight: WEIGHT_TIMEOUT,
              },
        );
      }, this.timeoutMs);
      // Read both clocks as late as possible before the datagram leaves.
      const t1Ms = wallClock();
      const sentNs = process.hrtime.bigint();
      this.pending = { transmit: request.transmit, t1Ms, sentNs, strongest: null, settle };
      this.socket.send(request.bytes, this.port, this.target.address, (error) => {
        if (error) {
          const reason = `cannot send to ${this.target.address}: ${error.message}`;
          settle({ ok: false, code: 'send_failed', reason, kissCode: null, weight: WEIGHT_TIMEOUT });
        }
      });
    });
  }

  private receive(message: Buffer, remote: dgram.RemoteInfo, receivedNs: bigint): void {
    const pending = this.pending;
    if (!sameAddress(remote.address, this.target.address) || remote.port !== this.port) {
      const reason = `ignored a datagram from ${formatAddress(remote.address, remote.port)}, which is not the server`;
      this.reject(pending, 'stray_datagram', reason, WEIGHT_STRAY);
      return;
    }
    const origin = message.length >= 32 ? message.subarray(24, 32).toString('hex') : '';
    if (this.answered.has(origin)) {
      this.reject(pending, 'duplicate_reply', 'ignored a duplicate reply to an already answered request', WEIGHT_STRAY);
      return;
    }
    if (!pending) {
      this.report('ignored a datagram that arrived while no request was outstanding', 'unsolicited_datagram');
      return;
    }
    const t4Ms = pending.t1Ms + Number(receivedNs - pending.sentNs) / 1e6;
    const result = validateReply(message, pending.transmit, pending.t1Ms, t4Ms);
    if (!result.ok) {
      // A reply that does not match our request may be spoofed: keep waiting for the genuine one.
      // A matching reply that fails a check (or a kiss) settles the request.
      const matchesRequest = message.length >= 32 && origin === pending.transmit.toString('hex');
      const weight = result.kissCode !== null ? WEIGHT_KISS : WEIGHT_REJECTED_REPLY;
      if (matchesRequest) {
        this.answered.add(origin);
        pending.settle({ ok: false, code: result.code, reason: result.reason, kissCode: result.kissCode, weight });
      } else {
        this.reject(pending, result.code, result.reason, weight);
      }
      return;
    }
    this.answered.add(origin);
    pending.settle({
      ok: true,
      sample: {
        reply: result.reply,
        offsetMs: result.offsetMs,
        delayMs: result.delayMs,
        uncertaintyMs: result.uncertaintyMs,
      },
    });
  }

  private reject(pending: Exchange['pending'], code: NtpSampleCode, reason: string, weight: number): void {
    this.report(reason, code);
    if (pending && (!pending.strongest || weight >= pending.strongest.weight)) {
      pending.strongest = { ok: false, code, reason, kissCode: null, weight };
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending?.settle({
      ok: false,
      code: 'cancelled',
      reason: 'measurement ended',
      kissCode: null,
      weight: WEIGHT_TIMEOUT,
    });
    try {
      this.socket.close();
    } catch {
      // never bound or already closed
    }
  }
}

/**
 * "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address ("::1", which contains colons
 * and so cannot carry a port without brackets). Throws on anything else.
 */
export function parseServerAddress(text: string): { host: string; port: number } {
  if (typeof text !== 'string') throw new TypeError(`an NTP server address must be a string, got ${typeof text}`);
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('an NTP server address must not be empty');
  let host: string;
  let portText: string | undefined;
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    if (close < 0) throw new Error(`NTP server address "${text}" has "[" without "]"`);
    host = trimmed.slice(1, close);
    const rest = trimmed.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`NTP server address "${text}" has text after "]" that is not ":port"`);
      portText = rest.slice(1);
    }
    if (net.isIPv6(host) === false)
      throw new Error(`NTP server address "${text}" has "${host}" in brackets, which is not an IPv6 address`);
  } else {
    const colons = trimmed.split(':').length - 1;
    if (colons === 1) {
      [host, portText] = trimmed.split(':') as [string, string];
    } else if (colons > 1) {
      if (!net.isIPv6(trimmed))
        throw new Error(`NTP server address "${text}" is not a host, host:port, IPv6 address or [IPv6]:port`);
      host = trimmed;
    } else {
      host = trimmed;
    }
  }
  if (host === '') throw new Error(`NTP server address "${text}" has no host`);
  if (/[\s/@]/.test(host)) throw new Error(`NTP server address "${text}" has an invalid host "${host}"`);
  // It may reach a command line ("{server}" in RemediationCommand), where it would be an option.
  if (host.startsWith('-')) throw new Error(`NTP server address "${text}" starts with "-"`);
  let port = DEFAULT_NTP_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw new Error(`NTP server address "${text}" has an invalid port "${portText}"`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new Error(`NTP server address "${text}" has port ${port}, outside 1–65535`);
  }
  return { host, port };
}

/** "host:port", with IPv6 literals in brackets so that the text parses back. */
export function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function resolve(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const literal = net.isIP(host);
  if (literal === 4 || literal === 6) return { address: host, family: literal };
  const found = await lookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

export function sameAddress(a: string, b: string): boolean {
  return canonicalAddress(a) === canonicalAddress(b);
}

/**
 * IPv6 text has many spellings ("::1", "0:0::1"); the URL parser prints the canonical one. A
 * zone index is dropped, and an IPv4-mapped address (::ffff:192.0.2.1) is its IPv4 address.
 */
export function canonicalAddress(text: string): string {
  const bare = text.split('%')[0]!;
  if (!net.isIPv6(bare)) return bare;
  let canonical: string;
  try {
    canonical = new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    canonical = bare.toLowerCase();
  }
  const mapped =
    /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped && mapped.length === 2) return mapped[1]!;
  if (mapped) {
    const hi = Number.parseInt(mapped[1]!, 16);
    const lo = Number.parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return canonical;
}
