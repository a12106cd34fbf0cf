// Reason codes end to end, without chronyd: hostile NTP servers of our own on loopback behind
// `agentctl time --json` (a process) and behind a real agentd's `status --json`. Every failed
// source carries its code beside its sentence, a source outside the agreeing set carries
// `falseticker`, a stopped server `timeout`, and the daemon's debug log names each rejection.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isCode, sourceFailureCodes } from '../../agent/clock/codes.js';
import { agentctl, createAgentFixture, eventually, requestOnce } from '../helpers/agent.js';
import { startHostileNtpServer, type HostileBehaviour, type HostileNtpServer } from '../helpers/hostile-ntp-server.js';

interface SourceRow {
  kind: string;
  address: string;
  status: string;
  code: string | null;
  error: string | null;
  kiss_code: string | null;
}

const at = (s: HostileNtpServer): string => `${s.host}:${s.port}`;

/** A server that is started, noted, and stopped again: nothing listens on its port any more. */
async function stoppedServerAddress(): Promise<string> {
  const server = await startHostileNtpServer();
  await server.stop();
  return at(server);
}

async function startAll(
  t: { teardown(fn: () => Promise<void>): void },
  plan: Record<string, { behaviour: HostileBehaviour; offsetMs?: number }>,
) {
  const servers: Record<string, HostileNtpServer> = {};
  for (const [name, { behaviour, offsetMs }] of Object.entries(plan))
    servers[name] = await startHostileNtpServer({ behaviour, offsetMs });
  t.teardown(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  });
  return servers;
}

// Each misbehaviour and the code its source must carry.
const expectedCodes: Array<[HostileBehaviour, string, string | null]> = [
  ['wrong-origin', 'origin_mismatch', null],
  ['kod-rate', 'kiss_rate', 'RATE'],
  ['kod-deny', 'kiss_deny', 'DENY'],
  ['kod-rstr', 'kiss_rstr', 'RSTR'],
  ['stratum-0', 'kiss_unreadable', null],
  ['stratum-16', 'stratum_unsynchronised', null],
  ['leap-3', 'leap_alarm', null],
  ['zero-transmit', 'zero_timestamp', null],
  ['mode-3', 'mode_invalid', null],
  ['version-2', 'version_invalid', null],
  ['truncated', 'short_packet', null],
  ['oversized', 'malformed_tail', null],
  ['other-port', 'stray_datagram', null],
  ['huge-root-distance', 'root_distance', null],
  ['negative-delay', 'negative_delay', null],
  ['silent', 'timeout', null],
];

test('agentctl time --json: every hostile reply, a stopped server and a falseticker carry their code', async (t) => {
  const servers = await startAll(t, {
    good1: { behaviour: 'good' },
    good2: { behaviour: 'good' },
    ahead: { behaviour: 'good', offsetMs: 92_000 },
    ...Object.fromEntries(expectedCodes.map(([behaviour]) => [behaviour, { behaviour }])),
  });
  const stopped = await stoppedServerAddress();
  const dir = await mkdtemp(path.join(tmpdir(), 'tg-codes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // An empty configuration file, so that the machine's own preferences are never read.
  const config = path.join(dir, 'agent.json');
  await writeFile(config, '{}\n');

  const ntp = [...Object.values(servers).map(at), stopped];
  const args = [
    'time',
    '--json',
    '--config',
    config,
    '--samples',
    '1',
    // Sources are asked in parallel, so the silent ones cost this once; long enough that the
    // test servers (all in this busy process) answer in time on a loaded machine.
    '--timeout',
    '2000',
    '--spacing',
    '0',
    ...ntp.flatMap((a) => ['--ntp', a]),
  ];
  args.push('--https', 'https://127.0.0.1:1/');
  const result = await agentctl(args);
  t.is(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout) as {
    state: string;
    confident: boolean;
    uncertain_reason: string | null;
    sources: SourceRow[];
    falsetickers: string[];
  };
  const row = (address: string): SourceRow => json.sources.find((s) => s.address === address)!;

  t.is(json.state, 'ok', 'two agreeing good servers of three answering are a majority');
  t.true(json.confident);
  t.is(json.uncertain_reason, null);
  for (const name of ['good1', 'good2']) t.like(row(at(servers[name]!)), { status: 'ok', code: null, error: null });
  t.like(row(at(servers.ahead!)), { status: 'falseticker', code: 'falseticker', error: null });
  t.deepEqual(json.falsetickers, [at(servers.ahead!)]);
  for (const [behaviour, code, kiss] of expectedCodes) {
    const source = row(at(servers[behaviour]!));
    t.like(source, { status: 'error', code, kiss_code: kiss }, `${behaviour}: ${source.error}`);
    t.truthy(source.error, 'the sentence stays beside the code');
  }
  t.like(row(stopped), { status: 'error', code: 'timeout' });
  t.regex(row(stopped).error!, /no reply within 2000 ms/);
  t.like(row('https://127.0.0.1:1/'), { kind: 'https', status: 'error', code: 'connection_refused' });
  for (const source of json.sources)
    t.true(
      source.code === null || source.code === 'falseticker' || isCode(sourceFailureCodes, source.code),
      String(source.code),
    );
});

test('agentctl time --json: a lone stopped server is a timeout, and the round has no sources (exit 1)', async (t) => {
  const stopped = await stoppedServerAddress();
  const dir = await mkdtemp(path.join(tmpdir(), 'tg-codes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'agent.json');
  await writeFile(config, '{}\n');
  const result = await agentctl([
    'time',
    '--json',
    '--config',
    config,
    '--samples',
    '2',
    '--timeout',
    '200',
    '--spacing',
    '0',
    '--ntp',
    stopped,
  ]);
  t.is(result.code, 1, result.stderr);
  const json = JSON.parse(result.stdout) as { state: string; uncertain_reason: string; sources: SourceRow[] };
  t.is(json.state, 'uncertain');
  t.is(json.uncertain_reason, 'no_sources');
  t.deepEqual(
    json.sources.map((s) => [s.status, s.code]),
    [['error', 'timeout']],
  );
});

test('agentd status --json: failed sources and the falseticker carry their code; the debug log names each rejection', async (t) => {
  const servers = await startAll(t, {
    good1: { behaviour: 'good' },
    good2: { behaviour: 'good' },
    ahead: { behaviour: 'good', offsetMs: 92_000 },
    spoofed: { behaviour: 'wrong-origin' },
    deny: { behaviour: 'kod-deny' },
  });
  const stopped = await stoppedServerAddress();
  const fixture = createAgentFixture('tg-codes-');
  t.teardown(() => fixture.cleanup());
  fixture.writeConfig({
    NTPServers: [...Object.values(servers).map(at), stopped],
    NTPSamplesPerServer: 1,
    // One sample each, and the next round an hour away: long enough for a loaded machine.
    NTPTimeoutMilliseconds: 2000,
    MeasureIntervalSeconds: 3600,
    LogLevel: 'debug',
  });
  await fixture.start();
  await eventually(async () => {
    const response = await requestOnce(fixture.socketPath, { request: 'status' });
    return ((response.result as { clock?: { measurements?: number } }).clock?.measurements ?? 0) >= 1
      ? true
      : undefined;
  }, 'the first measurement');

  const status = await agentctl(['status', '--json', '--config', fixture.configFile]);
  // The falseticker is a problem of the status summary (issue 21): exit 2.
  t.is(status.code, 2, status.stderr);
  const clock = (
    JSON.parse(status.stdout) as { clock: { state: string; sources: SourceRow[]; falsetickers: string[] } }
  ).clock;
  const codes = Object.fromEntries(clock.sources.map((s) => [s.address, [s.status, s.code]]));
  t.deepEqual(codes, {
    [at(servers.good1!)]: ['ok', null],
    [at(servers.good2!)]: ['ok', null],
    [at(servers.ahead!)]: ['falseticker', 'falseticker'],
    [at(servers.spoofed!)]: ['error', 'origin_mismatch'],
    [at(servers.deny!)]: ['error', 'kiss_deny'],
    [stopped]: ['error', 'timeout'],
  });
  t.is(clock.state, 'ok');

  // A second round: the DENY source is retired and says so with its own code.
  const admin = `${fixture.socketPath}.admin`;
  const again = (await requestOnce(admin, { request: 'measure' })) as { ok: boolean; result: { sources: SourceRow[] } };
  t.true(again.ok, JSON.stringify(again));
  t.like(
    again.result.sources.find((s) => s.address === at(servers.deny!)),
    { code: 'retired_deny', kiss_code: 'DENY' },
  );

  const rejections = fixture.logLines().filter((l) => l.message === 'NTP reply rejected');
  t.true(
    rejections.some((l) => l.source === at(servers.spoofed!) && l.code === 'origin_mismatch'),
    JSON.stringify(rejections),
  );
  t.true(
    rejections.some((l) => l.source === stopped && l.code === 'timeout'),
    JSON.stringify(rejections),
  );
  t.true(rejections.every((l) => typeof l.code === 'string' && typeof l.reason === 'string'));
});
