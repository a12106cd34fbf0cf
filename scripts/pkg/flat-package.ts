// The TypeScript writer of `npm run pkg -- --writer ts`: builds the product archive that
// pkgbuild + productbuild (+ productsign) make on a Mac, on any OS, from the staged payload
// and scripts:
//
//   TrustGuard-1.2.3.pkg (xar)
//     Distribution                 the installer script (installer-xml.ts), zlib
//     TrustGuard-component.pkg/    the component package
//       PackageInfo                identifier, version, install-location, auth, scripts, sizes
//       Bom                        every payload path with mode, owner, size, cksum (BOMStore)
//       Payload                    gzip'd odc cpio of the payload, root:wheel, modes kept
//       Scripts                    gzip'd odc cpio of preinstall, postinstall, common.sh
//
// It does not sign the Mach-O files inside: give it a payload that was signed on a Mac
// (`npm run pkg -- --payload-only` there, then `--payload-from`). The format code lives in
// format/ (xar, cpio, Bom, DER/CMS).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeBom } from './format/bom.js';
import { writeCpioGz } from './format/cpio.js';
import { identityFromPem, SigningError, xarSigner, type SigningIdentity } from './format/sign.js';
import { scanTree } from './format/tree.js';
import { compressedData, storedFile, writeXar, type XarLayout } from './format/xar.js';
import { componentFileName, distributionXml, packageInfoXml } from './installer-xml.js';
import type { BuildSettings } from './settings.js';

export interface FlatPackageResult {
  product: string;
  numberOfFiles: number;
  installKBytes: number;
  payloadBytes: number;
  signed: boolean;
  /** SHA-1 of the compressed TOC (what the signatures cover), hex. */
  tocChecksum: string;
  distribution: string;
  packageInfo: string;
}

export async function writeFlatPackage(input: {
  payloadRoot: string;
  scriptsDir: string;
  settings: BuildSettings;
  product: string;
  /** Every time in the package (SOURCE_DATE_EPOCH); default: the files' own and now. */
  mtime?: number;
  identity?: SigningIdentity;
}): Promise<FlatPackageResult> {
  const { settings } = input;
  const work = mkdtempSync(path.join(tmpdir(), 'tg-flat-'));
  try {
    const entries = scanTree(input.payloadRoot, { mtime: input.mtime });
    const scripts = scanTree(input.scriptsDir, { mtime: input.mtime });
    const payloadFile = path.join(work, 'Payload');
    const scriptsFile = path.join(work, 'Scripts');
    const payload = await writeCpioGz(entries, payloadFile);
    const scriptsArchive = await writeCpioGz(scripts, scriptsFile);
    const bom = writeBom(entries.map((e) => ({ ...e, cksum: payload.cksums.get(e.path) })));
    const sizes = {
      numberOfFiles: entries.length,
      installKBytes: Math.ceil(entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) / 1024),
    };
    const packageInfo = packageInfoXml(settings, sizes);
    const distribution = distributionXml(settings, { installKBytes: sizes.installKBytes });
    const now = input.mtime ?? Math.floor(Date.now() / 1000);
    const layout: XarLayout = await writeXar(
      input.product,
      [
        { name: 'Distribution', type: 'file', data: compressedData(Buffer.from(distribution)) },
        {
          name: componentFileName(settings),
          type: 'directory',
          children: [
            { name: 'Bom', type: 'file', data: compressedData(bom) },
            { name: 'Payload', type: 'file', data: storedFile(payloadFile, payload.size, payload.sha1) },
            { name: 'Scripts', type: 'file', data: storedFile(scriptsFile, scriptsArchive.size, scriptsArchive.sha1) },
            { name: 'PackageInfo', type: 'file', data: compressedData(Buffer.from(packageInfo)) },
          ],
        },
      ],
      { mtime: now, signer: input.identity ? xarSigner(input.identity, new Date(now * 1000)) : undefined },
    );
    return {
      product: input.product,
      ...sizes,
      payloadBytes: payload.size,
      signed: Boolean(input.identity),
      tocChecksum: layout.checksum.toString('hex'),
      distribution,
      packageInfo,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The environment variable holding the passphrase of an encrypted key or a PKCS#12 file. */
export const signPasswordVariable = 'TG_PKG_SIGN_PASSWORD';

/**
 * The signing key and certificate chain: PEM files (--sign-key and --sign-cert, the chain in
 * the certificate file or in more --sign-cert files), or one PKCS#12 file (--sign-cert
 * x.p12, key inside), opened with the openssl command (node:crypto reads no PKCS#12).
 */
export function loadSigningIdentity(input: {
  key?: string;
  certs: string[];
  env?: NodeJS.ProcessEnv;
}): SigningIdentity {
  const env = input.env ?? process.env;
  const passphrase = env[signPasswordVariable];
  const read = (file: string) => {
    if (!existsSync(file)) throw new SigningError(`${file} does not exist`);
    if (lstatSync(file).size > 1024 * 1024) throw new SigningError(`${file} is over 1 MB: not a key or certificate`);
    return readFileSync(file);
  };
  const p12 = input.certs.filter((c) => /\.(p12|pfx)$/i.test(c));
  let pem = '';
  if (p12.length > 0) {
    if (p12.length > 1 || input.key)
      throw new SigningError('give one PKCS#12 file, with its key inside, and no --sign-key');
    read(p12[0]);
    const passin = passphrase === undefined ? 'pass:' : `env:${signPasswordVariable}`;
    let r = spawnSync('openssl', ['pkcs12', '-in', p12[0], '-nodes', '-passin', passin], { encoding: 'utf8', env });
    // OpenSSL 3 reads the older ciphers of keychain exports with -legacy only.
    if (r.status !== 0 && !r.error)
      r = spawnSync('openssl', ['pkcs12', '-legacy', '-in', p12[0], '-nodes', '-passin', passin], {
        encoding: 'utf8',
        env,
      });
    if (r.error) throw new SigningError(`opening ${p12[0]} needs the openssl command: ${r.error.message}`);
    if (r.status !== 0)
      throw new SigningError(
        `openssl cannot open ${p12[0]} (wrong ${signPasswordVariable}?): ${r.stderr.trim().split('\n')[0]}`,
      );
    pem = r.stdout;
  } else {
    if (!input.key) throw new SigningError('--sign-cert needs --sign-key (or give a PKCS#12 file)');
    pem = [input.key, ...input.certs].map((f) => read(f).toString('utf8')).join('\n');
  }
  return identityFromPem(pem, passphrase);
}

/**
 * A payload staged elsewhere (--payload-from): a folder, used as it is, or a tarball
 * (tar czf payload.tar.gz -C payload .), unpacked with modes into `into`.
 */
export function payloadFrom(source: string, into: string): string {
  if (!existsSync(source)) throw new Error(`--payload-from ${source} does not exist`);
  if (lstatSync(source).isDirectory()) return source;
  mkdirSync(into, { recursive: true });
  const r = spawnSync('tar', ['-xpf', source, '-C', into], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`tar -xpf ${source}: ${r.error?.message ?? r.stderr.trim().split('\n')[0]}`);
  return into;
}
