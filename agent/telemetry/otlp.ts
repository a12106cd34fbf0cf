// The OTLP/HTTP JSON encoding of our events: one ExportLogsServiceRequest per batch, following
// the OTLP specification's JSON mapping of opentelemetry/proto/collector/logs/v1 (proto3 JSON:
// lowerCamelCase field names, 64-bit integers as decimal strings, enums as numbers). Written
// here rather than taken from the OpenTelemetry SDK, whose exporter keeps its batch in memory
// and gives up after seconds; the tests check the output against the official protos.
//
//   resourceLogs[0].resource.attributes   who sent it: service.*, host.id, os.*, device serial
//   resourceLogs[0].scopeLogs[0].scope    com.trustguard.agent and the agent version
//   …logRecords[i]                        one event: eventName, severity, time, attributes
//     attributes event.id (UUID), event.sequence (per-device, monotonic), event.code (reason)
import type { AttributeValue, Severity, StoredEvent } from './events.js';

export const SCOPE_NAME = 'com.trustguard.agent';

/** OTLP SeverityNumber (logs data model): DEBUG 5, INFO 9, WARN 13, ERROR 17. */
export const severityNumber: Record<Severity, number> = { debug: 5, info: 9, warn: 13, error: 17 };
const severityText: Record<Severity, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | Record<string, never>;

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName: string;
  body: OtlpAnyValue;
  attributes: OtlpKeyValue[];
  droppedAttributesCount?: number;
}

export interface ExportLogsServiceRequest {
  resourceLogs: Array<{
    resource: { attributes: OtlpKeyValue[] };
    scopeLogs: Array<{ scope: { name: string; version: string }; logRecords: OtlpLogRecord[] }>;
  }>;
}

/** Resource attributes, flat: semantic-convention keys → values (null values are left out). */
export type ResourceAttributes = Record<string, string | null | undefined>;

export function anyValue(value: AttributeValue): OtlpAnyValue {
  if (value === null) return {};
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { arrayValue: { values: value.map((v) => ({ stringValue: String(v) })) } };
}

/** Unix milliseconds → nanoseconds as a decimal string (exact: no float beyond 2^53). */
export function msToUnixNano(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0';
  let whole = Math.floor(ms);
  let micro = Math.round((ms - whole) * 1000);
  if (micro === 1000) {
    whole += 1;
    micro = 0;
  }
  return `${whole}${String(micro).padStart(3, '0')}000`.replace(/^0+(?=\d)/, '');
}

export function encodeLogRecord(seq: number, event: StoredEvent, observedMs: number): OtlpLogRecord {
  const attributes: OtlpKeyValue[] = [
    { key: 'event.id', value: { stringValue: event.id } },
    { key: 'event.sequence', value: { intValue: String(seq) } },
  ];
  if (event.code !== undefined) attributes.push({ key: 'event.code', value: { stringValue: event.code } });
  let dropped = event.dropped ?? 0;
  for (const [key, value] of Object.entries(event.attrs)) {
    const valid =
      value === null ||
      ['string', 'boolean'].includes(typeof value) ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (valid) attributes.push({ key, value: anyValue(value) });
    else dropped++;
  }
  const record: OtlpLogRecord = {
    timeUnixNano: msToUnixNano(event.t),
    observedTimeUnixNano: msToUnixNano(observedMs),
    severityNumber: severityNumber[event.sev],
    severityText: severityText[event.sev],
    eventName: event.name,
    body: { stringValue: event.name },
    attributes,
  };
  if (dropped > 0) record.droppedAttributesCount = dropped;
  return record;
}

export function resourceAttributes(attributes: ResourceAttributes): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const [key, value] of Object.entries(attributes))
    if (typeof value === 'string' && value !== '') out.push({ key, value: { stringValue: value } });
  return out;
}

/** One OTLP logs export request for `records` (already in sequence order). */
export function encodeLogsRequest(options: {
  resource: ResourceAttributes;
  scopeVersion: string;
  records: ReadonlyArray<{ seq: number; event: StoredEvent }>;
  /** When the batch was put together (observedTimeUnixNano); default now. */
  observedMs?: number;
}): ExportLogsServiceRequest {
  const observed = options.observedMs ?? Date.now();
  return {
    resourceLogs: [
      {
        resource: { attributes: resourceAttributes(options.resource) },
        scopeLogs: [
          {
            scope: { name: SCOPE_NAME, version: options.scopeVersion },
            logRecords: options.records.map((r) => encodeLogRecord(r.seq, r.event, observed)),
          },
        ],
      },
    ],
  };
}
