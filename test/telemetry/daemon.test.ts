// Telemetry end to end: a real agentd (test/helpers/agent.ts) sending to a real collector
// (nginx, test/helpers/collector.ts), driven through the real agentctl.
//   1. events arrive as gzip-compressed OTLP JSON the official schema accepts, with the token
//   2. an outage with two kill -9s loses nothing (1,000 event IDs, every sequence number)
//   3. a tiny TelemetryMaxDiskMB keeps the disk under it, keeps the newest, counts the drops
//   4. a 400 dead-letters the batch and the queue moves on; a silent collector is timed out
//   5. a torn final record is cut on restart with no other loss
//   8. the heartbeat carries the guardrail and compliance state
import test from 'ava';
import { chmodSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { agentctl, createAgentFixture, eventually, requestOnce, type AgentFixture } from '../helpers/agent.js';
import { startChrony, type RunningChrony } from '../helpers/chrony.js';
import { nginxPath, startCollector, type Collector } from '../helpers/collector.js';
import { logsRequestProblems } from '../helpers/otlp-schema.js';
import { missing } from '../helpers/system.js';

const needsNginx = nginxPath ? '' : ' [needs nginx-light]';
const withNginx = nginxPath ? test : test.skip;

interface Received {
  id: string;
  seq: number;
  name: string;
  code: string | undefined;
  attrs: Record<string, unknown>;
}

type KV = Array<{ key: string; value: Record<string, unknown> }>;

function plain(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  if ('arrayValue' in value)
    return ((value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(plain);
  return null;
}

/** Every event the collector accepted, in arrival order, after checking each body against the schema. */
function received(collector: Collector, t?: { deepEqual(a: unknown, b: unknown, m?: string): void }): Received[] {
  const out: Received[] = [];
  for (const body of collector.accepted()) {
    if (t) t.deepEqual(logsRequestProblems(body), [], 'the official schema accepts every body');
    const request = body as {
      resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ eventName: string; attributes: KV }> }> }>;
    };
    for (const record of request.resourceLogs[0]!.scopeLogs[0]!.logRecords) {
      const attrs = Object.fromEntries(record.attributes.map((a) => [a.key, plain(a.value)]));
      out.push({
        id: attrs['event.id'] as string,
        seq: attrs['event.sequence'] as number,
        name: record.eventName,
        code: attrs['event.code'] as string | undefined,
        attrs,
      });
    }
  }
  return out;
}

async function telemetrySection(fixture: AgentFixture): Promise<Record<string, unknown>> {
  const response = await requestOnce(fixture.socketPath, { request: 'status' });
  return (response.result as { telemetry: Record<string, unknown> }).telemetry;
}

async function produce(fixture: AgentFixture, count: number): Promise<string[]> {
  const r = await agentctl([
    'telemetry',
    'test',
    '--count',
    String(count),
    '--json',
    '--wait',
    '0',
    '--socket',
    fixture.socketPath,
  ]);
  if (r.code !== 0) throw new Error(`agentctl telemetry test: ${r.code} ${r.stderr}`);
  return (JSON.parse(r.stdout) as { ids: string[] }).ids;
}

function tokenFile(fixture: AgentFixture, token: string): string {
  const file = path.join(fixture.dir, 'collector-token');
  writeFileSync(file, `${token}\n`);
  chmodSync(file, 0o600);
  return file;
}

const spoolBytes = (fixture: AgentFixture) => {
  const dir = path.join(fixture.stateDir, 'telemetry');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
};

async function setup(
  t: { teardown(fn: () => Promise<void> | void): void },
  config: Record<string, unknown> = {},
  collectorOptions: { running?: boolean } = {},
) {
  const collector = await startCollector();
  const fixture = createAgentFixture('tg-telemetry-');
  t.teardown(async () => {
    await fixture.cleanup();
    await collector.cleanup();
  });
  if (collectorOptions.running === false) await collector.stop();
  fixture.writeConfig({
    CollectorURL: collector.origin,
    CollectorBearerTokenFile: tokenFile(fixture, collector.token),
    TelemetryFlushIntervalSeconds: 1,
    ...config,
  });
  return { collector, fixture };
}

withNginx(
  `events from a running daemon arrive as gzip-compressed OTLP JSON the official schema accepts, with the bearer token${needsNginx}`,
  async (t) => {
    // An unknown key: a configuration problem, which is an event too.
    const { collector, fixture } = await setup(t, { NoSuchKey: true });
    await fixture.start();
    const ids = await produce(fixture, 20);
    const events = await eventually(() => {
      const got = received(collector);
      return ids.every((id) => got.some((e) => e.id === id)) ? got : undefined;
    }, 'the test events at the collector');
    received(collector, t);
    for (const request of collector.requests().filter((r) => r.path === '/v1/logs')) {
      t.is(request.contentEncoding, 'gzip');
      t.is(request.contentType, 'application/json');
      t.is(request.authorization, 'match', 'the bearer token from CollectorBearerTokenFile');
      t.is(request.raw![0], 0x1f);
    }
    const heartbeat = events.find((e) => e.name === 'agent.heartbeat');
    t.truthy(heartbeat, 'a heartbeat at start');
    t.is(heartbeat!.attrs.agent_version, '0.1.0');
    t.is(heartbeat!.attrs.config_problems, 1);
    const problem = events.find((e) => e.name === 'agent.config_problems');
    t.is(problem?.code, 'config_invalid');
    t.regex(JSON.stringify(problem?.attrs.problems), /NoSuchKey/);
    const resource = (collector.accepted()[0] as { resourceLogs: Array<{ resource: { attributes: KV } }> })
      .resourceLogs[0]!.resource.attributes;
    const res = Object.fromEntries(resource.map((a) => [a.key, plain(a.value)]));
    t.is(res['service.name'], 'trustguard-agent');
    t.is(res['os.type'], process.platform);
    t.truthy(res['host.id']);
    t.truthy(res['service.version']);
    // A heartbeat or a config event may be on its way at any moment: wait for an idle moment.
    const status = await eventually(async () => {
      const s = await telemetrySection(fixture);
      return s.state === 'idle' ? s : undefined;
    }, 'telemetry idle between uploads');
    t.like(status, { enabled: true, state: 'idle', auth: 'bearer_token_file', dropped: 0, dead_lettered: 0 });
    t.truthy(status.last_success_at);
    const human = await agentctl(['status', '--socket', fixture.socketPath]);
    t.regex(human.stdout, />>> Telemetry\n\s+Collector\s+\| http:\/\/127\.0\.0\.1:\d+\/v1\/logs/);
    t.false(
      human.stdout.includes(collector.token) || JSON.stringify(fixture.logLines()).includes(collector.token),
      'the token is never shown or logged',
    );
  },
);

withNginx(
  `outage: 1,000 events, kill -9 twice, 503 with Retry-After, then healthy: every event ID and sequence number arrives${needsNginx}`,
  async (t) => {
    const { collector, fixture } = await setup(t, { TelemetryMaxEventsPerSecond: 5000 }, { running: false });
    const ids: string[] = [];
    let agent = await fixture.start();
    ids.push(...(await produce(fixture, 400)));
    agent.child.kill('SIGKILL');
    await agent.exited;
    agent = await fixture.start();
    ids.push(...(await produce(fixture, 300)));
    agent.child.kill('SIGKILL');
    await agent.exited;
    agent = await fixture.start();
    ids.push(...(await produce(fixture, 300)));
    t.is(new Set(ids).size, 1000);
    const during = await telemetrySection(fixture);
    t.true((during.queue_depth as number) >= 1000, `queue ${during.queue_depth}`);
    t.regex(
      String((during.last_error as { code?: string } | null)?.code ?? 'collector_unreachable'),
      /collector_unreachable/,
    );

    collector.setMode('503');
    await collector.start();
    // After the outage the backoff may be long (full jitter up to 2^attempts s): ask for an
    // upload now, as an admin would, so the wait below does not depend on the dice. (That
    // forced upload may follow a scheduled one's 503 at once: Retry-After is checked after it.)
    const flush = await agentctl(['telemetry', 'flush', '--wait', '0', '--socket', fixture.socketPath]);
    t.is(flush.code, 0, flush.stderr);
    const flushedAt = Date.now();
    const answered503 = () => collector.requests().filter((r) => r.status === 503 && r.atMs >= flushedAt);
    await eventually(() => (answered503().length >= 1 ? true : undefined), 'a 503 answered', 600, 50);
    await eventually(() => (answered503().length >= 2 ? true : undefined), 'a second 503', 600, 50);
    const backingOff = await telemetrySection(fixture);
    t.is((backingOff.last_error as { code: string }).code, 'collector_unavailable');
    collector.setMode('ok');

    const events = await eventually(
      () => {
        const got = received(collector);
        const seen = new Set(got.map((e) => e.id));
        return ids.every((id) => seen.has(id)) ? got : undefined;
      },
      'all 1,000 events at the collector',
      1200,
      50,
    );
    received(collector, t);
    // Retry-After: 1 was honoured: after each 503 the next attempt came a second or more later.
    const requests = collector.requests();
    for (let i = 0; i < requests.length - 1; i++) {
      if (requests[i]!.status === 503 && requests[i]!.atMs >= flushedAt)
        t.true(
          requests[i + 1]!.atMs - requests[i]!.atMs >= 990,
          `retry ${requests[i + 1]!.atMs - requests[i]!.atMs} ms after a 503`,
        );
    }
    const bySeq = new Map<number, string>();
    let duplicates = 0;
    for (const e of events) {
      const known = bySeq.get(e.seq);
      if (known !== undefined) {
        duplicates++;
        t.is(known, e.id, 'a duplicate is the same event (same sequence, same id)');
      } else bySeq.set(e.seq, e.id);
    }
    const max = Math.max(...bySeq.keys());
    const missingSeqs = Array.from({ length: max }, (_, i) => i + 1).filter((s) => !bySeq.has(s));
    t.deepEqual(missingSeqs, [], 'every sequence number from 1 up is present');
    t.log(
      `${events.length} events received for ${bySeq.size} sequence numbers (1000 test events + heartbeats); duplicates: ${duplicates}`,
    );
    t.true(duplicates <= 500, 'duplicates only from a batch in flight at a kill (at most one batch)');
    const after = await eventually(async () => {
      const s = await telemetrySection(fixture);
      return s.queue_depth === 0 ? s : undefined;
    }, 'an empty queue');
    t.is(after.dropped, 0);
    t.is(after.dead_lettered, 0);
    t.deepEqual(
      readdirSync(path.join(fixture.stateDir, 'telemetry')).filter((f) => f.endsWith('.seg')),
      [],
      'segments are deleted once delivered',
    );
  },
);

withNginx(
  `bound: a tiny TelemetryMaxDiskMB keeps the disk under it and the newest events, and reports the drops in status and the next heartbeat${needsNginx}`,
  async (t) => {
    const { collector, fixture } = await setup(
      t,
      { TelemetryMaxDiskMB: 1, TelemetryMaxEventsPerSecond: 10000 },
      { running: false },
    );
    await fixture.start();
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      ids.push(...(await produce(fixture, 5000)));
      const used = spoolBytes(fixture);
      t.true(used <= 1 << 20, `round ${round}: ${used} bytes on disk, bound ${1 << 20}`);
    }
    const status = await telemetrySection(fixture);
    t.true((status.dropped as number) > 5000, `dropped ${status.dropped}`);
    t.true((status.queue_bytes as number) <= 1 << 20);
    const human = await agentctl(['status', '--socket', fixture.socketPath]);
    t.regex(human.stdout, new RegExp(`Dropped\\s+\\| ${status.dropped}`));

    await collector.start();
    const flush = await agentctl(['telemetry', 'flush', '--wait', '0', '--socket', fixture.socketPath]);
    t.is(flush.code, 0, flush.stderr);
    const events = await eventually(
      () => {
        const got = received(collector);
        const heartbeats = got.filter((e) => e.name === 'agent.heartbeat' && (e.attrs.dropped_total as number) > 0);
        return heartbeats.length > 0 && got.some((e) => e.id === ids.at(-1)) ? got : undefined;
      },
      'the newest events and a heartbeat with the drop count',
      1200,
      50,
    );
    const heartbeat = events.find((e) => e.name === 'agent.heartbeat' && (e.attrs.dropped_total as number) > 0)!;
    t.is(heartbeat.attrs.dropped_total, status.dropped, 'the heartbeat reports the drop count');
    const got = new Set(events.map((e) => e.id));
    const keptTail = ids.slice(-1000);
    t.true(
      keptTail.every((id) => got.has(id)),
      'the newest 1,000 test events all arrived',
    );
    t.false(got.has(ids[0]!), 'the oldest was dropped');
    // The drops are exactly the oldest sequence numbers (the start heartbeat and the first test
    // events): what arrived is the contiguous run after them.
    const seqs = [...new Set(events.map((e) => e.seq))].sort((a, b) => a - b);
    t.is(seqs[0], (status.dropped as number) + 1, 'the first sequence that arrived follows the dropped ones');
    t.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i),
      'no gap after the drops',
    );
  },
);

withNginx(
  `a 400 dead-letters the batch (counted) and the queue moves on; a collector that never answers is timed out${needsNginx}`,
  async (t) => {
    const { collector, fixture } = await setup(t);
    collector.setMode('400');
    await fixture.start();
    const rejected = await produce(fixture, 30);
    const dead = await eventually(async () => {
      const s = await telemetrySection(fixture);
      return (s.dead_lettered as number) >= 31 && s.queue_depth === 0 ? s : undefined;
    }, 'the batch dead-lettered');
    t.is((dead.last_error as { code: string; status: number }).code, 'collector_rejected');
    t.is((dead.last_error as { status: number }).status, 400);
    t.false(received(collector).some((e) => rejected.includes(e.id)));
    collector.setMode('ok');
    const later = await produce(fixture, 5);
    await eventually(
      () => (later.every((id) => received(collector).some((e) => e.id === id)) ? true : undefined),
      'later events delivered',
    );
    const human = await agentctl(['status', '--socket', fixture.socketPath]);
    t.regex(human.stdout, /Dead lettered\s+\| 3\d/);
    // Long values wrap inside their column at 80 columns (issue 21): read the row joined.
    t.regex(human.stdout.replace(/\n +\| /g, ' '), /refused a batch for good \(HTTP 4xx\).*\(HTTP 400\)/);

    // A collector that accepts the connection and never answers.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      sockets.forEach((s) => s.destroy());
      silent.close();
    });
    fixture.writeConfig({
      CollectorURL: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
      CollectorTimeoutSeconds: 1,
      TelemetryFlushIntervalSeconds: 1,
    });
    const reload = await agentctl(['reload', '--socket', fixture.socketPath]);
    t.is(reload.code, 0, reload.stdout + reload.stderr);
    await produce(fixture, 1);
    const timedOut = await eventually(async () => {
      const s = await telemetrySection(fixture);
      return (s.last_error as { code?: string } | null)?.code === 'collector_timeout' ? s : undefined;
    }, 'a timeout');
    // Retried: waiting for its next attempt, or already in it (full jitter may pick a short wait).
    t.true(['backing_off', 'sending'].includes(timedOut.state as string), String(timedOut.state));
    t.true((timedOut.consecutive_failures as number) >= 1);
    t.true(sockets.length >= 1, 'the connection was accepted');
    t.true((timedOut.queue_depth as number) >= 1, 'the events stay queued');
  },
);

withNginx(
  `a torn final record (the segment cut mid-record while the daemon was down) is cut on restart with no other loss${needsNginx}`,
  async (t) => {
    const { collector, fixture } = await setup(t, {}, { running: false });
    let agent = await fixture.start();
    const ids = await produce(fixture, 50);
    agent.child.kill('SIGKILL');
    await agent.exited;
    const dir = path.join(fixture.stateDir, 'telemetry');
    const last = path.join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.seg'))
        .sort()
        .at(-1)!,
    );
    truncateSync(last, statSync(last).size - 17);
    await collector.start();
    agent = await fixture.start();
    const events = await eventually(() => {
      const got = received(collector);
      return ids.slice(0, 49).every((id) => got.some((e) => e.id === id)) ? got : undefined;
    }, 'the 49 whole events');
    t.false(
      events.some((e) => e.id === ids[49]),
      'the torn one is gone',
    );
    const seqs = events.map((e) => e.seq).sort((a, b) => a - b);
    t.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
      'no gap: the torn record was the last, its number is reused',
    );
    const status = await telemetrySection(fixture);
    t.is(status.corrupt, 0);
  },
);

const needsChrony = missing('chronyd', 'libfaketime');
(nginxPath && !needsChrony ? test : test.skip)(
  `the heartbeat carries the compliance and guardrail state (enforce mode, clock 92 s off)${needsNginx}${needsChrony ? ` [needs ${needsChrony}]` : ''}`,
  async (t) => {
    const servers: RunningChrony[] = await Promise.all([92, 92, 92].map((skewSeconds) => startChrony({ skewSeconds })));
    t.teardown(() => Promise.all(servers.map((s) => s.stop())).then(() => undefined));
    const { collector, fixture } = await setup(t, {
      Mode: 'enforce',
      NTPServers: servers.map((s) => `${s.host}:${s.port}`),
      MeasureIntervalSeconds: 3600,
    });
    await fixture.start();
    const heartbeat = await eventually(
      () =>
        received(collector).find((e) => e.name === 'agent.heartbeat' && e.attrs.compliance_state === 'non_compliant'),
      'a heartbeat saying non_compliant',
      600,
      50,
    );
    t.like(heartbeat.attrs, {
      mode: 'enforce',
      guardrail_state: 'active',
      compliance_state: 'non_compliant',
      compliant: false,
      compliance_enforced: true,
      clock_confident: true,
      clock_agreeing_sources: 3,
    });
    t.true(
      Math.abs((heartbeat.attrs.clock_offset_ms as number) - 92_000) < 50,
      `offset ${heartbeat.attrs.clock_offset_ms}`,
    );
    t.regex(heartbeat.attrs.compliance_reason as string, /92 s/);
    t.is(typeof heartbeat.attrs.queue_depth, 'number');
    const stateChange = await eventually(
      () => received(collector).find((e) => e.name === 'clock.state_changed' && e.code === 'active'),
      'the state change event too',
    );
    t.is(stateChange.attrs.to, 'active');
  },
);

withNginx(
  `SIGTERM writes the events still waiting for their group fsync; the daemon exits 0${needsNginx}`,
  async (t) => {
    const { collector, fixture } = await setup(t, {}, { running: false });
    const agent = await fixture.start();
    // A reload with a problem queues an agent.config_problems event; SIGTERM follows at once,
    // inside the spool's 100 ms group window.
    fixture.writeConfig({
      CollectorURL: collector.origin,
      CollectorBearerTokenFile: path.join(fixture.dir, 'collector-token'),
      TelemetryFlushIntervalSeconds: 2,
      AnotherUnknownKey: 1,
    });
    const reload = await agentctl(['reload', '--socket', fixture.socketPath]);
    t.is(reload.code, 1, 'the reload reports the problem');
    agent.child.kill('SIGTERM');
    // Exit 0 is the behaviour; how long it took is not asserted (issue 17 item 16).
    t.is((await agent.exited).code, 0);
    await collector.start();
    await fixture.start();
    const event = await eventually(
      () => received(collector).find((e) => e.name === 'agent.config_problems' && e.attrs.reason === 'reload'),
      'the reload problem event, written at shutdown',
      600, // 30 s: a restarted daemon's first flush on a loaded machine; the delay is not what is tested
    );
    t.regex(JSON.stringify(event.attrs.problems), /AnotherUnknownKey/);
  },
);
