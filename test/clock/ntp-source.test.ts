// NtpSource against the hostile test server: every misbehaviour is rejected with its reason,
// Kiss-o'-Death is obeyed, and nothing crashes.
import test from 'ava';
import { networkInterfaces } from 'node:os';
import { NtpSource, parseServerAddress } from '../../agent/clock/ntp-source.js';
import type { SourceFailureCode } from '../../agent/clock/codes.js';
import type { SourceFailure, SourceMeasurement, SourceSample } from '../../agent/clock/types.js';
import { startHostileNtpServer, type HostileBehaviour } from '../helpers/hostile-ntp-server.js';

// Long enough that a loaded 2-core machine answers a loopback request in time, even when this
// process (which also runs the test servers) stalls; short enough that the behaviours that make
// the client wait for a genuine reply do not slow the suite down.
const timeoutMs = 1500;

function assertFailure(t: { fail(message: string): void }, result: SourceMeasurement): asserts result is SourceFailure {
  if (result.ok) t.fail(`expected a failure, got offset ${result.offsetMs} ms`);
}
function assertSample(t: { fail(message: string): void }, result: SourceMeasurement): asserts result is SourceSample {
  if (!result.ok) t.fail(`expected a sample, got: ${result.error}`);
}

test('a good reply gives the served offset, delay and uncertainty', async (t) => {
  const server = await startHostileNtpServer({ offsetMs: 5000 });
  t.teardown(() => server.stop());
  const source = new NtpSource({ host: server.host, port: server.port, timeoutMs });
  const result = await source.measure();
  assertSample(t, result);
  t.log(`hostile server at +5000 ms measured ${result.offsetMs.toFixed(3)} ms, delay ${result.delayMs.toFixed(3)} ms`);
  t.true(
    Math.abs(result.offsetMs - 5000) <= result.uncertaintyMs,
    `offset ${result.offsetMs} ± ${result.uncertaintyMs}`,
  );
  t.true(result.delayMs >= 0);
  t.is(result.kind, 'ntp');
  t.is(result.address, `127.0.0.1:${server.port}`);
  t.is(result.stratum, 2);
  // root delay 0x80/65536 s, root dispersion 0x100/65536 s, as the server sends them
  t.is(result.rootDistanceMs, ((0x80 / 65536) * 1000) / 2 + (0x100 / 65536) * 1000);
  t.is(result.uncertaintyMs, result.delayMs / 2 + result.rootDistanceMs!);
  t.is(result.samplesSent, 4);
  t.is(result.samplesValid, 4);
  t.is(server.requests, 4);
});

test('samples are spaced by sampleSpacingMs, so rate-limited servers see no burst', async (t) => {
  const arrivals: number[] = [];
  const server = await startHostileNtpServer({
    behaviour: () => {
      arrivals.push(Number(process.hrtime.bigint() / 1_000_000n));
      return 'good';
    },
  });
  t.teardown(() => server.stop());
  const source = new NtpSource({ host: server.host, port: server.port, timeoutMs, samples: 3, sampleSpacingMs: 60 });
  assertSample(t, await source.measure());
  t.is(arrivals.length, 3);
  // setTimeout never fires early: each gap is at least the spacing (1 ms for rounding to ms).
  for (let i = 1; i < arrivals.length; i++)
    t.true(arrivals[i]! - arrivals[i - 1]! >= 59, `gap ${arrivals[i]! - arrivals[i - 1]!} ms`);
  t.throws(() => new NtpSource({ host: '127.0.0.1', sampleSpacingMs: -1 }), { instanceOf: RangeError });
});

test('a reply followed by an extension field and a MAC is accepted (tail ignored)', async (t) => {
  const server = await startHostileNtpServer({ behaviour: 'good-with-extension' });
  t.teardown(() => server.stop());
  const result = await new NtpSource({ host: server.host, port: server.port, samples: 1, timeoutMs }).measure();
  assertSample(t, result);
  t.is(result.samplesValid, 1);
});

// Each behaviour, a phrase its rejection reason must contain, and its code.
const rejected: Array<[HostileBehaviour, string, SourceFailureCode]> = [
  ['wrong-origin', 'origin timestamp does not match request', 'origin_mismatch'],
  ['stratum-0', "stratum 0 without a readable Kiss-o'-Death code", 'kiss_unreadable'],
  ['stratum-16', 'unsynchronised (stratum 16)', 'stratum_unsynchronised'],
  ['leap-3', 'leap indicator 3', 'leap_alarm'],
  ['zero-transmit', 'transmit timestamp is zero', 'zero_timestamp'],
  ['zero-receive', 'receive timestamp is zero', 'zero_timestamp'],
  ['mode-3', 'mode is 3, expected 4', 'mode_invalid'],
  ['version-2', 'version is 2, expected 3 or 4', 'version_invalid'],
  ['truncated', 'reply is 47 bytes, shorter than the 48-byte NTP header', 'short_packet'],
  ['oversized', '1000 bytes after the 48-byte header that are neither extension fields nor a MAC', 'malformed_tail'],
  ['other-port', 'which is not the server', 'stray_datagram'],
  ['huge-root-distance', 'root distance 20.001 s is not below 16 s', 'root_distance'],
  ['negative-delay', 'round-trip delay is negative', 'negative_delay'],
  ['silent', `no reply within ${timeoutMs} ms`, 'timeout'],
];

for (const [behaviour, reason, code] of rejected) {
  test(`hostile reply "${behaviour}" is rejected: ${reason} (${code})`, async (t) => {
    const server = await startHostileNtpServer({ behaviour });
    t.teardown(() => server.stop());
    const seen: string[] = [];
    const seenCodes: string[] = [];
    const onRejected = (r: string, c: string): void => {
      seen.push(r);
      seenCodes.push(c);
    };
    const source = new NtpSource({ host: server.host, port: server.port, samples: 2, timeoutMs, onRejected });
    const result = await source.measure();
    assertFailure(t, result);
    t.log(result.error);
    t.true(result.error.includes(reason), result.error);
    t.is(result.code, code);
    t.true(seenCodes.includes(code), seenCodes.join(', '));
    t.true(result.error.startsWith(`no valid reply from 127.0.0.1:${server.port} to 2 requests: `), result.error);
    t.is(result.kissCode, null);
    t.is(result.kind, 'ntp');
    t.true(seen.some((r) => r.includes(reason)));
    t.is(server.requests, 2);
    t.is(source.retired, null);
  });
}

test('a duplicate reply is ignored; each request counts once', async (t) => {
  const server = await startHostileNtpServer({ behaviour: 'duplicate' });
  t.teardown(() => server.stop());
  const seen: string[] = [];
  const codes: string[] = [];
  const onRejected = (r: string, c: string): void => {
    seen.push(r);
    codes.push(c);
  };
  const result = await new NtpSource({
    host: server.host,
    port: server.port,
    samples: 3,
    timeoutMs,
    onRejected,
  }).measure();
  assertSample(t, result);
  t.is(result.samplesSent, 3);
  t.is(result.samplesValid, 3);
  // The duplicates of the first two replies arrive while a later request is outstanding.
  t.true(
    seen.filter((r) => r === 'ignored a duplicate reply to an already answered request').length >= 2,
    seen.join('; '),
  );
  t.true(codes.filter((c) => c === 'duplicate_reply').length >= 2, codes.join(', '));
});

test('good and bad samples mix: only the valid ones count, the lowest delay wins', async (t) => {
  const plan: HostileBehaviour[] = ['good', 'stratum-16', 'good', 'truncated'];
  const server = await startHostileNtpServer({ behaviour: (i) => plan[i % plan.length]!, offsetMs: -3000 });
  t.teardown(() => server.stop());
  const result = await new NtpSource({ host: server.host, port: server.port, samples: 4, timeoutMs }).measure();
  assertSample(t, result);
  t.is(result.samplesSent, 4);
  t.is(result.samplesValid, 2);
  t.true(
    Math.abs(result.offsetMs + 3000) <= result.uncertaintyMs,
    `offset ${result.offsetMs} ± ${result.uncertaintyMs}`,
  );
});

test('when every sample fails, the most telling reason is reported (a rejected reply over silence)', async (t) => {
  const plan: HostileBehaviour[] = ['silent', 'stratum-16', 'silent'];
  const server = await startHostileNtpServer({ behaviour: (i) => plan[i]! });
  t.teardown(() => server.stop());
  const result = await new NtpSource({ host: server.host, port: server.port, samples: 3, timeoutMs }).measure();
  assertFailure(t, result);
  t.true(result.error.includes('unsynchronised (stratum 16)'), result.error);
  t.is(result.code, 'stratum_unsynchronised');
});

test("Kiss-o'-Death RATE: the source backs off on the monotonic clock, doubling, and resets after a good measurement", async (t) => {
  const server = await startHostileNtpServer({ behaviour: 'kod-rate' });
  t.teardown(() => server.stop());
  // The back-off is timed by a clock the test moves, so nothing here depends on real time.
  let nowNs = 1_000_000_000n;
  const seconds = (s: number): bigint => BigInt(s) * 1_000_000_000n;
  const source = new NtpSource({
    host: server.host,
    port: server.port,
    samples: 4,
    timeoutMs,
    backoffClockNs: () => nowNs,
  });

  const first = await source.measure();
  assertFailure(t, first);
  t.is(first.kissCode, 'RATE');
  t.is(first.code, 'kiss_rate');
  t.true(first.error.includes("Kiss-o'-Death RATE"), first.error);
  t.is(server.requests, 1, 'a kiss ends the measurement: no further samples are sent');

  const during = await source.measure();
  assertFailure(t, during);
  t.is(during.kissCode, 'RATE');
  t.is(during.code, 'rate_backoff');
  t.true(during.error.includes('not asking it again for 64 s'), during.error);
  t.is(server.requests, 1, 'nothing is sent while backing off');
  t.is(source.retired, null);

  nowNs += seconds(64);
  const second = await source.measure();
  assertFailure(t, second);
  t.is(second.kissCode, 'RATE');
  t.is(second.code, 'kiss_rate');
  t.is(server.requests, 2, 'the source asks again once the back-off has elapsed');
  const doubled = await source.measure();
  assertFailure(t, doubled);
  t.true(doubled.error.includes('not asking it again for 128 s'), doubled.error);

  nowNs += seconds(127);
  const stillBackingOff = await source.measure();
  assertFailure(t, stillBackingOff);
  t.true(stillBackingOff.error.includes('not asking it again for 1 s'), stillBackingOff.error);
  t.is(server.requests, 2);

  server.setBehaviour('good');
  nowNs += seconds(1);
  const recovered = await source.measure();
  assertSample(t, recovered);
  t.is(server.requests, 6);

  server.setBehaviour('kod-rate');
  await source.measure();
  const reset = await source.measure();
  assertFailure(t, reset);
  t.true(reset.error.includes('not asking it again for 64 s'), reset.error);
});

for (const code of ['DENY', 'RSTR'] as const) {
  test(`Kiss-o'-Death ${code} retires the source until a new NtpSource is made`, async (t) => {
    const server = await startHostileNtpServer({ behaviour: code === 'DENY' ? 'kod-deny' : 'kod-rstr' });
    t.teardown(() => server.stop());
    const source = new NtpSource({ host: server.host, port: server.port, samples: 4, timeoutMs });
    t.is(source.retired, null);
    const first = await source.measure();
    assertFailure(t, first);
    t.is(first.kissCode, code);
    t.is(first.code, code === 'DENY' ? 'kiss_deny' : 'kiss_rstr');
    t.true(first.error.includes(`Kiss-o'-Death ${code}`), first.error);
    t.true(
      source.retired !== null && source.retired.includes(code) && source.retired.includes('until reconfigured'),
      String(source.retired),
    );
    t.is(server.requests, 1);

    server.setBehaviour('good');
    const again = await source.measure();
    assertFailure(t, again);
    t.is(again.kissCode, code);
    t.is(again.code, code === 'DENY' ? 'retired_deny' : 'retired_rstr');
    t.is(server.requests, 1, 'a retired source sends nothing');

    const fresh = await new NtpSource({ host: server.host, port: server.port, samples: 1, timeoutMs }).measure();
    assertSample(t, fresh);
  });
}

test("a Kiss-o'-Death whose origin does not match is not obeyed (it could be spoofed)", async (t) => {
  const plan: HostileBehaviour[] = ['spoofed-kod-deny', 'good'];
  const server = await startHostileNtpServer({ behaviour: (i) => plan[i] ?? 'good' });
  t.teardown(() => server.stop());
  const seen: string[] = [];
  const source = new NtpSource({
    host: server.host,
    port: server.port,
    samples: 2,
    timeoutMs,
    onRejected: (r) => seen.push(r),
  });
  const result = await source.measure();
  assertSample(t, result);
  t.is(result.samplesValid, 1);
  t.is(source.retired, null);
  t.true(
    seen.some((r) => r.includes('origin timestamp does not match request')),
    seen.join('; '),
  );
});

test('every hostile behaviour in a row through one source: no crash, every result well-formed', async (t) => {
  const all: HostileBehaviour[] = [
    'good',
    'good-with-extension',
    'wrong-origin',
    'stratum-0',
    'stratum-16',
    'leap-3',
    'zero-transmit',
    'zero-receive',
    'mode-3',
    'version-2',
    'truncated',
    'oversized',
    'other-port',
    'duplicate',
    'huge-root-distance',
    'negative-delay',
    'silent',
  ];
  const server = await startHostileNtpServer({ behaviour: (i) => all[i % all.length]! });
  t.teardown(() => server.stop());
  const source = new NtpSource({ host: server.host, port: server.port, samples: all.length, timeoutMs: 1000 });
  const result = await source.measure();
  assertSample(t, result);
  t.is(result.samplesSent, all.length);
  t.is(result.samplesValid, 3, 'good, good-with-extension and duplicate');
});

// ava needs tests declared synchronously, so the interface list stands in for a bind attempt.
const hasIpv6 = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((a) => a.family === 'IPv6' && a.address === '::1'),
);
const ipv6Test = hasIpv6 ? test : test.skip;
ipv6Test(`IPv6: measures against the hostile server on ::1${hasIpv6 ? '' : ' [needs IPv6 loopback]'}`, async (t) => {
  const server = await startHostileNtpServer({ host: '::1', offsetMs: 1500 });
  t.teardown(() => server.stop());
  const source = new NtpSource({ host: '::1', port: server.port, samples: 2, timeoutMs });
  t.is(source.address, `[::1]:${server.port}`);
  const result = await source.measure();
  assertSample(t, result);
  t.true(
    Math.abs(result.offsetMs - 1500) <= result.uncertaintyMs,
    `offset ${result.offsetMs} ± ${result.uncertaintyMs}`,
  );

  server.setBehaviour('other-port');
  const stray = await source.measure();
  assertFailure(t, stray);
  t.true(stray.error.includes('which is not the server'), stray.error);
  t.is(stray.code, 'stray_datagram');
});

test('an unresolvable host is a failure, not an exception', async (t) => {
  const result = await new NtpSource({ host: 'no-such-host.invalid', samples: 1, timeoutMs }).measure();
  assertFailure(t, result);
  t.true(result.error.startsWith('cannot resolve NTP server no-such-host.invalid'), result.error);
  t.is(result.code, 'dns');
});

test('NtpSource rejects bad options with a clear error', (t) => {
  t.throws(() => new NtpSource({ host: '' }), { message: /non-empty/ });
  t.throws(() => new NtpSource({ host: 'a', port: 0 }), { message: /port/ });
  t.throws(() => new NtpSource({ host: 'a', samples: 0 }), { message: /samples/ });
  t.throws(() => new NtpSource({ host: 'a', timeoutMs: -1 }), { message: /timeoutMs/ });
  t.is(new NtpSource({ host: 'time.example.com' }).address, 'time.example.com:123');
  t.is(new NtpSource({ host: '[::1]', port: 1123 }).address, '[::1]:1123');
});

test('parseServerAddress reads host, host:port, [v6]:port and bare v6', (t) => {
  t.deepEqual(parseServerAddress('time.apple.com'), { host: 'time.apple.com', port: 123 });
  t.deepEqual(parseServerAddress(' time.apple.com:1123 '), { host: 'time.apple.com', port: 1123 });
  t.deepEqual(parseServerAddress('192.0.2.1:123'), { host: '192.0.2.1', port: 123 });
  t.deepEqual(parseServerAddress('[2001:db8::1]:4123'), { host: '2001:db8::1', port: 4123 });
  t.deepEqual(parseServerAddress('[::1]'), { host: '::1', port: 123 });
  t.deepEqual(parseServerAddress('::1'), { host: '::1', port: 123 });
  t.deepEqual(parseServerAddress('2001:db8::123'), { host: '2001:db8::123', port: 123 });
  for (const bad of [
    '',
    ':123',
    'host:',
    'host:0',
    'host:65536',
    'host:12a',
    '[::1',
    '[::1]x',
    '[host]:1',
    'a:b:c',
    'a b:1',
  ]) {
    t.throws(() => parseServerAddress(bad), undefined, `"${bad}" should be rejected`);
  }
});
