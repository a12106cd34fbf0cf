// What the telemetry spool stores for one event: the bus event checked and bounded, with its
// UUID and the wall-clock time it was produced. The per-device sequence is the spool's record
// number, added when the record is encoded for the collector (so it can never disagree with
// the order on disk).
import { randomUUID } from 'node:crypto';
import type { AgentEvent } from '../daemon/bus.js';

export type Severity = AgentEvent['severity'];
export type AttributeValue = string | number | boolean | null | string[];

/** The spool payload (JSON), version 1. */
export interface StoredEvent {
  v: 1;
  /** event.id: a UUID. */
  id: string;
  /** Wall clock (Unix ms) when it was produced: informative only, the clock may be wrong. */
  t: number;
  name: string;
  sev: Severity;
  code?: string;
  attrs: Record<string, AttributeValue>;
  /** Attributes left out because they broke a rule below (OTLP droppedAttributesCount). */
  dropped?: number;
}

export const limits = {
  nameChars: 128,
  codeChars: 64,
  attributes: 64,
  keyChars: 128,
  stringChars: 4096,
  arrayItems: 64,
} as const;

const namePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const codePattern = /^[a-z][a-z0-9_]*$/;
const keyPattern = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;
const severities: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);
/** Attribute keys the encoder writes itself; an event cannot set them. */
export const reservedKeys: ReadonlySet<string> = new Set(['event.id', 'event.sequence', 'event.code']);

export type EventProblem = 'event_invalid';

export type Prepared = { ok: true; event: StoredEvent } | { ok: false; code: EventProblem; reason: string };

function truncate(text: string): string {
  return text.length > limits.stringChars ? `${text.slice(0, limits.stringChars - 1)}…` : text;
}

/**
 * Checks and bounds a bus event. A bad name or severity refuses the event (a programming
 * error in a capability, reported with a code); a bad attribute is left out and counted; long
 * strings are cut. Never throws.
 */
export function prepareEvent(event: AgentEvent, now: number = Date.now(), id: string = randomUUID()): Prepared {
  if (event === null || typeof event !== 'object') return { ok: false, code: 'event_invalid', reason: 'not an object' };
  const { name, severity, code, attributes } = event as Partial<AgentEvent>;
  if (typeof name !== 'string' || name.length > limits.nameChars || !namePattern.test(name)) {
    return {
      ok: false,
      code: 'event_invalid',
      reason: 'name must be dotted lowercase words (a-z, 0-9, _), at most 128 characters',
    };
  }
  if (typeof severity !== 'string' || !severities.has(severity)) {
    return { ok: false, code: 'event_invalid', reason: 'severity must be one of debug, info, warn, error' };
  }
  const stored: StoredEvent = { v: 1, id, t: now, name, sev: severity as Severity, attrs: {} };
  let dropped = 0;
  if (code !== undefined) {
    if (typeof code === 'string' && code.length <= limits.codeChars && codePattern.test(code)) stored.code = code;
    else dropped++;
  }
  const entries = attributes !== null && typeof attributes === 'object' ? Object.entries(attributes) : [];
  for (const [key, value] of entries) {
    if (
      Object.keys(stored.attrs).length >= limits.attributes ||
      key.length > limits.keyChars ||
      !keyPattern.test(key) ||
      reservedKeys.has(key)
    ) {
      dropped++;
      continue;
    }
    const clean = cleanValue(value);
    if (clean === undefined) dropped++;
    else stored.attrs[key] = clean;
  }
  if (dropped > 0) stored.dropped = dropped;
  return { ok: true, event: stored };
}

function cleanValue(value: unknown): AttributeValue | undefined {
  if (value === null) return null;
  if (typeof value === 'string') return truncate(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    if (value.length > limits.arrayItems || !value.every((v) => typeof v === 'string')) return undefined;
    return (value as string[]).map(truncate);
  }
  return undefined;
}

/** Parses a spool payload back; undefined when it is not a version-1 event (never throws). */
export function parseStoredEvent(payload: Uint8Array): StoredEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const e = value as Partial<StoredEvent>;
  if (
    e.v !== 1 ||
    typeof e.id !== 'string' ||
    typeof e.t !== 'number' ||
    !Number.isSafeInteger(e.t) ||
    typeof e.name !== 'string'
  )
    return undefined;
  if (
    typeof e.sev !== 'string' ||
    !severities.has(e.sev) ||
    e.attrs === null ||
    typeof e.attrs !== 'object' ||
    Array.isArray(e.attrs)
  )
    return undefined;
  return e as StoredEvent;
}

export function encodeStoredEvent(event: StoredEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}
