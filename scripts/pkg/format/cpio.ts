// The Payload and Scripts of a component package: a gzip-compressed cpio archive in the
// portable "odc" format (POSIX.1 pax "cpio Interchange Format": 76-byte header of octal
// fields, magic 070707), entries named ./path, owners root:wheel (0:0), modes as staged, the
// archive closed by TRAILER!!!. Written as a stream: the tree is never held in memory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Cksum } from './crc.js';
import type { TreeEntry } from './tree.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** The largest values odc's fields hold. */
const maxIno = 0o777777;
const maxSize = 8 ** 11 - 1;

function octal(value: number, width: number): string {
  const text = value.toString(8);
  if (text.length > width) throw new Error(`cpio: ${value} does not fit ${width} octal digits`);
  return text.padStart(width, '0');
}

export function cpioName(entry: Pick<TreeEntry, 'path'>): string {
  return entry.path === '' ? '.' : `./${entry.path}`;
}

function header(fields: {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  name: string;
  size: number;
}): Buffer {
  const name = Buffer.from(`${fields.name}\0`);
  const text =
    '070707' +
    octal(0, 6) + // dev
    octal(fields.ino, 6) +
    octal(fields.mode, 6) +
    octal(0, 6) + // uid: root
    octal(0, 6) + // gid: wheel
    octal(fields.nlink, 6) +
    octal(0, 6) + // rdev
    octal(fields.mtime, 11) +
    octal(name.length, 6) +
    octal(fields.size, 11);
  return Buffer.concat([Buffer.from(text, 'latin1'), name]);
}

export interface CpioResult {
  /** Bytes of the gzip'd archive, and its SHA-1 (hex). */
  size: number;
  sha1: string;
  /** POSIX cksum of each file, by entry path (for the Bom). */
  cksums: Map<string, number>;
}

/** Counts and hashes what passes; sets the gzip header's OS byte to Unix (3) on every OS. */
class Tally extends Transform {
  size = 0;
  private readonly hash = createHash('sha1');
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // RFC 1952 2.3: byte 9 is the OS; zlib writes the build's own (19 on macOS, 3 on Linux).
    if (this.size === 0 && chunk.length > 9) {
      chunk = Buffer.from(chunk);
      chunk[9] = 3;
    }
    this.size += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
  sha1(): string {
    return this.hash.digest('hex');
  }
}

async function* archive(entries: TreeEntry[], cksums: Map<string, number>): AsyncGenerator<Buffer> {
  if (entries.length > maxIno) throw new Error(`cpio: ${entries.length} entries; odc numbers at most ${maxIno}`);
  let ino = 0;
  for (const entry of entries) {
    ino += 1;
    const name = cpioName(entry);
    if (entry.type === 'directory') {
      yield header({ ino, mode: S_IFDIR | entry.mode, nlink: 2, mtime: entry.mtime, name, size: 0 });
      continue;
    }
    if (entry.size > maxSize) throw new Error(`cpio: ${name} is larger than odc holds (8 GiB)`);
    yield header({ ino, mode: S_IFREG | entry.mode, nlink: 1, mtime: entry.mtime, name, size: entry.size });
    const sum = new Cksum();
    let read = 0;
    for await (const chunk of createReadStream(entry.source, { highWaterMark: 1 << 20 })) {
      const data = chunk as Buffer;
      read += data.length;
      if (read > entry.size) break;
      sum.update(data);
      yield data;
    }
    if (read !== entry.size)
      throw new Error(`cpio: ${name} changed size while it was packed (${entry.size} -> ${read})`);
    cksums.set(entry.path, sum.digest());
  }
  yield header({ ino: 0, mode: 0, nlink: 1, mtime: 0, name: 'TRAILER!!!', size: 0 });
}

/** Writes the gzip'd odc cpio of `entries` to `file`. */
export async function writeCpioGz(entries: TreeEntry[], file: string): Promise<CpioResult> {
  const cksums = new Map<string, number>();
  const tally = new Tally();
  await pipeline(archive(entries, cksums), createGzip({ level: 6 }), tally, createWriteStream(file, { mode: 0o644 }));
  return { size: tally.size, sha1: tally.sha1(), cksums };
}
