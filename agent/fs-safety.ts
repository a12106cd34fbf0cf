// Root must never follow another user's link nor trust a folder another user can write. Every
// file the daemon opens as root (lock, log, state, configuration, sockets) goes through here:
//
//  - a directory is trusted when it and every ancestor is owned by a trusted user (root, or the
//    daemon's own user for a development run) and writable by nobody else. Two exceptions for
//    ancestors only: a sticky directory such as /tmp (others may create entries in it, but not
//    remove or rename ours, and the entry below it must be ours), and group write by a system
//    group no human belongs to (gid 0; on macOS also gid 1 `daemon`, /private/var/run's group).
//    The directory itself is never group- or other-writable.
//  - a symlink on the way is followed only when root owns it and it sits in a directory nobody
//    else can write (macOS's /var → private/var, /tmp → private/tmp): such a link is root's
//    choice. A link anyone else could have made or replaced is refused.
//  - a file is opened with O_NOFOLLOW (never through a link) and O_NONBLOCK (a FIFO planted by
//    someone cannot hang the open), then fstat'ed: a regular file, owned by a trusted user,
//    writable by nobody else, with one link (a hard link to another file is refused).
// Once a directory chain is trusted, nobody but root can change it, so checking first and
// using the path afterwards is sound.
import {
  constants,
  closeSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  type Stats,
} from 'node:fs';
import type { spawnSync as SpawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

export type UnsafePathCode =
  | 'symlink'
  | 'untrusted_owner'
  | 'writable_by_others'
  | 'not_a_directory'
  | 'not_a_regular_file'
  | 'hard_linked'
  | 'too_many_links'
  | 'missing'
  | 'cannot_check';

/** What a path is for, in messages: "the state directory /x is unsafe: …". */
export type PathRole =
  | 'state directory'
  | 'log directory'
  | 'control socket directory'
  | 'configuration file'
  | 'remediation command'
  | 'file';

export class UnsafePathError extends Error {
  constructor(
    readonly code: UnsafePathCode,
    /** The directory or file that was checked. */
    readonly subject: string,
    /** The path that failed (the subject or one of its ancestors). */
    readonly offender: string,
    readonly role: PathRole,
    detail: string,
  ) {
    super(`the ${role} ${subject} is unsafe: ${offender === subject ? '' : `${offender} `}${detail}`);
    this.name = 'UnsafePathError';
  }
}

/** Root, and the daemon's own user (a development daemon runs unprivileged in the user's tree). */
export function trustedUids(): Set<number> {
  const uids = new Set([0]);
  const me = process.geteuid?.();
  if (me !== undefined) uids.add(me);
  return uids;
}

/** Groups whose members are system accounts only: group write by them does not let a person in. */
export function systemGroups(platform: NodeJS.Platform = process.platform): ReadonlySet<number> {
  // gid 0 is root (Linux) / wheel (macOS). macOS's /private/var/run is root:daemon 0775; daemon
  // (gid 1) has no human members. Everything else, staff (20) and admin (80) included, is people.
  return new Set(platform === 'darwin' ? [0, 1] : [0]);
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

interface Walk {
  /** The real path the walk ended at. */
  real: string;
  info: Stats;
}

/**
 * Checks `dir` and every ancestor; returns the real path and its lstat. Throws UnsafePathError.
 * `missing` is called for a component that does not exist; it may create it (and return true)
 * or return false to make the check fail with ENOENT.
 */
function walkDirectory(dir: string, role: PathRole, missing?: (at: string, isLast: boolean) => boolean): Walk {
  if (!path.isAbsolute(dir)) throw new UnsafePathError('cannot_check', dir, dir, role, 'is not an absolute path');
  const trusted = trustedUids();
  const groups = systemGroups();
  const fail = (code: UnsafePathCode, offender: string, detail: string): never => {
    throw new UnsafePathError(code, dir, offender, role, detail);
  };
  const stat = (p: string): Stats | undefined => {
    try {
      return lstatSync(p);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      return fail('cannot_check', p, `cannot be checked (${code ?? (error as Error).message})`);
    }
  };
  // A directory on the way: trusted owner; group write only by a system group; other write only
  // when sticky (the entry below is then checked to be a trusted user's own).
  const checkAncestor = (p: string, info: Stats): void => {
    if (!trusted.has(info.uid)) fail('untrusted_owner', p, `belongs to uid ${info.uid}, not root`);
    if (info.mode & 0o020 && !groups.has(info.gid) && !(info.mode & 0o1000))
      fail('writable_by_others', p, `is writable by group ${info.gid} (mode ${octal(info.mode)})`);
    if (info.mode & 0o002 && !(info.mode & 0o1000))
      fail('writable_by_others', p, `is writable by anyone (mode ${octal(info.mode)})`);
  };
  const othersCanReplaceEntries = (info: Stats) =>
    (info.mode & 0o002 || (info.mode & 0o020 && !groups.has(info.gid))) !== 0;

  // Components are followed as the kernel does ('..' from where a link led, not lexically).
  const parts = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.');
  let pending = parts(dir);
  let current = '/';
  let currentInfo = stat('/') ?? fail('cannot_check', '/', 'does not exist');
  checkAncestor('/', currentInfo);
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      current = path.dirname(current);
      currentInfo = stat(current)!;
      continue;
    }
    const next = path.join(current, name);
    const isLast = pending.length === 0;
    let info = stat(next);
    if (!info) {
      if (!missing || !missing(next, isLast)) fail('missing', next, 'does not exist');
      info = stat(next) ?? fail('cannot_check', next, 'could not be created');
    }
    if (info.isSymbolicLink()) {
      // Only root's own link in a directory nobody else can write is root's choice.
      if (info.uid !== 0 || othersCanReplaceEntries(currentInfo))
        fail(
          'symlink',
          next,
          'is a symbolic link someone other than root could have made or replaced; root does not follow it',
        );
      if (++hops > 16) fail('too_many_links', next, 'goes through too many symbolic links');
      const target = readlinkSync(next);
      pending = [...parts(target), ...pending];
      if (target.startsWith('/')) {
        current = '/';
        currentInfo = stat('/')!;
      }
      continue;
    }
    if (!info.isDirectory()) fail('not_a_directory', next, 'is not a directory');
    // Under a sticky parent others may add entries, so this one must be a trusted user's:
    // checkAncestor requires that of every directory. (A non-sticky parent writable by others
    // was refused already.)
    checkAncestor(next, info);
    current = next;
    currentInfo = info;
  }
  // The directory itself: nobody else may write to it, sticky or not, whatever the group.
  if (!trusted.has(currentInfo.uid)) fail('untrusted_owner', current, `belongs to uid ${currentInfo.uid}, not root`);
  if (currentInfo.mode & 0o022)
    fail(
      'writable_by_others',
      current,
      `is writable by ${currentInfo.mode & 0o002 ? 'anyone' : `group ${currentInfo.gid}`} (mode ${octal(currentInfo.mode)})`,
    );
  return { real: current, info: currentInfo };
}

/** Throws UnsafePathError unless `dir` exists and it and its ancestors are trusted. Returns its real path. */
export function checkDirectory(dir: string, role: PathRole): string {
  return walkDirectory(dir, role).real;
}

/**
 * Creates `dir` (and missing ancestors, 0755) with exactly `mode`, and checks the whole chain.
 * An existing directory keeps its mode; it must already be safe. Returns the real path.
 */
export function ensureDirectory(dir: string, mode: number, role: PathRole): string {
  return walkDirectory(dir, role, (at, isLast) => {
    const wanted = isLast ? mode : 0o755;
    try {
      mkdirSync(at, { mode: wanted });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new UnsafePathError(
          'cannot_check',
          dir,
          at,
          role,
          `could not be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        );
      return true;
    }
    // mkdir's mode passes through the umask: set it exactly, on the directory we just made
    // (opened without following a link, so a swapped-in link cannot redirect the chmod).
    const fd = openSync(at, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, wanted);
    } finally {
      closeSync(fd);
    }
    return true;
  }).real;
}

export type SafeOpenMode = 'read' | 'append' | 'read-write';

export interface SafeFile {
  fd: number;
  info: Stats;
}

const openFlags: Record<SafeOpenMode, number> = {
  read: constants.O_RDONLY,
  append: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
  'read-write': constants.O_RDWR | constants.O_CREAT,
};

/**
 * Opens `file` without following a link (O_NOFOLLOW, O_NONBLOCK) and checks what was opened:
 * a regular file, owned by a trusted user, writable by nobody else, not hard-linked elsewhere.
 * Its directory is not checked here (see checkDirectory / ensureDirectory). Throws
 * UnsafePathError, or the open's own error (ENOENT…) when the file cannot be opened.
 */
export function openSafeFile(
  file: string,
  how: SafeOpenMode,
  options: { role?: PathRole; createMode?: number } = {},
): SafeFile {
  const role = options.role ?? 'file';
  let fd: number;
  try {
    fd = openSync(file, openFlags[how] | constants.O_NOFOLLOW | constants.O_NONBLOCK, options.createMode ?? 0o644);
  } catch (error) {
    // ELOOP is what O_NOFOLLOW answers for a link (EMLINK on some BSDs).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new UnsafePathError('symlink', file, file, role, 'is a symbolic link; root does not follow it');
    throw error;
  }
  try {
    const info = fstatSync(fd);
    checkOpenedFile(file, info, role);
    return { fd, info };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The checks openSafeFile applies to what it opened (exported for callers that stat themselves). */
export function checkOpenedFile(file: string, info: Stats, role: PathRole): void {
  const fail = (code: UnsafePathCode, detail: string): never => {
    throw new UnsafePathError(code, file, file, role, detail);
  };
  if (!info.isFile()) fail('not_a_regular_file', 'is not a regular file');
  if (!trustedUids().has(info.uid)) fail('untrusted_owner', `belongs to uid ${info.uid}, not root`);
  if (info.mode & 0o022)
    fail(
      'writable_by_others',
      `is writable by ${info.mode & 0o002 ? 'anyone' : `group ${info.gid}`} (mode ${octal(info.mode)})`,
    );
  if (info.nlink > 1)
    fail('hard_linked', `has ${info.nlink} hard links; root only uses a file that is not linked elsewhere`);
}

/** True when `error` is one of ours (for callers that report rather than crash). */
export function isUnsafePath(error: unknown): error is UnsafePathError {
  return error instanceof UnsafePathError;
}

/**
 * Checks a program root is about to run: an absolute path whose directories are trusted, a
 * regular executable file owned by a trusted user that nobody else can write. A symlink is
 * followed only when root owns it (its directory being trusted, nobody else can replace it).
 * Returns the real path. Throws UnsafePathError; an absent file or folder throws with code
 * 'missing' (the caller may let spawn report it).
 */
export function checkExecutable(file: string, role: PathRole = 'remediation command'): string {
  if (!path.isAbsolute(file)) throw new UnsafePathError('cannot_check', file, file, role, 'is not an absolute path');
  let current = file;
  for (let hops = 0; hops <= 16; hops++) {
    const dir = walkDirectory(path.dirname(current), role).real;
    const real = path.join(dir, path.basename(current));
    let info: Stats;
    try {
      info = lstatSync(real);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UnsafePathError('missing', file, real, role, 'does not exist');
      throw new UnsafePathError(
        'cannot_check',
        file,
        real,
        role,
        `cannot be checked (${code ?? (error as Error).message})`,
      );
    }
    if (info.isSymbolicLink()) {
      if (info.uid !== 0)
        throw new UnsafePathError(
          'symlink',
          file,
          real,
          role,
          'is a symbolic link someone other than root made; root does not follow it',
        );
      const target = readlinkSync(real);
      current = target.startsWith('/') ? target : path.join(dir, target);
      continue;
    }
    if (!info.isFile()) throw new UnsafePathError('not_a_regular_file', file, real, role, 'is not a regular file');
    if (!trustedUids().has(info.uid))
      throw new UnsafePathError('untrusted_owner', file, real, role, `belongs to uid ${info.uid}, not root`);
    if (info.mode & 0o022)
      throw new UnsafePathError(
        'writable_by_others',
        file,
        real,
        role,
        `is writable by ${info.mode & 0o002 ? 'anyone' : `group ${info.gid}`} (mode ${octal(info.mode)})`,
      );
    if (!(info.mode & 0o111)) throw new UnsafePathError('not_a_regular_file', file, real, role, 'is not executable');
    return real;
  }
  throw new UnsafePathError('too_many_links', file, file, role, 'goes through too many symbolic links');
}

/** A file was larger than allowed (size from fstat), or grew past the limit while read (size null). */
export class FileTooLargeError extends Error {
  constructor(
    readonly file: string,
    readonly maxBytes: number,
    readonly size: number | null,
  ) {
    super(
      size === null
        ? `${file} grew past ${maxBytes} bytes while being read`
        : `${file} is ${size} bytes; at most ${maxBytes} are accepted`,
    );
    this.name = 'FileTooLargeError';
  }
}

/**
 * Reads an open file to its end, at most maxBytes (the caller closes fd). The buffer is sized
 * from the fstat; a file that grows while read is read on up to the limit, and past it is
 * refused. Throws FileTooLargeError.
 */
export function readBounded(fd: number, info: Stats, file: string, maxBytes: number): Buffer {
  if (info.size > maxBytes) throw new FileTooLargeError(file, maxBytes, info.size);
  let buffer = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) throw new FileTooLargeError(file, maxBytes, null);
      const larger = Buffer.alloc(maxBytes + 1);
      buffer.copy(larger, 0, 0, length);
      buffer = larger;
    }
    const bytesRead = readSync(fd, buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

/**
 * Reads a whole file root may rely on (an anchor or CA file, a credential): its folder and every
 * one above trusted (checkDirectory), the file opened with openSafeFile, at most maxBytes.
 * Throws UnsafePathError, FileTooLargeError, or the open's own error (ENOENT…).
 */
export function readSafeFile(file: string, options: { maxBytes: number; role?: PathRole }): Buffer {
  const role = options.role ?? 'file';
  const folder = checkDirectory(path.dirname(file), role);
  const { fd, info } = openSafeFile(path.join(folder, path.basename(file)), 'read', { role });
  try {
    return readBounded(fd, info, file, options.maxBytes);
  } finally {
    closeSync(fd);
  }
}

/** A user's name and uid for a sentence: "nobody (uid 65534)"; the uid alone when it has no name. */
export function describeOwner(uid: number): string {
  // `id -nu` asks the user database the system uses (Directory Services on macOS, NSS on Linux);
  // by its absolute path (both systems have it there): root never runs a program found on PATH.
  // node:child_process only here: loading it costs every command that reads a file ~1 ms (issue 21).
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as { spawnSync: typeof SpawnSync };
  const name = spawnSync('/usr/bin/id', ['-nu', String(uid)], { encoding: 'utf8', timeout: 2000 }).stdout?.trim();
  return name && /^[\w.@-]{1,64}$/.test(name) ? `${name} (uid ${uid})` : `uid ${uid}`;
}

/**
 * For root's agentctl, which reads files named on its command line (issue 17 item 11): the
 * sentence that refuses `file` when it is a link, or when a folder on its way is reached through
 * a link that someone other than root owns; undefined when it may be opened (with O_NOFOLLOW).
 * Anyone else reads only what they may read anyway: undefined. A missing path is left to the
 * open, which says so.
 */
export function linkRefusal(file: string, uid: number | undefined = process.getuid?.()): string | undefined {
  if (uid !== 0) return undefined;
  const absolute = path.resolve(file);
  const parts = absolute.split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const at = path.sep + parts.slice(0, i).join(path.sep);
    let info: Stats;
    try {
      info = lstatSync(at);
    } catch {
      return undefined;
    }
    if (!info.isSymbolicLink()) continue;
    const last = i === parts.length;
    if (!last && info.uid === 0) continue; // root's own links (macOS /tmp, /var, /etc)
    return `${last ? file : at} is a symbolic link owned by ${describeOwner(info.uid)}: root's agentctl does not follow it`;
  }
  return undefined;
}
