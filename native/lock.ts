// Lock capability (native/lock.h): the daemon's single-instance lock.
import { native } from './addon.js';

interface LockAddon {
  tryLockExclusive(fd: number): boolean;
}

/**
 * flock(fd, LOCK_EX | LOCK_NB): true when this process now holds the lock, false when another
 * process does. The OS drops the lock when the process exits, however it exits.
 */
export function tryLockExclusive(fd: number, ...rest: unknown[]): boolean {
  if (!Number.isInteger(fd) || fd < 0)
    throw new TypeError(`tryLockExclusive: fd must be a non-negative integer, got ${String(fd)}`);
  if (rest.length !== 0) throw new TypeError(`tryLockExclusive() takes one argument, got ${rest.length + 1}`);
  return native<LockAddon>().tryLockExclusive(fd);
}
