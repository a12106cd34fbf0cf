// Single instance. The lock is flock(2) on <StateDirectory>/agentd.lock, taken through the
// addon. Why flock and not a pid file alone: the OS releases it when the process dies,
// however it dies, so kill -9 leaves nothing stale, and there is no pid-reuse guess (a
// recorded pid may belong to an unrelated process after a crash). The file also holds the
// pid, for the "already running" message only. The file is never deleted: deleting a
// locked file lets a second process lock a new file of the same name.
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tryLockExclusive } from '../../native/lock.js';

export class AlreadyRunningError extends Error {
  constructor(
    readonly lockFile: string,
    readonly pid: number | null,
  ) {
    super(`another agentd${pid ? ` (pid ${pid})` : ''} is already running with the state directory ${path.dirname(lockFile)} (lock ${lockFile})`);
    this.name = 'AlreadyRunningError';
  }
}

export interface InstanceLock {
  readonly file: string;
  release(): void;
}

export function acquireInstanceLock(stateDirectory: string): InstanceLock {
  mkdirSync(stateDirectory, { recursive: true, mode: 0o755 });
  const file = path.join(stateDirectory, 'agentd.lock');
  for (let attempt = 0; attempt < 5; attempt++) {
    const fd = openSync(file, 'a+', 0o644);
    if (!tryLockExclusive(fd)) {
      closeSync(fd);
      throw new AlreadyRunningError(file, readPid(file));
    }
    // Locked, but is it still the file at this path? (Someone may have replaced it between
    // our open and our lock.) If not, lock the new one.
    const held = fstatSync(fd);
    let current;
    try {
      current = statSync(file);
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

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
