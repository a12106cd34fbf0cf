// A durable on-disk queue of opaque records, in the manner of Santa's file spool and osquery's
// buffered logger: an append-only log split into segment files, a checksum per record, and a
// cursor file (written atomically and fsynced) saying how far the consumer got. It knows
// nothing about telemetry: records are bytes, numbered by a sequence that never repeats.
//
//   dir/00000000000000000001.seg   records 1…k; the name is the first record's sequence
//   dir/00000000000000000412.seg   the active segment, appended to
//   dir/cursor.json                {acked, discarded, counters, id}
//
// A record is a 20-byte header — magic "TGR1", payload length (u32), sequence (u64), CRC-32 of
// length + sequence + payload — then the payload; all little-endian.
//
// Durability: append() puts a record in the pending group and returns at once with its
// sequence; `durable` resolves when the group is written and fdatasync'ed. A group is written
// after groupMs (about 100 ms) or when groupRecords (about 100) are pending, at once for an
// urgent record; records arriving while a group is being synced form the next group, so the
// group grows with the load (group commit). A record is handed to the consumer only once it
// is durable, and a segment is deleted only when every record in it was acknowledged (or
// discarded by the byte bound).
//
// Bound: the segment files never exceed maxBytes together. Appending past it deletes the
// oldest segment, unsent records and all; they are counted (`dropped`) and reported through
// onEvict. Reopening after a crash cuts a torn last record (a short write at the end of the
// active segment) and keeps everything before it; a bad record in an older segment costs the
// rest of that segment, counted as `corrupt`.
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from './crc32.js';

const MAGIC = 0x31524754; // "TGR1" read as a little-endian u32
export const RECORD_HEADER_BYTES = 20;
const SEGMENT_SUFFIX = '.seg';
const CURSOR_FILE = 'cursor.json';
const READ_WINDOW_BYTES = 256 << 10;

export interface SpoolOptions {
  dir: string;
  /** Bound on the segment files together. */
  maxBytes: number;
  /** Target segment size; default maxBytes/16 clamped to 64 KiB…8 MiB (the eviction granularity). */
  segmentBytes?: number;
  /** Longest a record waits before its group is written (default 100 ms). */
  groupMs?: number;
  /** A group is written as soon as this many records are pending (default 100). */
  groupRecords?: number;
  /** Largest payload accepted (default 1 MiB, at most a quarter of maxBytes). */
  maxRecordBytes?: number;
  /** Told when the byte bound deleted unsent records. */
  onEvict?(eviction: Eviction): void;
  /** Told when a damaged record made the rest of its segment unreadable. */
  onCorrupt?(corruption: Corruption): void;
}

export interface Eviction {
  /** Unsent records lost (acknowledged ones in the segment are not counted). */
  records: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
}

export interface Corruption {
  segment: string;
  offset: number;
  /** Records skipped. */
  records: number;
  reason: 'bad_magic' | 'bad_length' | 'bad_checksum' | 'bad_sequence';
}

export interface SpoolRecord {
  seq: number;
  payload: Buffer;
}

export interface Appended {
  seq: number;
  /** Resolves when the record is on disk (fdatasync'ed); rejects when writing failed. */
  durable: Promise<void>;
}

export interface SpoolStats {
  id: string;
  /** Records appended and not yet acknowledged, dropped or skipped (pending ones included). */
  depth: number;
  /** Bytes of the segment files. */
  bytes: number;
  maxBytes: number;
  segments: number;
  /** The sequence the next record gets. */
  nextSeq: number;
  /** Everything up to here was acknowledged by the consumer. */
  ackedSeq: number;
  /** Unsent records deleted by the byte bound, ever. */
  dropped: number;
  /** Records lost to damaged segments, ever. */
  corrupt: number;
  /** The consumer's own counters (kept with the cursor). */
  counters: Record<string, number>;
  /** Groups written (one fdatasync each, more when a group spans segments) since opening. */
  groupsWritten: number;
}

interface Segment {
  firstSeq: number;
  /** firstSeq − 1 while empty. */
  lastSeq: number;
  /** Bytes written and synced: what readers may see. */
  size: number;
  file: string;
}

interface Pending {
  records: Array<{ seq: number; bytes: Buffer }>;
  bytes: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface CursorState {
  v: 1;
  id: string;
  acked: number;
  /** Highest sequence given up without sending (byte bound, damage). */
  discarded: number;
  counters: Record<string, number>;
}

export class SpoolError extends Error {
  constructor(
    readonly code: 'record_too_large' | 'spool_closed' | 'spool_io_error',
    message: string,
  ) {
    super(message);
  }
}

const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(20, '0')}${SEGMENT_SUFFIX}`;

function encodeRecord(seq: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(payload.length, 4);
  out.writeUInt32LE(seq % 0x100000000, 8);
  out.writeUInt32LE(Math.floor(seq / 0x100000000), 12);
  out.set(payload, RECORD_HEADER_BYTES);
  const crc = crc32(out.subarray(RECORD_HEADER_BYTES), crc32(out.subarray(4, 16)));
  out.writeUInt32LE(crc, 16);
  return out;
}

type Parsed =
  { ok: true; seq: number; payload: Buffer; size: number } | { ok: false; reason: Corruption['reason'] | 'short' };

/** Parses the record at `offset` of `buf`; 'short' when the buffer ends inside it. */
function parseRecord(buf: Buffer, offset: number, maxRecordBytes: number): Parsed {
  if (buf.length - offset < RECORD_HEADER_BYTES) return { ok: false, reason: 'short' };
  if (buf.readUInt32LE(offset) !== MAGIC) return { ok: false, reason: 'bad_magic' };
  const length = buf.readUInt32LE(offset + 4);
  if (length > maxRecordBytes) return { ok: false, reason: 'bad_length' };
  if (buf.length - offset < RECORD_HEADER_BYTES + length) return { ok: false, reason: 'short' };
  const seq = buf.readUInt32LE(offset + 8) + buf.readUInt32LE(offset + 12) * 0x100000000;
  const payload = buf.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
  const crc = crc32(payload, crc32(buf.subarray(offset + 4, offset + 16)));
  if (crc !== buf.readUInt32LE(offset + 16)) return { ok: false, reason: 'bad_checksum' };
  return { ok: true, seq, payload, size: RECORD_HEADER_BYTES + length };
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class Spool {
  private segmentBytes: number;
  private readonly groupMs: number;
  private readonly groupRecords: number;
  private maxRecordBytes: number;
  private maxBytes: number;
  /** The largest record any bound could have written: what reading accepts. */
  private readonly readLimit: number;
  private segments: Segment[] = [];
  private active: { segment: Segment; handle: FileHandle } | null = null;
  private readers = new Map<string, FileHandle>();
  private nextSeq = 1;
  /** Every sequence below this is on disk. */
  private durableSeq = 1;
  private cursor: CursorState;
  private pending: Pending | null = null;
  private groupTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** Serialises every file operation (writes, acks, reads, deletions). */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private groupsWritten = 0;
  /** Where the next unacknowledged record starts, when known. */
  private readHint: { seq: number; file: string; offset: number } | null = null;

  private constructor(
    private readonly options: SpoolOptions,
    cursor: CursorState,
  ) {
    this.cursor = cursor;
    this.maxBytes = options.maxBytes;
    this.readLimit = options.maxRecordBytes ?? 1 << 20;
    this.segmentBytes = this.segmentSize();
    this.groupMs = options.groupMs ?? 100;
    this.groupRecords = options.groupRecords ?? 100;
    this.maxRecordBytes = this.recordLimit();
  }

  private segmentSize(): number {
    return this.options.segmentBytes ?? Math.min(8 << 20, Math.max(64 << 10, Math.floor(this.maxBytes / 16)));
  }

  private recordLimit(): number {
    // Reading accepts what any bound could have written; appending is held to the current one.
    return Math.min(this.options.maxRecordBytes ?? 1 << 20, Math.floor(this.maxBytes / 4));
  }

  /** A new byte bound (configuration change); applied from the next write on. */
  setMaxBytes(maxBytes: number): void {
    if (!(maxBytes >= 4096)) throw new RangeError('spool maxBytes must be at least 4096');
    this.maxBytes = maxBytes;
    this.segmentBytes = this.segmentSize();
    this.maxRecordBytes = this.recordLimit();
  }

  /** Opens (or creates, mode 0700) the spool in `options.dir`, repairing a torn tail. */
  static async open(options: SpoolOptions): Promise<Spool> {
    if (!(options.maxBytes >= 4096)) throw new RangeError('spool maxBytes must be at least 4096');
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const { state, problem } = await readCursor(options.dir);
    const spool = new Spool(options, state);
    await spool.load();
    if (problem) await spool.writeCursor();
    return spool;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Highest sequence that is acknowledged or given up. */
  private get floor(): number {
    return Math.max(this.cursor.acked, this.cursor.discarded);
  }

  private async load(): Promise<void> {
    const names = (await readdir(this.options.dir)).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
    const segments: Segment[] = names.map((file) => ({
      firstSeq: Number(file.slice(0, 20)),
      lastSeq: 0,
      size: 0,
      file,
    }));
    for (let i = 0; i < segments.length - 1; i++) {
      const s = segments[i]!;
      s.lastSeq = segments[i + 1]!.firstSeq - 1;
      const handle = await open(this.filePath(s.file), 'r');
      try {
        s.size = (await handle.stat()).size;
      } finally {
        await handle.close();
      }
    }
    const last = segments.at(-1);
    if (last) await this.repairLast(last);
    // Segments consumed before a crash (acknowledged, but not yet deleted) go now.
    const floor = this.floor;
    const keep: Segment[] = [];
    for (const s of segments) {
      if (s !== last && s.lastSeq <= floor) await rm(this.filePath(s.file), { force: true });
      else keep.push(s);
    }
    this.segments = keep;
    this.nextSeq = Math.max(last ? last.lastSeq + 1 : 1, floor + 1);
    this.durableSeq = this.nextSeq;
    if (last && last.lastSeq < last.firstSeq && last.firstSeq !== this.nextSeq) {
      // An empty segment whose name no longer matches the next sequence: start a fresh one.
      await rm(this.filePath(last.file), { force: true });
      this.segments = this.segments.filter((s) => s !== last);
    }
    const tail = this.segments.at(-1);
    if (tail && tail.lastSeq + 1 === this.nextSeq) {
      this.active = { segment: tail, handle: await open(this.filePath(tail.file), 'a') };
    }
  }

  /** Reads the last segment through, cutting it after the last whole, valid record. */
  private async repairLast(segment: Segment): Promise<void> {
    const file = this.filePath(segment.file);
    const buf = await readFile(file);
    let offset = 0;
    let expected = segment.firstSeq;
    while (offset < buf.length) {
      const r = parseRecord(buf, offset, this.readLimit);
      if (!r.ok || r.seq !== expected) break;
      offset += r.size;
      expected++;
    }
    segment.lastSeq = expected - 1;
    segment.size = offset;
    if (offset < buf.length) {
      const handle = await open(file, 'r+');
      try {
        await handle.truncate(offset);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  /**
   * Queues `payload` for the log. Returns its sequence at once; `durable` settles when it is on
   * disk. `urgent` writes its group now (audits) instead of within groupMs.
   */
  append(payload: Uint8Array, options: { urgent?: boolean } = {}): Appended {
    if (this.closed) throw new SpoolError('spool_closed', 'the spool is closed');
    if (payload.length > this.maxRecordBytes) {
      throw new SpoolError(
        'record_too_large',
        `record of ${payload.length} bytes exceeds the ${this.maxRecordBytes}-byte limit`,
      );
    }
    const seq = this.nextSeq++;
    const bytes = encodeRecord(seq, payload);
    if (!this.pending) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting for `durable`; a failure is still reported through flush().
      done.catch(() => undefined);
      this.pending = { records: [], bytes: 0, done, resolve, reject };
    }
    const group = this.pending;
    group.records.push({ seq, bytes });
    group.bytes += bytes.length;
    if (options.urgent || group.records.length >= this.groupRecords) this.requestFlush();
    else this.groupTimer ??= setTimeout(() => this.requestFlush(), this.groupMs);
    return { seq, durable: group.done };
  }

  /** Writes and syncs everything appended so far; resolves when it is durable. */
  async flush(): Promise<void> {
    const waitFor = this.pending?.done;
    this.requestFlush();
    await this.flushing;
    await waitFor;
  }

  private requestFlush(): void {
    if (this.groupTimer) clearTimeout(this.groupTimer);
    this.groupTimer = null;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    if (!this.pending) return;
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        const group = this.pending;
        this.pending = null;
        if (!group) break;
        try {
          await this.serial(() => this.writeGroup(group));
          group.resolve();
        } catch (error) {
          group.reject(new SpoolError('spool_io_error', `writing the spool failed: ${(error as Error).message}`));
        }
      } while (this.flushAgain && this.pending);
      this.flushing = null;
      // Records that arrived after the last group was taken wait for their own timer.
      if (this.pending && !this.groupTimer) this.groupTimer = setTimeout(() => this.requestFlush(), this.groupMs);
    })();
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(operation, operation);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writeGroup(group: Pending): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    let chunkFirst = 0;
    let chunkLast = 0;
    const touched = new Set<FileHandle>();
    const commit = async () => {
      if (chunk.length === 0) return;
      const data = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, chunkBytes);
      await this.makeRoom(data.length);
      const target = this.active!;
      try {
        await writeAll(target.handle, data);
      } catch (error) {
        // Leave no partial record behind, and put what follows in a new segment: the
        // sequence numbers of this group are gone.
        await target.handle.truncate(target.segment.size).catch(() => undefined);
        await target.handle.close().catch(() => undefined);
        this.active = null;
        throw error;
      }
      touched.add(target.handle);
      target.segment.size += data.length;
      if (target.segment.lastSeq < target.segment.firstSeq) target.segment.firstSeq = chunkFirst;
      target.segment.lastSeq = chunkLast;
      chunk = [];
      chunkBytes = 0;
    };
    for (const record of group.records) {
      const full =
        this.active &&
        this.active.segment.size + chunkBytes > 0 &&
        this.active.segment.size + chunkBytes + record.bytes.length > this.segmentBytes;
      if (!this.active || full) {
        await commit();
        if (this.active) {
          await this.active.handle.datasync();
          touched.delete(this.active.handle);
          await this.active.handle.close();
        }
        await this.startSegment(record.seq);
      }
      if (chunk.length === 0) chunkFirst = record.seq;
      chunk.push(record.bytes);
      chunkBytes += record.bytes.length;
      chunkLast = record.seq;
    }
    await commit();
    for (const handle of touched) await handle.datasync();
    this.durableSeq = group.records.at(-1)!.seq + 1;
    this.groupsWritten++;
  }

  private async startSegment(firstSeq: number): Promise<void> {
    const segment: Segment = { firstSeq, lastSeq: firstSeq - 1, size: 0, file: segmentName(firstSeq) };
    const handle = await open(this.filePath(segment.file), 'a', 0o600);
    this.segments.push(segment);
    this.active = { segment, handle };
    await syncDirectory(this.options.dir);
  }

  /** Deletes the oldest segments until `incoming` more bytes fit under maxBytes. */
  private async makeRoom(incoming: number): Promise<void> {
    while (
      this.totalBytes() + incoming > this.maxBytes &&
      this.segments.length > 1 &&
      this.segments[0] !== this.active?.segment
    ) {
      const oldest = this.segments.shift()!;
      const lost = Math.max(0, oldest.lastSeq - Math.max(this.floor, oldest.firstSeq - 1));
      this.cursor.discarded = Math.max(this.cursor.discarded, oldest.lastSeq);
      this.bump('dropped', lost);
      await this.closeReader(oldest.file);
      await rm(this.filePath(oldest.file), { force: true });
      await this.writeCursor();
      if (lost > 0)
        this.options.onEvict?.({
          records: lost,
          bytes: oldest.size,
          firstSeq: oldest.firstSeq,
          lastSeq: oldest.lastSeq,
        });
    }
  }

  private totalBytes(): number {
    let sum = 0;
    for (const s of this.segments) sum += s.size;
    return sum;
  }

  /**
   * The oldest unacknowledged durable records, in sequence order, at most `maxRecords` and
   * about `maxBytes` of payload (always at least one record). Does not consume them: call
   * ack() once they were delivered. Never crosses a segment boundary.
   */
  peek(limits: { maxRecords: number; maxBytes: number }): Promise<SpoolRecord[]> {
    return this.serial(() => this.readBatch(limits));
  }

  private async readBatch(limits: { maxRecords: number; maxBytes: number }): Promise<SpoolRecord[]> {
    for (;;) {
      const start = this.floor + 1;
      if (start >= this.durableSeq) return [];
      const segment = this.segments.find((s) => s.lastSeq >= start);
      if (!segment) return [];
      if (segment.firstSeq > start) {
        // A gap (files removed behind our back): carry on with what exists.
        this.cursor.discarded = segment.firstSeq - 1;
        continue;
      }
      const hint = this.readHint;
      const resume = hint !== null && hint.seq === start && hint.file === segment.file;
      let offset = resume ? hint.offset : 0;
      let seq = resume ? start : segment.firstSeq;
      const handle = await this.reader(segment.file);
      let window = Buffer.alloc(0);
      let windowStart = 0;
      /** Makes the window cover [offset, offset + need); false when the segment is shorter. */
      const cover = async (need: number): Promise<boolean> => {
        if (offset >= windowStart && offset + need <= windowStart + window.length) return true;
        if (offset + need > segment.size) return false;
        const length = Math.min(segment.size - offset, Math.max(need, READ_WINDOW_BYTES));
        window = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(window, 0, length, offset);
        window = window.subarray(0, bytesRead);
        windowStart = offset;
        return bytesRead >= need;
      };
      const out: SpoolRecord[] = [];
      let payloadBytes = 0;
      let damage: Corruption['reason'] | null = null;
      while (
        out.length < limits.maxRecords &&
        offset < segment.size &&
        seq <= segment.lastSeq &&
        seq < this.durableSeq
      ) {
        if (!(await cover(RECORD_HEADER_BYTES))) {
          damage = 'bad_length';
          break;
        }
        const length = window.readUInt32LE(offset - windowStart + 4);
        if (length > this.readLimit || !(await cover(RECORD_HEADER_BYTES + length))) {
          damage = 'bad_length';
          break;
        }
        const r = parseRecord(window, offset - windowStart, this.readLimit);
        if (!r.ok) {
          damage = r.reason === 'short' ? 'bad_length' : r.reason;
          break;
        }
        if (r.seq !== seq) {
          damage = 'bad_sequence';
          break;
        }
        if (seq >= start) {
          if (out.length > 0 && payloadBytes + r.payload.length > limits.maxBytes) break;
          // A copy: the window is reused for the next read.
          out.push({ seq, payload: Buffer.from(r.payload) });
          payloadBytes += r.payload.length;
        }
        seq++;
        offset += r.size;
      }
      if (damage && out.length === 0) {
        await this.skipDamaged(segment, offset, damage, seq);
        continue;
      }
      this.readHint = { seq, file: segment.file, offset };
      if (out.length === 0) {
        // The segment ends before the records it should hold: the rest is lost.
        await this.skipDamaged(segment, offset, 'bad_length', seq);
        continue;
      }
      return out;
    }
  }

  private async skipDamaged(
    segment: Segment,
    offset: number,
    reason: Corruption['reason'],
    fromSeq: number,
  ): Promise<void> {
    const records = Math.max(0, segment.lastSeq - Math.max(fromSeq - 1, this.floor));
    this.cursor.discarded = Math.max(this.cursor.discarded, segment.lastSeq);
    this.bump('corrupt', records);
    await this.writeCursor();
    this.options.onCorrupt?.({ segment: segment.file, offset, records, reason });
    if (segment === this.active?.segment) {
      // Nothing after the damage can be trusted; later records go to a fresh segment.
      await this.active.handle.close();
      this.active = null;
    }
  }

  /**
   * The consumer delivered everything up to `throughSeq`. Persists the cursor (and the
   * counters added here) and deletes the segments that no longer hold an unsent record.
   */
  ack(throughSeq: number, counters: Record<string, number> = {}): Promise<void> {
    return this.serial(async () => {
      if (throughSeq >= this.durableSeq)
        throw new RangeError(`cannot acknowledge ${throughSeq}: only records below ${this.durableSeq} were handed out`);
      this.cursor.acked = Math.max(this.cursor.acked, throughSeq);
      for (const [name, delta] of Object.entries(counters)) this.bump(name, delta);
      await this.writeCursor();
      const floor = this.floor;
      let deleted = false;
      while (
        this.segments.length > 0 &&
        this.segments[0]!.lastSeq <= floor &&
        this.segments[0]!.lastSeq >= this.segments[0]!.firstSeq
      ) {
        const done = this.segments[0]!;
        if (done === this.active?.segment) {
          // Nothing unsent in the active segment and no write in flight (we hold the chain):
          // the next append starts a new one.
          if (this.nextSeq !== done.lastSeq + 1) break;
          await this.active.handle.close();
          this.active = null;
        }
        this.segments.shift();
        await this.closeReader(done.file);
        await rm(this.filePath(done.file), { force: true });
        deleted = true;
      }
      if (deleted) await syncDirectory(this.options.dir);
    });
  }

  /** Adds to the consumer's counters without acknowledging anything. */
  count(counters: Record<string, number>): Promise<void> {
    return this.serial(async () => {
      for (const [name, delta] of Object.entries(counters)) this.bump(name, delta);
      await this.writeCursor();
    });
  }

  stats(): SpoolStats {
    const { dropped = 0, corrupt = 0, ...counters } = this.cursor.counters;
    let bytes = this.totalBytes();
    if (this.pending) bytes += this.pending.bytes;
    return {
      id: this.cursor.id,
      depth: Math.max(0, this.nextSeq - 1 - this.floor),
      bytes,
      maxBytes: this.maxBytes,
      segments: this.segments.length,
      nextSeq: this.nextSeq,
      ackedSeq: this.cursor.acked,
      dropped,
      corrupt,
      counters,
      groupsWritten: this.groupsWritten,
    };
  }

  /** Writes what is pending and closes the files. Appending afterwards throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    if (this.groupTimer) clearTimeout(this.groupTimer);
    await this.serial(async () => {
      if (this.active) await this.active.handle.close();
      this.active = null;
      for (const handle of this.readers.values()) await handle.close();
      this.readers.clear();
    });
  }

  /** Counters only grow, and stop at 2^53 − 1 (beyond it a JSON number is no longer exact). */
  private bump(name: string, delta: number): void {
    if (!Number.isFinite(delta) || delta <= 0) return;
    const next = (this.cursor.counters[name] ?? 0) + Math.floor(delta);
    this.cursor.counters[name] = Math.min(next, Number.MAX_SAFE_INTEGER);
  }

  private filePath(file: string): string {
    return path.join(this.options.dir, file);
  }

  private async reader(file: string): Promise<FileHandle> {
    let handle = this.readers.get(file);
    if (!handle) {
      // One reader at a time is enough: batches are read in order.
      for (const name of [...this.readers.keys()]) await this.closeReader(name);
      handle = await open(this.filePath(file), 'r');
      this.readers.set(file, handle);
    }
    return handle;
  }

  private async closeReader(file: string): Promise<void> {
    const handle = this.readers.get(file);
    if (!handle) return;
    this.readers.delete(file);
    await handle.close();
  }

  private async writeCursor(): Promise<void> {
    const file = this.filePath(CURSOR_FILE);
    const temp = `${file}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(this.cursor)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    await syncDirectory(this.options.dir);
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

/** Reads cursor.json; a missing or unreadable one starts from scratch (records are resent, not lost). */
async function readCursor(dir: string): Promise<{ state: CursorState; problem: boolean }> {
  const fresh = (): CursorState => ({ v: 1, id: randomUUID(), acked: 0, discarded: 0, counters: {} });
  let text: string;
  try {
    text = await readFile(path.join(dir, CURSOR_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: fresh(), problem: true };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CursorState>;
    const nat = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (parsed.v !== 1 || typeof parsed.id !== 'string' || !nat(parsed.acked) || !nat(parsed.discarded))
      throw new Error('bad cursor');
    const counters: Record<string, number> = {};
    for (const [k, v] of Object.entries(parsed.counters ?? {})) if (nat(v)) counters[k] = v as number;
    return {
      state: { v: 1, id: parsed.id, acked: parsed.acked!, discarded: parsed.discarded!, counters },
      problem: false,
    };
  } catch {
    const state = fresh();
    state.counters.cursor_resets = 1;
    return { state, problem: true };
  }
}
