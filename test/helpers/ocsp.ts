// A real OCSP responder for tests: `openssl ocsp -index … -port …` answering from a TestPki's
// CA database, signed by the issuing CA itself. Certificates must name the responder's URL
// before the responder reads the database, so the port is chosen first (freeTcpPort) and the
// responder started on it once the certificates are issued and revoked.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { IssuedCertificate, TestPki } from './tls.js';

export interface RunningOcspResponder {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A TCP port nobody listens on right now (openssl binds [::], so the probe does too). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '::', ipv6Only: false }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `openssl ocsp` on `port` for the certificates `issuer` signed. */
export async function startOcspResponder(options: {
  pki: TestPki;
  port: number;
  issuer?: IssuedCertificate;
}): Promise<RunningOcspResponder> {
  const issuer = options.issuer ?? options.pki.intermediate;
  const child = spawn(
    'openssl',
    [
      'ocsp',
      '-index',
      options.pki.indexFile,
      '-CA',
      issuer.certFile,
      '-rsigner',
      issuer.certFile,
      '-rkey',
      issuer.keyFile,
      '-port',
      String(options.port),
      '-ndays',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  // Ready when it says so: OpenSSL prints "ACCEPT …" once listening. (A probe connection is no
  // way to find out: the single-threaded responder then waits on it and answers nobody.)
  // LibreSSL's responder (macOS) prints nothing, but binds before it first reads.
  let gone = false;
  void exited.then(() => (gone = true));
  const started = Date.now();
  while (!/ACCEPT |waiting for OCSP client/.test(output)) {
    if (gone) throw new Error(`openssl ocsp exited: ${output}`);
    if (Date.now() - started > (output === '' && process.platform === 'darwin' ? 1000 : 10_000)) {
      if (process.platform === 'darwin') break;
      child.kill('SIGKILL');
      throw new Error(`openssl ocsp did not start listening on port ${options.port} within 10 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  let stopped = false;
  return {
    port: options.port,
    url: `http://127.0.0.1:${options.port}/`,
    pid: child.pid!,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
