// Facts about this process, written once.

/** True when running as root (always false where there are no uids). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
