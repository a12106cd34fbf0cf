// The daemon's state files (the guardrail, the last good configuration, …): one JSON document
// each, versioned and checked against its schema when read, written atomically (temporary file
// in the same directory, fsync, rename, fsync of the directory) so that kill -9 or a power cut
// leaves either the old or the new document, never a torn one.
import { randomBytes } from 'node:crypto';
import { closeSync, readdirSync, readSync, renameSync, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type * as z from 'zod/mini';
import { openSafeFile } from '../fs-safety.js';

export type StateReadResult<T> =
  | { status: 'ok'; value: T }
  | { status: 'missing' }
  /** Did not parse or failed its schema; the file was moved aside to `keptAs` for inspection. */
  | { status: 'corrupt'; reason: string; keptAs: string | null }
  | { status: 'unreadable'; reason: string };

/** A state document: its schema carries a `version` literal, so an old or future file is refused. */
export class StateFile<T extends { version: number }> {
  readonly path: string;

  constructor(
    readonly directory: string,
    readonly name: string,
    private readonly schema: z.ZodMiniType<T>,
  ) {
    this.path = path.join(directory, name);
  }

  /**
   * Reads and checks the document; never throws. A corrupt file is moved aside, not overwritten.
   * Opened without following a link and only when it is a regular root-owned file nobody else
   * can write (agent/fs-safety.ts); a refusal or a parse error never quotes the file's bytes.
   */
  read(): StateReadResult<T> {
    let text: string;
    try {
      text = readStateText(this.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? { status: 'missing' } : { status: 'unreadable', reason: (error as Error).message };
    }
    let reason: string;
    try {
      return { status: 'ok', value: parseStateText(text, this.schema) };
    } catch (error) {
      reason = (error as Error).message;
    }
    const aside = `${this.path}.corrupt`;
    try {
      renameSync(this.path, aside);
      return { status: 'corrupt', reason, keptAs: aside };
    } catch {
      return { status: 'corrupt', reason, keptAs: null };
    }
  }

  /** Mode 0600 unless told: state may hold what only root should read. */
  write(value: T, mode = 0o600): Promise<void> {
    return writeFileAtomic(this.path, `${JSON.stringify(value, null, 2)}\n`, mode);
  }
}

/** State documents are small; a larger file is not ours. */
export const maxStateBytes = 4 * 1024 * 1024;

/** A state file's text, read safely (O_NOFOLLOW, fstat checks, size bound). Throws; ENOENT when absent. */
export function readStateText(file: string): string {
  const { fd, info } = openSafeFile(file, 'read', { role: 'file' });
  try {
    if (info.size > maxStateBytes)
      throw new Error(`${file} is ${info.size} bytes, more than a state file can be (${maxStateBytes})`);
    const buffer = Buffer.alloc(info.size);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Parses a state document; throws with a one-sentence reason that never quotes the content. */
export function parseStateText<T>(text: string, schema: z.ZodMiniType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text ("Unexpected token 'R', "ROOT-ONLY…" is not valid JSON"):
    // only where it broke goes into the log.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new Error(`not JSON${position === undefined ? '' : ` (at byte ${position})`}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`unexpected content at ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

const tempPattern = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files an interrupted write left behind (kill -9 between open and
 * rename). Called once at start-up, while this process holds the instance lock.
 */
export function removeStaleTemporaryFiles(directory: string): string[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const removed = names.filter((name) => tempPattern.test(name));
  for (const name of removed) rmSync(path.join(directory, name), { force: true });
  return removed;
}

/** Write to a temporary file in the same directory, fsync it, rename over the target, fsync the directory. */
export async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}
