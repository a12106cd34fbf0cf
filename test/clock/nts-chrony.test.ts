// NTS (RFC 8915) against chrony's real NTS server: Debian's chronyd on loopback, its clock
// skewed +92 s by libfaketime, serving NTS-KE with an openssl-made chain. The source's
// authenticated offset is the skew, as chrony's own client (`chronyd -Q`) measures it; cookies
// last across measurements; a chronyd restarted with new keys is followed by a new NTS-KE.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { sourceReports } from '../../agent/clock/combine.js';
import { TimeSources } from '../../agent/clock/measure.js';
import { NtsSource } from '../../agent/clock/nts-source.js';
import { serverTimeChainVerifier } from '../../agent/trust/verify-chain.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { missing } from '../helpers/system.js';
import { pkiForFile } from '../helpers/tls.js';

const absent = missing('root', 'chronyd', 'libfaketime', 'openssl');
const it = absent ? test.skip : test.serial;
const needs = absent ? ` [needs root, chrony, libfaketime, openssl] (missing: ${absent})` : '';

const shared = pkiForFile(test, Boolean(absent));

export async function startNtsChrony(skewSeconds = 92): Promise<RunningChrony> {
  return startChrony({ skewSeconds, nts: { certFile: shared.leaf.chainFile, keyFile: shared.leaf.keyFile } });
}

function ntsSource(chrony: RunningChrony, extra: Partial<ConstructorParameters<typeof NtsSource>[0]> = {}) {
  return new NtsSource({
    host: chrony.host,
    port: chrony.ntsPort!,
    verifyChain: serverTimeChainVerifier({ caFile: shared.pki.caFile }),
    ...extra,
  });
}

/** chrony's own one-shot client on the same server's plain NTP: the offset it measures, in ms. */
function chronydQ(chrony: RunningChrony): number {
  const scratch = mkdtempSync(path.join(tmpdir(), 'trustguard-chronyq-'));
  try {
    const r = spawnSync(
      '/usr/sbin/chronyd',
      [
        '-Q',
        '-f',
        '/dev/null',
        '-u',
        'root',
        '-t',
        '20',
        `server ${chrony.host} port ${chrony.port} iburst minpoll -6 maxpoll -6 maxsamples 4`,
        `pidfile ${path.join(scratch, 'q.pid')}`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const m = /System clock wrong by (-?[\d.]+) seconds/.exec(r.stdout + r.stderr);
    if (!m) throw new Error(`chronyd -Q printed no offset: ${r.stdout} ${r.stderr}`);
    return Number(m[1]) * 1000;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

it(`an NTS source is authenticated by chronyd and measures chronyd -Q's offset within its stated uncertainty${needs}`, async (t) => {
  const chrony = await startNtsChrony();
  t.teardown(() => chrony.stop());
  const source = ntsSource(chrony);
  const m = await source.measure();
  if (!m.ok) return t.fail(`${m.code}: ${m.error}`);
  const truth = chronydQ(chrony);
  t.log(
    `NTS offset ${m.offsetMs.toFixed(3)} ms, chronyd -Q ${truth.toFixed(3)} ms, NTS-KE ${source.lastKeMs?.toFixed(1)} ms`,
  );
  t.is(m.kind, 'nts');
  t.is(m.samplesValid, 4);
  // chronyd -Q's offset lies in the interval the source vouches for (plus 1 ms for chronyd -Q's
  // own error): a loaded machine widens the interval, never moves the truth out of it. The
  // 1 ms agreement itself is a figure of bench/nts.bench.ts.
  t.true(
    Math.abs(m.offsetMs - truth) <= m.uncertaintyMs + 1,
    `NTS ${m.offsetMs} ± ${m.uncertaintyMs} ms vs chronyd -Q ${truth} ms`,
  );
  t.true(Math.abs(m.offsetMs - 92_000) <= m.uncertaintyMs + 5);
});

it(`cookies: eight from NTS-KE, one spent and one received per request, 20 measurements on one NTS-KE${needs}`, async (t) => {
  const chrony = await startNtsChrony();
  t.teardown(() => chrony.stop());
  const source = ntsSource(chrony, { samples: 1 });
  for (let i = 0; i < 20; i++) {
    const m = await source.measure();
    if (!m.ok) return t.fail(`measurement ${i + 1}: ${m.code}: ${m.error}`);
    t.is(source.cookiesLeft, 8, `after measurement ${i + 1}`);
  }
  t.is(source.keCount, 1);
});

it(`after chronyd restarts with new keys, the next measurement runs NTS-KE again by itself${needs}`, async (t) => {
  const chrony = await startNtsChrony();
  t.teardown(() => chrony.stop());
  const rejected: string[] = [];
  const source = ntsSource(chrony, { samples: 2, onRejected: (_reason, code) => rejected.push(code) });
  const first = await source.measure();
  if (!first.ok) return t.fail(`${first.code}: ${first.error}`);
  t.is(source.keCount, 1);
  await chrony.restart({ newKeys: true });
  const second = await source.measure();
  if (!second.ok) return t.fail(`${second.code}: ${second.error}`);
  t.is(source.keCount, 2);
  t.true(rejected.includes('kiss_ntsn'), `rejections: ${rejected.join(', ')}`);
  t.true(Math.abs(second.offsetMs - 92_000) <= second.uncertaintyMs + 5);
});

it(`agentctl time --nts HOST:PORT --ca FILE reports the source authenticated, chronyd -Q's offset within its uncertainty${needs}`, async (t) => {
  const chrony = await startNtsChrony();
  t.teardown(() => chrony.stop());
  const agentctl = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    'agent',
    'cli',
    'agentctl.cjs',
  );
  const run = spawnSync(
    process.execPath,
    [
      agentctl,
      'time',
      '--json',
      '--spacing',
      '0',
      '--nts',
      `${chrony.host}:${chrony.ntsPort}`,
      '--ca',
      shared.pki.caFile,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  // One source is never a confident estimate: exit 0 (state uncertain), as for one NTP server.
  t.is(run.status, 0, run.stderr);
  const json = JSON.parse(run.stdout) as {
    policy: string;
    sources: Array<{
      kind: string;
      authenticated: boolean;
      status: string;
      offset_ms: number | null;
      uncertainty_ms: number | null;
    }>;
  };
  t.is(json.policy, 'prefer');
  t.is(json.sources.length, 1);
  const [source] = json.sources;
  t.like(source, { kind: 'nts', authenticated: true, status: 'ok' });
  const truth = chronydQ(chrony);
  t.true(
    Math.abs(source!.offset_ms! - truth) <= source!.uncertainty_ms! + 1,
    `agentctl ${source!.offset_ms} ± ${source!.uncertainty_ms} ms vs chronyd -Q ${truth} ms`,
  );
  const text = spawnSync(
    process.execPath,
    [agentctl, 'time', '--spacing', '0', '--nts', `${chrony.host}:${chrony.ntsPort}`, '--ca', shared.pki.caFile],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const line = /^Authenticated \(NTS\): 127\.0\.0\.1:\d+; TimeSourcePolicy prefer$/m.exec(text.stdout);
  t.truthy(line, text.stdout);
  t.true(line![0].length <= 80);
});

it(`the NTS-KE chain is judged at the server's time: valid there though not yet valid here, or refused${needs}`, async (t) => {
  const hour = 3600_000;
  const future = await shared.pki.issueLeaf({
    notBefore: new Date(Date.now() + hour),
    notAfter: new Date(Date.now() + 3 * hour),
  });
  // chronyd two hours ahead: the certificate is valid at its time, not yet at ours.
  const ahead = await startChrony({ skewSeconds: 7200, nts: { certFile: future.chainFile, keyFile: future.keyFile } });
  t.teardown(() => ahead.stop());
  const m = await ntsSource(ahead, { samples: 1 }).measure();
  if (!m.ok) return t.fail(`${m.code}: ${m.error}`);
  t.true(Math.abs(m.offsetMs - 7_200_000) <= m.uncertaintyMs + 5);
  // chronyd at our time: the certificate is not yet valid at the server's time either.
  const now = await startChrony({ skewSeconds: 0, nts: { certFile: future.chainFile, keyFile: future.keyFile } });
  t.teardown(() => now.stop());
  const refused = await ntsSource(now, { samples: 1 }).measure();
  t.false(refused.ok);
  if (!refused.ok) t.is(refused.code, 'nts_ke_untrusted', refused.error);
});

it(`an NTS source and a plain NTP entry for the same chronyd are one source: the NTP entry is a duplicate${needs}`, async (t) => {
  const chrony = await startNtsChrony();
  t.teardown(() => chrony.stop());
  const sources = new TimeSources({
    nts: [`${chrony.host}:${chrony.ntsPort}`],
    ntp: [`${chrony.host}:${chrony.port}`],
    https: [],
    caFile: shared.pki.caFile,
    samples: 1,
  });
  const c = (await sources.measure()).combination;
  const rows = sourceReports(c);
  t.like(rows[0], { kind: 'nts', authenticated: true, status: 'ok' });
  t.like(rows[1], { kind: 'ntp', status: 'error', code: 'duplicate' });
  t.false(c.confident, "one server's word is never a majority");
  // Still one source on the next round (the NTS source holds its session).
  const again = sourceReports((await sources.measure()).combination);
  t.is(again[1]!.code, 'duplicate');
});
