// fast-check arbitraries for byte mutations of DER data (flips, truncation, insertions, overwrites).
import fc from 'fast-check';

// Mutations of a DER certificate: flipped bytes, truncation, insertions, overwritten runs.
export const mutation = (length: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(length - 1), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(length - 1) }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(length),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant('overwrite' as const),
      at: fc.nat(length - 1),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
  );

export type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array };

export function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(original);
  for (const m of mutations) {
    const at = Math.min(m.at, out.length);
    if (m.kind === 'flip' && at < out.length) out[at] = out[at]! ^ m.xor;
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    else if (m.kind === 'overwrite') {
      out = Buffer.from(out);
      Buffer.from(m.bytes).copy(out, at);
    }
  }
  return out;
}
