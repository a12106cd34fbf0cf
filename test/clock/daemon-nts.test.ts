// NTS inside a real agentd (issue 23's gap: the key NTSServers through the daemon). Two of
// Debian's chronyd serve NTS (their clocks 92 s ahead by libfaketime, an openssl-made chain that
// HTTPSTimeCAFile names); three plain chronyd serve unauthenticated NTP at the right time, as an
// attacker on the path could. Under TimeSourcePolicy's default with NTS sources (prefer), the
// three unauthenticated sources may not outvote the two authenticated ones: the estimate is the
// authenticated one and the guardrail goes active. Under mix they are equals, and the majority
// wins.
import test from 'ava';
import { createAgentFixture, eventually, requestOnce, type AgentFixture } from '../helpers/agent.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { missing } from '../helpers/system.js';
import { TestPki } from '../helpers/tls.js';

interface Source {
  kind: string;
  address: string;
  authenticated: boolean;
  status: string;
}
interface Clock {
  state: string;
  offset_ms: number | null;
  measurements: number;
  release_pending: { remaining: number } | null;
  sources: Source[];
}

async function clock(fixture: AgentFixture): Promise<Clock> {
  return ((await requestOnce(fixture.socketPath, { request: 'status' })).result as { clock: Clock }).clock;
}

const absent = missing('root', 'chronyd', 'libfaketime', 'openssl');

(absent ? test.skip : test.serial)(
  `agentd with NTSServers: authenticated sources are not outvoted under prefer, and are under mix${absent ? ` [needs ${absent}]` : ''}`,
  async (t) => {
    const pki = await TestPki.create();
    const leaf = await pki.issueLeaf();
    const servers: RunningChrony[] = [];
    const fixture = createAgentFixture('tg-daemon-nts-');
    t.teardown(async () => {
      await fixture.cleanup();
      await Promise.all(servers.map((s) => s.stop()));
      await pki.cleanup();
    });
    const nts = [];
    for (let i = 0; i < 2; i++) {
      const s = await startChrony({ skewSeconds: 92, nts: { certFile: leaf.chainFile, keyFile: leaf.keyFile } });
      servers.push(s);
      nts.push(s);
    }
    const plain = [];
    for (let i = 0; i < 3; i++) {
      const s = await startChrony({ skewSeconds: 0 });
      servers.push(s);
      plain.push(s);
    }
    const config = {
      Mode: 'observe',
      NTSServers: nts.map((s) => `${s.host}:${s.ntsPort}`),
      NTPServers: plain.map((s) => `${s.host}:${s.port}`),
      HTTPSTimeCAFile: pki.caFile,
      MeasureIntervalSeconds: 3600,
    };
    fixture.writeConfig(config);
    await fixture.start();

    const preferred = await eventually(async () => {
      const c = await clock(fixture);
      return c.measurements >= 1 ? c : undefined;
    }, 'the first measurement');
    const summary = (c: Clock) =>
      c.sources.map((s) => `${s.kind} ${s.authenticated ? 'authenticated' : 'plain'} ${s.status}`).sort();
    t.deepEqual(
      summary(preferred),
      [
        'ntp plain falseticker',
        'ntp plain falseticker',
        'ntp plain falseticker',
        'nts authenticated ok',
        'nts authenticated ok',
      ],
      JSON.stringify(preferred.sources),
    );
    t.is(preferred.state, 'active', JSON.stringify(preferred));
    t.true(Math.abs(preferred.offset_ms! - 92_000) < 1000, `offset ${preferred.offset_ms}`);

    // mix: the five are equals; the three that agree are the majority.
    fixture.writeConfig({ ...config, TimeSourcePolicy: 'mix' });
    const mixed = await eventually(async () => {
      const c = await clock(fixture);
      return c.sources.filter((s) => s.kind === 'ntp' && s.status === 'ok').length === 3 ? c : undefined;
    }, 'a measurement under mix');
    t.deepEqual(
      summary(mixed),
      [
        'ntp plain ok',
        'ntp plain ok',
        'ntp plain ok',
        'nts authenticated falseticker',
        'nts authenticated falseticker',
      ],
      JSON.stringify(mixed.sources),
    );
    t.true(Math.abs(mixed.offset_ms!) < 1000, `offset ${mixed.offset_ms}`);
    // The guardrail leaves active only after two measurements below the release threshold.
    t.is(mixed.state, 'active');
    t.is(mixed.release_pending?.remaining, 1, JSON.stringify(mixed));
  },
);
