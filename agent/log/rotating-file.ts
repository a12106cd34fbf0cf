// JSON lines to a file with size-based rotation: agent.log is always the newest, then
// agent1.log … agent<maxFiles-1>.log. Written synchronously, one write per entry: winston's
// own File transport loses entries written in a burst across a rotation, and a daemon's log
// must also survive kill -9 (nothing is left in a user-space buffer).
// The directory must be trusted and each file is opened without following a link and checked
// to be a regular root-owned file (agent/fs-safety.ts): root never appends to a file someone
// linked into its log directory.
import { closeSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import Transport from 'winston-transport';
import { MESSAGE } from 'triple-beam';
import { ensureDirectory, openSafeFile } from '../fs-safety.js';

export interface RotatingFileOptions {
  file: string;
  maxBytes: number;
  /** Files kept, the current one included. */
  maxFiles: number;
}

export class RotatingFileTransport extends Transport {
  private fd: number | null = null;
  private size = 0;

  constructor(private readonly options: RotatingFileOptions) {
    super();
    if (options.maxFiles < 1 || options.maxBytes < 1) throw new RangeError('maxFiles and maxBytes must be positive');
    // Throws UnsafePathError for an untrusted directory or a planted file.
    ensureDirectory(path.dirname(options.file), 0o755, 'log directory');
    this.open();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const line = `${String(info[MESSAGE])}\n`;
    const bytes = Buffer.byteLength(line);
    try {
      if (this.size > 0 && this.size + bytes > this.options.maxBytes) this.rotate();
      if (this.fd === null) this.open();
      writeSync(this.fd!, line);
      this.size += bytes;
    } catch (error) {
      // A full disk must not take the daemon down; the OS log still has the entry.
      this.emit('warn', error);
    }
    next();
  }

  override close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    const { fd, info } = openSafeFile(this.options.file, 'append', { role: 'file', createMode: 0o644 });
    this.fd = fd;
    this.size = info.size;
  }

  private rotate(): void {
    this.close();
    const { file, maxFiles } = this.options;
    const ext = path.extname(file);
    const numbered = (n: number) => (n === 0 ? file : `${file.slice(0, file.length - ext.length)}${n}${ext}`);
    rmSync(numbered(maxFiles - 1), { force: true });
    for (let n = maxFiles - 2; n >= 0; n--) {
      try {
        renameSync(numbered(n), numbered(n + 1));
      } catch {
        // a gap in the sequence (fewer files so far)
      }
    }
    if (maxFiles === 1) rmSync(file, { force: true });
    this.open();
  }
}
