// The durable spool on a real file system: order, acknowledgement and deletion, sequences that
// survive reopening, the byte bound (oldest dropped and counted, newest kept), a torn last
// record cut on reopen with nothing else lost, damaged segments, a damaged cursor, kill -9 of a
// writer, and a fast-check model of random appends, acks, reopenings and torn tails.
import test from 'ava';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { crc32, crc32Table } from '../../agent/telemetry/crc32.js';
import {
  RECORD_HEADER_BYTES,
  Spool,
  SpoolError,
  type Eviction,
  type SpoolRecord,
} from '../../agent/telemetry/spool.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-spool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const segmentFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
const segmentBytes = (dir: string) => segmentFiles(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
const text = (records: SpoolRecord[]) => records.map((r) => r.payload.toString());

/** Reads and acknowledges everything, returning the payloads in order. */
async function drainAll(spool: Spool, batch = 50): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  for (;;) {
    const records = await spool.peek({ maxRecords: batch, maxBytes: 1 << 20 });
    if (records.length === 0) return out;
    out.push(...records);
    await spool.ack(records.at(-1)!.seq);
  }
}

test('crc32: the table version agrees with zlib.crc32 (and the check value of "123456789")', (t) => {
  t.is(crc32Table(Buffer.from('123456789')), 0xcbf43926);
  const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
      const whole = crc32Table(Buffer.concat([a, b]));
      if (crc32Table(b, crc32Table(a)) !== whole || crc32(b, crc32(a)) !== whole) return false;
      return native ? native(Buffer.concat([a, b])) === whole : true;
    }),
  );
  t.pass();
});

test('records come back in sequence order; acknowledged segments are deleted', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 4096 });
  const appended = Array.from({ length: 300 }, (_, i) => spool.append(Buffer.from(`record ${i}`)));
  t.deepEqual(
    appended.map((a) => a.seq),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  await Promise.all(appended.map((a) => a.durable));
  t.true(segmentFiles(dir).length > 1, 'several segments');
  t.is(spool.stats().depth, 300);
  const first = await spool.peek({ maxRecords: 10, maxBytes: 1 << 20 });
  t.deepEqual(
    text(first),
    Array.from({ length: 10 }, (_, i) => `record ${i}`),
  );
  t.deepEqual(text(await spool.peek({ maxRecords: 10, maxBytes: 1 << 20 })), text(first), 'peek does not consume');
  const all = await drainAll(spool);
  t.deepEqual(
    text(all),
    Array.from({ length: 300 }, (_, i) => `record ${i}`),
  );
  t.is(spool.stats().depth, 0);
  t.deepEqual(segmentFiles(dir), [], 'every segment was deleted once acknowledged');
  await spool.close();
  t.throws(() => spool.append(Buffer.from('x')), { instanceOf: SpoolError, message: /closed/ });
});

test('peek respects the byte cap but always returns at least one record', async (t) => {
  const spool = await Spool.open({ dir: tempDir(t), maxBytes: 1 << 20 });
  for (let i = 0; i < 20; i++) spool.append(Buffer.alloc(100, 97 + i));
  await spool.flush();
  const batch = await spool.peek({ maxRecords: 100, maxBytes: 350 });
  t.is(batch.length, 3);
  const one = await spool.peek({ maxRecords: 100, maxBytes: 10 });
  t.is(one.length, 1);
  await spool.close();
});

test('sequences continue across reopening, also after everything was sent and deleted', async (t) => {
  const dir = tempDir(t);
  let spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) spool.append(Buffer.from(`a${i}`));
  await spool.flush();
  await spool.ack(3);
  await spool.close();
  spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  t.is(spool.stats().depth, 2);
  t.deepEqual(text(await drainAll(spool)), ['a3', 'a4']);
  await spool.close();
  spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  t.deepEqual(segmentFiles(dir), []);
  const next = spool.append(Buffer.from('b'));
  t.is(next.seq, 6, 'the cursor remembers the sequence');
  await next.durable;
  const id = spool.stats().id;
  await spool.close();
  spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  t.is(spool.stats().id, id, 'the spool keeps its identity');
  t.deepEqual(
    (await drainAll(spool)).map((r) => r.seq),
    [6],
  );
  await spool.close();
});

test('an urgent record is written at once; others within groupMs', async (t) => {
  const spool = await Spool.open({ dir: tempDir(t), maxBytes: 1 << 20, groupMs: 60_000 });
  const normal = spool.append(Buffer.from('normal'));
  let settled = false;
  void normal.durable.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 50));
  t.false(settled, 'an ordinary record waits for its group');
  const urgent = spool.append(Buffer.from('audit'), { urgent: true });
  await urgent.durable;
  await normal.durable;
  t.is((await spool.peek({ maxRecords: 10, maxBytes: 1 << 20 })).length, 2, 'both durable, in one group');
  await spool.close();
});

test('a group is written when groupRecords are pending', async (t) => {
  const spool = await Spool.open({ dir: tempDir(t), maxBytes: 1 << 20, groupMs: 60_000, groupRecords: 10 });
  const appended = Array.from({ length: 10 }, () => spool.append(Buffer.from('x')));
  await appended.at(-1)!.durable;
  t.is(spool.stats().depth, 10);
  await spool.close();
});

test('bad input: an oversized record is refused with a code and nothing else is lost', async (t) => {
  const spool = await Spool.open({ dir: tempDir(t), maxBytes: 64 << 10 });
  spool.append(Buffer.from('before'));
  const error = t.throws(() => spool.append(Buffer.alloc(17 << 10)), { instanceOf: SpoolError });
  t.is(error?.code, 'record_too_large');
  spool.append(Buffer.from('after'));
  await spool.flush();
  t.deepEqual(text(await drainAll(spool)), ['before', 'after']);
  t.deepEqual((await spool.peek({ maxRecords: 1, maxBytes: 1 })).length, 0);
  await spool.close();
  await t.throwsAsync(Spool.open({ dir: tempDir(t), maxBytes: 100 }), { instanceOf: RangeError });
});

test('byte bound: the disk stays under it, the newest records are kept, the dropped are counted and reported', async (t) => {
  const dir = tempDir(t);
  const evictions: Eviction[] = [];
  const maxBytes = 256 << 10;
  const spool = await Spool.open({ dir, maxBytes, onEvict: (e) => evictions.push(e) });
  const payload = (i: number) => Buffer.from(`${String(i).padStart(8, '0')}${'.'.repeat(200)}`);
  const total = 10_000;
  let largest = 0;
  for (let i = 0; i < total; i++) {
    spool.append(payload(i));
    if (i % 500 === 499) {
      await spool.flush();
      largest = Math.max(largest, segmentBytes(dir));
    }
  }
  await spool.flush();
  largest = Math.max(largest, segmentBytes(dir));
  t.true(largest <= maxBytes, `segments used ${largest} bytes, bound ${maxBytes}`);
  const stats = spool.stats();
  t.true(stats.bytes <= maxBytes);
  t.is(
    stats.dropped,
    evictions.reduce((s, e) => s + e.records, 0),
  );
  t.is(stats.dropped + stats.depth, total, 'every record is either queued or counted as dropped');
  t.true(stats.depth > 1000, `kept ${stats.depth}`);
  const kept = await drainAll(spool, 500);
  t.is(kept.length, stats.depth);
  t.is(kept.at(-1)!.seq, total, 'the newest record is kept');
  t.deepEqual(
    kept.map((r) => r.seq),
    Array.from({ length: kept.length }, (_, i) => total - kept.length + 1 + i),
    'what is kept is the newest, contiguous run',
  );
  t.is(kept.at(-1)!.payload.subarray(0, 8).toString(), String(total - 1).padStart(8, '0'));
  await spool.close();
  const reopened = await Spool.open({ dir, maxBytes });
  t.is(reopened.stats().dropped, stats.dropped, 'the drop count survives a restart');
  await reopened.close();
});

test('eviction does not count records that were already acknowledged', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 128 << 10, segmentBytes: 8192 });
  for (let i = 0; i < 100; i++) spool.append(Buffer.alloc(500, 1));
  await spool.flush();
  const head = await spool.peek({ maxRecords: 40, maxBytes: 1 << 20 });
  await spool.ack(head.at(-1)!.seq);
  for (let i = 0; i < 400; i++) spool.append(Buffer.alloc(500, 2));
  await spool.flush();
  const s = spool.stats();
  t.true(s.dropped > 0);
  t.is(s.dropped + s.depth + head.length, 500);
  await spool.close();
});

test('a torn final record (file cut mid-record) is cut on reopen with no other loss', async (t) => {
  for (const cut of [1, 7, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + 5]) {
    const dir = tempDir(t);
    const spool = await Spool.open({ dir, maxBytes: 1 << 20 });
    for (let i = 0; i < 50; i++) spool.append(Buffer.from(`event-${String(i).padStart(2, '0')}-${'x'.repeat(30)}`));
    await spool.flush();
    await spool.close();
    const last = path.join(dir, segmentFiles(dir).at(-1)!);
    const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(`event-49-${'x'.repeat(30)}`);
    // Keep `cut` bytes of the last record.
    truncateSync(last, statSync(last).size - recordSize + cut);
    const reopened = await Spool.open({ dir, maxBytes: 1 << 20 });
    t.is(statSync(last).size % recordSize, 0, 'the partial record is gone from the file');
    const records = await drainAll(reopened);
    t.deepEqual(
      text(records),
      Array.from({ length: 49 }, (_, i) => `event-${String(i).padStart(2, '0')}-${'x'.repeat(30)}`),
      `cut at ${cut}`,
    );
    t.is(reopened.append(Buffer.from('next')).seq, 50, 'the torn record was never delivered; its sequence is reused');
    await reopened.close();
  }
});

test('garbage after the last record (a write that never completed) is cut', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) spool.append(Buffer.from(`r${i}`));
  await spool.close();
  appendFileSync(path.join(dir, segmentFiles(dir).at(-1)!), Buffer.alloc(4096));
  const reopened = await Spool.open({ dir, maxBytes: 1 << 20 });
  t.deepEqual(text(await drainAll(reopened)), ['r0', 'r1', 'r2', 'r3', 'r4']);
  t.is(reopened.stats().corrupt, 0);
  await reopened.close();
});

test('a damaged record in an older segment costs the rest of that segment only, counted as corrupt', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 1024 });
  for (let i = 0; i < 100; i++) spool.append(Buffer.from(`rec-${String(i).padStart(3, '0')}-${'y'.repeat(40)}`));
  await spool.close();
  const files = segmentFiles(dir);
  t.true(files.length >= 3);
  const first = path.join(dir, files[0]!);
  const bytes = readFileSync(first);
  const recordSize = RECORD_HEADER_BYTES + 48;
  bytes[recordSize * 3 + RECORD_HEADER_BYTES + 2]! ^= 0xff; // the 4th record's payload
  writeFileSync(first, bytes);
  const corruptions: number[] = [];
  const reopened = await Spool.open({ dir, maxBytes: 1 << 20, onCorrupt: (c) => corruptions.push(c.records) });
  const records = await drainAll(reopened);
  const perSegment = Math.floor(1024 / recordSize);
  t.deepEqual(
    records.map((r) => r.seq),
    [1, 2, 3, ...Array.from({ length: 100 - perSegment }, (_, i) => perSegment + 1 + i)],
  );
  t.deepEqual(corruptions, [perSegment - 3]);
  t.is(reopened.stats().corrupt, perSegment - 3);
  await reopened.close();
});

test('a damaged cursor file makes the spool resend (duplicates), never lose', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  for (let i = 0; i < 10; i++) spool.append(Buffer.from(`c${i}`));
  await spool.flush();
  await spool.ack(4);
  await spool.close();
  writeFileSync(path.join(dir, 'cursor.json'), '{"v":1,"acked":');
  const reopened = await Spool.open({ dir, maxBytes: 1 << 20 });
  const records = await drainAll(reopened);
  t.is(records.at(-1)!.seq, 10);
  t.true(records.length >= 6);
  t.is(reopened.stats().counters.cursor_resets, 1);
  await reopened.close();
});

test('consumer counters are kept with the cursor', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20 });
  spool.append(Buffer.from('x'));
  await spool.flush();
  await spool.ack(1, { dead_lettered: 1, sent: 0 });
  await spool.count({ sent: 3 });
  await spool.close();
  const reopened = await Spool.open({ dir, maxBytes: 1 << 20 });
  t.deepEqual(reopened.stats().counters, { dead_lettered: 1, sent: 3 });
  await t.throwsAsync(reopened.ack(99), { instanceOf: RangeError });
  await reopened.close();
});

// A child process appends records and prints each sequence once it is durable; it is killed
// with SIGKILL at a random moment. Every printed sequence must be found on reopening.
test('kill -9 of a writer: every record reported durable is there after reopening', async (t) => {
  const dir = tempDir(t);
  const spoolModule = new URL('../../agent/telemetry/spool.js', import.meta.url).href;
  const program = `
    const { Spool } = await import(${JSON.stringify(spoolModule)});
    const spool = await Spool.open({ dir: ${JSON.stringify(dir)}, maxBytes: 8 << 20 });
    let i = 0;
    setInterval(() => {
      for (let k = 0; k < 50; k++) {
        const a = spool.append(Buffer.from('payload-' + i++));
        a.durable.then(() => process.stdout.write(a.seq + '\\n'));
      }
    }, 2);`;
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // Kill at a random moment once it writes (start-up takes long on a loaded machine).
    await new Promise((r) => child.stdout.once('data', r));
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const reported = out.split('\n').filter(Boolean).map(Number);
    t.true(reported.length > 0, 'the writer reported durable records');
    const spool = await Spool.open({ dir, maxBytes: 8 << 20 });
    const seqs = new Set((await drainAll(spool, 1000)).map((r) => r.seq));
    const missing = reported.filter((s) => !seqs.has(s));
    t.deepEqual(missing, [], `round ${round}: ${reported.length} reported durable`);
    await spool.close();
  }
});

test('model (property): random appends, acks, reopenings and torn tails deliver every durable record once, in order', async (t) => {
  type Op =
    | { op: 'append'; size: number; n: number }
    | { op: 'ack'; n: number }
    | { op: 'reopen' }
    | { op: 'tear'; bytes: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('append' as const),
        size: fc.integer({ min: 0, max: 3000 }),
        n: fc.integer({ min: 1, max: 30 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), n: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('tear' as const), bytes: fc.integer({ min: 1, max: 40 }) }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), async (ops) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-spool-model-'));
      const options = { dir, maxBytes: 1 << 20, segmentBytes: 16 << 10 };
      let spool = await Spool.open(options);
      // The model: payloads by sequence still owed to the consumer.
      const owed = new Map<number, string>();
      const delivered: number[] = [];
      try {
        for (const op of ops) {
          if (op.op === 'append') {
            for (let i = 0; i < op.n; i++) {
              const body = `${i}:${'z'.repeat(op.size)}`;
              owed.set(spool.append(Buffer.from(body)).seq, body);
            }
            await spool.flush();
          } else if (op.op === 'ack') {
            const batch = await spool.peek({ maxRecords: op.n, maxBytes: 1 << 20 });
            for (const r of batch) {
              if (owed.get(r.seq) !== r.payload.toString()) return false;
              owed.delete(r.seq);
              delivered.push(r.seq);
            }
            if (batch.length) await spool.ack(batch.at(-1)!.seq);
          } else if (op.op === 'reopen') {
            await spool.close();
            spool = await Spool.open(options);
          } else {
            await spool.close();
            const files = segmentFiles(dir);
            const last = files.at(-1);
            if (last) {
              const file = path.join(dir, last);
              const size = statSync(file).size;
              const lastSeq = Math.max(0, ...owed.keys());
              if (size > 0 && lastSeq > 0) {
                // Tear inside the last record only (what a crash mid-write leaves).
                const lastLength = RECORD_HEADER_BYTES + Buffer.byteLength(owed.get(lastSeq)!);
                const keep = size - Math.min(lastLength, op.bytes);
                truncateSync(file, keep);
                owed.delete(lastSeq);
              }
            }
            spool = await Spool.open(options);
          }
        }
        for (const r of await drainAll(spool)) {
          if (owed.get(r.seq) !== r.payload.toString()) return false;
          owed.delete(r.seq);
          delivered.push(r.seq);
        }
        const ordered = delivered.every((s, i) => i === 0 || s > delivered[i - 1]!);
        return owed.size === 0 && ordered && spool.stats().depth === 0;
      } finally {
        await spool.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 60 },
  );
  t.true(existsSync(os.tmpdir()));
});
