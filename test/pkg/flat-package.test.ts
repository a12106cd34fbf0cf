// The TypeScript package writer (scripts/pkg/flat-package.ts, scripts/pkg/format/) read back
// by independent readers: bsdtar (libarchive's xar reader, which checks the TOC and every
// file's checksums), 7-Zip (7z t), GNU cpio for the Payload and Scripts, xmllint for the XML,
// openssl for the TOC checksum and both signatures (RSA over the checksum, CMS with a test
// root as CA), and a test-only Bom reader written from the format description.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { writeFlatPackage } from '../../scripts/pkg/flat-package.js';
import { identityFromPem, SigningError, type SigningIdentity } from '../../scripts/pkg/format/sign.js';
import { scanTree, sourceDateEpoch, TreeError } from '../../scripts/pkg/format/tree.js';
import { componentFileName } from '../../scripts/pkg/installer-xml.js';
import { buildSettings } from '../../scripts/pkg/settings.js';
import { readBom } from '../helpers/bom-reader.js';
import { missing } from '../helpers/system.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'tg-flat-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

const settings = buildSettings({ version: '1.2.3' });
const component = componentFileName(settings);
const epoch = 1_700_000_000;

const needsReaders = missing('bsdtar', '7z', 'cpio', 'xmllint', 'openssl');
const needsOpenssl = missing('openssl');
const title = (s: string, needs: string | undefined) => (needs ? `${s} [needs ${needs}]` : s);
const readers = (s: string) => title(s, needsReaders);

let counter = 0;
const fresh = (name: string) => path.join(tmp, `${name}-${++counter}`);

function run(cmd: string, args: string[], options: { cwd?: string; input?: Buffer } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options });
}

/** A small staged tree: the layout of the real payload, a few files, odd names, both modes. */
function stageTree(root: string): void {
  const files: Array<[string, string, number]> = [
    ['Library/Application Support/TrustGuard/bin/node', '#!/bin/sh\necho node\n', 0o755],
    ['Library/Application Support/TrustGuard/package.json', '{"type":"module"}\n', 0o644],
    ['Library/Application Support/TrustGuard/dist/agent/a b & <c>.js', 'export {};\n', 0o644],
    ['Library/Application Support/TrustGuard/dist/agent/é.js', 'x'.repeat(70_000), 0o644],
    ['Library/LaunchDaemons/com.trustguard.agent.plist', '<plist version="1.0"><dict/></plist>\n', 0o644],
  ];
  for (const [rel, text, mode] of files) {
    mkdirSync(path.join(root, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
    chmodSync(path.join(root, rel), mode);
  }
  mkdirSync(path.join(root, 'Library/Application Support/TrustGuard/empty'), { recursive: true });
  for (const entry of scanTree(root)) if (entry.type === 'directory') chmodSync(entry.source, 0o755);
}

function stageScripts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, mode] of [
    ['preinstall', 0o755],
    ['postinstall', 0o755],
    ['common.sh', 0o644],
  ] as const) {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n# ${name}\n`);
    chmodSync(path.join(dir, name), mode);
  }
}

interface Built {
  dir: string;
  payloadRoot: string;
  scriptsDir: string;
  product: string;
}

async function build(options: { identity?: SigningIdentity; mtime?: number; payloadRoot?: string } = {}) {
  const dir = fresh('build');
  const payloadRoot = options.payloadRoot ?? path.join(dir, 'payload');
  if (!options.payloadRoot) stageTree(payloadRoot);
  const scriptsDir = path.join(dir, 'scripts');
  stageScripts(scriptsDir);
  const product = path.join(dir, 'TrustGuard-1.2.3.pkg');
  const result = await writeFlatPackage({
    payloadRoot,
    scriptsDir,
    settings,
    product,
    mtime: options.mtime ?? epoch,
    identity: options.identity,
  });
  const built: Built = { dir, payloadRoot, scriptsDir, product };
  return { ...built, result };
}

/** The parts of a xar file, read by hand from the header (for openssl to check). */
function xarParts(file: string) {
  const buf = readFileSync(file);
  const headerSize = buf.readUInt16BE(4);
  const tocLength = Number(buf.readBigUInt64BE(8));
  const tocCompressed = buf.subarray(headerSize, headerSize + tocLength);
  const heap = headerSize + tocLength;
  const toc = inflateSync(tocCompressed).toString('utf8');
  const element = (name: string) => {
    const m = new RegExp(`<${name}[^>]*>\\s*<offset>(\\d+)</offset>\\s*<size>(\\d+)</size>`).exec(toc);
    return m ? buf.subarray(heap + Number(m[1]), heap + Number(m[1]) + Number(m[2])) : undefined;
  };
  const certificates = [...toc.matchAll(/<X509Certificate>([^<]+)<\/X509Certificate>/g)].map((m) =>
    Buffer.from(m[1], 'base64'),
  );
  return {
    buf,
    magic: buf.subarray(0, 4).toString('latin1'),
    headerSize,
    checksumAlgorithm: buf.readUInt32BE(24),
    tocCompressed,
    toc,
    heap,
    checksum: element('checksum')!,
    rsa: element('signature'),
    cms: element('x-signature'),
    certificates,
  };
}

/** path -> "type mode size sha1" for every entry under `root` ('.' for the root). */
function describeTree(root: string): Map<string, string> {
  return new Map(
    scanTree(root).map((e) => {
      const mode = (lstatSync(e.source).mode & 0o7777).toString(8);
      const hash = e.type === 'file' ? createHash('sha1').update(readFileSync(e.source)).digest('hex') : '-';
      return [e.path || '.', `${e.type} ${mode} ${e.size} ${hash}`];
    }),
  );
}

function extract(product: string): string {
  const out = fresh('extracted');
  mkdirSync(out);
  run('bsdtar', ['-xf', product, '-C', out]);
  return out;
}

/** gunzip | cpio -i into a new folder; and cpio -itv's owners per path. */
function unpackCpio(archive: string): { dir: string; owners: Map<string, string> } {
  const dir = fresh('cpio');
  mkdirSync(dir);
  const raw = execFileSync('gzip', ['-dc', archive]);
  run('cpio', ['-i', '-d', '--no-absolute-filenames', '--quiet', '--preserve-modification-time'], {
    cwd: dir,
    input: raw,
  });
  const owners = new Map<string, string>();
  for (const line of run('cpio', ['-itv', '--numeric-uid-gid', '--quiet'], { input: raw }).split('\n')) {
    // drwxr-xr-x   2 0        0               0 Nov 14  2023 ./Library
    const m = /^\S+\s+\d+\s+(\d+)\s+(\d+)\s+\d+\s+\S+\s+\d+\s+\S+\s+(.*)$/.exec(line);
    if (m) owners.set(m[3].replace(/^\.\//, '') || '.', `${m[1]}:${m[2]}`);
  }
  return { dir, owners };
}

(needsReaders ? test.skip : test)(
  readers('bsdtar -tvf lists the package and -xf extracts it with checksums verified; 7z t passes'),
  async (t) => {
    const b = await build();
    const listing = run('bsdtar', ['-tvf', b.product]);
    for (const name of [
      'Distribution',
      component,
      `${component}/Bom`,
      `${component}/Payload`,
      `${component}/Scripts`,
      `${component}/PackageInfo`,
    ])
      t.regex(listing, new RegExp(` ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), name);
    t.regex(listing, /root\s+wheel/);
    const out = extract(b.product);
    t.is(readFileSync(path.join(out, 'Distribution'), 'utf8'), b.result.distribution);
    t.is(readFileSync(path.join(out, component, 'PackageInfo'), 'utf8'), b.result.packageInfo);
    const seven = spawnSync('7z', ['t', b.product], { encoding: 'utf8' });
    t.is(seven.status, 0, seven.stdout + seven.stderr);
    t.regex(seven.stdout, /Everything is Ok/);
  },
);

(needsReaders ? test.skip : test)(
  readers('the Payload unpacks with GNU cpio -i to exactly the staged tree, owners root:wheel and modes kept'),
  async (t) => {
    const b = await build();
    const out = extract(b.product);
    const payload = unpackCpio(path.join(out, component, 'Payload'));
    t.deepEqual(describeTree(payload.dir), describeTree(b.payloadRoot));
    t.deepEqual([...payload.owners.keys()].sort(), [...describeTree(b.payloadRoot).keys()].sort());
    t.deepEqual(new Set(payload.owners.values()), new Set(['0:0']));
    // Files keep the package's time (cpio sets a directory's before filling it).
    for (const e of scanTree(payload.dir).filter((x) => x.type === 'file'))
      t.is(Math.floor(lstatSync(e.source).mtimeMs / 1000), epoch, e.path);
    const scripts = unpackCpio(path.join(out, component, 'Scripts'));
    t.deepEqual(describeTree(scripts.dir), describeTree(b.scriptsDir));
    t.deepEqual(new Set(scripts.owners.values()), new Set(['0:0']));
    t.is(b.result.numberOfFiles, describeTree(b.payloadRoot).size);
  },
);

(needsReaders ? test.skip : test)(
  readers('xmllint parses the Distribution and PackageInfo; the pkg-ref names the component in the archive'),
  async (t) => {
    const b = await build();
    const out = extract(b.product);
    const dist = path.join(out, 'Distribution');
    const info = path.join(out, component, 'PackageInfo');
    run('xmllint', ['--noout', dist, info]);
    t.is(
      run('xmllint', ['--xpath', 'string(/installer-gui-script/pkg-ref[text()]/text())', dist]).trim(),
      `#${component}`,
    );
    t.is(run('xmllint', ['--xpath', 'string(/pkg-info/@identifier)', info]).trim(), settings.packageIdentifier);
    t.is(run('xmllint', ['--xpath', 'string(/pkg-info/@auth)', info]).trim(), 'root');
    t.is(
      run('xmllint', ['--xpath', 'string(/pkg-info/payload/@numberOfFiles)', info]).trim(),
      String(describeTree(b.payloadRoot).size),
    );
  },
);

(needsReaders ? test.skip : test)(
  readers('the TOC checksum at heap offset 0 is the SHA-1 of the compressed TOC (openssl dgst -sha1)'),
  async (t) => {
    const b = await build();
    const x = xarParts(b.product);
    t.is(x.magic, 'xar!');
    t.is(x.headerSize, 28);
    t.is(x.checksumAlgorithm, 1);
    t.regex(x.toc, /<checksum style="sha1">\s*<offset>0<\/offset>\s*<size>20<\/size>/);
    const tocFile = path.join(b.dir, 'toc.z');
    writeFileSync(tocFile, x.tocCompressed);
    const dgst = run('openssl', ['dgst', '-sha1', '-r', tocFile]).split(' ')[0];
    t.is(dgst, x.checksum.toString('hex'));
    t.is(dgst, b.result.tocChecksum);
    t.is(x.rsa, undefined, 'unsigned: no signature');
  },
);

// --- Signing --------------------------------------------------------------------------------

interface TestSigner {
  dir: string;
  rootPem: string;
  leafPem: string;
  keyPem: string;
  identity: SigningIdentity;
}
let signerPromise: Promise<TestSigner> | undefined;
/** An RSA-2048 "Developer ID Installer"-like certificate under a test root, made by openssl. */
function testSigner(): Promise<TestSigner> {
  signerPromise ??= (async () => {
    const dir = fresh('pki');
    mkdirSync(dir);
    const f = (n: string) => path.join(dir, n);
    run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('root.key'), '-out', f('root.pem'),
      '-days', '30', '-subj', '/CN=TrustGuard Test Root',
      '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
    run('openssl', [
      'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'),
      '-subj', '/CN=Developer ID Installer: TrustGuard Test (TESTTEAM01)/OU=TESTTEAM01',
    ]); // prettier-ignore
    writeFileSync(
      f('ext.cnf'),
      // Apple's Developer ID Installer extended key usage is 1.2.840.113635.100.4.13.
      'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,codeSigning,1.2.840.113635.100.4.13\n',
    );
    run('openssl', [
      'x509', '-req', '-in', f('leaf.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-set_serial', '4242',
      '-days', '30', '-extfile', f('ext.cnf'), '-out', f('leaf.pem'),
    ]); // prettier-ignore
    const rootPem = readFileSync(f('root.pem'), 'utf8');
    const leafPem = readFileSync(f('leaf.pem'), 'utf8');
    const keyPem = readFileSync(f('leaf.key'), 'utf8');
    // Chain given root first, key last: the writer puts the key's certificate first.
    return { dir, rootPem, leafPem, keyPem, identity: identityFromPem(rootPem + leafPem + keyPem) };
  })();
  return signerPromise;
}

(needsReaders ? test.skip : test)(
  readers('signed: openssl verifies the RSA signature over the TOC checksum with the certificate in the TOC'),
  async (t) => {
    const s = await testSigner();
    const b = await build({ identity: s.identity });
    const x = xarParts(b.product);
    t.truthy(x.rsa);
    t.is(x.rsa!.length, 256);
    t.true(x.certificates[0].equals(new X509Certificate(s.leafPem).raw), 'the signer first');
    t.true(x.certificates[1].equals(new X509Certificate(s.rootPem).raw));
    const cert = path.join(b.dir, 'toc-cert.pem');
    writeFileSync(cert, new X509Certificate(x.certificates[0]).toString());
    writeFileSync(path.join(b.dir, 'checksum'), x.checksum);
    writeFileSync(path.join(b.dir, 'rsa.sig'), x.rsa!);
    const verify = spawnSync(
      'openssl',
      [
        'pkeyutl',
        '-verify',
        '-certin',
        '-inkey',
        cert,
        '-pkeyopt',
        'digest:sha1',
        '-in',
        'checksum',
        '-sigfile',
        'rsa.sig',
      ],
      { cwd: b.dir, encoding: 'utf8' },
    );
    t.is(verify.status, 0, verify.stderr);
    t.regex(verify.stdout, /Signature Verified Successfully/);
    t.regex(x.toc, /<signature style="RSA">\s*<offset>20<\/offset>\s*<size>256<\/size>/);
    // The readers still accept the signed archive.
    t.is(spawnSync('7z', ['t', b.product]).status, 0);
    extract(b.product);
  },
);

function cmsVerify(dir: string, cms: Buffer, checksum: Buffer, rootPem: string) {
  writeFileSync(path.join(dir, 'cms.der'), cms);
  writeFileSync(path.join(dir, 'content'), checksum);
  writeFileSync(path.join(dir, 'root.pem'), rootPem);
  return spawnSync(
    'openssl',
    [
      'cms',
      '-verify',
      '-inform',
      'DER',
      '-in',
      'cms.der',
      '-binary',
      '-content',
      'content',
      '-CAfile',
      'root.pem',
      '-purpose',
      'any',
      '-out',
      '/dev/null',
    ],
    { cwd: dir, encoding: 'utf8' },
  );
}

(needsOpenssl ? test.skip : test)(
  title(
    'signed: openssl cms -verify accepts the CMS signature with the test root as CA, and no other root',
    needsOpenssl,
  ),
  async (t) => {
    const s = await testSigner();
    const b = await build({ identity: s.identity });
    const x = xarParts(b.product);
    t.truthy(x.cms);
    t.regex(x.toc, /<x-signature style="CMS">\s*<offset>276<\/offset>/);
    const ok = cmsVerify(b.dir, x.cms!, x.checksum, s.rootPem);
    t.is(ok.status, 0, ok.stderr);
    t.regex(ok.stderr, /Verification successful/);
    const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', path.join(b.dir, 'cms.der')]);
    t.regex(printed, /signingTime/);
    t.regex(printed, /2023-11-14|Nov 14 .*2023/);
    // Another root is not trusted.
    const other = fresh('other');
    mkdirSync(other);
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(other, 'k'), '-out', path.join(other, 'c.pem'), '-days', '1', '-subj', '/CN=Other Root']); // prettier-ignore
    const refused = cmsVerify(other, x.cms!, x.checksum, readFileSync(path.join(other, 'c.pem'), 'utf8'));
    t.not(refused.status, 0);
  },
);

/** A copy of `product` with its TOC changed by `edit`, recompressed and re-checksummed. */
function retoc(product: string, out: string, edit: (toc: string) => string): void {
  const x = xarParts(product);
  const toc = Buffer.from(edit(x.toc));
  const compressed = deflateSync(toc);
  const header = Buffer.from(x.buf.subarray(0, 28));
  header.writeBigUInt64BE(BigInt(compressed.length), 8);
  header.writeBigUInt64BE(BigInt(toc.length), 16);
  const heap = Buffer.from(x.buf.subarray(x.heap));
  createHash('sha1').update(compressed).digest().copy(heap, 0);
  writeFileSync(out, Buffer.concat([header, compressed, heap]));
}

(needsReaders ? test.skip : test)(
  readers('a package altered after signing is caught: bsdtar and 7z refuse a changed Payload, openssl a changed TOC'),
  async (t) => {
    const s = await testSigner();
    const b = await build({ identity: s.identity });
    const x = xarParts(b.product);
    // 1. One byte of the Payload's data in the heap.
    const offset = Number(/<name>Payload<\/name>[\s\S]*?<offset>(\d+)<\/offset>/.exec(x.toc)![1]);
    const changed = Buffer.from(x.buf);
    changed[x.heap + offset + 30] ^= 0x01;
    const payloadChanged = path.join(b.dir, 'payload-changed.pkg');
    writeFileSync(payloadChanged, changed);
    const dest = fresh('refused');
    mkdirSync(dest);
    const bsdtar = spawnSync('bsdtar', ['-xf', payloadChanged, '-C', dest], { encoding: 'utf8' });
    t.not(bsdtar.status, 0);
    t.regex(bsdtar.stderr, /Payload.*(checksum|Sumcheck)/i);
    t.not(spawnSync('7z', ['t', payloadChanged]).status, 0);
    // 2. The TOC changed without its checksum: bsdtar refuses to read it.
    const tocOnly = Buffer.from(x.buf);
    tocOnly[x.headerSize + 10] ^= 0x01;
    const tocChanged = path.join(b.dir, 'toc-changed.pkg');
    writeFileSync(tocChanged, tocOnly);
    t.not(spawnSync('bsdtar', ['-tf', tocChanged]).status, 0);
    // 3. The TOC changed (a larger install size) and re-checksummed: the readers accept the
    // archive, but neither signature covers the new checksum.
    const resigned = path.join(b.dir, 'retoc.pkg');
    retoc(b.product, resigned, (toc) => toc.replace('<mode>0755</mode>', '<mode>0777</mode>'));
    const y = xarParts(resigned);
    t.false(y.checksum.equals(x.checksum));
    t.is(spawnSync('7z', ['t', resigned]).status, 0, 'still a well-formed xar');
    writeFileSync(path.join(b.dir, 'leaf.pem'), s.leafPem);
    writeFileSync(path.join(b.dir, 'new-checksum'), y.checksum);
    writeFileSync(path.join(b.dir, 'rsa.sig'), y.rsa!);
    const rsa = spawnSync(
      'openssl',
      [
        'pkeyutl',
        '-verify',
        '-certin',
        '-inkey',
        'leaf.pem',
        '-pkeyopt',
        'digest:sha1',
        '-in',
        'new-checksum',
        '-sigfile',
        'rsa.sig',
      ],
      { cwd: b.dir, encoding: 'utf8' },
    );
    t.not(rsa.status, 0);
    t.not(cmsVerify(b.dir, y.cms!, y.checksum, s.rootPem).status, 0);
  },
);

(needsOpenssl ? test.skip : test)(
  title('signing refuses a key that no certificate given carries, and a key that is not RSA', needsOpenssl),
  async (t) => {
    const s = await testSigner();
    const dir = fresh('bad-key');
    mkdirSync(dir);
    run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(dir, 'k')]);
    run('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      path.join(dir, 'ec'),
    ]);
    const otherKey = readFileSync(path.join(dir, 'k'), 'utf8');
    t.throws(() => identityFromPem(s.leafPem + otherKey), {
      instanceOf: SigningError,
      message: /no certificate given matches the signing key/,
    });
    t.throws(() => identityFromPem(s.leafPem + readFileSync(path.join(dir, 'ec'), 'utf8')), {
      instanceOf: SigningError,
      message: /installer signatures are RSA/,
    });
    t.throws(() => identityFromPem(s.leafPem), { instanceOf: SigningError, message: /one private key/ });
    t.throws(() => identityFromPem(s.keyPem), { instanceOf: SigningError, message: /no certificate/ });
  },
);

// --- Bom ------------------------------------------------------------------------------------

(needsReaders ? test.skip : test)(
  readers('the Bom lists every payload path with its mode, owner 0:0, size and cksum (test-only Bom reader)'),
  async (t) => {
    const b = await build();
    const out = extract(b.product);
    const bom = readBom(readFileSync(path.join(out, component, 'Bom')));
    t.deepEqual(bom.names, ['BomInfo', 'Paths', 'HLIndex', 'VIndex', 'Size64']);
    const staged = scanTree(b.payloadRoot);
    t.deepEqual(
      bom.paths.map((p) => p.path),
      staged.map((e) => (e.path ? `./${e.path}` : '.')),
    );
    for (const [i, e] of staged.entries()) {
      const p = bom.paths[i];
      const st = lstatSync(e.source);
      t.is(p.type, e.type, p.path);
      t.is(p.mode, st.mode & 0o177777, `${p.path} mode ${p.mode.toString(8)}`);
      t.is(p.uid, 0);
      t.is(p.gid, 0);
      t.is(p.mtime, epoch);
      if (e.type === 'file') {
        t.is(p.size, st.size, p.path);
        // POSIX cksum, as the cksum command prints it.
        t.is(String(p.cksum), run('cksum', [e.source]).split(' ')[0], `${p.path} cksum`);
      }
    }
    t.is(bom.bomInfo.version, 1);
    t.is(bom.bomInfo.numberOfPaths, staged.length);
    t.is(bom.trees.Paths.nodeSize, 4096);
    t.is(bom.trees.Paths.count, staged.length);
  },
);

test('a Bom of more paths than one tree node holds is read back whole (meta node, chained data nodes)', async (t) => {
  const dir = fresh('wide');
  for (let i = 0; i < 1200; i++) {
    mkdirSync(path.join(dir, 'd', String(i % 7)), { recursive: true });
    writeFileSync(path.join(dir, 'd', String(i % 7), `f${i}`), String(i));
  }
  const { writeBom } = await import('../../scripts/pkg/format/bom.js');
  const entries = scanTree(dir, { mtime: epoch });
  const bom = readBom(writeBom(entries.map((e) => ({ ...e, cksum: e.type === 'file' ? 1 : undefined }))));
  t.is(bom.paths.length, entries.length);
  t.deepEqual(
    bom.paths.map((p) => p.path),
    entries.map((e) => (e.path ? `./${e.path}` : '.')),
  );
});

// --- Reproducible, and bad input -----------------------------------------------------------

(needsOpenssl ? test.skip : test)(
  title('two builds of the same tree with the same SOURCE_DATE_EPOCH are byte-identical, signed or not', needsOpenssl),
  async (t) => {
    const s = await testSigner();
    const first = await build();
    // The same content staged again, later: other inodes and times on disk.
    const second = await build({ mtime: epoch });
    t.true(readFileSync(first.product).equals(readFileSync(second.product)));
    const signed1 = await build({ identity: s.identity });
    const signed2 = await build({ identity: s.identity });
    t.true(readFileSync(signed1.product).equals(readFileSync(signed2.product)));
    const later = await build({ mtime: epoch + 1 });
    t.false(readFileSync(first.product).equals(readFileSync(later.product)), 'the time is in the package');
  },
);

test('SOURCE_DATE_EPOCH must be whole seconds; a link in the payload is refused', (t) => {
  t.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }), 1_700_000_000);
  t.is(sourceDateEpoch({}), undefined);
  t.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: '17e8' }), { instanceOf: TreeError });
  const dir = fresh('link');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'a'), 'a');
  execFileSync('ln', ['-s', 'a', path.join(dir, 'b')]);
  t.throws(() => scanTree(dir), { instanceOf: TreeError, message: /b is not a regular file or a directory/ });
});

(needsReaders ? test.skip : test)(
  readers('fast-check: random small trees round-trip through bsdtar and cpio, modes and contents kept'),
  async (t) => {
    const name = fc.stringMatching(/^[A-Za-z0-9 ._é-]{1,12}$/).filter((n) => n !== '.' && n !== '..');
    const node: fc.Arbitrary<Array<{ name: string; dir: boolean; mode: number; text: string }>> = fc.uniqueArray(
      fc.record({
        name,
        dir: fc.boolean(),
        mode: fc.constantFrom(0o644, 0o755, 0o600, 0o700),
        text: fc.string({ maxLength: 300 }),
      }),
      { selector: (n) => n.name.toLowerCase(), minLength: 1, maxLength: 6 },
    );
    await fc.assert(
      fc.asyncProperty(node, node, async (top, nested) => {
        const root = fresh('random');
        mkdirSync(root);
        for (const n of top) {
          const p = path.join(root, n.name);
          if (n.dir) {
            mkdirSync(p);
            for (const m of nested.filter((x) => !x.dir)) {
              writeFileSync(path.join(p, m.name), m.text);
              chmodSync(path.join(p, m.name), m.mode);
            }
            chmodSync(p, n.mode | 0o700);
          } else {
            writeFileSync(p, n.text);
            chmodSync(p, n.mode);
          }
        }
        chmodSync(root, 0o755);
        const b = await build({ payloadRoot: root });
        const out = extract(b.product);
        const payload = unpackCpio(path.join(out, component, 'Payload'));
        t.deepEqual(describeTree(payload.dir), describeTree(root));
        t.deepEqual(
          readBom(readFileSync(path.join(out, component, 'Bom'))).paths.map((p) => p.path),
          scanTree(root).map((e) => (e.path ? `./${e.path}` : '.')),
        );
      }),
      { numRuns: 6 },
    );
  },
);
