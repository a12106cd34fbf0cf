// Issue 21, acceptance 3: `agentctl doctor` on a healthy daemon (three chronyd sources, a
// trusted target, nginx as a TLS collector with a token) is all Passing (Info where a check does
// not apply); each failure mode turns exactly its own check; the collector got a request that
// carried no record; every row says how long it took.
import test from 'ava';
import { chmodSync } from 'node:fs';
import zlib from 'node:zlib';
import {
  agentctl,
  createAgentFixture,
  eventually,
  measuredUntil,
  requestOnce,
  type AgentFixture,
} from '../helpers/agent.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { missing } from '../helpers/system.js';
import { TestPki } from '../helpers/tls.js';

interface Row {
  name: string;
  status: string;
  code: string;
  message: string;
  fix: string;
  duration_ms: number;
}

async function doctor(fixture: AgentFixture): Promise<{ code: number | null; rows: Row[]; healthy: boolean }> {
  const result = await agentctl(['doctor', '--json', '--config', fixture.configFile]);
  const parsed = JSON.parse(result.stdout) as { healthy: boolean; checks: Row[]; checked_at: string };
  return { code: result.code, rows: parsed.checks, healthy: parsed.healthy };
}

/** The rows that are neither Passing nor Info, as [name, status, code]. */
const notPassing = (rows: Row[]) =>
  rows.filter((r) => r.status !== 'passing' && r.status !== 'info').map((r) => [r.name, r.status, r.code]);

const needs = missing('root', 'chronyd', 'openssl', 'nginx');

(needs ? test.skip : test.serial)(
  `doctor: all Passing on a healthy daemon, and each failure mode turns exactly its check${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const pki = await TestPki.create();
    const otherPki = await TestPki.create({ rootName: 'Some Other CA' });
    const chronies: RunningChrony[] = [];
    const fixture = createAgentFixture('tg-doctor-');
    t.teardown(async () => {
      await fixture.cleanup();
      await Promise.all(chronies.map((c) => c.stop()));
      await pki.cleanup();
      await otherPki.cleanup();
    });
    for (let i = 0; i < 3; i++) chronies.push(await startChrony({ skewSeconds: 0 }));
    const collector: Collector = await startCollector();
    t.teardown(() => collector.cleanup());
    const valid = await pki.issueLeaf();
    const expired = await pki.issueLeaf({
      notBefore: new Date(Date.now() - 30 * 86_400_000),
      notAfter: new Date(Date.now() - 2 * 86_400_000),
    });
    const healthy = {
      NTPServers: chronies.map((c) => `${c.host}:${c.port}`),
      NTPTimeoutMilliseconds: 1000,
      TrustTargets: [valid.chainFile],
      TrustCAFiles: [pki.caFile],
      TrustRevocation: 'off',
      CollectorURL: collector.tlsOrigin,
      CollectorCAFile: collector.caFile,
      CollectorBearerToken: collector.token,
      MeasureIntervalSeconds: 3600,
      TrustCheckIntervalSeconds: 3600,
      TelemetryFlushIntervalSeconds: 3600,
    };
    fixture.writeConfig(healthy);
    const agent = await fixture.start();
    const settled = async (what: string, ok: (s: Record<string, Record<string, unknown>>) => boolean) =>
      eventually(async () => {
        const s = (await requestOnce(fixture.socketPath, { request: 'status' })).result as Record<
          string,
          Record<string, unknown>
        >;
        return ok(s) ? s : undefined;
      }, what);
    // Setup: a healthy daemon, asking for another round if a loaded machine lost a reply.
    await measuredUntil(
      fixture,
      'the first measurement and trust check',
      (s) =>
        Number(s.clock?.measurements ?? 0) >= 1 &&
        s.clock?.state === 'ok' &&
        (s.trust?.targets as unknown[] | undefined)?.length === 1,
    );

    const before = collector.requests().length;
    const good = await doctor(fixture);
    t.is(good.code, 0, JSON.stringify(good.rows, null, 2));
    t.true(good.healthy);
    t.deepEqual(
      good.rows.map((r) => [r.name, r.status]),
      [
        ['configuration', 'passing'],
        ['daemon', 'passing'],
        ['clock', 'passing'],
        ['trust targets', 'passing'],
        // Installed profiles exist only on macOS: the daemon says so (sso.installed), the row says what to run.
        ['sso payloads', 'info'],
        ['keychain scrub', 'info'],
        ['telemetry', 'passing'],
        ['permissions', process.platform === 'darwin' ? 'passing' : 'info'],
      ],
    );
    for (const row of good.rows) t.true(Number.isInteger(row.duration_ms) && row.duration_ms >= 0, row.name);
    if (process.platform !== 'darwin') {
      const sso = good.rows.find((r) => r.name === 'sso payloads')!;
      t.like(sso, { code: 'not_applicable' });
      t.regex(sso.message, /agentd: the daemon runs on linux/);
      t.regex(sso.fix, /agentctl doctor sso --profile FILE/);
    }
    // The telemetry check made one real request, with the token, that carried no record.
    // (The daemon's own upload may land beside it: the probe is the request with no record.)
    const probes = (await collector.waitForRequests(before + 1)).slice(before);
    const empty = (body: Buffer | null): boolean => {
      try {
        const parsed = JSON.parse(body?.toString('utf8') ?? '') as { resourceLogs?: unknown[] };
        return Array.isArray(parsed.resourceLogs) && parsed.resourceLogs.length === 0;
      } catch {
        return false;
      }
    };
    const probe = probes.find((r) => r.path === '/v1/logs' && empty(r.body));
    t.truthy(probe, JSON.stringify(probes.map((r) => r.path)));
    t.is(probe!.authorization, 'match');
    t.true(probe!.tls);
    t.deepEqual(JSON.parse(zlib.gunzipSync(probe!.raw!).toString('utf8')), { resourceLogs: [] });

    // The human table: every row, at most 80 columns.
    const human = await agentctl(['doctor', '--config', fixture.configFile]);
    t.is(human.code, 0);
    t.regex(human.stdout, /^All checks passing/);
    for (const name of ['configuration', 'daemon', 'clock', 'trust targets', 'telemetry'])
      t.regex(human.stdout, new RegExp(`^ {2}${name} +Passing +\\d+ (ms|s) `, 'm'));
    for (const line of human.stdout.split('\n')) t.true(line.length <= 80, line);

    const mode = async (
      name: string,
      change: Record<string, unknown>,
      expected: Array<[string, string, string]>,
      ready: (s: Record<string, Record<string, unknown>>) => boolean = () => true,
    ) => {
      const config = { ...healthy, ...change };
      fixture.writeConfig(config);
      // The daemon has applied the change (and undone the previous one) before doctor asks it.
      await settled(
        `the daemon after: ${name}`,
        (s) =>
          ready(s) &&
          (s.trust?.targets as unknown[] | undefined)?.length === config.TrustTargets.length &&
          s.clock?.total_sources === config.NTPServers.length,
      );
      const result = await doctor(fixture);
      t.deepEqual(notPassing(result.rows), expected, name);
      t.is(result.code, expected.length ? 2 : 0, name);
    };

    await mode(
      'an invalid value',
      { Mode: 'sometimes' },
      [['configuration', 'failing', 'config_invalid']],
      (s) => ((s.daemon?.config_problems as unknown[]) ?? []).length > 0,
    );
    await mode(
      'two time sources',
      { NTPServers: healthy.NTPServers.slice(0, 2) },
      [['clock', 'failing', 'clock_too_few_sources']],
      (s) => s.clock?.total_sources === 2,
    );
    await mode(
      'an expired target',
      { TrustTargets: [valid.chainFile, expired.chainFile] },
      [['trust targets', 'failing', 'trust_target_untrusted']],
      (s) => (s.trust?.targets as unknown[] | undefined)?.length === 2,
    );
    await mode('a collector CA that does not issue its certificate', { CollectorCAFile: otherPki.caFile }, [
      ['telemetry', 'failing', 'telemetry_tls_failed'],
    ]);
    await mode('the scrub configured but no session reporting', { TenantDomain: 'acme.com', ScrubServices: ['x'] }, [
      ['keychain scrub', 'warning', 'keychain_no_report'],
    ]);
    await mode(
      'healthy again',
      {},
      [],
      (s) => (s.trust?.targets as unknown[] | undefined)?.length === 1 && s.clock?.total_sources === 3,
    );

    chmodSync(fixture.socketPath, 0o600);
    t.deepEqual(notPassing((await doctor(fixture)).rows), [['daemon', 'failing', 'daemon_socket_unsafe']]);
    chmodSync(fixture.socketPath, 0o666);

    await collector.stop();
    t.deepEqual(notPassing((await doctor(fixture)).rows), [['telemetry', 'failing', 'telemetry_unreachable']]);
    await collector.start();

    agent.child.kill('SIGKILL');
    await agent.exited;
    const down = await doctor(fixture);
    t.deepEqual(notPassing(down.rows), [['daemon', 'failing', 'daemon_unreachable']]);
    t.is(down.code, 2);
  },
);
