// Our OTLP JSON against the official schema (protobufjs classes generated from
// opentelemetry-proto, shipped in @opentelemetry/otlp-transformer), for typical batches and for
// random events (fast-check); the event checks that keep bad input out of the spool.
import test from 'ava';
import fc from 'fast-check';
import {
  encodeStoredEvent,
  limits,
  parseStoredEvent,
  prepareEvent,
  type StoredEvent,
} from '../../agent/telemetry/events.js';
import { encodeLogsRequest, msToUnixNano } from '../../agent/telemetry/otlp.js';
import { logsRequestProblems } from '../helpers/otlp-schema.js';

const resource = {
  'service.name': 'trustguard-agent',
  'service.version': '0.1.0',
  'host.id': '3d1219c7c4c5404aaa1f6d2a48adfda4',
  'os.type': 'linux',
  'device.serial': null,
};

function stored(partial: Partial<StoredEvent> = {}): StoredEvent {
  return {
    v: 1,
    id: '6f1c1c1e-8a4e-4c1b-9d7e-0a1b2c3d4e5f',
    t: 1_700_000_000_123,
    name: 'clock.state_changed',
    sev: 'warn',
    attrs: {},
    ...partial,
  };
}

type Attr = { key: string; value: Record<string, unknown> };
type Json = {
  resourceLogs: Array<{
    resource: { attributes: Attr[] };
    scopeLogs: Array<{
      scope: { name: string; version: string };
      logRecords: Array<Record<string, unknown> & { attributes: Attr[] }>;
    }>;
  }>;
};

const attr = (attrs: Attr[], key: string) => attrs.find((a) => a.key === key)?.value;

test('a typical batch is an ExportLogsServiceRequest the official schema accepts', (t) => {
  const request = encodeLogsRequest({
    resource,
    scopeVersion: '0.1.0',
    observedMs: 1_700_000_001_000,
    records: [
      {
        seq: 41,
        event: stored({
          code: 'skew_over_enforce',
          attrs: {
            offset_ms: 92_004.5,
            previous_state: 'warn',
            agreeing_sources: 3,
            confident: true,
            hint: null,
            sources: ['a', 'b'],
          },
        }),
      },
      { seq: 42, event: stored({ name: 'agent.heartbeat', sev: 'info', dropped: 2 }) },
    ],
  });
  t.deepEqual(logsRequestProblems(request), []);
  const json = JSON.parse(JSON.stringify(request)) as Json;
  const rl = json.resourceLogs[0]!;
  t.deepEqual(attr(rl.resource.attributes, 'host.id'), { stringValue: '3d1219c7c4c5404aaa1f6d2a48adfda4' });
  t.is(attr(rl.resource.attributes, 'device.serial'), undefined, 'absent values are left out');
  t.deepEqual(rl.scopeLogs[0]!.scope, { name: 'com.trustguard.agent', version: '0.1.0' });
  const [first, second] = rl.scopeLogs[0]!.logRecords;
  t.is(first!.timeUnixNano, '1700000000123000000');
  t.is(first!.observedTimeUnixNano, '1700000001000000000');
  t.is(first!.severityNumber, 13);
  t.is(first!.severityText, 'WARN');
  t.is(first!.eventName, 'clock.state_changed');
  t.deepEqual(attr(first!.attributes, 'event.sequence'), { intValue: '41' });
  t.deepEqual(attr(first!.attributes, 'event.id'), { stringValue: '6f1c1c1e-8a4e-4c1b-9d7e-0a1b2c3d4e5f' });
  t.deepEqual(attr(first!.attributes, 'event.code'), { stringValue: 'skew_over_enforce' });
  t.deepEqual(attr(first!.attributes, 'offset_ms'), { doubleValue: 92_004.5 });
  t.deepEqual(attr(first!.attributes, 'agreeing_sources'), { intValue: '3' });
  t.deepEqual(attr(first!.attributes, 'confident'), { boolValue: true });
  t.deepEqual(attr(first!.attributes, 'hint'), {});
  t.deepEqual(attr(first!.attributes, 'sources'), {
    arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] },
  });
  t.is(second!.droppedAttributesCount, 2);
  t.is(second!.severityNumber, 9);
});

test('the schema check is not a rubber stamp: it finds misspelt fields, enum names, numbers for int64 and two oneof members', (t) => {
  const good = encodeLogsRequest({
    resource,
    scopeVersion: '1',
    records: [{ seq: 1, event: stored() }],
    observedMs: 1,
  });
  t.deepEqual(logsRequestProblems(good), []);
  const mutate = (f: (r: Record<string, unknown>) => void) => {
    const copy = JSON.parse(JSON.stringify(good)) as Json;
    f(copy.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!);
    return logsRequestProblems(copy);
  };
  t.not(mutate((r) => ((r.timeUnixNanos = r.timeUnixNano), delete r.timeUnixNano)).length, 0, 'misspelt field');
  t.not(mutate((r) => (r.severityNumber = 'SEVERITY_NUMBER_WARN')).length, 0, 'enum as a name');
  t.not(mutate((r) => (r.time_unix_nano = '1')).length, 0, 'snake_case field');
  t.not(mutate((r) => ((r.attributes as Attr[])[1]!.value = { intValue: 1 })).length, 0, 'int64 as a JSON number');
  t.not(
    mutate((r) => ((r.attributes as Attr[])[0]!.value = { stringValue: 'a', boolValue: true })).length,
    0,
    'two oneof members',
  );
  t.not(logsRequestProblems({ resourceLogs: 'x' }).length, 0);
  t.not(logsRequestProblems(null).length, 0);
});

test('nanosecond timestamps are exact decimal strings', (t) => {
  t.is(msToUnixNano(1), '1000000');
  t.is(msToUnixNano(1_700_000_000_123), '1700000000123000000');
  t.is(msToUnixNano(1_700_000_000_123.5), '1700000000123500000');
  t.is(msToUnixNano(0.9999), '1000000');
  t.is(msToUnixNano(-5), '0');
  t.is(msToUnixNano(Number.NaN), '0');
});

test('bad events: a bad name or severity is refused with a code; bad attributes are left out and counted; long strings cut', (t) => {
  const refused = prepareEvent({ name: 'Clock State', severity: 'info', attributes: {} });
  t.deepEqual(refused.ok ? null : refused.code, 'event_invalid');
  const badSeverity = prepareEvent({ name: 'a.b', severity: 'fatal' as never, attributes: {} });
  t.false(badSeverity.ok);
  t.false(prepareEvent(null as never).ok);
  const p = prepareEvent(
    {
      name: 'scrub.deleted',
      severity: 'info',
      code: 'Not A Code',
      attributes: {
        ok: 'x'.repeat(10_000),
        'event.id': 'forged',
        'Bad Key': 1,
        nan: Number.NaN,
        obj: { a: 1 } as never,
        mixed: ['a', 2] as never,
        list: ['a', 'b'],
      },
    },
    1234,
    'id-1',
  );
  t.true(p.ok);
  if (!p.ok) return;
  t.is(p.event.id, 'id-1');
  t.is(p.event.t, 1234);
  t.is(p.event.code, undefined);
  t.is((p.event.attrs.ok as string).length, limits.stringChars);
  t.true((p.event.attrs.ok as string).endsWith('…'));
  t.deepEqual(Object.keys(p.event.attrs).sort(), ['list', 'ok']);
  t.is(p.event.dropped, 6, 'code, event.id, Bad Key, nan, obj, mixed');
  const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
  const capped = prepareEvent({ name: 'x', severity: 'debug', attributes: many });
  t.true(
    capped.ok &&
      Object.keys(capped.event.attrs).length === limits.attributes &&
      capped.event.dropped === 100 - limits.attributes,
  );
});

test('stored events round-trip; anything else is refused without throwing (property)', (t) => {
  const p = prepareEvent({ name: 'agent.heartbeat', severity: 'info', attributes: { a: 1 } });
  t.true(p.ok);
  if (p.ok) t.deepEqual(parseStoredEvent(encodeStoredEvent(p.event)), p.event);
  t.is(parseStoredEvent(Buffer.from('{"v":2}')), undefined);
  t.is(parseStoredEvent(Buffer.from('[]')), undefined);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.json().map((j) => Buffer.from(j)),
      ),
      (bytes) => {
        const parsed = parseStoredEvent(bytes);
        return parsed === undefined || (parsed.v === 1 && typeof parsed.id === 'string');
      },
    ),
  );
});

const keyArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}(\.[a-z0-9_]{1,8}){0,2}$/);
const valueArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ maxLength: 5000 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 70 }),
  fc.anything(),
);

test('random events encode to requests the official schema accepts, keeping ids, sequences and attribute counts (property)', (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          name: fc.oneof(
            fc.stringMatching(/^[a-z][a-z0-9_]{0,10}(\.[a-z][a-z0-9_]{0,10}){0,3}$/),
            fc.string({ maxLength: 20 }),
          ),
          severity: fc.constantFrom('debug', 'info', 'warn', 'error'),
          code: fc.option(fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), fc.string()), { nil: undefined }),
          attributes: fc.dictionary(fc.oneof(keyArb, fc.string({ maxLength: 10 })), valueArb, { maxKeys: 80 }),
        }),
        { minLength: 1, maxLength: 20 },
      ),
      fc.integer({ min: 1, max: 2 ** 40 }),
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      (events, firstSeq, now) => {
        const records: Array<{ seq: number; event: StoredEvent }> = [];
        for (const e of events) {
          const p = prepareEvent(e as never, now);
          if (!p.ok) continue;
          // Through the spool's byte form, as in production.
          records.push({ seq: firstSeq + records.length, event: parseStoredEvent(encodeStoredEvent(p.event))! });
        }
        if (records.length === 0) return true;
        const request = encodeLogsRequest({ resource, scopeVersion: '0.1.0', records });
        const json = JSON.parse(JSON.stringify(request)) as Json;
        if (logsRequestProblems(json).length > 0) return false;
        const out = json.resourceLogs[0]!.scopeLogs[0]!.logRecords;
        return out.every((r, i) => {
          const src = records[i]!.event;
          const seqOk =
            (attr(r.attributes, 'event.sequence') as { intValue: string }).intValue === String(records[i]!.seq);
          const idOk = (attr(r.attributes, 'event.id') as { stringValue: string }).stringValue === src.id;
          const own = r.attributes.length - 2 - (src.code ? 1 : 0);
          return (
            seqOk &&
            idOk &&
            own === Object.keys(src.attrs).length &&
            ((r.droppedAttributesCount as number | undefined) ?? 0) === (src.dropped ?? 0)
          );
        });
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
