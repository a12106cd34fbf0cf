// Reading a credential or trust file as root without trusting anyone else (SPEC §1.8): the file
// must be a regular file owned by root (or by us, when the agent runs unprivileged in
// development), not writable by group or others — and, for a secret such as the bearer token
// or a private key, not readable by them either. The last path component is opened with
// O_NOFOLLOW and checked on the open descriptor (no race between check and read), and every
// folder above it must be owned by root (or us) and not writable by others unless sticky
// (/tmp: others may add entries there, but not replace ours).
import { constants as fsConstants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';

export type ProtectedFileProblem = 'file_missing' | 'file_unsafe' | 'file_unreadable' | 'file_too_large';

export type ProtectedFileResult =
  { ok: true; data: Buffer } | { ok: false; code: ProtectedFileProblem; reason: string };

export interface ProtectedFileOptions {
  /** A secret: no access at all for group and others (mode 0600 or 0400). */
  secret: boolean;
  maxBytes: number;
  /** The uid allowed besides root (default: ours). */
  uid?: number;
}

const ownUid = () => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

export async function readProtectedFile(file: string, options: ProtectedFileOptions): Promise<ProtectedFileResult> {
  const uid = options.uid ?? ownUid();
  const trustedOwner = (owner: number) => owner === 0 || owner === uid;
  if (!path.isAbsolute(file)) return { ok: false, code: 'file_unsafe', reason: 'not an absolute path' };
  let parent: string;
  try {
    parent = await realpath(path.dirname(file));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? { ok: false, code: 'file_missing', reason: 'its folder does not exist' }
      : { ok: false, code: 'file_unreadable', reason: (error as Error).message };
  }
  for (let dir = parent; ; dir = path.dirname(dir)) {
    const st = await lstat(dir);
    if (!trustedOwner(st.uid)) return { ok: false, code: 'file_unsafe', reason: `${dir} is owned by uid ${st.uid}` };
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)
      return { ok: false, code: 'file_unsafe', reason: `${dir} is writable by group or others` };
    if (dir === path.dirname(dir)) break;
  }
  let handle;
  try {
    handle = await open(
      path.join(parent, path.basename(file)),
      fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, code: 'file_missing', reason: 'no such file' };
    if (code === 'ELOOP' || code === 'EMLINK')
      return { ok: false, code: 'file_unsafe', reason: 'it is a symbolic link' };
    return { ok: false, code: 'file_unreadable', reason: code ?? (error as Error).message };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { ok: false, code: 'file_unsafe', reason: 'not a regular file' };
    if (!trustedOwner(st.uid)) return { ok: false, code: 'file_unsafe', reason: `owned by uid ${st.uid}` };
    const forbidden = options.secret ? 0o077 : 0o022;
    if ((st.mode & forbidden) !== 0) {
      return {
        ok: false,
        code: 'file_unsafe',
        reason: `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} gives group or others ${options.secret ? 'access' : 'write access'}`,
      };
    }
    if (st.size > options.maxBytes)
      return { ok: false, code: 'file_too_large', reason: `${st.size} bytes (at most ${options.maxBytes})` };
    const data = Buffer.alloc(options.maxBytes + 1);
    const { bytesRead } = await handle.read(data, 0, data.length, 0);
    if (bytesRead > options.maxBytes)
      return { ok: false, code: 'file_too_large', reason: `more than ${options.maxBytes} bytes` };
    return { ok: true, data: data.subarray(0, bytesRead) };
  } catch (error) {
    return {
      ok: false,
      code: 'file_unreadable',
      reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
    };
  } finally {
    await handle.close();
  }
}
