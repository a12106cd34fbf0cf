// Kiss-o'-Death under NTS (RFC 8915 §5.7) against a hostile test server of our own
// (test/helpers/hostile-nts-server.ts: NTS-KE over node:tls with keys exported from the session,
// cookies it opens itself): chronyd never sends RATE, DENY or RSTR. An authenticated kiss is
// obeyed as plain NTP's (ntp-source.ts): DENY and RSTR retire the source, RATE backs it off, and
// neither asks the server again meanwhile (counted at the server). A kiss without an
// authenticator, or sealed with a key that is not the session's, is what anyone on the path can
// send: it is refused with its NTS code and never retires or slows the source. An NTS NAK (NTSN)
// with no valid reply after it makes the source run NTS-KE again (counted at the server); one
// followed by the genuine reply does not.
import test from 'ava';
import { NtsSource, type NtsSourceOptions } from '../../agent/clock/nts-source.js';
import { startHostileNtsServer, type HostileNtsServer, type NtsAnswer } from '../helpers/hostile-nts-server.js';
import { missing } from '../helpers/system.js';
import { pkiForFile } from '../helpers/tls.js';

const absent = missing('openssl');
const it = absent ? test.skip : test;
const needs = absent ? ` [needs openssl] (missing: ${absent})` : '';

const shared = pkiForFile(test, Boolean(absent));

async function setUp(
  t: { teardown(fn: () => Promise<void>): void },
  answers: (index: number) => NtsAnswer[],
  extra: Partial<NtsSourceOptions> = {},
): Promise<{ server: HostileNtsServer; source: NtsSource; rejected: string[] }> {
  const server = await startHostileNtsServer({ certificate: shared.leaf, answers });
  t.teardown(() => server.stop());
  const rejected: string[] = [];
  const source = new NtsSource({
    host: server.host,
    port: server.port,
    ca: [shared.pki.root.certPem],
    samples: 1,
    timeoutMs: 1000,
    onRejected: (_reason, code) => rejected.push(code),
    ...extra,
  });
  return { server, source, rejected };
}

it(`the hostile NTS server is honest when asked: an authenticated reply, its cookies kept, one NTS-KE${needs}`, async (t) => {
  const { server, source } = await setUp(t, () => ['good']);
  for (let i = 0; i < 3; i++) {
    const m = await source.measure();
    if (!m.ok) return t.fail(`${m.code}: ${m.error}`);
    t.is(m.kind, 'nts');
    t.true(Math.abs(m.offsetMs) <= m.uncertaintyMs + 5, `offset ${m.offsetMs} ms ± ${m.uncertaintyMs}`);
  }
  t.is(source.cookiesLeft, 8);
  t.is(server.keConnections, 1);
  t.is(server.requests, 3);
});

for (const kiss of ['DENY', 'RSTR'] as const) {
  const retired = kiss === 'DENY' ? 'retired_deny' : 'retired_rstr';
  it(`an authenticated ${kiss} retires the source (kiss_${kiss.toLowerCase()}, then ${retired}) and it never asks the server again${needs}`, async (t) => {
    const { server, source } = await setUp(t, () => [{ kiss, auth: 'valid' }]);
    const first = await source.measure();
    if (first.ok) return t.fail('a kissed measurement succeeded');
    t.is(first.code as string, `kiss_${kiss.toLowerCase()}`);
    t.is(first.kissCode, kiss);
    t.is(server.requests, 1);

    server.setAnswers(() => ['good']);
    t.is(await source.prepare(), null, 'prepare() names no server to ask');
    for (let i = 0; i < 3; i++) {
      const later = await source.measure();
      if (later.ok) return t.fail('a retired source measured');
      t.is(later.code, retired);
      t.is(later.kissCode, kiss);
      t.regex(later.error, /until reconfigured/);
    }
    t.is(server.requests, 1, 'no request after the kiss');
    t.is(server.keConnections, 1, 'no NTS-KE after the kiss');
  });
}

it(`an authenticated RATE backs the source off (kiss_rate, then rate_backoff) and it does not ask during the back-off${needs}`, async (t) => {
  const { server, source } = await setUp(t, () => [{ kiss: 'RATE', auth: 'valid' }]);
  const first = await source.measure();
  if (first.ok) return t.fail('a kissed measurement succeeded');
  t.is(first.code, 'kiss_rate');
  t.is(first.kissCode, 'RATE');

  server.setAnswers(() => ['good']);
  t.is(await source.prepare(), null, 'prepare() names no server to ask');
  for (let i = 0; i < 3; i++) {
    const later = await source.measure();
    if (later.ok) return t.fail('a backing-off source measured');
    t.is(later.code, 'rate_backoff', 'backing off, not retired');
    t.is(later.kissCode, 'RATE');
    // The first back-off is 64 s (as plain NTP's); whole seconds are left of it.
    const left = Number(/for (\d+) s/.exec(later.error)?.[1]);
    t.true(left > 0 && left <= 64, later.error);
  }
  t.is(server.requests, 1, 'no request during the back-off');
  t.is(server.keConnections, 1);
});

const forged: Array<['none' | 'wrong-key', string]> = [
  ['none', 'nts_auth_missing'],
  ['wrong-key', 'nts_auth_failed'],
];
for (const kiss of ['DENY', 'RSTR', 'RATE'] as const) {
  for (const [auth, code] of forged) {
    const what = auth === 'none' ? 'without an authenticator' : 'sealed with a wrong key';
    it(`a ${kiss} ${what} is refused (${code}), never obeyed: the source asks again and measures${needs}`, async (t) => {
      const { server, source, rejected } = await setUp(t, () => [{ kiss, auth }]);
      const first = await source.measure();
      if (first.ok) return t.fail('a measurement with only a forged kiss succeeded');
      t.is(first.code as string, code);
      t.is(first.kissCode, null, 'the kiss code is not believed');
      t.true(rejected.includes(code), `rejections: ${rejected.join(', ')}`);

      server.setAnswers(() => ['good']);
      t.not(await source.prepare(), null, 'not retired, not backing off');
      const second = await source.measure();
      if (!second.ok) return t.fail(`${second.code}: ${second.error}`);
      t.is(server.requests, 2, 'asked again at once');
      t.is(server.keConnections, 1);
    });
  }
}

it(`a forged DENY or RATE ahead of the genuine reply does not end the request: the genuine reply is taken${needs}`, async (t) => {
  const { server, source, rejected } = await setUp(t, (i) => [
    { kiss: i % 2 === 0 ? 'DENY' : 'RATE', auth: i < 2 ? 'none' : 'wrong-key' },
    'good',
  ]);
  for (let i = 0; i < 4; i++) {
    const m = await source.measure();
    if (!m.ok) return t.fail(`measurement ${i + 1}: ${m.code}: ${m.error}`);
  }
  t.deepEqual(
    [...new Set(rejected)].sort(),
    ['nts_auth_failed', 'nts_auth_missing'],
    `rejections: ${rejected.join(', ')}`,
  );
  t.is(server.requests, 4);
  t.is(server.keConnections, 1);
});

it(`NTSN with no valid reply after it: the source runs NTS-KE again and measures on the new session${needs}`, async (t) => {
  const { server, source, rejected } = await setUp(t, () => ['good'], { samples: 2 });
  const first = await source.measure();
  if (!first.ok) return t.fail(`${first.code}: ${first.error}`);
  t.is(server.keConnections, 1);
  t.is(server.requestsOnLatestSession, 2);

  server.forgetCookies(); // a restart with new keys: every cookie held now gets NTSN
  const second = await source.measure();
  if (!second.ok) return t.fail(`${second.code}: ${second.error}`);
  t.true(rejected.includes('kiss_ntsn'), `rejections: ${rejected.join(', ')}`);
  t.is(server.keConnections, 2, 'a new NTS-KE handshake');
  t.is(server.requests, 4);
  t.is(server.requestsOnLatestSession, 1, 'the measurement taken on the new session');
  t.is(source.cookiesLeft, 8);
});

it(`NTSN as the only answer: the measurement fails with kiss_ntsn, not retired, and the next one re-keys${needs}`, async (t) => {
  const { server, source } = await setUp(t, () => ['good']);
  const first = await source.measure();
  if (!first.ok) return t.fail(`${first.code}: ${first.error}`);
  server.forgetCookies();
  const second = await source.measure();
  if (second.ok) return t.fail('a measurement with only an NTSN succeeded');
  t.is(second.code, 'kiss_ntsn');
  t.is(server.keConnections, 1, 'one request per measurement: the NTS-KE waits for the next');
  const third = await source.measure();
  if (!third.ok) return t.fail(`${third.code}: ${third.error}`);
  t.is(server.keConnections, 2);
  t.is(server.requestsOnLatestSession, 1);
});

it(`an NTSN ahead of the genuine reply (RFC 8915 §5.7: wait for a valid response): the reply is taken, no new NTS-KE${needs}`, async (t) => {
  const { server, source, rejected } = await setUp(t, () => ['ntsn', 'good']);
  for (let i = 0; i < 3; i++) {
    const m = await source.measure();
    if (!m.ok) return t.fail(`measurement ${i + 1}: ${m.code}: ${m.error}`);
  }
  t.true(rejected.includes('kiss_ntsn'), `rejections: ${rejected.join(', ')}`);
  t.is(server.keConnections, 1);
  t.is(source.cookiesLeft, 8);
});
