// A real OTLP/HTTP collector on loopback: nginx-light from Debian (no OpenTelemetry Collector
// installs from Debian 12 or npm), configured as SPEC §3 describes.
//
//   POST /v1/logs, /v1/metrics  on http://127.0.0.1:PORT and https://localhost:TLSPORT
//     - the body is kept on disk (client_body_in_file_only on) and proxied to a second server
//       block that answers 200 {"partialSuccess":{}} (nginx saves only a body it proxies);
//     - the access log (JSON) records the body file, Content-Encoding, Content-Type, whether the
//       Authorization header is the expected bearer token (never the token itself) and the
//       client certificate's verification;
//     - a file DIR/mode-503 (or mode-429) makes it answer that status with Retry-After: 1,
//       DIR/mode-400 a plain 400: a test switches faults by touching a file.
//   The TLS port presents a leaf from an openssl-made CA and asks for (optional) client
//   certificates from the same CA.
//
// Ready in tens of milliseconds; stop() ends it by PID (an outage), start() brings it back on
// the same ports.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { isRoot } from './system.js';
import { TestPki, type IssuedCertificate, type Leaf } from './tls.js';

export const nginxPath = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

export type CollectorMode = 'ok' | '503' | '429' | '400';

export interface CollectorRequest {
  time: string;
  /** When nginx logged it (Unix ms, millisecond resolution). */
  atMs: number;
  path: string;
  status: number;
  /** The body as sent (still gzip-compressed if it was). */
  raw: Buffer | null;
  /** The body decoded (gunzipped when Content-Encoding says gzip). */
  body: Buffer | null;
  contentEncoding: string;
  contentType: string;
  /** 'match' (the expected bearer token), 'absent' or 'other'. */
  authorization: 'match' | 'absent' | 'other';
  /** nginx's $ssl_client_verify: SUCCESS, NONE, FAILED:… ('' on the plain port). */
  clientVerify: string;
  clientSubject: string;
  tls: boolean;
}

export interface Collector {
  dir: string;
  port: number;
  tlsPort: number;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** https://localhost:TLSPORT */
  tlsOrigin: string;
  /** The CA that issued the server certificate (and accepted client certificates). */
  pki: TestPki;
  caFile: string;
  /** A client certificate the TLS port accepts. */
  clientCertificate: IssuedCertificate;
  token: string;
  running(): boolean;
  start(): Promise<void>;
  /** Ends nginx by PID and waits for it to exit. */
  stop(): Promise<void>;
  setMode(mode: CollectorMode): void;
  /** Every request logged so far, in order. */
  requests(): CollectorRequest[];
  /**
   * Waits until at least `count` requests are logged (nginx writes its access log after the
   * response, so a client may hear the answer before the line exists).
   */
  waitForRequests(count: number, timeoutMs?: number): Promise<CollectorRequest[]>;
  /** The decoded JSON bodies of accepted (2xx) requests to `path`. */
  accepted(pathName?: string): unknown[];
  cleanup(): Promise<void>;
}

/** A TLS client certificate (clientAuth) from the PKI's intermediate; the cert file holds the chain. */
async function issueClientCertificate(pki: TestPki, dir: string): Promise<IssuedCertificate> {
  const run = promisify(execFile);
  const keyFile = path.join(dir, 'client.key');
  const csrFile = path.join(dir, 'client.csr');
  const leafFile = path.join(dir, 'client-leaf.pem');
  const certFile = path.join(dir, 'client.pem');
  const extFile = path.join(dir, 'client.ext');
  writeFileSync(
    extFile,
    'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n',
  );
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  await run('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=device-client', '-out', csrFile]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    pki.intermediate.certFile,
    '-CAkey',
    pki.intermediate.keyFile,
    '-set_serial',
    '4242',
    '-days',
    '30',
    '-extfile',
    extFile,
    '-out',
    leafFile,
  ]);
  const certPem = readFileSync(leafFile, 'utf8') + pki.intermediate.certPem;
  writeFileSync(certFile, certPem);
  return { name: 'client', certPem, keyPem: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function nginxConf(c: {
  dir: string;
  port: number;
  tlsPort: number;
  backendPort: number;
  leaf: Leaf;
  caFile: string;
  token: string;
}): string {
  const d = c.dir;
  // $http_authorization is compared here so that the log never holds the token.
  return `
daemon off;
master_process on;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log info;
${isRoot ? 'user root;' : ''}
events { worker_connections 512; }
http {
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  map $http_authorization $auth_check {
    "Bearer ${c.token}" "match";
    "" "absent";
    default "other";
  }
  log_format otlp escape=json '{"time":"$time_iso8601","msec":"$msec","uri":"$uri","status":"$status",'
    '"body_file":"$request_body_file","content_encoding":"$http_content_encoding",'
    '"content_type":"$content_type","authorization":"$auth_check","https":"$https",'
    '"client_verify":"$ssl_client_verify","client_subject":"$ssl_client_s_dn"}';
  server {
    listen 127.0.0.1:${c.port};
    listen 127.0.0.1:${c.tlsPort} ssl;
    server_name localhost;
    ssl_certificate ${c.leaf.chainFile};
    ssl_certificate_key ${c.leaf.keyFile};
    ssl_client_certificate ${c.caFile};
    ssl_verify_client optional;
    ssl_verify_depth 3;
    client_max_body_size 64m;
    access_log ${d}/access.log otlp;
    location ~ ^/v1/(logs|metrics)$ {
      if (-f ${d}/mode-503) { add_header Retry-After 1 always; return 503; }
      if (-f ${d}/mode-429) { add_header Retry-After 1 always; return 429; }
      if (-f ${d}/mode-400) { return 400 '{"code":3,"message":"bad request (test)"}'; }
      client_body_in_file_only on;
      proxy_pass http://127.0.0.1:${c.backendPort};
    }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:${c.backendPort};
    access_log off;
    location / {
      default_type application/json;
      return 200 '{"partialSuccess":{}}';
    }
  }
}
`;
}

/** Starts nginx as an OTLP/HTTP receiver. Call cleanup() in the test's teardown. */
export async function startCollector(options: { token?: string; mode?: CollectorMode } = {}): Promise<Collector> {
  if (!nginxPath) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-collector-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, sub));
  const pki = await TestPki.create({ rootName: 'TrustGuard Test Collector CA' });
  const leaf = await pki.issueLeaf();
  const clientCertificate = await issueClientCertificate(pki, dir);
  const token = options.token ?? `test-token-${Math.random().toString(36).slice(2)}`;
  let ports = { port: await freePort(), tlsPort: await freePort(), backendPort: await freePort() };
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  // While stopped (an outage), the ports stay ours: a listener that resets every connection, as
  // a closed port refuses it. Left free, another test's server could take one and answer the
  // daemon's uploads (CI once saw 400 events acknowledged during an outage).
  let holds: net.Server[] = [];
  const hold = async (): Promise<void> => {
    for (const port of [ports.port, ports.tlsPort, ports.backendPort]) {
      const server = net.createServer((socket) => socket.resetAndDestroy());
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (bound) holds.push(server);
    }
  };
  const release = async (): Promise<void> => {
    const held = holds;
    holds = [];
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  };

  const writeConf = () =>
    writeFileSync(path.join(dir, 'nginx.conf'), nginxConf({ dir, ...ports, leaf, caFile: pki.caFile, token }));

  const launch = async (): Promise<boolean> => {
    writeConf();
    const proc = spawn(nginxPath, ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    let gone = false;
    exited = new Promise((resolve) => proc.on('exit', () => ((gone = true), resolve())));
    for (let i = 0; i < 2000; i++) {
      if (gone) {
        const log = existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
        if (/Address already in use/.test(log + stderr)) return false;
        throw new Error(`nginx exited during start-up: ${stderr}\n${log.split('\n').slice(-5).join('\n')}`);
      }
      if (
        (await canConnect(ports.port)) &&
        (await canConnect(ports.tlsPort)) &&
        (await canConnect(ports.backendPort))
      ) {
        child = proc;
        return true;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    proc.kill('SIGKILL');
    throw new Error('nginx did not start listening within 20 s');
  };

  const collector: Collector = {
    dir,
    get port() {
      return ports.port;
    },
    get tlsPort() {
      return ports.tlsPort;
    },
    get origin() {
      return `http://127.0.0.1:${ports.port}`;
    },
    get tlsOrigin() {
      return `https://localhost:${ports.tlsPort}`;
    },
    pki,
    caFile: pki.caFile,
    clientCertificate,
    token,
    running: () => child !== null,
    async start() {
      if (child) return;
      await release();
      for (let attempt = 0; attempt < 5; attempt++) {
        if (await launch()) return;
        // Someone took one of our ports while we were down: a first start may pick others.
        if (collector.requests().length === 0 && attempt > 0)
          ports = { port: await freePort(), tlsPort: await freePort(), backendPort: await freePort() };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('nginx could not bind its ports');
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = null;
      running.kill('SIGTERM');
      await exited;
      await hold();
    },
    setMode(mode) {
      for (const m of ['503', '429', '400']) {
        const file = path.join(dir, `mode-${m}`);
        if (m === mode) writeFileSync(file, '');
        else if (existsSync(file)) unlinkSync(file);
      }
    },
    requests() {
      const log = path.join(dir, 'access.log');
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const e = JSON.parse(line) as Record<string, string>;
          const raw = e.body_file && existsSync(e.body_file) ? readFileSync(e.body_file) : null;
          let body = raw;
          if (raw && e.content_encoding === 'gzip') body = zlib.gunzipSync(raw);
          return {
            time: e.time!,
            atMs: Math.round(Number(e.msec) * 1000),
            path: e.uri!,
            status: Number(e.status),
            raw,
            body,
            contentEncoding: e.content_encoding ?? '',
            contentType: e.content_type ?? '',
            authorization: (e.authorization ?? 'absent') as CollectorRequest['authorization'],
            clientVerify: e.client_verify ?? '',
            clientSubject: e.client_subject ?? '',
            tls: e.https === 'on',
          };
        });
    },
    async waitForRequests(count, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const all = collector.requests();
        if (all.length >= count) return all;
        if (Date.now() > end) throw new Error(`the collector logged ${all.length} requests, expected ${count}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    accepted(pathName = '/v1/logs') {
      return collector
        .requests()
        .filter((r) => r.path === pathName && r.status >= 200 && r.status < 300 && r.body)
        .map((r) => JSON.parse(r.body!.toString('utf8')) as unknown);
    },
    async cleanup() {
      await collector.stop();
      await release();
      await pki.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.mode) collector.setMode(options.mode);
  await collector.start();
  return collector;
}
