// The checksum the Bom keeps for each file: POSIX cksum (a CRC-32 with polynomial 0x04C11DB7,
// most significant bit first, over the data then the length; the result inverted), what
// `cksum` prints on macOS and Linux.
import { createReadStream } from 'node:fs';

const table = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 24;
  for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  table[i] = c >>> 0;
}

export class Cksum {
  private crc = 0;
  private length = 0;

  update(data: Buffer): this {
    let crc = this.crc;
    for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ table[((crc >>> 24) ^ data[i]) & 0xff]) >>> 0;
    this.crc = crc;
    this.length += data.length;
    return this;
  }

  digest(): number {
    let crc = this.crc;
    for (let n = this.length; n > 0; n = Math.floor(n / 256))
      crc = ((crc << 8) ^ table[((crc >>> 24) ^ (n & 0xff)) & 0xff]) >>> 0;
    return ~crc >>> 0;
  }
}

export async function cksumFile(file: string): Promise<number> {
  const sum = new Cksum();
  for await (const chunk of createReadStream(file)) sum.update(chunk as Buffer);
  return sum.digest();
}
