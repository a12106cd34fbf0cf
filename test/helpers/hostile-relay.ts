// A hostile test server: a UDP relay on loopback between the NTP client and chronyd, the
// on-path attacker of issue 23. Each client datagram is forwarded to the server from a socket
// of the relay's own, and each server reply passes through `alter` on its way back (which may
// change it, replace it, or drop it). Built byte by byte here, independently of agent/clock.
import dgram from 'node:dgram';

export interface RunningRelay {
  host: string;
  port: number;
  /** Every reply the server sent through the relay, unaltered, oldest first. */
  seen: Buffer[];
  /** Every request the client sent through the relay, oldest first. */
  requests: Buffer[];
  stop(): Promise<void>;
}

/** Returns what to send the client instead of `reply` (null: drop it). */
export type Alter = (reply: Buffer, seen: readonly Buffer[]) => Buffer | null;

export async function startRelay(options: {
  /** Where the relay listens (a loopback address; default 127.0.0.1, port chosen by the kernel unless given). */
  host?: string;
  port?: number;
  server: { host: string; port: number };
  alter: Alter;
}): Promise<RunningRelay> {
  const host = options.host ?? '127.0.0.1';
  const front = dgram.createSocket('udp4');
  const seen: Buffer[] = [];
  const requests: Buffer[] = [];
  const back = new Map<string, dgram.Socket>();
  front.on('message', (request, client) => {
    requests.push(Buffer.from(request));
    const key = `${client.address}:${client.port}`;
    let socket = back.get(key);
    if (!socket) {
      const s = dgram.createSocket('udp4');
      s.on('message', (reply) => {
        const copy = Buffer.from(reply);
        const out = options.alter(Buffer.from(reply), seen);
        seen.push(copy);
        if (out) front.send(out, client.port, client.address);
      });
      s.on('error', () => undefined);
      back.set(key, s);
      socket = s;
    }
    socket.send(request, options.server.port, options.server.host);
  });
  front.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(options.port ?? 0, host, () => resolve());
  });
  return {
    host,
    port: front.address().port,
    seen,
    requests,
    stop: async () => {
      for (const s of back.values()) s.close();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}

/** Adds `seconds` to the receive and transmit timestamps (the server's clock as the client sees it). */
export function shiftTimestamps(reply: Buffer, seconds: number): Buffer {
  if (reply.length < 48) return reply;
  for (const at of [32, 40]) reply.writeUInt32BE((reply.readUInt32BE(at) + seconds) >>> 0, at);
  return reply;
}

/** The bodies of the extension fields of `type` in an NTP packet (0x0204: NTS Cookie, 0x0304: Cookie Placeholder). */
export function extensionBodies(packet: Buffer, type: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 48;
  while (offset + 4 <= packet.length) {
    const length = packet.readUInt16BE(offset + 2);
    if (length < 4 || offset + length > packet.length) break;
    if (packet.readUInt16BE(offset) === type) out.push(packet.subarray(offset + 4, offset + length));
    offset += length;
  }
  return out;
}

/** Removes every extension field of type 0x0404 (the NTS Authenticator and Encrypted field). */
export function stripAuthenticator(reply: Buffer): Buffer {
  const parts = [reply.subarray(0, 48)];
  let offset = 48;
  while (offset + 4 <= reply.length) {
    const type = reply.readUInt16BE(offset);
    const length = reply.readUInt16BE(offset + 2);
    if (length < 4 || offset + length > reply.length) break;
    if (type !== 0x0404) parts.push(reply.subarray(offset, offset + length));
    offset += length;
  }
  return Buffer.concat(parts);
}
