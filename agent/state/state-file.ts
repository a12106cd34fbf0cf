// The daemon's state files (the guardrail, the last good configuration, …): one JSON document
// each, versioned and checked against its schema when read, written atomically (temporary file
// in the same directory, fsync, rename, fsync of the directory) so that kill -9 or a power cut
// leaves either the old or the new document, never a torn one.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';

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
    private readonly schema: z.ZodType<T>,
  ) {
    this.path = path.join(directory, name);
  }

  /** Reads and checks the document; never throws. A corrupt file is moved aside, not overwritten. */
  read(): StateReadResult<T> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
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

/** Parses a state document; throws with a one-sentence reason. */
export function parseStateText<T>(text: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
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
