// CRC-32 (IEEE 802.3, the zlib/gzip polynomial) of a byte range. zlib.crc32 is native from
// Node 20.15 (the engines field asks 20.16); the table version gives the same value and is
// kept as the reference the test compares zlib.crc32 with. Tested for equality against zlib.crc32 where it exists. node:zlib is loaded on the
// first use, not at import: an idle daemon without a collector never needs it.
import { createRequire } from 'node:module';

const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table implementation (exported for the equality test). */
export function crc32Table(data: Uint8Array, initial = 0): number {
  let c = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type Crc = (data: Uint8Array, value?: number) => number;
let native: Crc | null | undefined;

/** CRC-32 of `data`, continuing from `initial` (the CRC of what came before). */
export function crc32(data: Uint8Array, initial = 0): number {
  if (native === undefined) native = (createRequire(import.meta.url)('node:zlib') as { crc32?: Crc }).crc32 ?? null;
  return native ? native(data, initial) : crc32Table(data, initial);
}
