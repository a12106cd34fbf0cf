// Certificate files: a PEM bundle (leaf first) or DER, read with bounds. PEM follows RFC 7468:
// explanatory text between blocks is allowed (`openssl x509 -text` and `s_client -showcerts`
// write it), but binary data, broken block markers, bad base64 and blocks other than
// CERTIFICATE are errors with the line they are on.
import { close, constants, fstat, open, read } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FailureCode } from './codes.js';
import { FileTooLargeError, isUnsafePath, linkRefusal, readSafeFile } from '../fs-safety.js';
import { DerError, splitDer } from './der.js';

export type CertificateFileErrorCode = Extract<
  FailureCode,
  | 'file_unreadable'
  | 'file_unsafe'
  | 'not_a_file'
  | 'file_too_large'
  | 'file_empty'
  | 'not_certificates'
  | 'too_many_certificates'
>;

export class CertificateFileError extends Error {
  constructor(
    readonly code: CertificateFileErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateFileError';
  }
}

export interface CertificateFileLimits {
  maxBytes: number;
  maxCertificates: number;
}

/** A target file: one chain. */
export const chainFileLimits: CertificateFileLimits = { maxBytes: 1024 * 1024, maxCertificates: 64 };
/** A CA file: a bundle of anchors, up to a whole system bundle. */
export const caFileLimits: CertificateFileLimits = { maxBytes: 4 * 1024 * 1024, maxCertificates: 1000 };

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 ]+)-----\s*$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

// Messages say where a file stopped being certificates (line, byte), never what was there
// (issue 17 item 11): root's agentctl may be handed a file only its owner can read. A block's
// label is named only when it is one of the well-known ones.
const knownLabels = new Set([
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
  'PUBLIC KEY',
  'CERTIFICATE REQUEST',
  'X509 CRL',
  'TRUSTED CERTIFICATE',
  'PKCS7',
]);
const pemLabel = (label: string) => (knownLabels.has(label) ? `a ${label} block` : 'a block other than CERTIFICATE');

/** DER certificates from PEM text. */
export function parsePem(text: string, limits: CertificateFileLimits, name = 'the file'): Buffer[] {
  const lines = text.split(/\r?\n/);
  const out: Buffer[] = [];
  let label: string | null = null;
  let startLine = 0;
  let body: string[] = [];
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = raw.trim();
    if (label === null) {
      const begin = BEGIN.exec(line);
      if (begin) {
        if (begin[1] !== 'CERTIFICATE') {
          throw new CertificateFileError(
            'not_certificates',
            `${name} line ${lineNo}: ${pemLabel(begin[1]!)}; only CERTIFICATE blocks are accepted`,
          );
        }
        if (out.length === limits.maxCertificates) {
          throw new CertificateFileError(
            'too_many_certificates',
            `${name} holds more than ${limits.maxCertificates} certificates`,
          );
        }
        label = begin[1];
        startLine = lineNo;
        body = [];
        continue;
      }
      if (line.startsWith('-----'))
        throw new CertificateFileError(
          'not_certificates',
          `${name} line ${lineNo}: a line starting with ----- is not a PEM BEGIN line`,
        );
      continue; // explanatory text
    }
    const end = END.exec(line);
    if (end) {
      if (end[1] !== label)
        throw new CertificateFileError(
          'not_certificates',
          `${name} line ${lineNo}: the END line does not match the BEGIN line ${startLine}`,
        );
      const base64 = body.join('');
      if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64_LINE.test(base64)) {
        throw new CertificateFileError(
          'not_certificates',
          `${name}: the certificate block of lines ${startLine}–${lineNo} is not valid base64`,
        );
      }
      out.push(Buffer.from(base64, 'base64'));
      label = null;
      continue;
    }
    if (line.startsWith('-----'))
      throw new CertificateFileError(
        'not_certificates',
        `${name} line ${lineNo}: a line starting with ----- inside the block begun on line ${startLine}`,
      );
    if (!BASE64_LINE.test(line))
      throw new CertificateFileError(
        'not_certificates',
        `${name} line ${lineNo}: not base64 inside the certificate block begun on line ${startLine}`,
      );
    body.push(line);
  }
  if (label !== null)
    throw new CertificateFileError(
      'not_certificates',
      `${name}: the certificate block begun on line ${startLine} has no END line`,
    );
  if (out.length === 0)
    throw new CertificateFileError(
      'not_certificates',
      `${name} holds no certificate (expected PEM CERTIFICATE blocks or DER)`,
    );
  return out;
}

/** Where the first byte that text cannot hold is: a control character or invalid UTF-8. */
function firstBinaryByte(data: Buffer): number {
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return i;
    if (b === 0x7f) return i;
  }
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(data);
  const bad = decoded.indexOf('\ufffd');
  return bad < 0 ? -1 : Buffer.byteLength(decoded.slice(0, bad));
}

/** DER certificates from a file's bytes: DER (one or more concatenated) or PEM. */
export function parseCertificates(data: Buffer, limits: CertificateFileLimits, name = 'the file'): Buffer[] {
  if (data.length === 0) throw new CertificateFileError('file_empty', `${name} is empty`);
  if (data[0] === 0x30) {
    try {
      return splitDer(data, limits.maxCertificates);
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
      const code = /more than/.test(error.message) ? 'too_many_certificates' : 'not_certificates';
      throw new CertificateFileError(code, `${name} is not DER certificates: ${error.message}`);
    }
  }
  const binary = firstBinaryByte(data);
  if (binary >= 0) {
    const line = data.subarray(0, binary).toString('latin1').split('\n').length;
    throw new CertificateFileError(
      'not_certificates',
      `${name} line ${line}: binary data (byte ${binary}); expected PEM text or DER`,
    );
  }
  return parsePem(data.toString('utf8'), limits, name);
}

/**
 * Reads a certificate file with bounds: a regular file (no device, FIFO or directory), at most
 * `limits.maxBytes`, opened non-blocking so that a FIFO cannot hang the reader.
 */
export async function readCertificateFile(
  file: string,
  limits: CertificateFileLimits = chainFileLimits,
): Promise<Buffer[]> {
  // Run as root (agentctl trust FILE, --ca FILE), never through a link (issue 17 item 11).
  const asRoot = process.getuid?.() === 0;
  const refused = linkRefusal(file);
  if (refused) throw new CertificateFileError('file_unsafe', refused);
  // fs's callback functions, not node:fs/promises: that module and the streams it loads cost
  // `agentctl trust FILE` ~5 ms of its start (issue 21); still off the event loop for agentd.
  let fd: number;
  try {
    fd = await promisify(open)(file, constants.O_RDONLY | constants.O_NONBLOCK | (asRoot ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    const again = (error as NodeJS.ErrnoException).code === 'ELOOP' ? linkRefusal(file) : undefined;
    if (again) throw new CertificateFileError('file_unsafe', again);
    throw new CertificateFileError(
      'file_unreadable',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    const info = await promisify(fstat)(fd);
    if (!info.isFile()) throw new CertificateFileError('not_a_file', `${file} is not a regular file`);
    if (info.size > limits.maxBytes)
      throw new CertificateFileError(
        'file_too_large',
        `${file} is ${info.size} bytes; at most ${limits.maxBytes} are accepted`,
      );
    const buffer = Buffer.alloc(limits.maxBytes + 1);
    let length = 0;
    const readAt = promisify(read);
    for (;;) {
      const { bytesRead } = await readAt(fd, buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limits.maxBytes)
        throw new CertificateFileError('file_too_large', `${file} grew past ${limits.maxBytes} bytes while being read`);
    }
    return parseCertificates(buffer.subarray(0, length), limits, file);
  } finally {
    await promisify(close)(fd);
  }
}

/**
 * Reads a certificate file the daemon may rely on (SPEC §1.8, agent/fs-safety.ts): its folder
 * and every one above trusted, the file itself opened without following a link, regular, owned
 * by root (or the agent's own user in development), writable by nobody else. Otherwise a local
 * user could slip in the anchors that make their own certificates look trusted.
 */
export async function readProtectedCertificateFile(
  file: string,
  limits: CertificateFileLimits = chainFileLimits,
): Promise<Buffer[]> {
  if (!path.isAbsolute(file)) throw new CertificateFileError('file_unsafe', `cannot use ${file}: not an absolute path`);
  let bytes: Buffer;
  try {
    bytes = readSafeFile(file, { maxBytes: limits.maxBytes });
  } catch (error) {
    if (error instanceof FileTooLargeError) throw new CertificateFileError('file_too_large', error.message);
    if (isUnsafePath(error)) {
      if (error.code === 'missing')
        throw new CertificateFileError('file_unreadable', `cannot read ${file}: its folder does not exist`);
      throw new CertificateFileError('file_unsafe', `cannot use ${error.message.replace(/^the file /, '')}`);
    }
    const code = (error as NodeJS.ErrnoException).code;
    throw new CertificateFileError('file_unreadable', `cannot read ${file}: ${code ?? (error as Error).message}`);
  }
  return parseCertificates(bytes, limits, file);
}
