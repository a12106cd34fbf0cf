// Telemetry throughput and the figures behind docs/telemetry.md's sizing table.
//
//   1. durable enqueue: events through the daemon's path (check, UUID, JSON, spool append) until
//      every one is fdatasync'ed, produced in ticks of 500 so that group commit interleaves
//      with production as in a busy daemon. Budget ≥ 20,000 events/s.
//   2. drain: a spool of 50,000 queued events uploaded to the local collector (nginx, as in the
//      tests) with the production batch caps, gzip and keep-alive, the per-device rate cap
//      lifted (it is a policy, not a limit of the code). Budget ≥ 10,000 events/s.
//   3. a measured daemon run: agentd with three chronyd sources (when installed) and a
//      shortened heartbeat, sending to the collector: events and bytes per heartbeat request.
//   4. the fleet: 50,000 devices through a one-hour collector outage, each retrying with the
//      agent's own backoff (fullJitterDelay) and randomised flush, draining under its rate cap;
//      the collector's peak load when it returns.
// BENCH_DAEMON_SECONDS shortens run 3 (default 60).
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fullJitterDelay, retryAfterDelay } from '../agent/telemetry/backoff.js';
import { batchLimits } from '../agent/telemetry/config.js';
import { encodeStoredEvent, prepareEvent } from '../agent/telemetry/events.js';
import { OtlpHttpExporter } from '../agent/telemetry/exporter.js';
import { Forwarder } from '../agent/telemetry/forwarder.js';
import { Spool } from '../agent/telemetry/spool.js';
import { createAgentFixture, eventually, requestOnce } from '../test/helpers/agent.js';
import { startChrony, type RunningChrony } from '../test/helpers/chrony.js';
import { nginxPath, startCollector, type Collector } from '../test/helpers/collector.js';
import { missing } from '../test/helpers/system.js';

const enqueueBudget = 20_000;
const drainBudget = 10_000;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'OVER');
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A guardrail-sized event: the shape clock.state_changed and scrub audits have. */
function sampleEvent(i: number) {
  return {
    name: 'clock.state_changed',
    severity: 'warn' as const,
    code: 'active',
    attributes: {
      from: 'warn',
      to: 'active',
      offset_ms: 92_004.5 + (i % 100),
      uncertainty_ms: 12.5,
      agreeing_sources: 3,
      total_sources: 3,
      confident: true,
      falsetickers: [] as string[],
    },
  };
}

async function benchEnqueue(total: number): Promise<{ rate: number; groups: number; bytesPerEvent: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-bench-spool-'));
  try {
    const spool = await Spool.open({ dir, maxBytes: 256 << 20 });
    const started = performance.now();
    let last: Promise<void> = Promise.resolve();
    for (let produced = 0; produced < total;) {
      for (let k = 0; k < 500 && produced < total; k++, produced++) {
        const prepared = prepareEvent(sampleEvent(produced));
        if (!prepared.ok) throw new Error('bad sample event');
        last = spool.append(encodeStoredEvent(prepared.event)).durable;
      }
      await new Promise((r) => setImmediate(r));
    }
    await last;
    const seconds = (performance.now() - started) / 1000;
    const stats = spool.stats();
    await spool.close();
    return { rate: total / seconds, groups: stats.groupsWritten, bytesPerEvent: stats.bytes / total };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchDrain(
  collector: Collector,
  total: number,
): Promise<{ rate: number; requests: number; wireBytesPerEvent: number; jsonBytesPerEvent: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-bench-drain-'));
  try {
    const spool = await Spool.open({ dir, maxBytes: 256 << 20 });
    for (let i = 0; i < total; i++) {
      const prepared = prepareEvent(sampleEvent(i));
      if (prepared.ok) spool.append(encodeStoredEvent(prepared.event));
    }
    await spool.flush();
    const exporter = new OtlpHttpExporter({
      collectorUrl: collector.origin,
      timeoutMs: 30_000,
      resource: {
        'service.name': 'trustguard-agent',
        'service.version': '0.1.0',
        'host.id': '3d1219c7c4c5404aaa1f6d2a48adfda4',
        'os.type': 'linux',
        'os.version': '12',
      },
      scopeVersion: '0.1.0',
      userAgent: 'TrustGuard/bench',
    });
    const before = collector.requests().length;
    const forwarder = new Forwarder({
      spool,
      exporter,
      batchMaxRecords: batchLimits.maxRecords,
      batchMaxBytes: batchLimits.maxBytes,
      maxRecordsPerSecond: 1e9,
      flushIntervalMs: 60_000,
    });
    const started = performance.now();
    forwarder.start(0);
    while (spool.stats().depth > 0) await new Promise((r) => setTimeout(r, 2));
    const seconds = (performance.now() - started) / 1000;
    await forwarder.stop();
    exporter.close();
    await spool.close();
    // nginx logs a request after answering it: wait for the last lines.
    let logged = -1;
    while (logged !== collector.requests().length) {
      logged = collector.requests().length;
      await new Promise((r) => setTimeout(r, 200));
    }
    const requests = collector
      .requests()
      .slice(before)
      .filter((r) => r.status === 200);
    const wire = requests.reduce((s, r) => s + (r.raw?.length ?? 0), 0);
    const json = requests.reduce((s, r) => s + (r.body?.length ?? 0), 0);
    return {
      rate: total / seconds,
      requests: requests.length,
      wireBytesPerEvent: wire / total,
      jsonBytesPerEvent: json / total,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface DaemonRun {
  seconds: number;
  sources: string;
  events: Record<string, number>;
  heartbeatRequests: number;
  wireBytesPerHeartbeatRequest: number;
  jsonBytesPerHeartbeatRequest: number;
  rssMB: number | null;
}

async function measureDaemon(collector: Collector, seconds: number): Promise<DaemonRun> {
  const chronyMissing = missing('chronyd', 'libfaketime');
  const servers: RunningChrony[] = chronyMissing
    ? []
    : await Promise.all([0, 0, 0].map((skewSeconds) => startChrony({ skewSeconds })));
  const fx = createAgentFixture('tg-bench-daemon-');
  try {
    const token = path.join(fx.dir, 'token');
    writeFileSync(token, collector.token);
    chmodSync(token, 0o600);
    // Heartbeats every 10 s so that a short run sees several; flushes often so each heartbeat
    // travels alone, as it does at the defaults (one heartbeat an hour, a flush a minute).
    fx.writeConfig({
      CollectorURL: collector.origin,
      CollectorBearerTokenFile: token,
      TelemetryHeartbeatIntervalSeconds: 10,
      TelemetryFlushIntervalSeconds: 2,
      NTPServers: servers.map((s) => `${s.host}:${s.port}`),
      MeasureIntervalSeconds: 90,
    });
    const before = collector.requests().length;
    const agent = await fx.start();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await requestOnce(`${fx.socketPath}.admin`, { request: 'telemetry.flush' });
    await eventually(async () => {
      const status = (await requestOnce(fx.socketPath, { request: 'status' })).result as {
        telemetry: { queue_depth: number };
      };
      return status.telemetry.queue_depth === 0 ? true : undefined;
    }, 'the queue to drain');
    let rssMB: number | null = null;
    try {
      const { readFileSync } = await import('node:fs');
      rssMB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1]) / 1024;
    } catch {
      // not Linux
    }
    const requests = collector
      .requests()
      .slice(before)
      .filter((r) => r.status === 200 && r.body);
    const events: Record<string, number> = {};
    const heartbeatOnly: Array<{ wire: number; json: number }> = [];
    for (const r of requests) {
      const body = JSON.parse(r.body!.toString()) as {
        resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ eventName: string }> }> }>;
      };
      const names = body.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => l.eventName);
      for (const n of names) events[n] = (events[n] ?? 0) + 1;
      if (names.length === 1 && names[0] === 'agent.heartbeat')
        heartbeatOnly.push({ wire: r.raw!.length, json: r.body!.length });
    }
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    return {
      seconds,
      sources: servers.length ? `${servers.length} chronyd servers` : 'no time sources (chrony not installed)',
      events,
      heartbeatRequests: heartbeatOnly.length,
      wireBytesPerHeartbeatRequest: mean(heartbeatOnly.map((h) => h.wire)),
      jsonBytesPerHeartbeatRequest: mean(heartbeatOnly.map((h) => h.json)),
      rssMB,
    };
  } finally {
    await fx.cleanup();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** A seeded PRNG (mulberry32) so the fleet figures are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FleetFigures {
  devices: number;
  steadyRequestsPerSecond: number;
  outagePeakRequestsPerSecond: number;
  outagePeakEventsPerSecond: number;
  outageP50RecoverySeconds: number;
  outageP99RecoverySeconds: number;
  naivePeakRequestsPerSecond: number;
}

/**
 * 50,000 devices at the defaults (heartbeat hourly at a random phase, flush every 60 s ± 50 %,
 * 200 events/s cap, batches of 500) and a collector unreachable for the first hour. Each
 * device's attempts follow the agent's own fullJitterDelay; the first attempt at or after the
 * collector's return succeeds and the device then drains its backlog under its cap.
 */
function simulateFleet(devices: number, eventsPerDevicePerHour: number, retryAfterSeconds?: number): FleetFigures {
  const random = prng(12345);
  const outage = 3600;
  const flush = 60;
  const cap = 200;
  const bins = new Map<number, { requests: number; events: number }>();
  const add = (second: number, requests: number, events: number) => {
    const b = bins.get(second) ?? { requests: 0, events: 0 };
    b.requests += requests;
    b.events += events;
    bins.set(second, b);
  };
  const recovery: number[] = [];
  for (let d = 0; d < devices; d++) {
    // The first event of the outage (a heartbeat at the device's own phase), then its flush.
    const firstEvent = random() * (3600 / eventsPerDevicePerHour);
    let t = firstEvent + flush * (0.5 + random());
    let attempt = 0;
    // Connection refused: the agent's backoff. A load balancer answering 503 + Retry-After:
    // that wait (plus the agent's up-to-10 % spread), every time.
    while (t < outage)
      t +=
        (retryAfterSeconds === undefined
          ? fullJitterDelay(attempt++, random)
          : retryAfterDelay(retryAfterSeconds * 1000, random)) / 1000;
    const backlog = Math.max(1, Math.floor((t - firstEvent) * (eventsPerDevicePerHour / 3600)) + 1);
    recovery.push(t - outage);
    // Drain: one request per batch, spaced by the rate cap.
    for (let sent = 0, at = t; sent < backlog; sent += batchLimits.maxRecords) {
      const n = Math.min(batchLimits.maxRecords, backlog - sent);
      add(Math.floor(at), 1, n);
      at += n / cap;
    }
  }
  let peakRequests = 0;
  let peakEvents = 0;
  for (const b of bins.values()) {
    peakRequests = Math.max(peakRequests, b.requests);
    peakEvents = Math.max(peakEvents, b.events);
  }
  recovery.sort((a, b) => a - b);
  return {
    devices,
    steadyRequestsPerSecond: (devices * eventsPerDevicePerHour) / 3600,
    outagePeakRequestsPerSecond: peakRequests,
    outagePeakEventsPerSecond: peakEvents,
    outageP50RecoverySeconds: recovery[Math.floor(devices * 0.5)]!,
    outageP99RecoverySeconds: recovery[Math.floor(devices * 0.99)]!,
    // Without jitter (every device retrying each second in step), all return in one second.
    naivePeakRequestsPerSecond: devices,
  };
}

let failed = false;
const enqueue = await benchEnqueue(100_000);
console.log(
  `durable enqueue        ${fmt(enqueue.rate)} events/s (100,000 events, ${fmt(enqueue.groups)} group fsyncs, ${fmt(100_000 / enqueue.groups, 1)} events per fsync, ${fmt(enqueue.bytesPerEvent, 1)} bytes per event on disk) (budget ≥ ${fmt(enqueueBudget)})  ${verdict(enqueue.rate >= enqueueBudget)}`,
);
failed ||= enqueue.rate < enqueueBudget;

if (!nginxPath) {
  console.log('drain                  SKIPPED [needs nginx-light]: cannot check the budget');
  failed = true;
} else {
  const collector = await startCollector();
  try {
    const drain = await benchDrain(collector, 50_000);
    console.log(
      `drain to collector     ${fmt(drain.rate)} events/s (50,000 events in ${drain.requests} requests of ≤ ${batchLimits.maxRecords}; ${fmt(drain.jsonBytesPerEvent, 1)} bytes JSON, ${fmt(drain.wireBytesPerEvent, 1)} bytes gzip per event) (budget ≥ ${fmt(drainBudget)})  ${verdict(drain.rate >= drainBudget)}`,
    );
    failed ||= drain.rate < drainBudget;

    const seconds = Number(process.env.BENCH_DAEMON_SECONDS ?? 60);
    const run = await measureDaemon(collector, seconds);
    const heartbeats = run.events['agent.heartbeat'] ?? 0;
    console.log(
      `daemon run             ${seconds} s with ${run.sources}, heartbeat every 10 s: events ${JSON.stringify(run.events)}; a heartbeat request is ${fmt(run.jsonBytesPerHeartbeatRequest)} bytes JSON, ${fmt(run.wireBytesPerHeartbeatRequest)} bytes gzip (mean of ${run.heartbeatRequests}); RSS ${run.rssMB === null ? '?' : fmt(run.rssMB, 1)} MB`,
    );
    // Per day at the defaults: one heartbeat an hour (each its own request), plus whatever else
    // the run produced per hour beyond its start (state changes, audits).
    const otherPerHour = Object.entries(run.events)
      .filter(([name]) => name !== 'agent.heartbeat')
      .reduce((s, [, n]) => s + n, 0);
    const perDay = {
      events: 24,
      wireBytes: 24 * run.wireBytesPerHeartbeatRequest,
      jsonBytes: 24 * run.jsonBytesPerHeartbeatRequest,
    };
    console.log(
      `per device per day     ${perDay.events} heartbeats = ${fmt(perDay.jsonBytes / 1024, 1)} KiB JSON, ${fmt(perDay.wireBytes / 1024, 1)} KiB on the wire (other events seen in the run: ${otherPerHour}, from the start-up; ${heartbeats} heartbeats)`,
    );
    const fleet = simulateFleet(50_000, 1);
    console.log(
      `fleet of 50,000        steady ${fmt(fleet.steadyRequestsPerSecond, 1)} requests/s; after a 1 h outage: peak ${fmt(fleet.outagePeakRequestsPerSecond)} requests/s, ${fmt(fleet.outagePeakEventsPerSecond)} events/s; devices back: half within ${fmt(fleet.outageP50RecoverySeconds)} s, 99 % within ${fmt(fleet.outageP99RecoverySeconds)} s (retrying in step, without jitter: ${fmt(fleet.naivePeakRequestsPerSecond)} requests in one second)`,
    );
    const fleet503 = simulateFleet(50_000, 1, 60);
    console.log(
      `  … 503 + Retry-After: 60 during the outage: peak ${fmt(fleet503.outagePeakRequestsPerSecond)} requests/s, ${fmt(fleet503.outagePeakEventsPerSecond)} events/s; devices back: half within ${fmt(fleet503.outageP50RecoverySeconds)} s, 99 % within ${fmt(fleet503.outageP99RecoverySeconds)} s`,
    );
    console.log(`figures                ${JSON.stringify({ enqueue, drain, run, perDay, fleet, fleet503 })}`);
  } finally {
    await collector.cleanup();
  }
}
process.exit(failed ? 1 : 0);
