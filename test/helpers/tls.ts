// Certificate chains made with the real `openssl` CLI, and real HTTPS servers on loopback.
//
// `openssl ca` is used (rather than `openssl x509 -req -days`) because it takes explicit
// -startdate/-enddate, so a test can make certificates that expired, are not yet valid, or are
// valid only at a shifted time. Keys are EC P-256: fast to make, and accepted everywhere.
import type { TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCertificate {
  name: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface CertificateSpec {
  commonName: string;
  /** subjectAltName entries, e.g. ["DNS:localhost", "IP:127.0.0.1"]. */
  sans?: string[];
  /** Default: one day ago. */
  notBefore?: Date;
  /** Default: one year from now. */
  notAfter?: Date;
  /** Who signs it; default: the intermediate for leaves, the root for CAs. */
  issuer?: IssuedCertificate;
  /** An OCSP responder URL for the certificate's authorityInfoAccess. */
  ocspUrl?: string;
  /** An RSA key of this many bits instead of ECDSA P-256. */
  rsaBits?: number;
  /** The digest the issuer signs with (default sha256), e.g. 'sha1'. */
  md?: string;
  /** More openssl extension lines, e.g. 'nameConstraints = critical, excluded;DNS:bar.example.com'. */
  extensions?: string[];
  /** Reuse this certificate's key (a cross-signed CA: same name and key, another issuer). */
  keyOf?: IssuedCertificate;
  /** Replaces the leaf's default extendedKeyUsage line (serverAuth). */
  extendedKeyUsage?: string;
}

export interface Leaf extends IssuedCertificate {
  /** Leaf then intermediate(s), PEM: what a server sends. */
  chainPem: string;
  chainFile: string;
}

const day = 24 * 3600 * 1000;

// openssl ca accepts UTCTime (YYMMDDHHMMSSZ) before 2050 and GeneralizedTime after, as RFC 5280 wants.
function asn1Time(date: Date): string {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${date.getUTCFullYear() < 2050 ? iso.slice(2) : iso}Z`;
}

export class TestPki {
  // Set by create(), which is the only way to make one.
  root!: IssuedCertificate;
  intermediate!: IssuedCertificate;
  private serial = 0;

  private constructor(readonly dir: string) {}

  /** The root's PEM file: what a client trusts (a `ca` option). */
  get caFile(): string {
    return this.root.certFile;
  }

  /**
   * A root CA and an intermediate in a new temporary directory. Call `cleanup()` in teardown.
   * `notBefore`/`notAfter` shape the validity window of both CAs (default: ten years either side of now).
   */
  static async create(
    options: { rootName?: string; intermediateName?: string; notBefore?: Date; notAfter?: Date } = {},
  ): Promise<TestPki> {
    const dir = await mkdtemp(path.join(tmpdir(), 'tg-pki-'));
    await mkdir(path.join(dir, 'issued'));
    await writeFile(path.join(dir, 'index.txt'), '');
    await writeFile(path.join(dir, 'serial'), '1000\n');
    const pki = new TestPki(dir);
    const notBefore = options.notBefore ?? new Date(Date.now() - 3650 * day);
    const notAfter = options.notAfter ?? new Date(Date.now() + 3650 * day);
    pki.root = await pki.issue(
      { commonName: options.rootName ?? 'TrustGuard Test Root CA', notBefore, notAfter },
      'root',
      null,
    );
    pki.intermediate = await pki.issue(
      { commonName: options.intermediateName ?? 'TrustGuard Test Intermediate CA', notBefore, notAfter },
      'ca',
      pki.root,
    );
    return pki;
  }

  /** Another CA signed by `issuer` (default: root), e.g. a second intermediate. */
  async issueCa(spec: CertificateSpec): Promise<IssuedCertificate> {
    return this.issue(spec, 'ca', spec.issuer ?? this.root);
  }

  /** A TLS server certificate; by default signed by the intermediate, SANs DNS:localhost and IP:127.0.0.1. */
  async issueLeaf(spec: Partial<CertificateSpec> = {}): Promise<Leaf> {
    const full: CertificateSpec = {
      commonName: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'],
      ...spec,
    };
    const issuer = full.issuer ?? this.intermediate;
    const leaf = await this.issue(full, 'leaf', issuer);
    // Send the chain up to (not including) the root.
    const chain = [leaf.certPem];
    if (issuer !== this.root) chain.push(issuer.certPem);
    const chainPem = chain.join('');
    const chainFile = path.join(this.dir, `${leaf.name}.chain.pem`);
    await writeFile(chainFile, chainPem);
    return { ...leaf, chainPem, chainFile };
  }

  /** Marks `certificate` revoked in the CA database (what `openssl ocsp -index` answers from). */
  async revoke(certificate: IssuedCertificate, issuer: IssuedCertificate = this.intermediate): Promise<void> {
    const confFile = path.join(this.dir, `${certificate.name}.cnf`);
    await run('openssl', [
      'ca',
      '-config',
      confFile,
      '-revoke',
      certificate.certFile,
      '-cert',
      issuer.certFile,
      '-keyfile',
      issuer.keyFile,
      '-crl_reason',
      'keyCompromise',
    ]);
  }

  /** The CA database (index.txt) that `openssl ca` keeps: the responder's -index. */
  get indexFile(): string {
    return path.join(this.dir, 'index.txt');
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private async issue(
    spec: CertificateSpec,
    role: 'root' | 'ca' | 'leaf',
    issuer: IssuedCertificate | null,
  ): Promise<IssuedCertificate> {
    const name = `${role}-${++this.serial}`;
    const keyFile = path.join(this.dir, `${name}.key`);
    const csrFile = path.join(this.dir, `${name}.csr`);
    const certFile = path.join(this.dir, `${name}.pem`);
    const confFile = path.join(this.dir, `${name}.cnf`);
    const extensions =
      role === 'leaf'
        ? [
            'basicConstraints = critical, CA:FALSE',
            'keyUsage = critical, digitalSignature',
            `extendedKeyUsage = ${spec.extendedKeyUsage ?? 'serverAuth'}`,
            ...(spec.sans && spec.sans.length ? [`subjectAltName = ${spec.sans.join(', ')}`] : []),
          ]
        : ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign'];
    if (spec.ocspUrl) extensions.push(`authorityInfoAccess = OCSP;URI:${spec.ocspUrl}`);
    extensions.push(...(spec.extensions ?? []));
    extensions.push('subjectKeyIdentifier = hash');
    if (role !== 'root') extensions.push('authorityKeyIdentifier = keyid:always');
    const conf = [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      `database = ${path.join(this.dir, 'index.txt')}`,
      `new_certs_dir = ${path.join(this.dir, 'issued')}`,
      `serial = ${path.join(this.dir, 'serial')}`,
      `default_md = ${spec.md ?? 'sha256'}`,
      'policy = any_name',
      'unique_subject = no',
      'email_in_dn = no',
      '[ any_name ]',
      'commonName = supplied',
      '[ extensions ]',
      ...extensions,
      '',
    ].join('\n');
    await writeFile(confFile, conf);
    if (spec.keyOf) await writeFile(keyFile, spec.keyOf.keyPem);
    else if (spec.rsaBits)
      await run('openssl', [
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        `rsa_keygen_bits:${spec.rsaBits}`,
        '-out',
        keyFile,
      ]);
    else await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
    await run('openssl', [
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      `/CN=${spec.commonName.replace(/[/=]/g, '_')}`,
      '-out',
      csrFile,
    ]);
    const notBefore = spec.notBefore ?? new Date(Date.now() - day);
    const notAfter = spec.notAfter ?? new Date(Date.now() + 365 * day);
    const signer =
      issuer === null ? ['-selfsign', '-keyfile', keyFile] : ['-cert', issuer.certFile, '-keyfile', issuer.keyFile];
    await run('openssl', [
      'ca',
      '-batch',
      '-notext',
      '-config',
      confFile,
      '-extensions',
      'extensions',
      ...signer,
      '-startdate',
      asn1Time(notBefore),
      '-enddate',
      asn1Time(notAfter),
      '-in',
      csrFile,
      '-out',
      certFile,
    ]);
    return {
      name,
      certPem: await readFile(certFile, 'utf8'),
      keyPem: await readFile(keyFile, 'utf8'),
      certFile,
      keyFile,
    };
  }
}

export interface RunningHttpsServer {
  host: string;
  port: number;
  /** https://HOST:PORT (IPv6 in brackets). */
  origin: string;
  /** Requests seen, in order: method and path. */
  requests: Array<{ method: string; url: string }>;
  stop(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A real HTTPS server on loopback. `certificate` is what it presents (leaf + chain as PEM, key).
 * The handler decides everything about the response; Node adds a `Date` header unless the handler
 * sets one or sets `res.sendDate = false`.
 */
export async function startHttpsServer(options: {
  certificate: Pick<Leaf, 'chainPem' | 'keyPem'>;
  handler: Handler;
  host?: string;
}): Promise<RunningHttpsServer> {
  const host = options.host ?? '127.0.0.1';
  const requests: RunningHttpsServer['requests'] = [];
  const server = https.createServer(
    { cert: options.certificate.chainPem, key: options.certificate.keyPem },
    (req, res) => {
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      options.handler(req, res);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    host,
    port,
    origin,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A handler that answers with a `Date` header `skewMs` away from this machine's clock. */
export function skewedDateHandler(skewMs: number, options: { allowHead?: boolean; body?: string } = {}): Handler {
  return (req, res) => {
    if (req.method === 'HEAD' && options.allowHead === false) {
      res.writeHead(405, { Allow: 'GET', Date: new Date(Date.now() + skewMs).toUTCString() });
      res.end();
      return;
    }
    res.setHeader('Date', new Date(Date.now() + skewMs).toUTCString());
    res.setHeader('Content-Type', 'text/plain');
    res.end(req.method === 'HEAD' ? undefined : (options.body ?? 'ok\n'));
  };
}

/**
 * One TestPki and one localhost leaf for a whole test file: made before its tests (unless
 * `skip`, when the tests that need them are skipped), removed after them. Read `pki` and `leaf`
 * inside tests, once the file's `before` hook has run.
 */
export function pkiForFile(test: TestFn, skip = false): { pki: TestPki; leaf: Leaf } {
  const shared = {} as { pki: TestPki; leaf: Leaf };
  test.before(async () => {
    if (skip) return;
    shared.pki = await TestPki.create();
    shared.leaf = await shared.pki.issueLeaf();
  });
  test.after.always(async () => {
    await shared.pki?.cleanup();
  });
  return shared;
}
