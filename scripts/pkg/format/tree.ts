// The staged tree as the package carries it: every directory and regular file under a root,
// depth first, names in byte order, the root first as ''. Links, devices and the like are
// refused (the payload carries none). The Payload, the Bom and the PackageInfo counts are
// made from this one list, so they cannot disagree.
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface TreeEntry {
  /** Relative to the root, '/'-separated; '' is the root itself. */
  path: string;
  type: 'file' | 'directory';
  /** Permission bits (0o7777), kept from the staged tree. */
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Absolute path of a file's content. */
  source: string;
}

export class TreeError extends Error {
  override name = 'TreeError';
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Scans `root`. `mtime` (SOURCE_DATE_EPOCH) replaces every entry's time when given, so two
 * builds of the same tree write the same bytes.
 */
export function scanTree(root: string, options: { mtime?: number } = {}): TreeEntry[] {
  const out: TreeEntry[] = [];
  const visit = (rel: string) => {
    const source = rel ? path.join(root, ...rel.split('/')) : root;
    const st = lstatSync(source);
    const entry = (type: TreeEntry['type'], size: number): TreeEntry => ({
      path: rel,
      type,
      mode: st.mode & 0o7777,
      size,
      mtime: options.mtime ?? Math.floor(st.mtimeMs / 1000),
      source,
    });
    if (st.isDirectory()) {
      out.push(entry('directory', 0));
      for (const name of readdirSync(source).sort(byBytes)) visit(rel ? `${rel}/${name}` : name);
    } else if (st.isFile()) {
      out.push(entry('file', st.size));
    } else {
      throw new TreeError(`${rel || '.'} is not a regular file or a directory; the package carries only those`);
    }
  };
  visit('');
  if (out[0]?.type !== 'directory') throw new TreeError(`${root} is not a directory`);
  return out;
}

/** SOURCE_DATE_EPOCH from the environment (reproducible-builds.org), or undefined. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,11}$/.test(raw))
    throw new TreeError(`SOURCE_DATE_EPOCH must be whole seconds, not "${raw.slice(0, 40)}"`);
  return Number(raw);
}
