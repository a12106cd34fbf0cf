// NTP packet encoding and reply validation (RFC 5905 / RFC 4330). Pure functions, no I/O.
//
// A reply is trusted only when it passes every check chrony and ntpsec apply to a server reply:
// the exact origin-timestamp match against our random transmit timestamp (anti-spoofing),
// mode 4, version 3 or 4, non-zero receive and transmit timestamps, LI ≠ 3, stratum 1–15,
// root distance < 16 s, and a non-negative round-trip delay. Stratum 0 is a Kiss-o'-Death.
// A rejection carries a stable code (codes.ts: ntpReplyCodes) and one sentence for people.
//
// Length policy: the reply must be the 48-byte header, optionally followed by a structurally
// valid RFC 7822 tail (extension fields and/or a legacy MAC of 20 or 24 bytes). We never send
// extension fields or a MAC, so we neither need nor trust anything in the tail: it is ignored.
// Any other length (truncated, or arbitrary bytes after the header) is rejected.
import { randomBytes } from 'node:crypto';
import { kissReplyCode, type NtpReplyCode } from './codes.js';

export const NTP_HEADER_LENGTH = 48;
/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_EPOCH_DELTA_S = 2_208_988_800;
/** Root distance at or above which a server's time is unusable (RFC 5905 MAXDIST is 1.5 s; chrony's maxdistance default is 3 s; 16 s is the spec's hard ceiling). */
export const MAX_ROOT_DISTANCE_MS = 16_000;

const ERA_SECONDS = 2 ** 32;
const MODE_CLIENT = 3;
const MODE_SERVER = 4;
const LEAP_UNSYNCHRONISED = 3;
const STRATUM_UNSYNCHRONISED = 16;

/** A raw 64-bit NTP timestamp: seconds within its era and a 32-bit binary fraction. */
export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface NtpClientRequest {
  /** The 48 bytes to send. */
  bytes: Buffer;
  /** The 8 random bytes placed in the transmit field; a genuine reply echoes them as its origin. */
  transmit: Buffer;
}

export interface NtpReply {
  leap: number;
  version: number;
  mode: number;
  stratum: number;
  /** log2 seconds, as sent. */
  poll: number;
  /** log2 seconds, as sent. */
  precision: number;
  rootDelayMs: number;
  rootDispersionMs: number;
  /** rootDelay/2 + rootDispersion. */
  rootDistanceMs: number;
  /** Reference ID: an IPv4 address, a 4-letter source name, or a hash; hex of the 4 bytes. */
  referenceIdHex: string;
  receive: NtpTimestamp;
  transmit: NtpTimestamp;
  /** Bytes after the 48-byte header (extension fields / MAC), ignored. */
  trailingBytes: number;
}

/** Why a reply was rejected: a stable code (codes.ts) and one sentence for people. */
export interface NtpReplyRejection {
  ok: false;
  code: NtpReplyCode;
  reason: string;
  /** Set when the server sent a Kiss-o'-Death. */
  kissCode: string | null;
}

export type NtpReplyCheck = { ok: true; reply: NtpReply } | NtpReplyRejection;

export interface NtpExchange {
  offsetMs: number;
  delayMs: number;
  /** delay/2 + root distance: the half-width of the interval this exchange vouches for. */
  uncertaintyMs: number;
}

export type NtpExchangeCheck =
  ({ ok: true } & NtpExchange) | (NtpReplyRejection & { code: 'negative_delay'; kissCode: null });

/**
 * A client request: version 4, mode 3, every field zero except the transmit timestamp, which
 * holds 64 random bits (as chrony does) so that an off-path attacker cannot guess the origin a
 * genuine reply must carry, and so that the request reveals nothing about our clock.
 */
export function encodeClientRequest(transmit: Uint8Array = randomBytes(8)): NtpClientRequest {
  if (transmit.length !== 8) throw new RangeError(`the transmit timestamp must be 8 bytes, got ${transmit.length}`);
  const bytes = Buffer.alloc(NTP_HEADER_LENGTH);
  bytes[0] = (0 << 6) | (4 << 3) | MODE_CLIENT;
  bytes.set(transmit, 40);
  return { bytes, transmit: Buffer.from(transmit) };
}

/**
 * Validates a server reply against the request it should answer. The checks run in the order
 * RFC 5905 implies: a packet that is not a reply to our request (wrong shape, mode, version or
 * origin) is rejected before its content, so that a spoofed Kiss-o'-Death is never obeyed.
 */
export function parseServerReply(packet: Uint8Array, expectedOrigin: Uint8Array): NtpReplyCheck {
  const fail = (code: NtpReplyCode, reason: string, kissCode: string | null = null): NtpReplyCheck => ({
    ok: false,
    code,
    reason,
    kissCode,
  });
  if (expectedOrigin.length !== 8)
    throw new RangeError(`the expected origin must be 8 bytes, got ${expectedOrigin.length}`);
  if (packet.length < NTP_HEADER_LENGTH) {
    return fail('short_packet', `reply is ${packet.length} bytes, shorter than the 48-byte NTP header`);
  }
  if (packet.length > NTP_HEADER_LENGTH && !isValidTail(packet, NTP_HEADER_LENGTH)) {
    return fail(
      'malformed_tail',
      `reply has ${packet.length - NTP_HEADER_LENGTH} bytes after the 48-byte header that are neither extension fields nor a MAC`,
    );
  }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const first = packet[0]!;
  const leap = first >> 6;
  const version = (first >> 3) & 7;
  const mode = first & 7;
  if (mode !== MODE_SERVER) return fail('mode_invalid', `reply mode is ${mode}, expected 4 (server)`);
  if (version !== 3 && version !== 4) return fail('version_invalid', `reply version is ${version}, expected 3 or 4`);
  for (let i = 0; i < 8; i++) {
    if (packet[24 + i] !== expectedOrigin[i]) {
      return fail(
        'origin_mismatch',
        'reply origin timestamp does not match request (spoofed, stale or misdirected reply)',
      );
    }
  }
  const stratum = packet[1]!;
  if (stratum === 0) {
    const kissCode = decodeKissCode(packet.subarray(12, 16));
    if (kissCode === null) return fail('kiss_unreadable', "reply has stratum 0 without a readable Kiss-o'-Death code");
    return fail(kissReplyCode(kissCode), kissReason(kissCode), kissCode);
  }
  if (stratum === STRATUM_UNSYNCHRONISED)
    return fail('stratum_unsynchronised', 'server is unsynchronised (stratum 16)');
  if (stratum > STRATUM_UNSYNCHRONISED) return fail('stratum_invalid', `reply stratum ${stratum} is outside 1–15`);
  if (leap === LEAP_UNSYNCHRONISED) return fail('leap_alarm', 'server clock is unsynchronised (leap indicator 3)');
  const receive = { seconds: view.getUint32(32), fraction: view.getUint32(36) };
  const transmit = { seconds: view.getUint32(40), fraction: view.getUint32(44) };
  if (receive.seconds === 0 && receive.fraction === 0) return fail('zero_timestamp', 'reply receive timestamp is zero');
  if (transmit.seconds === 0 && transmit.fraction === 0)
    return fail('zero_timestamp', 'reply transmit timestamp is zero');
  const rootDelayMs = shortToMs(view.getUint32(4));
  const rootDispersionMs = shortToMs(view.getUint32(8));
  const rootDistanceMs = rootDelayMs / 2 + rootDispersionMs;
  if (!(rootDistanceMs < MAX_ROOT_DISTANCE_MS)) {
    return fail('root_distance', `server root distance ${(rootDistanceMs / 1000).toFixed(3)} s is not below 16 s`);
  }
  return {
    ok: true,
    reply: {
      leap,
      version,
      mode,
      stratum,
      poll: view.getInt8(2),
      precision: view.getInt8(3),
      rootDelayMs,
      rootDispersionMs,
      rootDistanceMs,
      referenceIdHex: Buffer.from(packet.subarray(12, 16)).toString('hex'),
      receive,
      transmit,
      trailingBytes: packet.length - NTP_HEADER_LENGTH,
    },
  };
}

/**
 * Offset and delay of one exchange. t1Ms/t4Ms are our send/receive times (Unix ms); the
 * server's T2/T3 are placed in the NTP era closest to t1Ms.
 * offset = ((T2 − T1) + (T3 − T4)) / 2, delay = (T4 − T1) − (T3 − T2).
 */
export function evaluateExchange(reply: NtpReply, t1Ms: number, t4Ms: number): NtpExchangeCheck {
  if (!Number.isFinite(t1Ms) || !Number.isFinite(t4Ms)) throw new RangeError('t1Ms and t4Ms must be finite');
  const t2 = ntpToUnixMs(reply.receive, t1Ms);
  const t3 = ntpToUnixMs(reply.transmit, t1Ms);
  const delayMs = t4Ms - t1Ms - (t3 - t2);
  if (delayMs < 0) {
    return {
      ok: false,
      code: 'negative_delay',
      reason: `round-trip delay is negative (${delayMs.toFixed(3)} ms): the server claims to have held the request longer than the round trip took`,
      kissCode: null,
    };
  }
  const offsetMs = (t2 - t1Ms + (t3 - t4Ms)) / 2;
  return { ok: true, offsetMs, delayMs, uncertaintyMs: delayMs / 2 + reply.rootDistanceMs };
}

/** parseServerReply followed by evaluateExchange. */
export function validateReply(
  packet: Uint8Array,
  expectedOrigin: Uint8Array,
  t1Ms: number,
  t4Ms: number,
): ({ ok: true; reply: NtpReply } & NtpExchange) | NtpReplyRejection {
  const parsed = parseServerReply(packet, expectedOrigin);
  if (!parsed.ok) return parsed;
  const exchange = evaluateExchange(parsed.reply, t1Ms, t4Ms);
  if (!exchange.ok) return exchange;
  return { ...exchange, reply: parsed.reply };
}

/**
 * Converts an NTP timestamp to Unix milliseconds (with its fraction). NTP seconds wrap every
 * 2^32 s (era 0 ends 2036-02-07); the era chosen is the one that puts the result closest to
 * `pivotUnixMs` (our own clock), which is right for any server within ±68 years of us.
 */
export function ntpToUnixMs(timestamp: NtpTimestamp, pivotUnixMs: number): number {
  const pivotNtpSeconds = pivotUnixMs / 1000 + NTP_UNIX_EPOCH_DELTA_S;
  const era = Math.round((pivotNtpSeconds - timestamp.seconds) / ERA_SECONDS);
  const ntpSeconds = era * ERA_SECONDS + timestamp.seconds;
  return (ntpSeconds - NTP_UNIX_EPOCH_DELTA_S) * 1000 + (timestamp.fraction / ERA_SECONDS) * 1000;
}

/** Converts Unix milliseconds to an NTP timestamp (era folded away). */
export function unixMsToNtp(unixMs: number): NtpTimestamp {
  if (!Number.isFinite(unixMs)) throw new RangeError(`unixMs must be finite, got ${unixMs}`);
  const totalSeconds = unixMs / 1000 + NTP_UNIX_EPOCH_DELTA_S;
  let whole = Math.floor(totalSeconds);
  let fraction = Math.round((totalSeconds - whole) * ERA_SECONDS);
  if (fraction >= ERA_SECONDS) {
    whole += 1;
    fraction = 0;
  }
  const seconds = ((whole % ERA_SECONDS) + ERA_SECONDS) % ERA_SECONDS;
  return { seconds, fraction };
}

/**
 * A Kiss-o'-Death code is 1–4 printable ASCII characters, left-justified and zero-padded
 * (RFC 5905 §7.4). Returns null when the reference ID is not such a code.
 */
export function decodeKissCode(referenceId: Uint8Array): string | null {
  let code = '';
  let padding = false;
  for (const byte of referenceId) {
    if (byte === 0) {
      padding = true;
      continue;
    }
    if (padding || byte < 0x21 || byte > 0x7e) return null;
    code += String.fromCharCode(byte);
  }
  return code.length > 0 ? code : null;
}

function kissReason(code: string): string {
  switch (code) {
    case 'RATE':
      return "server sent Kiss-o'-Death RATE: it asks us to send requests less often";
    case 'DENY':
      return "server sent Kiss-o'-Death DENY: it refuses to serve us";
    case 'RSTR':
      return "server sent Kiss-o'-Death RSTR: access is restricted";
    default:
      return `server sent Kiss-o'-Death ${code}: it did not give us its time`;
  }
}

/** NTP short format (16.16 unsigned fixed point seconds) to milliseconds. */
function shortToMs(value: number): number {
  return (value / 65536) * 1000;
}

/**
 * RFC 7822 tail after the header: zero or more extension fields (type 16 bits, length 16 bits
 * counting the whole field, a multiple of 4 and at least 16), then optionally a legacy MAC of
 * 20 or 24 bytes (key ID + MD5/SHA-1 digest). Either reading of the rest may be the right one.
 */
function isValidTail(packet: Uint8Array, start: number): boolean {
  let offset = start;
  for (;;) {
    const remaining = packet.length - offset;
    if (remaining === 0 || remaining === 20 || remaining === 24) return true;
    if (remaining < 16) return false;
    const length = (packet[offset + 2]! << 8) | packet[offset + 3]!;
    if (length < 16 || length % 4 !== 0 || length > remaining) return false;
    offset += length;
  }
}
