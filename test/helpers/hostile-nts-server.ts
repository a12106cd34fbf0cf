// A hostile test server: the smallest honest NTS server (RFC 8915) of our own on loopback, for
// what chronyd cannot be made to do: answer an NTS-protected request with a Kiss-o'-Death
// (RATE, DENY, RSTR), authenticated or not. Its NTS-KE side is node:tls (TLS 1.3, ALPN ntske/1)
// and exports the C2S/S2C keys from the session as RFC 8915 §5.1 says; each cookie it hands out
// is 32 random bytes that index those keys here (a real server encrypts them into the cookie; an
// index is enough for a test and opens the same way). Its NTP side opens the cookie, checks the
// request's authenticator with the C2S key, and answers as the test asks: a normal authenticated
// reply, a KoD authenticated with the S2C key, a KoD without an authenticator or sealed with a
// wrong key (what anyone on the path could send), or an NTS NAK (NTSN). A request whose cookie
// it does not know (after `forgetCookies`, a restart with new keys) or that does not authenticate
// gets an NTSN, as RFC 8915 §5.7 asks of a server.
//
// The request is parsed here byte by byte; the crypto (AES-SIV) and the extension-field packing
// are the product's (agent/clock/aes-siv.ts, nts-packet.ts), which chronyd's own client and
// server check in nts-chrony.test.ts.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { wallClock } from '../../native/clock.js';
import { sivDecrypt } from '../../agent/clock/aes-siv.js';
import { EXPORTER_LABEL, exporterContext, KEY_LENGTH } from '../../agent/clock/nts-ke.js';
import { authenticatorField, extensionField } from '../../agent/clock/nts-packet.js';
import { record, u16 } from './hostile-nts-ke-server.js';
import { writeTimestamp } from './hostile-ntp-server.js';
import type { Leaf } from './tls.js';

const UNIQUE_IDENTIFIER = 0x0104;
const COOKIE = 0x0204;
const COOKIE_PLACEHOLDER = 0x0304;
const AUTHENTICATOR = 0x0404;

/** One datagram the server sends back for a request. */
export type NtsAnswer =
  /** A normal reply (stratum 1), authenticated with the S2C key, new cookies inside. */
  | 'good'
  /** An NTS NAK: stratum 0, kiss code NTSN, the request's Unique Identifier, no authenticator. */
  | 'ntsn'
  /**
   * A Kiss-o'-Death echoing the request's origin and Unique Identifier. `valid`: authenticated
   * with the session's S2C key (the server means it); `none`: no authenticator; `wrong-key`:
   * sealed with a key that is not the session's (both what an on-path attacker can send).
   */
  | { kiss: 'RATE' | 'DENY' | 'RSTR'; auth: 'valid' | 'none' | 'wrong-key' };

export interface HostileNtsServer {
  host: string;
  /** The NTS-KE port (TCP); the NTP port is sent in the Port Negotiation record. */
  port: number;
  ntpPort: number;
  /** NTS-KE connections accepted so far. */
  readonly keConnections: number;
  /** NTP requests received so far. */
  readonly requests: number;
  /** NTP requests that carried a cookie from the latest NTS-KE session. */
  readonly requestsOnLatestSession: number;
  /** What to send for each request (by its index, from 0), in order. */
  setAnswers(answers: (requestIndex: number) => NtsAnswer[]): void;
  /** Forgets every cookie handed out so far, as a server restarted with new keys. */
  forgetCookies(): void;
  stop(): Promise<void>;
}

interface Keys {
  c2s: Buffer;
  s2c: Buffer;
  session: number;
}

export async function startHostileNtsServer(options: {
  certificate: Pick<Leaf, 'chainPem' | 'keyPem'>;
  answers?: (requestIndex: number) => NtsAnswer[];
}): Promise<HostileNtsServer> {
  const host = '127.0.0.1';
  const cookies = new Map<string, Keys>();
  let answers = options.answers ?? (() => ['good']);
  let keConnections = 0;
  let requests = 0;
  let requestsOnLatestSession = 0;
  let sessions = 0;

  const newCookie = (keys: Keys): Buffer => {
    const cookie = randomBytes(32);
    cookies.set(cookie.toString('hex'), keys);
    return cookie;
  };

  const udp = dgram.createSocket('udp4');
  udp.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const ntpPort = udp.address().port;

  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    cert: options.certificate.chainPem,
    key: options.certificate.keyPem,
    minVersion: 'TLSv1.3',
    ALPNProtocols: ['ntske/1'],
  });
  server.on('secureConnection', (socket) => {
    keConnections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      // The client's request ends with End of Message (critical type 0, empty).
      if (got.length < 4 || !got.subarray(got.length - 4).equals(Buffer.from([0x80, 0, 0, 0]))) return;
      const keys: Keys = {
        c2s: socket.exportKeyingMaterial(KEY_LENGTH, EXPORTER_LABEL, exporterContext('c2s')),
        s2c: socket.exportKeyingMaterial(KEY_LENGTH, EXPORTER_LABEL, exporterContext('s2c')),
        session: ++sessions,
      };
      requestsOnLatestSession = 0;
      const handedOut = Array.from({ length: 8 }, () => record(5, newCookie(keys), false));
      socket.end(
        Buffer.concat([record(1, u16(0)), record(4, u16(15)), ...handedOut, record(7, u16(ntpPort)), record(0)]),
      );
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  udp.on('message', (request, remote) => {
    const receivedMs = wallClock();
    const index = requests++;
    const parsed = parseRequest(request);
    if (parsed === null) return;
    const keys = cookies.get(parsed.cookie.toString('hex'));
    cookies.delete(parsed.cookie.toString('hex'));
    const send = (reply: Buffer): void => udp.send(reply, remote.port, remote.address);
    const authentic =
      keys !== undefined &&
      sivDecrypt(keys.c2s, [request.subarray(0, parsed.authStart), parsed.nonce], parsed.sealed) !== null;
    if (!authentic) {
      // RFC 8915 §5.7: a cookie it cannot open or a request that does not authenticate: NTSN.
      send(Buffer.concat([header(request, 'NTSN', receivedMs), extensionField(UNIQUE_IDENTIFIER, parsed.uid)]));
      return;
    }
    if (keys.session === sessions) requestsOnLatestSession++;
    for (const answer of answers(index)) {
      if (answer === 'ntsn') {
        send(Buffer.concat([header(request, 'NTSN', receivedMs), extensionField(UNIQUE_IDENTIFIER, parsed.uid)]));
        continue;
      }
      const kiss = answer === 'good' ? null : answer.kiss;
      const auth = answer === 'good' ? 'valid' : answer.auth;
      const associated = Buffer.concat([
        header(request, kiss, receivedMs),
        extensionField(UNIQUE_IDENTIFIER, parsed.uid),
      ]);
      if (auth === 'none') {
        send(associated);
        continue;
      }
      const fresh = Array.from({ length: parsed.placeholders + 1 }, () => extensionField(COOKIE, newCookie(keys)));
      const key = auth === 'valid' ? keys.s2c : randomBytes(KEY_LENGTH);
      send(Buffer.concat([associated, authenticatorField(key, associated, Buffer.concat(fresh))]));
    }
  });

  return {
    host,
    port,
    ntpPort,
    get keConnections() {
      return keConnections;
    },
    get requests() {
      return requests;
    },
    get requestsOnLatestSession() {
      return requestsOnLatestSession;
    },
    setAnswers(next) {
      answers = next;
    },
    forgetCookies() {
      cookies.clear();
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

interface ParsedRequest {
  uid: Buffer;
  cookie: Buffer;
  placeholders: number;
  /** Where the Authenticator field starts: what it covers is the packet before it. */
  authStart: number;
  nonce: Buffer;
  sealed: Buffer;
}

/** A client request's NTS fields, or null when it is not one (then it gets no answer). */
function parseRequest(packet: Buffer): ParsedRequest | null {
  if (packet.length < 48 || (packet[0]! & 7) !== 3) return null;
  let uid: Buffer | null = null;
  let cookie: Buffer | null = null;
  let placeholders = 0;
  let offset = 48;
  while (offset + 4 <= packet.length) {
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    if (length < 4 || offset + length > packet.length) return null;
    const body = packet.subarray(offset + 4, offset + length);
    if (type === UNIQUE_IDENTIFIER) uid = body;
    else if (type === COOKIE) cookie = body;
    else if (type === COOKIE_PLACEHOLDER) placeholders++;
    else if (type === AUTHENTICATOR) {
      if (uid === null || cookie === null || body.length < 4) return null;
      const nonceLength = body.readUInt16BE(0);
      const sealedLength = body.readUInt16BE(2);
      const sealedAt = 4 + ((nonceLength + 3) & ~3);
      if (sealedAt + sealedLength > body.length) return null;
      return {
        uid,
        cookie,
        placeholders,
        authStart: offset,
        nonce: body.subarray(4, 4 + nonceLength),
        sealed: body.subarray(sealedAt, sealedAt + sealedLength),
      };
    }
    offset += length;
  }
  return null;
}

/** The 48-byte server header: a normal stratum-1 reply, or a Kiss-o'-Death with `kiss`; origin echoed. */
function header(request: Buffer, kiss: string | null, receivedMs: number): Buffer {
  const reply = Buffer.alloc(48);
  reply[0] = ((kiss === null ? 0 : 3) << 6) | (4 << 3) | 4; // leap, version 4, mode 4 (server)
  reply[1] = kiss === null ? 1 : 0;
  reply[2] = 6; // poll
  reply[3] = 0xec; // precision −20
  reply.writeUInt32BE(0x0000_0010, 4); // root delay ~0.2 ms
  reply.writeUInt32BE(0x0000_0010, 8); // root dispersion ~0.2 ms
  Buffer.from((kiss ?? 'GPS').padEnd(4, '\0'), 'ascii').copy(reply, 12);
  writeTimestamp(reply, 16, receivedMs - 1000); // reference time
  request.copy(reply, 24, 40, 48); // origin = the request's transmit
  writeTimestamp(reply, 32, receivedMs);
  writeTimestamp(reply, 40, wallClock());
  return reply;
}
