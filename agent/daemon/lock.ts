// Single instance. The lock is flock(2) on <StateDirectory>/agentd.lock, taken through the
// addon. Why flock and not a pid file alone: the OS releases it when the process dies,
// however it dies, so kill -9 leaves nothing stale, and there is no pid-reuse guess (a
// recorded pid may belong to an unrelated process after a crash). The file also holds the
// pid, for the "already running" message only. The file is never deleted: deleting a
// locked file lets a second process lock a new file of the same name.
// The state directory is created 0700 and must be trusted (agent/fs-safety.ts); the lock file
// is opened without following a link and must be a regular root-owned file, so a link planted
// in the directory cannot make root truncate or write another file.
import { closeSync, fstatSync, ftruncateSync, lstatSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tryLockExclusive } from '../../native/lock.js';
import { ensureDirectory, openSafeFile } from '../fs-safety.js';

export class AlreadyRunningError extends Error {
  constructor(
    readonly lockFile: string,
    readonly pid: number | null,
  ) {
    super(
      `another agentd${pid ? ` (pid ${pid})` : ''} is already running with the state directory ${path.dirname(lockFile)} (lock ${lockFile})`,
    );
    this.name = 'AlreadyRunningError';
  }
}

export interface InstanceLock {
  readonly file: string;
  release(): void;
}

/** Takes the lock; throws AlreadyRunningError, or UnsafePathError for an untrusted state directory or lock file. */
export function acquireInstanceLock(stateDirectory: string): InstanceLock {
  ensureDirectory(stateDirectory, 0o700, 'state directory');
  const file = path.join(stateDirectory, 'agentd.lock');
  for (let attempt = 0; attempt < 5; attempt++) {
    const { fd } = openSafeFile(file, 'read-write', { role: 'file', createMode: 0o644 });
    if (!tryLockExclusive(fd)) {
      const pid = readPid(fd);
      closeSync(fd);
      throw new AlreadyRunningError(file, pid);
    }
    // Locked, but is it still the file at this path? (Someone may have replaced it between
    // our open and our lock.) If not, lock the new one.
    const held = fstatSync(fd);
    let current;
    try {
      current = lstatSync(file);
    } catch {
      current = undefined;
    }
    if (!current || current.ino !== held.ino || current.dev !== held.dev) {
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        closeSync(fd);
      },
    };
  }
  throw new Error(`could not take the lock ${file}: it keeps being replaced`);
}

/** The pid the holder wrote, read from our own (checked) descriptor: at most a few bytes. */
function readPid(fd: number): number | null {
  try {
    const buffer = Buffer.alloc(32);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const pid = Number.parseInt(buffer.subarray(0, length).toString('latin1'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
