// Telemetry inside agentd: every event on the bus (daemon.bus.onEvent) is checked, given its
// UUID and put in the durable spool (StateDirectory/telemetry); the forwarder uploads the
// spool to the collector as OTLP/HTTP JSON; a heartbeat every TelemetryHeartbeatIntervalSeconds
// (and whenever the compliance state differs from the last one sent) carries the version,
// mode, guardrail and compliance state and the queue; the Telemetry status section; the
// root-only `telemetry.flush` and `telemetry.test` requests.
import path from 'node:path';
import type { ComplianceStatus } from '../clock/compliance.js';
import type { ClockEstimate } from '../clock/service.js';
import type { AgentEvent } from '../daemon/bus.js';
import type { Daemon } from '../daemon/daemon.js';
import type { Logger } from '../log/logger.js';
import { batchLimits, touches, type TelemetryConfig } from './config.js';
import { encodeStoredEvent, prepareEvent } from './events.js';
import { collectorUrlProblem, describeCollector } from './endpoint.js';
import type { OtlpHttpExporter } from './exporter.js';
import { counterNames, type Forwarder } from './forwarder.js';
import { readDeviceIdentity, type DeviceIdentity } from './identity.js';
import type { ResourceAttributes } from './otlp.js';
import { Spool, SpoolError } from './spool.js';

// The topics telemetry reads (published by the clock guardrail).
declare module '../daemon/bus.js' {
  interface Topics {
    'clock.estimate': ClockEstimate;
    compliance: ComplianceStatus;
  }
}

export const HEARTBEAT_EVENT = 'agent.heartbeat';
export const TEST_EVENT = 'telemetry.test';
export const CONFIG_EVENT = 'agent.config_problems';
const MB = 1 << 20;

export function resourceFor(identity: DeviceIdentity, version: string, instanceId: string): ResourceAttributes {
  return {
    'service.name': 'trustguard-agent',
    'service.namespace': 'com.trustguard',
    'service.version': version,
    'service.instance.id': instanceId,
    'host.id': identity.hostId,
    'host.name': identity.hostName,
    'host.arch': identity.arch,
    'os.type': identity.osType,
    'os.version': identity.osVersion,
    'os.description': identity.osDescription,
    'trustguard.device.serial': identity.serial,
  };
}

function authOf(config: TelemetryConfig): string {
  const parts: string[] = [];
  if (config.CollectorBearerTokenFile) parts.push('bearer_token_file');
  else if (config.CollectorBearerToken) parts.push('bearer_token');
  if (config.CollectorClientCertificateFile && config.CollectorClientKeyFile) parts.push('client_certificate');
  return parts.length ? parts.join('+') : 'none';
}

/** Logs at most `limit` lines per minute for one kind of problem (a buggy producer must not flood the log). */
function throttled(logger: Logger, limit = 5): (message: string, fields: Record<string, unknown>) => void {
  let windowStart = 0;
  let count = 0;
  return (message, fields) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      windowStart = now;
      count = 0;
    }
    if (++count <= limit) logger.warn(message, fields);
  };
}

export async function attachTelemetry(daemon: Daemon): Promise<void> {
  const logger = daemon.logger.child('telemetry');
  const config = () => daemon.config as TelemetryConfig;
  const identity = await readDeviceIdentity();
  if (identity.problem)
    logger.warn('device identity unavailable', { code: identity.problem.code, reason: identity.problem.reason });

  const warnRefused = throttled(logger);
  const spool = await Spool.open({
    dir: path.join(config().StateDirectory, 'telemetry'),
    maxBytes: config().TelemetryMaxDiskMB * MB,
    onEvict: (e) =>
      logger.warn('telemetry queue over TelemetryMaxDiskMB: oldest events dropped', {
        dropped: e.records,
        first_sequence: e.firstSeq,
        last_sequence: e.lastSeq,
      }),
    onCorrupt: (c) =>
      logger.error('telemetry queue damaged: events skipped', {
        segment: c.segment,
        offset: c.offset,
        records: c.records,
        reason: c.reason,
      }),
  });
  let spoolMaxBytes = config().TelemetryMaxDiskMB * MB;
  const resource = resourceFor(identity, daemon.version, spool.stats().id);
  let refused = 0;
  let stopping = false;
  let lastHeartbeat: { at: number; compliance: string } | null = null;

  // The HTTP side (https, tls, zlib's gzip) is loaded only when a collector is configured.
  const load = async () => ({ ...(await import('./exporter.js')), ...(await import('./forwarder.js')) });
  type Loaded = Awaited<ReturnType<typeof load>>;
  const buildExporter = ({ OtlpHttpExporter }: Loaded, c: TelemetryConfig) =>
    new OtlpHttpExporter({
      collectorUrl: c.CollectorURL,
      caFile: c.CollectorCAFile || undefined,
      bearerToken: c.CollectorBearerToken || undefined,
      bearerTokenFile: c.CollectorBearerTokenFile || undefined,
      clientCertificateFile: c.CollectorClientCertificateFile || undefined,
      clientKeyFile: c.CollectorClientKeyFile || undefined,
      timeoutMs: c.CollectorTimeoutSeconds * 1000,
      resource,
      scopeVersion: daemon.version,
      userAgent: `TrustGuard/${daemon.version} (${identity.osType})`,
    });
  const buildForwarder = ({ Forwarder }: Loaded, c: TelemetryConfig, exporter: OtlpHttpExporter) =>
    new Forwarder({
      spool,
      exporter,
      batchMaxRecords: batchLimits.maxRecords,
      batchMaxBytes: batchLimits.maxBytes,
      maxRecordsPerSecond: c.TelemetryMaxEventsPerSecond,
      flushIntervalMs: c.TelemetryFlushIntervalSeconds * 1000,
      logger,
    });

  let exporter: OtlpHttpExporter | null = null;
  let forwarder: Forwarder | null = null;
  // A CollectorURL the exporter cannot use (validation refuses it, but a last good
  // configuration saved by an older agent may still hold one): shown, never a lost section.
  let urlProblem: string | null = null;
  const enable = async () => {
    urlProblem = null;
    if (!config().CollectorURL) return;
    const problem = collectorUrlProblem(config().CollectorURL);
    if (problem) {
      urlProblem = problem;
      logger.error('telemetry is off: CollectorURL cannot be used', { code: 'collector_url_invalid', reason: problem });
      return;
    }
    const loaded = await load();
    if (stopping || forwarder) return;
    exporter = buildExporter(loaded, config());
    forwarder = buildForwarder(loaded, config(), exporter);
    forwarder.start();
  };
  const disable = async () => {
    const f = forwarder;
    forwarder = null;
    await f?.stop();
    exporter?.close();
    exporter = null;
  };
  await enable();

  /** Puts one event in the spool; returns its id and sequence (durable promise included). */
  const record = (event: AgentEvent) => {
    // While stopping, events are still taken until the spool is closed (its last group is written).
    if (!config().CollectorURL) return null;
    const prepared = prepareEvent(event);
    if (!prepared.ok) {
      refused++;
      warnRefused('telemetry event refused', {
        code: prepared.code,
        reason: prepared.reason,
        name: typeof event?.name === 'string' ? event.name.slice(0, 128) : null,
      });
      return null;
    }
    try {
      const appended = spool.append(encodeStoredEvent(prepared.event), { urgent: event.audit === true });
      appended.durable.catch((error: Error) =>
        warnRefused('telemetry event not written', { code: 'spool_io_error', error: error.message }),
      );
      return { id: prepared.event.id, seq: appended.seq, durable: appended.durable };
    } catch (error) {
      if (error instanceof SpoolError && error.code === 'spool_closed') return null;
      refused++;
      warnRefused('telemetry event not queued', {
        code: error instanceof SpoolError ? error.code : 'spool_io_error',
        name: prepared.event.name,
        error: (error as Error).message,
      });
      return null;
    }
  };
  daemon.bus.onEvent((event) => void record(event));

  // Configuration problems (a profile with a wrong type, an unknown key…) reach the fleet's
  // admins too: the sentences name keys and describe values, never a secret's content.
  const reportConfigProblems = (problems: readonly string[], reason: 'start' | 'reload') => {
    if (problems.length === 0) return;
    record({
      name: CONFIG_EVENT,
      severity: 'warn',
      code: 'config_invalid',
      attributes: { reason, count: problems.length, problems: problems.slice(0, 20) },
    });
  };
  reportConfigProblems(daemon.resolved.problems, 'start');

  const section = () => {
    const s = spool.stats();
    const f = forwarder?.status();
    const c = config();
    return {
      enabled: Boolean(c.CollectorURL),
      collector: c.CollectorURL ? describeCollector(c.CollectorURL) : null,
      auth: authOf(c),
      state: f?.state ?? 'disabled',
      queue_depth: s.depth,
      queue_bytes: s.bytes,
      queue_max_bytes: s.maxBytes,
      next_sequence: s.nextSeq,
      dropped: s.dropped,
      dead_lettered: s.counters[counterNames.deadLettered] ?? 0,
      rejected_by_collector: s.counters[counterNames.rejected] ?? 0,
      sent: s.counters[counterNames.sent] ?? 0,
      corrupt: s.corrupt,
      events_refused: refused,
      last_attempt_at: f?.last_attempt_at ?? null,
      last_success_at: f?.last_success_at ?? null,
      next_attempt_at: f?.next_attempt_at ?? null,
      last_error: f?.last_error ?? null,
      consecutive_failures: f?.consecutive_failures ?? 0,
      heartbeat_interval_s: c.TelemetryHeartbeatIntervalSeconds,
      last_heartbeat_at: lastHeartbeat ? new Date(lastHeartbeat.at).toISOString() : null,
      host_id: identity.hostId,
      instance_id: s.id,
      problems: [
        ...(urlProblem ? [{ code: 'collector_url_invalid', detail: urlProblem }] : []),
        ...(identity.problem ? [{ code: identity.problem.code, detail: identity.problem.reason }] : []),
      ],
    };
  };
  daemon.status.section('telemetry', section);

  const heartbeat = () => {
    const estimate = daemon.bus.latest('clock.estimate');
    const compliance = daemon.bus.latest('compliance');
    const s = spool.stats();
    const complianceState = compliance?.state ?? 'unknown';
    const attributes: AgentEvent['attributes'] = {
      agent_version: daemon.version,
      mode: config().Mode,
      guardrail_state: estimate?.state ?? 'unknown',
      clock_offset_ms: estimate?.offset_ms ?? null,
      clock_uncertainty_ms: estimate?.uncertainty_ms ?? null,
      clock_confident: estimate?.confident ?? null,
      clock_agreeing_sources: estimate?.agreeing_sources ?? null,
      clock_authenticated_sources: estimate?.authenticated_sources ?? null,
      clock_measured_at_ms: estimate?.at_ms ?? null,
      compliance_state: complianceState,
      compliant: compliance ? compliance.state !== 'non_compliant' : null,
      compliance_enforced: compliance?.enforced ?? null,
      compliance_reason: compliance?.reason ?? null,
      compliance_since_ms: compliance?.since_ms ?? null,
      queue_depth: s.depth,
      queue_bytes: s.bytes,
      dropped_total: s.dropped,
      dead_lettered_total: s.counters[counterNames.deadLettered] ?? 0,
      sent_total: s.counters[counterNames.sent] ?? 0,
      events_refused: refused,
      config_problems: daemon.resolved.problems.length,
      uptime_s: Math.floor(process.uptime()),
    };
    const queued = record({ name: HEARTBEAT_EVENT, severity: 'info', attributes });
    if (queued) lastHeartbeat = { at: Date.now(), compliance: complianceState };
    return queued;
  };

  daemon.scheduler.every('telemetry_heartbeat', config().TelemetryHeartbeatIntervalSeconds * 1000, async () => {
    await heartbeat()?.durable;
  });
  // The compliance signal feeds conditional access: a change goes out with the next upload.
  daemon.bus.subscribe('compliance', (compliance) => {
    if (lastHeartbeat && compliance?.state !== lastHeartbeat.compliance)
      void daemon.scheduler.runNow('telemetry_heartbeat', 'compliance changed');
  });

  // Everything is closed inside a scheduler job, which the daemon waits for when it stops
  // (the spool's pending group is written; a send in flight is abandoned and resent later).
  let closing: Promise<void> | null = null;
  const closeAll = () =>
    (closing ??= (async () => {
      await disable();
      await spool.close();
    })());
  daemon.scheduler.every(
    'telemetry_spool',
    60_000,
    async () => {
      await spool.flush();
      if (stopping) await closeAll();
    },
    { immediate: false },
  );
  daemon.on('stopping', () => {
    stopping = true;
    void closeAll();
    void daemon.scheduler.runNow('telemetry_spool', 'stopping');
  });

  daemon.control.handle(
    'telemetry.flush',
    async () => {
      await heartbeat()?.durable;
      await spool.flush();
      forwarder?.kick({ force: true });
      return section();
    },
    { mutating: true },
  );
  daemon.control.handle(
    'telemetry.test',
    async (args) => {
      const count = args.count ?? 1;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000)
        throw new Error('count must be an integer from 1 to 10000');
      if (!config().CollectorURL) throw new Error('telemetry is off (CollectorURL is empty)');
      const queued = [];
      for (let index = 0; index < count; index++) {
        const q = record({
          name: TEST_EVENT,
          severity: 'info',
          attributes: { index, count, requested_by: 'agentctl' },
        });
        if (!q) throw new Error('the telemetry queue did not take the events (see the log)');
        queued.push(q);
      }
      await spool.flush();
      await Promise.all(queued.map((q) => q.durable));
      return {
        ids: queued.map((q) => q.id),
        first_sequence: queued[0]!.seq,
        last_sequence: queued.at(-1)!.seq,
        collector: describeCollector(config().CollectorURL),
      };
    },
    { mutating: true },
  );

  daemon.on('config', ({ changed, problems }) => {
    reportConfigProblems(problems, 'reload');
    if (touches(changed, 'heartbeat'))
      daemon.scheduler.setInterval('telemetry_heartbeat', config().TelemetryHeartbeatIntervalSeconds * 1000);
    if (touches(changed, 'spool') && config().TelemetryMaxDiskMB * MB !== spoolMaxBytes) {
      spoolMaxBytes = config().TelemetryMaxDiskMB * MB;
      spool.setMaxBytes(spoolMaxBytes);
    }
    if (touches(changed, 'forwarder'))
      forwarder?.setLimits({
        flushIntervalMs: config().TelemetryFlushIntervalSeconds * 1000,
        maxRecordsPerSecond: config().TelemetryMaxEventsPerSecond,
      });
    if (touches(changed, 'exporter')) {
      void disable()
        .then(() => (stopping ? undefined : enable()))
        .catch((error: Error) =>
          logger.error('telemetry could not apply the collector settings', { error: error.message }),
        );
      logger.info('telemetry collector settings changed', {
        collector: config().CollectorURL ? describeCollector(config().CollectorURL) : null,
        auth: authOf(config()),
      });
    }
  });
  logger.info('telemetry started', {
    collector: config().CollectorURL ? describeCollector(config().CollectorURL) : null,
    auth: authOf(config()),
    queue_depth: spool.stats().depth,
    host_id: identity.hostId,
  });
}
