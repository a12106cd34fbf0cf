// The NTP packet codec: request shape, timestamp/era conversion, kiss codes, and fast-check
// properties that the reply validator never throws and accepts exactly the packets that satisfy
// every invariant. The invariant check below is written independently of the parser (BigInt
// arithmetic, a different tail grammar walk) so that a shared mistake is unlikely.
import test from 'ava';
import fc from 'fast-check';
import { isCode, ntpReplyCodes } from '../../agent/clock/codes.js';
import {
  decodeKissCode,
  encodeClientRequest,
  ntpToUnixMs,
  parseServerReply,
  unixMsToNtp,
  validateReply,
} from '../../agent/clock/ntp-packet.js';

const NTP_UNIX = 2_208_988_800n;
const ERA = 1n << 32n;

test('a client request is 48 bytes: version 4, mode 3, random transmit, all else zero', (t) => {
  const a = encodeClientRequest();
  const b = encodeClientRequest();
  t.is(a.bytes.length, 48);
  t.is(a.bytes[0], 0b00_100_011);
  t.true(a.bytes.subarray(1, 40).every((x) => x === 0));
  t.deepEqual(a.bytes.subarray(40, 48), a.transmit);
  t.notDeepEqual(a.transmit, b.transmit, 'two requests carry different random transmit timestamps');
  t.throws(() => encodeClientRequest(new Uint8Array(7)), { instanceOf: RangeError });
});

test('NTP timestamps convert to Unix ms with the fraction, in era 0 and era 1 (after 2036-02-07)', (t) => {
  // 1970-01-01 is NTP second 2208988800 of era 0.
  t.is(ntpToUnixMs({ seconds: 2_208_988_800, fraction: 2 ** 31 }, 0), 500);
  // The last second of era 0 and the first of era 1, seen from a clock near the boundary.
  const boundaryUnixMs = (2 ** 32 - 2_208_988_800) * 1000; // 2036-02-07T06:28:16Z
  t.is(new Date(boundaryUnixMs).toISOString(), '2036-02-07T06:28:16.000Z');
  t.is(ntpToUnixMs({ seconds: 2 ** 32 - 1, fraction: 0 }, boundaryUnixMs), boundaryUnixMs - 1000);
  t.is(ntpToUnixMs({ seconds: 0, fraction: 0 }, boundaryUnixMs - 5000), boundaryUnixMs);
  t.is(ntpToUnixMs({ seconds: 10, fraction: 2 ** 30 }, boundaryUnixMs), boundaryUnixMs + 10_250);
  // A 2040 date round-trips.
  const in2040 = Date.UTC(2040, 5, 1, 12, 0, 0, 123.25);
  const ntp = unixMsToNtp(in2040 + 0.25);
  t.true(ntp.seconds < 2 ** 32 - 2_208_988_800, 'folded into era 1');
  t.true(Math.abs(ntpToUnixMs(ntp, in2040) - (in2040 + 0.25)) < 1e-3);
});

test('unixMsToNtp and ntpToUnixMs round-trip to sub-microsecond precision (property)', (t) => {
  fc.assert(
    fc.property(
      fc.double({ min: -2e12, max: 4.1e12, noNaN: true }),
      fc.integer({ min: -1e9, max: 1e9 }),
      (unixMs, pivotShift) => {
        const back = ntpToUnixMs(unixMsToNtp(unixMs), unixMs + pivotShift);
        return Math.abs(back - unixMs) < 1e-3;
      },
    ),
  );
  t.pass();
});

test('kiss codes: printable ASCII, left-justified, zero-padded', (t) => {
  t.is(decodeKissCode(Buffer.from('RATE')), 'RATE');
  t.is(decodeKissCode(Buffer.from([0x41, 0x42, 0, 0])), 'AB');
  t.is(decodeKissCode(Buffer.from([0, 0, 0, 0])), null);
  t.is(decodeKissCode(Buffer.from([0, 0x41, 0, 0])), null);
  t.is(decodeKissCode(Buffer.from([0x41, 0x0a, 0x42, 0x43])), null);
  t.is(decodeKissCode(Buffer.from([127, 0, 0, 1])), null);
});

// ---- The independent invariant -------------------------------------------------------------

function u32(p: Uint8Array, at: number): bigint {
  return (BigInt(p[at]!) << 24n) | (BigInt(p[at + 1]!) << 16n) | (BigInt(p[at + 2]!) << 8n) | BigInt(p[at + 3]!);
}

/** Ticks of 2^-32 s since the NTP epoch, lifted into the era closest to the pivot. */
function liftTicks(p: Uint8Array, at: number, pivotTicks: bigint): bigint {
  const raw = (u32(p, at) << 32n) | u32(p, at + 4);
  const span = ERA << 32n;
  let best = raw;
  for (let era = -2n; era <= 4n; era++) {
    const candidate = raw + era * span;
    const distance = (x: bigint): bigint => (x < pivotTicks ? pivotTicks - x : x - pivotTicks);
    if (distance(candidate) < distance(best)) best = candidate;
  }
  return best;
}

/** The RFC 7822 tail grammar (extension field)* MAC?, walked as a reachability set. */
function tailIsWellFormed(tail: Uint8Array): boolean {
  const reachable = new Set<number>([0]);
  for (let position = 0; position <= tail.length; position++) {
    if (!reachable.has(position)) continue;
    const left = tail.length - position;
    if (left === 0 || left === 20 || left === 24) return true;
    if (left >= 4) {
      const fieldLength = tail[position + 2]! * 256 + tail[position + 3]!;
      if (fieldLength >= 16 && fieldLength % 4 === 0 && fieldLength <= left) reachable.add(position + fieldLength);
    }
  }
  return false;
}

type Verdict = 'accept' | 'reject' | 'either';

/** Whether a reply to the request with `origin`, sent at t1 and received at t4 (Unix ms), is acceptable. */
function invariantVerdict(p: Uint8Array, origin: Uint8Array, t1Ms: number, t4Ms: number): Verdict {
  if (p.length < 48) return 'reject';
  if (!tailIsWellFormed(p.subarray(48))) return 'reject';
  const first = p[0]!;
  if (first % 8 !== 4) return 'reject';
  const version = Math.floor(first / 8) % 8;
  if (version !== 3 && version !== 4) return 'reject';
  if (origin.some((byte, i) => p[24 + i] !== byte)) return 'reject';
  const stratum = p[1]!;
  if (stratum < 1 || stratum > 15) return 'reject';
  if (Math.floor(first / 64) === 3) return 'reject';
  if (p.subarray(32, 40).every((b) => b === 0)) return 'reject';
  if (p.subarray(40, 48).every((b) => b === 0)) return 'reject';
  // rootDelay/2 + rootDispersion < 16 s, in 2^-16 s units: rootDelay + 2·rootDispersion < 32·2^16.
  if (u32(p, 4) + 2n * u32(p, 8) >= 32n << 16n) return 'reject';
  // Exact delay in ticks of 2^-32 s with T1/T4 converted from (fractional) ms by scaling.
  const msToTicks = (ms: number): bigint => (BigInt(Math.round(ms * 2 ** 22)) * ERA) / 4_194_304_000n + NTP_UNIX * ERA;
  const t1 = msToTicks(t1Ms);
  const t4 = msToTicks(t4Ms);
  const t2 = liftTicks(p, 32, t1);
  const t3 = liftTicks(p, 40, t1);
  const delayTicks = t4 - t1 - (t3 - t2);
  // Within 10 µs of zero, float rounding in the parser (ms as doubles near 4e12) may go either way.
  if (delayTicks > -42_950n && delayTicks < 42_950n) return 'either';
  return delayTicks < 0n ? 'reject' : 'accept';
}

// ---- Properties ------------------------------------------------------------------------------

const origin8 = fc.uint8Array({ minLength: 8, maxLength: 8 });
const pivotMs = fc.double({ min: 0, max: 4.2e12, noNaN: true }); // 1970 … 2103, across the era-1 boundary

test('parseServerReply never throws on random 0–200 byte buffers and accepts only valid packets (property)', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      origin8,
      pivotMs,
      fc.double({ min: 0, max: 1000, noNaN: true }),
      (bytes, origin, t1, rtt) => {
        const result = validateReply(bytes, origin, t1, t1 + rtt);
        const verdict = invariantVerdict(bytes, origin, t1, t1 + rtt);
        if (verdict === 'either') return true;
        return result.ok === (verdict === 'accept');
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});

const often = <T>(usual: fc.Arbitrary<T>, unusual: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: usual, weight: 6 }, { arbitrary: unusual, weight: 1 });
const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 12 }, { arbitrary, weight: 1 });

/** A reply built from field values that are usually valid and sometimes not, then possibly corrupted. */
const replyFields = fc.record({
  leap: often(fc.integer({ min: 0, max: 2 }), fc.constant(3)),
  version: often(fc.constantFrom(3, 4), fc.integer({ min: 0, max: 7 })),
  mode: often(fc.constant(4), fc.integer({ min: 0, max: 7 })),
  stratum: often(fc.integer({ min: 1, max: 15 }), fc.oneof(fc.constantFrom(0, 16), fc.integer({ min: 0, max: 255 }))),
  referenceId: fc.oneof(
    fc.constantFrom('RATE', 'DENY', 'RSTR', 'INIT', 'AB\0\0').map((s) => Buffer.from(s, 'latin1')),
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
  ),
  rootDelay: often(
    fc.integer({ min: 0, max: 0xffff }),
    fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(32 << 16, (32 << 16) - 1)),
  ),
  rootDispersion: often(
    fc.integer({ min: 0, max: 0xffff }),
    fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(16 << 16, (16 << 16) - 1)),
  ),
  originKind: often(fc.constant('match'), fc.constantFrom('random', 'one-bit')),
  offsetMs: often(fc.double({ min: -1e5, max: 1e5, noNaN: true }), fc.double({ min: -3e12, max: 3e12, noNaN: true })),
  serverHoldMs: often(fc.double({ min: 0, max: 5, noNaN: true }), fc.double({ min: -2000, max: 2000, noNaN: true })),
  rttMs: fc.double({ min: 0, max: 500, noNaN: true }),
  zeroReceive: often(fc.constant(false), fc.constant(true)),
  zeroTransmit: often(fc.constant(false), fc.constant(true)),
  tail: often(
    fc.constant(new Uint8Array(0)),
    fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 120 }),
      fc.constantFrom(20, 24).map((n) => new Uint8Array(n)),
      fc.integer({ min: 4, max: 30 }).map((words) => {
        const field = new Uint8Array(words * 4);
        field[2] = (words * 4) >> 8;
        field[3] = (words * 4) & 0xff;
        return field;
      }),
    ),
  ),
  truncateTo: rarely(fc.integer({ min: 0, max: 47 })),
  flip: rarely(fc.record({ at: fc.integer({ min: 0, max: 47 }), mask: fc.integer({ min: 1, max: 255 }) })),
});

function writeNtp(p: Buffer, at: number, unixMs: number): void {
  const ntp = unixMsToNtpIndependent(unixMs);
  p.writeUInt32BE(ntp[0], at);
  p.writeUInt32BE(ntp[1], at + 4);
}
function unixMsToNtpIndependent(unixMs: number): [number, number] {
  const ticks = (BigInt(Math.round(unixMs * 2 ** 22)) * ERA) / 4_194_304_000n + NTP_UNIX * ERA;
  const wrapped = ((ticks % (ERA * ERA)) + ERA * ERA) % (ERA * ERA);
  return [Number(wrapped >> 32n), Number(wrapped & (ERA - 1n))];
}

test('validateReply accepts a mutated reply exactly when every invariant holds, and reports a reason otherwise (property)', (t) => {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(replyFields, origin8, pivotMs, (f, origin, t1) => {
      const p = Buffer.alloc(48);
      p[0] = (f.leap << 6) | (f.version << 3) | f.mode;
      p[1] = f.stratum;
      p[2] = 6;
      p[3] = 0xea;
      p.writeUInt32BE(f.rootDelay, 4);
      p.writeUInt32BE(f.rootDispersion, 8);
      Buffer.from(f.referenceId).copy(p, 12);
      if (f.originKind === 'random')
        p.set(
          origin.map((b) => b ^ 0x5a),
          24,
        );
      else p.set(origin, 24);
      if (f.originKind === 'one-bit') p[31] = p[31]! ^ 1;
      const t4 = t1 + f.rttMs;
      const t2 = t1 + f.offsetMs + f.rttMs / 4;
      if (!f.zeroReceive) writeNtp(p, 32, t2);
      if (!f.zeroTransmit) writeNtp(p, 40, t2 + f.serverHoldMs);
      let packet: Buffer = Buffer.concat([p, f.tail]);
      if (f.flip) packet[f.flip.at] = packet[f.flip.at]! ^ f.flip.mask;
      if (f.truncateTo !== null) packet = packet.subarray(0, f.truncateTo);

      const result = validateReply(packet, origin, t1, t4);
      const verdict = invariantVerdict(packet, origin, t1, t4);
      if (result.ok) {
        accepted++;
        // Accepted values are the packet's own.
        if (result.reply.stratum !== packet[1] || result.reply.trailingBytes !== packet.length - 48) return false;
        if (!(result.delayMs >= 0) || !(result.uncertaintyMs >= result.delayMs / 2)) return false;
      } else {
        rejected++;
        if (typeof result.reason !== 'string' || result.reason.length < 10 || /\n/.test(result.reason)) return false;
        if (result.kissCode !== null && packet[1] !== 0) return false;
        // Every rejection has a code from the closed list; a kiss code exactly when a kiss_* code says so.
        if (!isCode(ntpReplyCodes, result.code)) return false;
        if ((result.kissCode !== null) !== (result.code.startsWith('kiss_') && result.code !== 'kiss_unreadable'))
          return false;
      }
      if (verdict === 'either') return true;
      return result.ok === (verdict === 'accept');
    }),
    { numRuns: 5000 },
  );
  t.log(`${accepted} accepted, ${rejected} rejected`);
  t.true(accepted > 200, 'the generator produces enough valid replies to test acceptance');
  t.true(rejected > 200);
});

test('for a valid reply, offset and delay follow the NTP formulas', (t) => {
  const origin = Buffer.from('0123456789abcdef', 'hex');
  const t1 = Date.UTC(2037, 0, 1); // era 1
  const p = Buffer.alloc(48);
  p[0] = (4 << 3) | 4;
  p[1] = 2;
  p.set(origin, 24);
  writeNtp(p, 32, t1 + 92_000 + 10); // T2
  writeNtp(p, 40, t1 + 92_000 + 11); // T3
  const result = validateReply(p, origin, t1, t1 + 30); // T4
  if (!result.ok) return t.fail(result.reason);
  // offset = ((T2−T1) + (T3−T4)) / 2 = (92010 + 91981) / 2; delay = 30 − 1
  t.true(Math.abs(result.offsetMs - 91_995.5) < 1e-3, String(result.offsetMs));
  t.true(Math.abs(result.delayMs - 29) < 1e-3, String(result.delayMs));
  t.true(Math.abs(result.uncertaintyMs - 14.5) < 1e-3);
});

test('each rejection names its reason and its code', (t) => {
  const origin = Buffer.from('00112233445566778899', 'hex').subarray(0, 8);
  const good = (): Buffer => {
    const p = Buffer.alloc(48);
    p[0] = (4 << 3) | 4;
    p[1] = 3;
    p.set(origin, 24);
    writeNtp(p, 32, 1_700_000_000_000);
    writeNtp(p, 40, 1_700_000_000_001);
    return p;
  };
  const reason = (p: Uint8Array): string => {
    const r = parseServerReply(p, origin);
    return r.ok ? 'accepted' : r.reason;
  };
  const code = (p: Uint8Array): string => {
    const r = parseServerReply(p, origin);
    return r.ok ? 'accepted' : r.code;
  };
  t.is(reason(good()), 'accepted');
  t.is(reason(good().subarray(0, 47)), 'reply is 47 bytes, shorter than the 48-byte NTP header');
  t.is(code(good().subarray(0, 47)), 'short_packet');
  t.regex(reason(Buffer.concat([good(), Buffer.alloc(5)])), /5 bytes after the 48-byte header/);
  t.is(code(Buffer.concat([good(), Buffer.alloc(5)])), 'malformed_tail');
  t.is(reason(Buffer.concat([good(), Buffer.alloc(24)])), 'accepted');
  const mode = good();
  mode[0] = (4 << 3) | 5;
  t.is(reason(mode), 'reply mode is 5, expected 4 (server)');
  t.is(code(mode), 'mode_invalid');
  const v2 = good();
  v2[0] = (2 << 3) | 4;
  t.is(reason(v2), 'reply version is 2, expected 3 or 4');
  t.is(code(v2), 'version_invalid');
  const v3 = good();
  v3[0] = (3 << 3) | 4;
  t.is(reason(v3), 'accepted');
  const kiss = good();
  kiss[1] = 0;
  kiss.write('RSTR', 12, 'latin1');
  const kissResult = parseServerReply(kiss, origin);
  t.deepEqual(kissResult.ok ? null : kissResult.kissCode, 'RSTR');
  t.is(code(kiss), 'kiss_rstr');
  for (const [kissCode, expected] of [
    ['RATE', 'kiss_rate'],
    ['DENY', 'kiss_deny'],
    ['INIT', 'kiss_other'],
  ] as const) {
    kiss.write(kissCode, 12, 'latin1');
    t.is(code(kiss), expected);
  }
  kiss.fill(0, 12, 16);
  t.is(code(kiss), 'kiss_unreadable');
  const wrongOrigin = good();
  wrongOrigin[31] = wrongOrigin[31]! ^ 1;
  t.is(code(wrongOrigin), 'origin_mismatch');
  const unsynchronised = good();
  unsynchronised[1] = 16;
  t.is(code(unsynchronised), 'stratum_unsynchronised');
  const leap = good();
  leap[0] = (3 << 6) | (4 << 3) | 4;
  t.is(code(leap), 'leap_alarm');
  const zero = good();
  zero.fill(0, 40, 48);
  t.is(code(zero), 'zero_timestamp');
  const unknownKiss = good();
  unknownKiss[1] = 0;
  unknownKiss.write('XYZW', 12, 'latin1');
  t.is(reason(unknownKiss), "server sent Kiss-o'-Death XYZW: it did not give us its time");
  t.is(code(unknownKiss), 'kiss_other');
  const high = good();
  high[1] = 200;
  t.is(reason(high), 'reply stratum 200 is outside 1–15');
  t.is(code(high), 'stratum_invalid');
  const distance = good();
  distance.writeUInt32BE(16 << 16, 8);
  t.is(reason(distance), 'server root distance 16.000 s is not below 16 s');
  t.is(code(distance), 'root_distance');
  const late = validateReply(good(), origin, 1_700_000_000_000 - 50, 1_700_000_000_000 - 49.5);
  t.is(late.ok ? 'accepted' : late.code, 'negative_delay');
});
