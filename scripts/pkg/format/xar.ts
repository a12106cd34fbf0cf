// The xar archive of a flat package (the format of xar 1.x, Apple's libxar): a 28-byte
// big-endian header (magic "xar!", header size, version 1, compressed and uncompressed TOC
// lengths, checksum algorithm 1 = SHA-1), the zlib-compressed XML table of contents, then
// the heap. Heap offset 0 holds the SHA-1 of the compressed TOC; a signed archive keeps its
// RSA signature and its CMS signature right after it; then each file's data, stored as is
// (encoding application/octet-stream) or zlib-compressed (application/x-gzip, which in xar
// means zlib), with the SHA-1 of the stored bytes (archived-checksum) and of the file
// (extracted-checksum) in the TOC.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { deflateSync } from 'node:zlib';

export const xarMagic = 0x78617221; // "xar!"
export const xarHeaderSize = 28;
export const checksumSize = 20; // SHA-1

export interface XarData {
  /** The stored bytes, or a file holding them. */
  stored: Buffer | { file: string };
  encoding: 'application/octet-stream' | 'application/x-gzip';
  /** Stored bytes and their SHA-1. */
  length: number;
  archivedSha1: string;
  /** Extracted bytes and their SHA-1. */
  size: number;
  extractedSha1: string;
}

export type XarNode =
  | { name: string; type: 'file'; mode?: number; data: XarData }
  | { name: string; type: 'directory'; mode?: number; children: XarNode[] };

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** A file's data, zlib-compressed (small text files: Distribution, PackageInfo, Bom). */
export function compressedData(content: Buffer): XarData {
  const stored = deflateSync(content, { level: 9 });
  return {
    stored,
    encoding: 'application/x-gzip',
    length: stored.length,
    archivedSha1: sha1(stored),
    size: content.length,
    extractedSha1: sha1(content),
  };
}

/** Data kept as is: a file that is already compressed (Payload, Scripts). */
export function storedFile(file: string, size: number, sha1Hex: string): XarData {
  return {
    stored: { file },
    encoding: 'application/octet-stream',
    length: size,
    archivedSha1: sha1Hex,
    size,
    extractedSha1: sha1Hex,
  };
}

/** What signs the archive: sizes known before signing, then the two signatures. */
export interface XarSigner {
  /** DER certificates, the signer's first, for the TOC's KeyInfo. */
  certificates: Buffer[];
  rsaSize: number;
  cmsSize: number;
  /** RSA signature (PKCS#1 v1.5) of the TOC checksum, as the SHA-1 digest it is. */
  signRsa(tocChecksum: Buffer): Buffer;
  /** Detached CMS SignedData over the TOC checksum bytes. */
  signCms(tocChecksum: Buffer): Buffer;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** xar's time format (libxar: %Y-%m-%dT%H:%M:%S, UTC). */
function xarTime(seconds: number, zone = 'Z'): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19) + zone;
}

function keyInfo(certificates: Buffer[], indent: string): string {
  const certs = certificates
    .map((c) => `${indent}   <X509Certificate>${c.toString('base64')}</X509Certificate>\n`)
    .join('');
  return (
    `${indent}<KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">\n` +
    `${indent} <X509Data>\n${certs}${indent} </X509Data>\n` +
    `${indent}</KeyInfo>\n`
  );
}

export interface XarLayout {
  toc: Buffer;
  tocCompressed: Buffer;
  checksum: Buffer;
  /** File data in heap order. */
  heap: XarData[];
  signatures?: { rsa: Buffer; cms: Buffer };
}

/** The TOC and the heap's order for `nodes`, signed when `signer` is given. */
export function layoutXar(nodes: XarNode[], options: { mtime: number; signer?: XarSigner }): XarLayout {
  const { signer, mtime } = options;
  let offset = checksumSize;
  let toc =
    '<?xml version="1.0" encoding="UTF-8"?>\n<xar>\n <toc>\n' +
    `  <checksum style="sha1">\n   <offset>0</offset>\n   <size>${checksumSize}</size>\n  </checksum>\n` +
    `  <creation-time>${xarTime(mtime, '')}</creation-time>\n`;
  if (signer) {
    toc += `  <signature style="RSA">\n   <offset>${offset}</offset>\n   <size>${signer.rsaSize}</size>\n`;
    toc += keyInfo(signer.certificates, '   ');
    toc += '  </signature>\n';
    offset += signer.rsaSize;
    toc += `  <x-signature style="CMS">\n   <offset>${offset}</offset>\n   <size>${signer.cmsSize}</size>\n`;
    toc += keyInfo(signer.certificates, '   ');
    toc += '  </x-signature>\n';
    offset += signer.cmsSize;
  }
  const heap: XarData[] = [];
  let id = 0;
  const names = new Set<string>();
  const write = (node: XarNode, indent: string) => {
    if (!node.name || node.name.includes('/') || node.name === '.' || node.name === '..')
      throw new Error(`xar: bad file name "${node.name}"`);
    id += 1;
    toc += `${indent}<file id="${id}">\n`;
    const i = `${indent} `;
    toc += `${i}<name>${escapeXml(node.name)}</name>\n${i}<type>${node.type}</type>\n`;
    const mode = node.mode ?? (node.type === 'directory' ? 0o755 : 0o644);
    toc += `${i}<mode>0${mode.toString(8)}</mode>\n${i}<uid>0</uid>\n${i}<user>root</user>\n${i}<gid>0</gid>\n${i}<group>wheel</group>\n`;
    toc += `${i}<mtime>${xarTime(mtime)}</mtime>\n`;
    if (node.type === 'file') {
      const d = node.data;
      toc +=
        `${i}<data>\n` +
        `${i} <length>${d.length}</length>\n${i} <offset>${offset}</offset>\n${i} <size>${d.size}</size>\n` +
        `${i} <encoding style="${d.encoding}"/>\n` +
        `${i} <archived-checksum style="sha1">${d.archivedSha1}</archived-checksum>\n` +
        `${i} <extracted-checksum style="sha1">${d.extractedSha1}</extracted-checksum>\n` +
        `${i}</data>\n`;
      heap.push(d);
      offset += d.length;
    } else {
      const seen = new Set<string>();
      for (const child of node.children) {
        if (seen.has(child.name)) throw new Error(`xar: ${node.name}/${child.name} twice`);
        seen.add(child.name);
        write(child, `${indent} `);
      }
    }
    toc += `${indent}</file>\n`;
  };
  for (const node of nodes) {
    if (names.has(node.name)) throw new Error(`xar: ${node.name} twice`);
    names.add(node.name);
    write(node, '  ');
  }
  toc += ' </toc>\n</xar>\n';
  const tocBuffer = Buffer.from(toc, 'utf8');
  const tocCompressed = deflateSync(tocBuffer, { level: 9 });
  const checksum = createHash('sha1').update(tocCompressed).digest();
  const layout: XarLayout = { toc: tocBuffer, tocCompressed, checksum, heap };
  if (signer) {
    const rsa = signer.signRsa(checksum);
    const cms = signer.signCms(checksum);
    if (rsa.length !== signer.rsaSize)
      throw new Error(`xar: RSA signature is ${rsa.length} bytes, not ${signer.rsaSize}`);
    if (cms.length !== signer.cmsSize)
      throw new Error(`xar: CMS signature is ${cms.length} bytes, not ${signer.cmsSize}`);
    layout.signatures = { rsa, cms };
  }
  return layout;
}

export function xarHeader(layout: Pick<XarLayout, 'toc' | 'tocCompressed'>): Buffer {
  const header = Buffer.alloc(xarHeaderSize);
  header.writeUInt32BE(xarMagic, 0);
  header.writeUInt16BE(xarHeaderSize, 4);
  header.writeUInt16BE(1, 6);
  header.writeBigUInt64BE(BigInt(layout.tocCompressed.length), 8);
  header.writeBigUInt64BE(BigInt(layout.toc.length), 16);
  header.writeUInt32BE(1, 24); // SHA-1
  return header;
}

/** Writes the archive to `file`; a stored file is copied and checked against its length. */
export async function writeXar(
  file: string,
  nodes: XarNode[],
  options: { mtime: number; signer?: XarSigner },
): Promise<XarLayout> {
  const layout = layoutXar(nodes, options);
  const out = createWriteStream(file, { mode: 0o644 });
  const put = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    await put(xarHeader(layout));
    await put(layout.tocCompressed);
    await put(layout.checksum);
    if (layout.signatures) {
      await put(layout.signatures.rsa);
      await put(layout.signatures.cms);
    }
    for (const data of layout.heap) {
      if (Buffer.isBuffer(data.stored)) {
        await put(data.stored);
        continue;
      }
      let copied = 0;
      for await (const chunk of createReadStream(data.stored.file, { highWaterMark: 1 << 20 })) {
        copied += (chunk as Buffer).length;
        await put(chunk as Buffer);
      }
      if (copied !== data.length) throw new Error(`xar: ${data.stored.file} is ${copied} bytes, not ${data.length}`);
    }
    out.end();
    await once(out, 'close');
  } catch (error) {
    out.destroy();
    throw error;
  }
  return layout;
}
