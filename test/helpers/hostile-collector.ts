// A hostile test server: an OTLP/HTTP "collector" of our own on 127.0.0.1 (node:http) that
// answers every POST with a chosen misbehaviour nginx (test/helpers/collector.ts, the real
// collector of the tests) cannot easily produce:
//   - 'echo': a 401 whose OTLP Status message quotes the credentials it received
//     (`rejected credentials (TOKEN)`, or any text made from the token by `echo`);
//   - 'huge': a 2xx (or any status) whose body is `bytes` long, written as fast as the client
//     takes it; the server counts what the client took before it hung up;
//   - 'partial': a 200 whose partialSuccess.rejectedLogRecords is any value.
import http from 'node:http';
import type net from 'node:net';

export type HostileAnswer =
  | { kind: 'echo'; status?: number; echo?: (token: string) => string }
  | { kind: 'huge'; bytes: number; status?: number; contentLength?: boolean }
  | { kind: 'partial'; rejected: unknown };

export interface HugeAnswerRecord {
  /** Bytes of body the server handed to its socket before the client hung up (or all of them). */
  written: number;
  /** True when the whole body was written. */
  complete: boolean;
}

export interface HostileCollector {
  /** http://127.0.0.1:PORT */
  origin: string;
  setAnswer(answer: HostileAnswer): void;
  /** Requests answered so far (any path). */
  requests(): number;
  /** The huge answers so far, in order; settled once the connection closed. */
  hugeAnswers(): HugeAnswerRecord[];
  /** Waits until `count` huge answers are settled (the client hung up or took everything). */
  waitForHugeAnswers(count: number, timeoutMs?: number): Promise<HugeAnswerRecord[]>;
  close(): Promise<void>;
}

const chunk = Buffer.alloc(64 << 10, 'x');

export async function startHostileCollector(initial: HostileAnswer): Promise<HostileCollector> {
  let answer = initial;
  let count = 0;
  const huge: Array<HugeAnswerRecord & { settled: boolean }> = [];
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    count++;
    // Read the request to its end first, as a collector does.
    req.resume();
    req.on('end', () => {
      const a = answer;
      if (a.kind === 'echo') {
        const auth = req.headers.authorization ?? '';
        const token = auth.replace(/^Bearer\s+/i, '');
        const message = a.echo ? a.echo(token) : `rejected credentials (${token})`;
        res.writeHead(a.status ?? 401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: 16, message }));
        return;
      }
      if (a.kind === 'partial') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ partialSuccess: { rejectedLogRecords: a.rejected, errorMessage: 'hostile' } }));
        return;
      }
      const record = { written: 0, complete: false, settled: false };
      huge.push(record);
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json' };
      if (a.contentLength !== false) headers['Content-Length'] = a.bytes;
      res.writeHead(a.status ?? 200, headers);
      // A JSON-looking start, then filler: a parser that reads it all holds it all.
      let left = a.bytes;
      const settle = () => {
        record.settled = true;
      };
      res.on('close', settle);
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          const n = Math.min(left, chunk.length);
          left -= n;
          const ok = res.write(n === chunk.length ? chunk : chunk.subarray(0, n), (error) => {
            if (!error) record.written += n;
          });
          if (!ok) {
            res.once('drain', pump);
            return;
          }
        }
        if (left === 0 && !res.destroyed)
          res.end(() => {
            record.complete = true;
          });
      };
      pump();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    setAnswer(a) {
      answer = a;
    },
    requests: () => count,
    hugeAnswers: () => huge.map(({ written, complete }) => ({ written, complete })),
    async waitForHugeAnswers(n, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (huge.filter((h) => h.settled).length < n) {
        if (Date.now() > until) throw new Error(`fewer than ${n} huge answers settled`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return huge.filter((h) => h.settled).map(({ written, complete }) => ({ written, complete }));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
