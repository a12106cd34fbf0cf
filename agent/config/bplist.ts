// A bounded reader for binary property lists ("bplist00"), the format macOS writes preference
// files in. bplist-parser decodes each reference anew and has no budget, so a few hundred
// bytes whose arrays all point at one another expand exponentially (a 285-byte file took 37 s
// and 3.7 GB). Here every decoded object counts against a budget, depth is bounded, a
// reference that leads back to itself is refused, and every offset is checked against the
// buffer before it is read. The result is a tree (no shared objects), so whatever reads it
// afterwards (validation, JSON, logs) is bounded by the same budget.
//
// Format (CoreFoundation CFBinaryPList.c): "bplist00", the objects, an offset table, and a
// 32-byte trailer: 6 unused bytes, offset size, reference size, object count (u64), top
// object (u64), offset-table offset (u64). Each object starts with a marker byte: high nibble
// the type, low nibble a size (0xF: the size follows as an integer object).

export interface BplistLimits {
  /** Objects decoded in all, each visit of a shared reference counted again. */
  maxObjects: number;
  /** Nesting of arrays and dictionaries. */
  maxDepth: number;
}

export class BplistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BplistError';
  }
}

const appleEpochMs = Date.UTC(2001, 0, 1);

export function parseBinaryPlist(buffer: Buffer, limits: BplistLimits): unknown {
  if (buffer.length < 8 + 32 || buffer.toString('latin1', 0, 8) !== 'bplist00')
    throw new BplistError('not a bplist00 file');
  const trailer = buffer.length - 32;
  const offsetSize = buffer[trailer + 6]!;
  const refSize = buffer[trailer + 7]!;
  const objects = readNumber(buffer, trailer + 8, 8);
  const top = readNumber(buffer, trailer + 16, 8);
  const table = readNumber(buffer, trailer + 24, 8);
  if (offsetSize < 1 || offsetSize > 8 || refSize < 1 || refSize > 8)
    throw new BplistError('bad trailer: offset or reference size out of range');
  if (objects < 1 || objects > buffer.length) throw new BplistError('bad trailer: object count out of range');
  if (top >= objects) throw new BplistError('bad trailer: top object out of range');
  if (table < 8 || table + objects * offsetSize > trailer)
    throw new BplistError('bad trailer: offset table out of range');
  // Objects lie between the header and the offset table.
  const end = table;

  const need = (at: number, length: number) => {
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(length) || at < 8 || length < 0 || at + length > end)
      throw new BplistError('truncated: an object runs past the object area');
  };
  const offsetOf = (ref: number): number => {
    if (ref < 0 || ref >= objects) throw new BplistError(`reference ${ref} out of range`);
    const at = table + ref * offsetSize;
    const offset = readNumber(buffer, at, offsetSize);
    if (offset < 8 || offset >= end) throw new BplistError(`object ${ref} has an offset outside the object area`);
    return offset;
  };
  const readRef = (at: number): number => {
    need(at, refSize);
    const ref = readNumber(buffer, at, refSize);
    if (ref >= objects) throw new BplistError('reference out of range');
    return ref;
  };

  let budget = limits.maxObjects;
  const onPath = new Set<number>();

  /** Reads the length of a container or string: the low nibble, or an integer object after the marker. */
  const lengthAt = (at: number, nibble: number): { length: number; next: number } => {
    if (nibble !== 0x0f) return { length: nibble, next: at + 1 };
    need(at + 1, 1);
    const marker = buffer[at + 1]!;
    if (marker >> 4 !== 0x1) throw new BplistError('bad length: not an integer');
    const size = 1 << (marker & 0x0f);
    if (size > 8) throw new BplistError('bad length: too wide');
    need(at + 2, size);
    const length = readNumber(buffer, at + 2, size);
    if (length > end) throw new BplistError('bad length: longer than the file');
    return { length, next: at + 2 + size };
  };

  const decode = (ref: number, depth: number): unknown => {
    if (--budget < 0)
      throw new BplistError(
        `more than ${limits.maxObjects} objects (shared references are counted each time they are used)`,
      );
    if (depth > limits.maxDepth) throw new BplistError(`nested deeper than ${limits.maxDepth} levels`);
    if (onPath.has(ref)) throw new BplistError(`object ${ref} contains itself`);
    const at = offsetOf(ref);
    need(at, 1);
    const marker = buffer[at]!;
    const type = marker >> 4;
    const nibble = marker & 0x0f;
    switch (type) {
      case 0x0:
        if (marker === 0x00) return null;
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        throw new BplistError(`unsupported marker 0x${marker.toString(16)}`);
      case 0x1: {
        if (nibble > 4) throw new BplistError('integer too wide');
        const size = 1 << nibble;
        need(at + 1, size);
        // 1, 2 and 4 bytes are unsigned; 8 bytes signed; 16 bytes: the low 8, signed.
        const value =
          size <= 4
            ? readBig(buffer, at + 1, size)
            : size === 8
              ? buffer.readBigInt64BE(at + 1)
              : buffer.readBigInt64BE(at + 9);
        return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(value)
          : value;
      }
      case 0x2: {
        if (nibble === 2) {
          need(at + 1, 4);
          return buffer.readFloatBE(at + 1);
        }
        if (nibble === 3) {
          need(at + 1, 8);
          return buffer.readDoubleBE(at + 1);
        }
        throw new BplistError('unsupported real size');
      }
      case 0x3: {
        if (marker !== 0x33) throw new BplistError('bad date marker');
        need(at + 1, 8);
        return new Date(appleEpochMs + buffer.readDoubleBE(at + 1) * 1000);
      }
      case 0x4: {
        const { length, next } = lengthAt(at, nibble);
        need(next, length);
        return new Uint8Array(buffer.subarray(next, next + length));
      }
      case 0x5: {
        const { length, next } = lengthAt(at, nibble);
        need(next, length);
        return buffer.toString('latin1', next, next + length);
      }
      case 0x6: {
        const { length, next } = lengthAt(at, nibble);
        need(next, length * 2);
        const bytes = Buffer.from(buffer.subarray(next, next + length * 2));
        bytes.swap16();
        return bytes.toString('utf16le');
      }
      case 0xa:
      case 0xc: {
        const { length, next } = lengthAt(at, nibble);
        if (length > budget) throw new BplistError(`more than ${limits.maxObjects} objects`);
        need(next, length * refSize);
        onPath.add(ref);
        const out: unknown[] = [];
        for (let i = 0; i < length; i++) out.push(decode(readRef(next + i * refSize), depth + 1));
        onPath.delete(ref);
        return out;
      }
      case 0xd: {
        const { length, next } = lengthAt(at, nibble);
        if (length * 2 > budget) throw new BplistError(`more than ${limits.maxObjects} objects`);
        need(next, length * 2 * refSize);
        onPath.add(ref);
        const out: Record<string, unknown> = {};
        for (let i = 0; i < length; i++) {
          const key = decode(readRef(next + i * refSize), depth + 1);
          if (typeof key !== 'string') throw new BplistError('a dictionary key is not a string');
          const value = decode(readRef(next + (length + i) * refSize), depth + 1);
          // defineProperty: a key named "__proto__" stays an ordinary key.
          Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        }
        onPath.delete(ref);
        return out;
      }
      default:
        throw new BplistError(`unsupported object type 0x${type.toString(16)}`);
    }
  };

  return decode(top, 0);
}

/** An unsigned big-endian integer of 1–8 bytes; Infinity when it exceeds 2^53 (always out of range here). */
function readNumber(buffer: Buffer, at: number, size: number): number {
  if (at < 0 || at + size > buffer.length) throw new BplistError('truncated');
  if (size <= 6) return buffer.readUIntBE(at, size);
  const value = readBig(buffer, at, size);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
}

function readBig(buffer: Buffer, at: number, size: number): bigint {
  if (at < 0 || at + size > buffer.length) throw new BplistError('truncated');
  let value = 0n;
  for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(buffer[at + i]!);
  return value;
}
