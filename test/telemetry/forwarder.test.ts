// The forwarder's fleet manners and retry policy, with a real spool and an exporter whose
// answers the test scripts (the HTTP side is tested against nginx in exporter.test.ts and
// daemon.test.ts): batches capped, drain rate capped, flush times randomised, backoff with full
// jitter, Retry-After honoured, dead letters counted, the cursor moving only after delivery.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Forwarder, type Exporter, type SendOutcome } from '../../agent/telemetry/forwarder.js';
import { Spool, type SpoolRecord } from '../../agent/telemetry/spool.js';

async function spoolWith(t: { teardown(fn: () => Promise<void> | void): void }, n: number, size = 100): Promise<Spool> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-forwarder-'));
  const spool = await Spool.open({ dir, maxBytes: 64 << 20 });
  t.teardown(async () => {
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < n; i++) spool.append(Buffer.alloc(size, 65 + (i % 26)));
  await spool.flush();
  return spool;
}

/** Records every batch and answers from `script` (then 'delivered'). */
function scripted(
  script: Array<SendOutcome | ((batch: SpoolRecord[]) => SendOutcome)> = [],
): Exporter & { batches: Array<{ at: number; seqs: number[] }> } {
  const batches: Array<{ at: number; seqs: number[] }> = [];
  return {
    batches,
    async send(records) {
      batches.push({ at: performance.now(), seqs: records.map((r) => r.seq) });
      const next = script.shift() ?? { kind: 'delivered' };
      return typeof next === 'function' ? next(records) : next;
    },
  };
}

const until = async (check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('batches are capped in records and bytes, sent in sequence order, and the spool empties', async (t) => {
  const spool = await spoolWith(t, 1234, 100);
  const exporter = scripted();
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 200,
    batchMaxBytes: 100 * 150,
    maxRecordsPerSecond: 1e6,
    flushIntervalMs: 60_000,
  });
  f.start(0);
  t.teardown(() => f.stop());
  await until(() => spool.stats().depth === 0 && f.status().state === 'idle');
  t.true(
    exporter.batches.every((b) => b.seqs.length <= 150),
    'the byte cap (150 records of 100 bytes) binds before the count cap',
  );
  const all = exporter.batches.flatMap((b) => b.seqs);
  t.deepEqual(
    all,
    Array.from({ length: 1234 }, (_, i) => i + 1),
  );
  t.is(spool.stats().counters.sent, 1234);
  t.is(f.status().state, 'idle');
  t.truthy(f.status().last_success_at);
});

test('the drain rate is capped (token bucket): 600 records at 1,000/s with 100 per batch take about half a second', async (t) => {
  const spool = await spoolWith(t, 600, 10);
  const exporter = scripted();
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 100,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 1000,
    flushIntervalMs: 60_000,
  });
  f.start(0);
  t.teardown(() => f.stop());
  await until(() => spool.stats().depth === 0);
  const span = exporter.batches.at(-1)!.at - exporter.batches[0]!.at;
  // The bucket starts full (one batch); the other five batches need 500 tokens at 1,000/s.
  t.true(span >= 480, `6 batches spanned ${span.toFixed(0)} ms`);
});

test('flush times are randomised: each wait is uniform in [0.5, 1.5) × the interval', async (t) => {
  const spool = await spoolWith(t, 0);
  for (const r of [0, 0.5, 0.999]) {
    const f = new Forwarder({
      spool,
      exporter: scripted(),
      batchMaxRecords: 10,
      batchMaxBytes: 1 << 20,
      maxRecordsPerSecond: 100,
      flushIntervalMs: 10_000,
      random: () => r,
    });
    const before = Date.now();
    f.start(0);
    await until(
      () => f.status().next_attempt_at !== null && new Date(f.status().next_attempt_at!).getTime() > before + 1000,
    );
    // The upper bound allows for the time the start took here (a loaded machine may stall it).
    const took = Date.now() - before;
    const wait = new Date(f.status().next_attempt_at!).getTime() - before;
    t.true(
      wait >= 10_000 * (0.5 + r) - 50 && wait <= 10_000 * (0.5 + r) + took + 200,
      `random ${r}: next flush in ${wait} ms`,
    );
    await f.stop();
  }
  // And the first flush after start comes at a random point of one interval.
  const f = new Forwarder({
    spool,
    exporter: scripted(),
    batchMaxRecords: 10,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 100,
    flushIntervalMs: 10_000,
    random: () => 0.25,
  });
  const before = Date.now();
  f.start();
  const first = new Date(f.status().next_attempt_at!).getTime() - before;
  t.true(first >= 2400 && first <= 2600, `first flush in ${first} ms`);
  await f.stop();
});

test('temporary failures: Retry-After is honoured, otherwise exponential backoff with full jitter; nothing is acknowledged', async (t) => {
  const spool = await spoolWith(t, 5);
  const exporter = scripted([
    { kind: 'retry', code: 'collector_unavailable', status: 503, retryAfterMs: 300 },
    { kind: 'retry', code: 'collector_unreachable' },
    { kind: 'retry', code: 'collector_unreachable' },
    { kind: 'retry', code: 'collector_timeout' },
  ]);
  // random() = 0.999: the longest wait of each step, so the growth is visible.
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 10,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 1e6,
    flushIntervalMs: 60_000,
    backoffBaseMs: 50,
    random: () => 0.999,
  });
  f.start(0);
  t.teardown(() => f.stop());
  await until(() => exporter.batches.length === 2);
  t.is(spool.stats().depth, 5, 'nothing acknowledged while failing');
  t.like(f.status(), { state: 'backing_off', consecutive_failures: 2 });
  await until(() => spool.stats().depth === 0);
  const gaps = exporter.batches.slice(1).map((b, i) => b.at - exporter.batches[i]!.at);
  // Lower bounds only (a loaded machine may add delay, never remove it).
  t.true(gaps[0]! >= 325, `after Retry-After 300 ms (+ up to 10 %, here 29.97 ms): ${gaps[0]}`);
  // Then full jitter below 50·2^n ms, n = 1, 2, 3 (the Retry-After step counted as attempt 0).
  t.true(gaps[1]! >= 95, `attempt 1: ${gaps[1]}`);
  t.true(gaps[2]! >= 195, `attempt 2: ${gaps[2]}`);
  t.true(gaps[3]! >= 395, `attempt 3: ${gaps[3]}`);
  t.true(gaps[3]! < 395 + 4000, `attempt 3 within its ceiling (plus a loaded machine's slack): ${gaps[3]}`);
  t.deepEqual(
    exporter.batches.map((b) => b.seqs),
    Array(5).fill([1, 2, 3, 4, 5]),
    'the same batch each time',
  );
  t.is(f.status().consecutive_failures, 0);
});

test('a permanent refusal dead-letters the batch (counted) and the queue moves on', async (t) => {
  const spool = await spoolWith(t, 25);
  const exporter = scripted([{ kind: 'dead_letter', code: 'collector_rejected', status: 400, detail: 'HTTP 400' }]);
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 10,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 1e6,
    flushIntervalMs: 60_000,
  });
  f.start(0);
  t.teardown(() => f.stop());
  await until(() => spool.stats().depth === 0);
  t.is(exporter.batches.length, 3);
  t.like(spool.stats().counters, { dead_lettered: 10, sent: 15 });
  t.like(f.status().last_error, { code: 'collector_rejected', status: 400 });
});

test('partial success: records the collector rejected are counted apart; unreadable ones as dead letters', async (t) => {
  const spool = await spoolWith(t, 10);
  const exporter = scripted([{ kind: 'delivered', rejected: 2, unreadable: 1 }]);
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 10,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 1e6,
    flushIntervalMs: 60_000,
  });
  f.start(0);
  t.teardown(() => f.stop());
  await until(() => spool.stats().depth === 0);
  t.like(spool.stats().counters, { sent: 7, rejected_by_collector: 2, dead_lettered: 1 });
});

test('an exporter that throws is a temporary failure; stop() aborts a send in flight and keeps its batch', async (t) => {
  const spool = await spoolWith(t, 3);
  let signalSeen: AbortSignal | null = null;
  const exporter: Exporter = {
    async send(_records, signal) {
      if (!signalSeen) {
        signalSeen = signal;
        throw new Error('bug');
      }
      return new Promise<SendOutcome>((resolve) =>
        signal.addEventListener('abort', () => resolve({ kind: 'retry', code: 'collector_unreachable' })),
      );
    },
  };
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 10,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 1e6,
    flushIntervalMs: 60_000,
    backoffBaseMs: 1,
    random: () => 0,
  });
  f.start(0);
  await until(() => f.status().last_error?.code === 'exporter_error');
  await until(() => f.status().state === 'sending');
  await f.stop();
  t.true(signalSeen!.aborted);
  t.is(spool.stats().depth, 3, 'the batch in flight stays queued');
  t.is(f.status().state, 'stopped');
});

test('kick: flushes now when idle; keeps a backoff unless forced', async (t) => {
  const spool = await spoolWith(t, 1);
  const exporter = scripted([{ kind: 'retry', code: 'collector_unreachable' }]);
  const f = new Forwarder({
    spool,
    exporter,
    batchMaxRecords: 10,
    batchMaxBytes: 1 << 20,
    maxRecordsPerSecond: 1e6,
    flushIntervalMs: 3_600_000,
    backoffBaseMs: 3_600_000,
    random: () => 0.5,
  });
  f.start(0);
  t.teardown(() => f.stop());
  await until(() => f.status().state === 'backing_off');
  f.kick();
  await new Promise((r) => setTimeout(r, 100));
  t.is(exporter.batches.length, 1, 'an automatic kick does not cut a backoff short');
  f.kick({ force: true });
  await until(() => spool.stats().depth === 0);
  t.is(exporter.batches.length, 2);
  spool.append(Buffer.from('later'));
  await spool.flush();
  f.kick();
  await until(() => spool.stats().depth === 0);
  t.is(exporter.batches.length, 3, 'idle: a kick flushes at once (the interval is an hour)');
});
