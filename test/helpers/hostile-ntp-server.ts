// A hostile test server: a small NTP server of our own on loopback that answers each request
// with a chosen misbehaviour. chrony 4.3 cannot send Kiss-o'-Death or malformed replies, so this
// is the only way to show the client rejects them. Its packets are built here byte by byte,
// independently of agent/clock/ntp-packet.ts, so that a bug there is not mirrored here.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { wallClock } from '../../native/clock.js';

export type HostileBehaviour =
  /** A correct reply (serving the configured offset). */
  | 'good'
  /** A correct reply with 16-byte extension field and a 20-byte MAC after the header (RFC 7822 shape). */
  | 'good-with-extension'
  | 'wrong-origin'
  | 'kod-rate'
  | 'kod-deny'
  | 'kod-rstr'
  /** A DENY kiss whose origin does not match the request: a spoofed kiss must not be obeyed. */
  | 'spoofed-kod-deny'
  /** Stratum 0 whose reference ID is not a kiss code (binary bytes). */
  | 'stratum-0'
  | 'stratum-16'
  | 'leap-3'
  | 'zero-transmit'
  | 'zero-receive'
  | 'mode-3'
  | 'version-2'
  /** 47 bytes. */
  | 'truncated'
  /** A correct header followed by 1000 bytes of 0xff. */
  | 'oversized'
  /** A correct reply, sent from a second socket (another port). */
  | 'other-port'
  /** The same correct reply sent twice. */
  | 'duplicate'
  /** Root dispersion 20 s. */
  | 'huge-root-distance'
  /** Transmit 1 s after receive: the server claims to have held the request longer than the round trip. */
  | 'negative-delay'
  /** No reply at all. */
  | 'silent';

export interface HostileNtpServer {
  host: string;
  port: number;
  /** How many requests arrived so far. */
  readonly requests: number;
  setBehaviour(behaviour: HostileBehaviour | ((requestIndex: number) => HostileBehaviour)): void;
  stop(): Promise<void>;
}

const NTP_UNIX_DELTA_S = 2_208_988_800;

export async function startHostileNtpServer(
  options: {
    host?: string;
    offsetMs?: number;
    behaviour?: HostileBehaviour | ((requestIndex: number) => HostileBehaviour);
  } = {},
): Promise<HostileNtpServer> {
  const host = options.host ?? '127.0.0.1';
  const offsetMs = options.offsetMs ?? 0;
  const family = host.includes(':') ? 'udp6' : 'udp4';
  let choose: (index: number) => HostileBehaviour = toChooser(options.behaviour ?? 'good');
  let requests = 0;

  const socket = dgram.createSocket(family);
  const otherSocket = dgram.createSocket(family);
  await bind(socket, host);
  await bind(otherSocket, host);
  // A send to a client that has gone away must not crash the test process.
  socket.on('error', () => {});
  otherSocket.on('error', () => {});

  socket.on('message', (request, remote) => {
    const receivedMs = wallClock() + offsetMs;
    const behaviour = choose(requests++);
    if (request.length < 48 || (request[0]! & 7) !== 3) return; // not a client request
    const reply = buildReply(behaviour, request, receivedMs, offsetMs);
    if (!reply) return;
    const from = behaviour === 'other-port' ? otherSocket : socket;
    from.send(reply, remote.port, remote.address);
    if (behaviour === 'duplicate') socket.send(reply, remote.port, remote.address);
  });

  return {
    host,
    port: socket.address().port,
    get requests() {
      return requests;
    },
    setBehaviour(behaviour) {
      choose = toChooser(behaviour);
    },
    async stop() {
      await Promise.all([close(socket), close(otherSocket)]);
    },
  };
}

/** Whether this machine can bind UDP on ::1. */
export async function hasIpv6Loopback(): Promise<boolean> {
  const socket = dgram.createSocket('udp6');
  try {
    await bind(socket, '::1');
    return true;
  } catch {
    return false;
  } finally {
    await close(socket);
  }
}

function buildReply(behaviour: HostileBehaviour, request: Buffer, receivedMs: number, offsetMs: number): Buffer | null {
  if (behaviour === 'silent') return null;
  const reply = Buffer.alloc(48);
  let leap = 0;
  let version = 4;
  let mode = 4;
  let stratum = 2;
  let referenceId: Buffer = Buffer.from([127, 0, 0, 1]);
  let rootDispersion = 0x0000_0100; // ~3.9 ms
  const rootDelay = 0x0000_0080; // ~1.9 ms
  let transmitMs = wallClock() + offsetMs;
  switch (behaviour) {
    case 'kod-rate':
    case 'kod-deny':
    case 'kod-rstr':
      stratum = 0;
      leap = 3;
      referenceId = Buffer.from(behaviour.slice(4).toUpperCase(), 'ascii');
      break;
    case 'spoofed-kod-deny':
      stratum = 0;
      leap = 3;
      referenceId = Buffer.from('DENY', 'ascii');
      break;
    case 'stratum-0':
      stratum = 0;
      referenceId = Buffer.from([0x01, 0xfe, 0x00, 0x7f]);
      break;
    case 'stratum-16':
      stratum = 16;
      break;
    case 'leap-3':
      leap = 3;
      break;
    case 'mode-3':
      mode = 3;
      break;
    case 'version-2':
      version = 2;
      break;
    case 'huge-root-distance':
      rootDispersion = 20 << 16;
      break;
    case 'negative-delay':
      transmitMs = receivedMs + 1000;
      break;
    default:
      break;
  }
  reply[0] = (leap << 6) | (version << 3) | mode;
  reply[1] = stratum;
  reply[2] = 6; // poll
  reply[3] = 0xec; // precision −20
  reply.writeUInt32BE(rootDelay, 4);
  reply.writeUInt32BE(rootDispersion, 8);
  referenceId.copy(reply, 12);
  writeTimestamp(reply, 16, receivedMs - 1000); // reference time
  if (behaviour === 'wrong-origin' || behaviour === 'spoofed-kod-deny') randomBytes(8).copy(reply, 24);
  else request.copy(reply, 24, 40, 48);
  if (behaviour !== 'zero-receive') writeTimestamp(reply, 32, receivedMs);
  if (behaviour !== 'zero-transmit') writeTimestamp(reply, 40, transmitMs);

  if (behaviour === 'truncated') return reply.subarray(0, 47);
  if (behaviour === 'oversized') return Buffer.concat([reply, Buffer.alloc(1000, 0xff)]);
  if (behaviour === 'good-with-extension') {
    const extension = Buffer.alloc(16);
    extension.writeUInt16BE(0x0104, 0); // an unassigned field type
    extension.writeUInt16BE(16, 2);
    const mac = Buffer.alloc(20);
    mac.writeUInt32BE(7, 0); // key ID
    randomBytes(16).copy(mac, 4);
    return Buffer.concat([reply, extension, mac]);
  }
  return reply;
}

/** An NTP timestamp (seconds since 1900, 32-bit fraction) of `unixMs` at `at` (also the hostile NTS server's). */
export function writeTimestamp(buffer: Buffer, at: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32);
  buffer.writeUInt32BE((seconds + NTP_UNIX_DELTA_S) % 2 ** 32, at);
  buffer.writeUInt32BE(Math.min(fraction, 2 ** 32 - 1), at + 4);
}

function toChooser(
  behaviour: HostileBehaviour | ((index: number) => HostileBehaviour),
): (index: number) => HostileBehaviour {
  return typeof behaviour === 'function' ? behaviour : () => behaviour;
}

function bind(socket: dgram.Socket, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function close(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound or already closed
    }
  });
}
