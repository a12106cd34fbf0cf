// A hostile test server: an NTS-KE server of our own (node:tls, TLS 1.3, on loopback) that
// answers the client's request with bytes a test chooses. chronyd's NTS-KE server cannot be made
// to send unknown critical records, a foreign AEAD, junk or nothing at all, so this is the only
// way to show the client refuses them. Records are built here byte by byte, independently of
// agent/clock/nts-ke.ts.
import net from 'node:net';
import tls from 'node:tls';
import type { Leaf } from './tls.js';

export interface RunningNtsKeServer {
  host: string;
  port: number;
  /** How many connections were accepted. */
  connections: number;
  stop(): Promise<void>;
}

/** One record: critical bit + type, 16-bit length, body. */
export function record(type: number, body: Buffer | number[] = [], critical = true): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = Buffer.alloc(4);
  head.writeUInt16BE((critical ? 0x8000 : 0) | type, 0);
  head.writeUInt16BE(b.length, 2);
  return Buffer.concat([head, b]);
}

export const u16 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
};

/** A well-formed response: NTPv4, AES-SIV-CMAC-256, eight 100-byte cookies, the NTP port, End. */
export function goodResponse(ntpPort: number): Buffer {
  const cookies = Array.from({ length: 8 }, (_, i) => record(5, Buffer.alloc(100, i), false));
  return Buffer.concat([record(1, u16(0)), record(4, u16(15)), ...cookies, record(7, u16(ntpPort)), record(0)]);
}

export async function startHostileNtsKeServer(options: {
  certificate: Pick<Leaf, 'chainPem' | 'keyPem'>;
  /** What to answer after the client's request arrives; null: never answer (hold the connection). */
  respond: Buffer | null;
  /** Default ['ntske/1']; [] offers no ALPN at all. */
  alpn?: string[];
}): Promise<RunningNtsKeServer> {
  const host = '127.0.0.1';
  const sockets = new Set<net.Socket>();
  const alpn = options.alpn ?? ['ntske/1'];
  const server = tls.createServer({
    cert: options.certificate.chainPem,
    key: options.certificate.keyPem,
    minVersion: 'TLSv1.3',
    ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
  });
  const state = { host, port: 0, connections: 0 };
  server.on('secureConnection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      // The client's request ends with End of Message (0x8000 0x0000).
      if (got.length >= 4 && got.subarray(got.length - 4).equals(Buffer.from([0x80, 0, 0, 0])) && options.respond) {
        socket.end(options.respond);
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  state.port = (server.address() as net.AddressInfo).port;
  return {
    get host() {
      return state.host;
    },
    get port() {
      return state.port;
    },
    get connections() {
      return state.connections;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
