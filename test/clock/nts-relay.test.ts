// An on-path attacker against NTS: a hostile relay of our own (test/helpers/hostile-relay.ts)
// between the client and chronyd's real NTS server. chronyd's NTS-KE names the relay as the NTP
// server (`ntsntpserver 127.0.0.2`, its Server Negotiation record), so every NTS-protected
// request and reply passes through it. A reply it alters, replays or strips is refused with its
// code and no offset is taken. A relay that shifts plain NTP replies by 300 s moves an
// unauthenticated majority, and cannot move an estimate NTS sources form (TimeSourcePolicy
// prefer, the default with NTS sources).
import test from 'ava';
import { combineWithPolicy } from '../../agent/clock/auth-policy.js';
import { TimeSources } from '../../agent/clock/measure.js';
import { NtsSource } from '../../agent/clock/nts-source.js';
import { sourceReports } from '../../agent/clock/combine.js';
import { serverTimeChainVerifier } from '../../agent/trust/verify-chain.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import {
  extensionBodies,
  shiftTimestamps,
  startRelay,
  stripAuthenticator,
  type Alter,
  type RunningRelay,
} from '../helpers/hostile-relay.js';
import { missing } from '../helpers/system.js';
import { pkiForFile } from '../helpers/tls.js';

const absent = missing('root', 'chronyd', 'libfaketime', 'openssl');
const it = absent ? test.skip : test.serial;
const needs = absent ? ` [needs root, chrony, libfaketime, openssl] (missing: ${absent})` : '';

const shared = pkiForFile(test, Boolean(absent));

it(`a relay that alters a timestamp, replays an old reply or strips the authenticator: each refused with its code${needs}`, async (t) => {
  const chrony = await startChrony({
    skewSeconds: 92,
    nts: { certFile: shared.leaf.chainFile, keyFile: shared.leaf.keyFile, ntpServer: '127.0.0.2' },
  });
  t.teardown(() => chrony.stop());
  let alter: Alter = (reply) => reply;
  const relay = await startRelay({
    host: '127.0.0.2',
    port: chrony.port,
    server: { host: chrony.host, port: chrony.port },
    alter: (reply, seen) => alter(reply, seen),
  });
  t.teardown(() => relay.stop());
  const rejected: string[] = [];
  const source = new NtsSource({
    host: chrony.host,
    port: chrony.ntsPort!,
    samples: 1,
    timeoutMs: 1000,
    verifyChain: serverTimeChainVerifier({ caFile: shared.pki.caFile }),
    onRejected: (_reason, code) => rejected.push(code),
  });

  const honest = await source.measure();
  if (!honest.ok) return t.fail(`${honest.code}: ${honest.error}`);
  t.is(relay.seen.length, 1, 'the NTS exchange went through the relay');
  t.true(Math.abs(honest.offsetMs - 92_000) <= honest.uncertaintyMs + 5);

  const cases: Array<[string, Alter, string]> = [
    [
      'altered transmit timestamp',
      (reply) => {
        reply[41] ^= 0x01; // one bit of the server's transmit seconds
        return reply;
      },
      'nts_auth_failed',
    ],
    ['replayed old reply', (_reply, seen) => Buffer.from(seen[0]!), 'nts_uid_mismatch'],
    ['stripped authenticator', (reply) => stripAuthenticator(reply), 'nts_auth_missing'],
    ['shifted by 300 s', (reply) => shiftTimestamps(reply, 300), 'nts_auth_failed'],
  ];
  for (const [name, how, code] of cases) {
    alter = how;
    rejected.length = 0;
    const m = await source.measure();
    t.false(m.ok, `${name}: the offset must not be taken`);
    if (!m.ok) t.is(m.code as string, code, `${name}: ${m.error}`);
    t.deepEqual(rejected, [code], name);
  }
  // The relay turns honest again: the source still has cookies and keys, and measures.
  alter = (reply) => reply;
  const again = await source.measure();
  t.true(again.ok);
  t.is(source.keCount, 1);
});

it(`three NTS servers give a confident authenticated estimate; a 300 s shift moves plain NTP, never NTS (prefer)${needs}`, async (t) => {
  const chronys: RunningChrony[] = await Promise.all(
    [0, 1, 2].map(() =>
      startChrony({ skewSeconds: 92, nts: { certFile: shared.leaf.chainFile, keyFile: shared.leaf.keyFile } }),
    ),
  );
  t.teardown(() => Promise.all(chronys.map((c) => c.stop())));
  const relays: RunningRelay[] = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      startRelay({
        server: { host: chronys[i % 3]!.host, port: chronys[i % 3]!.port },
        alter: (r) => shiftTimestamps(r, 300),
      }),
    ),
  );
  t.teardown(() => Promise.all(relays.map((r) => r.stop())));
  const nts = chronys.map((c) => `${c.host}:${c.ntsPort}`);
  const plain = chronys.map((c) => `${c.host}:${c.port}`);
  const shifted = relays.map((r) => `${r.host}:${r.port}`);
  const common = { https: [], caFile: shared.pki.caFile, samples: 2, timeoutMs: 1000 };

  // 1. Three NTS servers alone: confident, every source authenticated and agreeing.
  const alone = await new TimeSources({ ...common, ntp: [], nts }).measure();
  const c1 = alone.combination;
  t.true(c1.confident, JSON.stringify(sourceReports(c1)));
  t.is(c1.agreeing.length, 3);
  t.true(sourceReports(c1).every((s) => s.authenticated && s.kind === 'nts'));
  t.true(Math.abs(c1.offsetMs! - 92_000) <= c1.uncertaintyMs! + 5);

  // 2. Plain NTP: three honest servers, four shifted relays. The shifted majority wins.
  const moved = (await new TimeSources({ ...common, ntp: [...plain, ...shifted] }).measure()).combination;
  t.true(moved.confident);
  // Within the interval the estimate vouches for (a relay adds its own delay on a loaded machine).
  t.true(
    Math.abs(moved.offsetMs! - 392_000) <= moved.uncertaintyMs! + 5,
    `plain NTP estimate ${moved.offsetMs} ± ${moved.uncertaintyMs} ms`,
  );

  // 3. The same relays against three NTS servers (prefer by default): the estimate stays.
  const sources = new TimeSources({ ...common, ntp: shifted, nts });
  t.is(sources.policy, 'prefer');
  const kept = (await sources.measure()).combination;
  t.true(kept.confident);
  t.true(Math.abs(kept.offsetMs! - 92_000) <= kept.uncertaintyMs! + 5, `NTS estimate ${kept.offsetMs} ms`);
  t.is(kept.falsetickers.length, 4);
  t.true(kept.falsetickers.every((s) => s.kind === 'ntp'));
  t.true((kept as ReturnType<typeof combineWithPolicy>).remediable);
  // The same round, authentication ignored: the relays would have won.
  const ignored = combineWithPolicy(kept.sources, 'ignore');
  t.true(Math.abs(ignored.offsetMs! - 392_000) <= ignored.uncertaintyMs! + 5);
});

it(`cookies: each request spends a different one; replies lost on the path are made up with placeholders${needs}`, async (t) => {
  const chrony = await startChrony({
    skewSeconds: 92,
    nts: { certFile: shared.leaf.chainFile, keyFile: shared.leaf.keyFile, ntpServer: '127.0.0.2' },
  });
  t.teardown(() => chrony.stop());
  let drop = false;
  const relay = await startRelay({
    host: '127.0.0.2',
    port: chrony.port,
    server: { host: chrony.host, port: chrony.port },
    alter: (reply) => (drop ? null : reply),
  });
  t.teardown(() => relay.stop());
  const source = new NtsSource({
    host: chrony.host,
    port: chrony.ntsPort!,
    samples: 1,
    timeoutMs: 1000,
    verifyChain: serverTimeChainVerifier({ caFile: shared.pki.caFile }),
  });
  for (let i = 0; i < 3; i++) t.true((await source.measure()).ok);
  t.is(source.cookiesLeft, 8);
  // Three replies lost: three cookies spent, none back.
  drop = true;
  for (let i = 0; i < 3; i++) t.false((await source.measure()).ok);
  t.is(source.cookiesLeft, 5);
  // The next request asks for the missing ones: its cookie and three placeholders.
  drop = false;
  t.true((await source.measure()).ok);
  t.is(source.cookiesLeft, 8);
  t.is(source.keCount, 1);
  const cookies = relay.requests.map((r) => extensionBodies(r, 0x0204));
  t.true(
    cookies.every((c) => c.length === 1),
    'one cookie per request',
  );
  t.is(new Set(cookies.map((c) => c[0]!.toString('hex'))).size, relay.requests.length, 'never the same cookie twice');
  // Placeholders ask for as many cookies as bring the store back to eight: none while replies
  // come, one more after each lost one.
  t.deepEqual(
    relay.requests.map((r) => extensionBodies(r, 0x0304).length),
    [0, 0, 0, 0, 1, 2, 3],
  );
});
