// Configuration parsing with bounds: a file must never freeze or stop the daemon. The bytes
// are at most 1 MB (checked on the open descriptor before reading, and while reading); binary
// and XML plists go through our bounded readers (bplist.ts, xml-plist.ts); JSON is parsed; the
// result is walked (without recursion) to bound depth and object count; nothing thrown escapes
// as anything but a ConfigParseError with a code. The daemon parses in a child process of its own
// (parseConfigBytesInChild) with a heap limit and a deadline, so even the largest allowed file
// never blocks the event loop that answers `agentctl status`, and the parsers' memory never
// lives in the daemon (an idle agentd's RSS is budgeted: bench/status.bench.ts).
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import type { ChildProcess, fork as Fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FileTooLargeError, linkRefusal, openSafeFile, readBounded, type SafeFile } from '../fs-safety.js';
import { parseBinaryPlist } from './bplist.js';
import { parseXmlPlist, XmlPlistError } from './xml-plist.js';

export interface ConfigLimits {
  maxBytes: number;
  maxDepth: number;
  maxObjects: number;
  /** Parsing in a child process: it is killed after this long. */
  timeoutMs: number;
}

export const configLimits: ConfigLimits = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxObjects: 20_000,
  timeoutMs: 10_000,
};

export type ConfigParseCode =
  | 'too_large'
  | 'too_deep'
  | 'too_many_objects'
  | 'does_not_parse'
  | 'not_a_dictionary'
  | 'timed_out'
  | 'unreadable'
  | 'unsafe_file';

export class ConfigParseError extends Error {
  constructor(
    readonly code: ConfigParseCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigParseError';
  }
}

export type ConfigValues = Record<string, unknown>;

/**
 * Reads a configuration file for root: opened without following a link, a regular file owned
 * by root (or the daemon's user) that nobody else can write, at most maxBytes.
 * `trusted: false` skips the owner and mode checks (`agentctl config validate` of any file).
 */
export function readConfigBytes(file: string, options: { trusted?: boolean; maxBytes?: number } = {}): Buffer {
  const maxBytes = options.maxBytes ?? configLimits.maxBytes;
  let opened: SafeFile;
  try {
    opened =
      options.trusted === false ? openForValidation(file) : openSafeFile(file, 'read', { role: 'configuration file' });
  } catch (error) {
    if (error instanceof ConfigParseError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof Error && error.name === 'UnsafePathError')
      throw new ConfigParseError(
        'unsafe_file',
        `${error.message.replace(/^the configuration file \S+ is unsafe: /, 'is not trusted: ')}; it is ignored`,
      );
    throw new ConfigParseError(
      'unreadable',
      code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`,
    );
  }
  try {
    if (!opened.info.isFile()) throw new ConfigParseError('unreadable', 'is not a regular file');
    try {
      return readBounded(opened.fd, opened.info, file, maxBytes);
    } catch (error) {
      if (!(error instanceof FileTooLargeError)) throw error;
      throw new ConfigParseError(
        'too_large',
        `is ${error.size === null ? 'over ' : ''}${error.size ?? maxBytes} bytes; configuration files are limited to ${maxBytes} bytes`,
      );
    }
  } finally {
    closeSync(opened.fd);
  }
}

function openForValidation(file: string): SafeFile {
  // No owner check, but still no FIFO hang: O_NONBLOCK, and a regular file only (checked by the
  // caller). Run as root, never through a link (issue 17 item 11): a link someone planted would
  // make root read, and describe, a file that person cannot read.
  const asRoot = process.getuid?.() === 0;
  const refused = linkRefusal(file);
  if (refused) throw new ConfigParseError('unsafe_file', `refused: ${refused}`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | (asRoot ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    // A link swapped in after the check above.
    const again = (error as NodeJS.ErrnoException).code === 'ELOOP' ? linkRefusal(file) : undefined;
    if (again) throw new ConfigParseError('unsafe_file', `refused: ${again}`);
    throw error;
  }
  return { fd, info: fstatSync(fd) };
}

/**
 * Where JSON.parse failed, never what was there (issue 17 item 11: root's agentctl must not
 * print another file's content): the byte offset, line and column of the first character that
 * cannot continue a JSON text (V8's position when it names one, else found by bisection).
 */
function jsonFailure(text: string, error: unknown): string {
  const position = (e: unknown) => {
    const m = /at position (\d+)/.exec(e instanceof Error ? e.message : '');
    return m ? Number(m[1]) : undefined;
  };
  // True when `t` failed only because it ended (V8 then names the end, or a position at its end).
  const ended = (t: string) => {
    try {
      JSON.parse(t);
      return false; // a whole JSON text: what follows it in the file is the culprit
    } catch (e) {
      if (/Unexpected end of JSON input/.test((e as Error).message)) return true;
      const at = position(e);
      return at !== undefined && at >= t.length;
    }
  };
  let at = position(error);
  if (at === undefined || at > text.length) {
    if (ended(text)) at = text.length;
    else {
      // V8 names no position ("Unexpected token"): the longest prefix that only ended early;
      // the character after it is the culprit.
      let good = 0;
      let bad = text.length;
      while (bad - good > 1) {
        const mid = (good + bad) >> 1;
        if (ended(text.slice(0, mid))) good = mid;
        else bad = mid;
      }
      at = bad - 1;
    }
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  const offset = Buffer.byteLength(before);
  return at >= text.length
    ? `the JSON text ends early (line ${line}, byte ${offset})`
    : `invalid JSON at line ${line}, column ${column} (byte ${offset})`;
}

/** Walks a parsed value without recursion: throws when it is deeper or larger than allowed. */
export function checkTree(value: unknown, limits: Pick<ConfigLimits, 'maxDepth' | 'maxObjects'> = configLimits): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  let objects = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (++objects > limits.maxObjects)
      throw new ConfigParseError('too_many_objects', `has more than ${limits.maxObjects} values`);
    if (depth > limits.maxDepth)
      throw new ConfigParseError('too_deep', `is nested deeper than ${limits.maxDepth} levels`);
    if (node === null || typeof node !== 'object' || node instanceof Date || ArrayBuffer.isView(node)) continue;
    const children = Array.isArray(node) ? node : Object.values(node as object);
    for (const child of children) stack.push([child, depth + 1]);
  }
}

/** Parses XML plist, binary plist (magic "bplist00") or JSON into a dictionary of keys, within the limits. */
export async function parseConfigBytes(buffer: Buffer, limits: ConfigLimits = configLimits): Promise<ConfigValues> {
  if (buffer.length > limits.maxBytes)
    throw new ConfigParseError(
      'too_large',
      `is ${buffer.length} bytes; configuration files are limited to ${limits.maxBytes} bytes`,
    );
  let parsed: unknown;
  try {
    const head = buffer.subarray(0, 8).toString('latin1');
    if (head === 'bplist00') {
      parsed = parseBinaryPlist(buffer, limits);
    } else if (head.startsWith('bplist')) {
      throw new Error('unsupported binary plist version (only bplist00 is read)');
    } else {
      // Messages say where parsing failed, never the text there (issue 17 item 11).
      const text = buffer.toString('utf8').replace(/^\uFEFF/, '');
      if (/^\s*[{[]/.test(text)) {
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          if (error instanceof RangeError) throw error;
          throw new Error(jsonFailure(text, error));
        }
      } else if (/^\s*</.test(text)) {
        try {
          parsed = parseXmlPlist(text, limits);
        } catch (error) {
          if (!(error instanceof XmlPlistError) || error.limit) throw error;
          throw new Error(`not a valid XML property list: ${error.message}`);
        }
      } else throw new Error('neither a property list (XML or binary) nor JSON');
    }
  } catch (error) {
    if (error instanceof ConfigParseError) throw error;
    const message =
      error instanceof RangeError
        ? `nested too deeply to parse (${error.message})`
        : error instanceof Error
          ? error.message
          : String(error);
    const code: ConfigParseCode = /more than \d+ objects/.test(message)
      ? 'too_many_objects'
      : /nested deeper|nested too deeply/.test(message)
        ? 'too_deep'
        : 'does_not_parse';
    throw new ConfigParseError(code, `does not parse: ${message}`);
  }
  checkTree(parsed, limits);
  if (
    parsed === null ||
    typeof parsed !== 'object' ||
    Array.isArray(parsed) ||
    parsed instanceof Date ||
    ArrayBuffer.isView(parsed)
  ) {
    throw new ConfigParseError('not_a_dictionary', 'does not parse: the top level is not a dictionary');
  }
  return parsed as ConfigValues;
}

/** What the parser process sends back: the values, or the error's code and message. */
export type ParseAnswer = { ok: true; values: ConfigValues } | { ok: false; code: ConfigParseCode; message: string };

/** The parser process's heap limit (MB): a file that needs more is refused as too large. */
const childHeapMb = 256;

/**
 * parseConfigBytes in a child process (parse-process.ts): the event loop stays free, the
 * parser's heap is capped, it is killed after limits.timeoutMs, and what it loads and allocates
 * is gone when it exits. Values cross with Node's structured clone (`serialization:
 * 'advanced'`), so dates, data and large integers arrive as they were parsed. Never rejects with
 * anything but ConfigParseError.
 */
export function parseConfigBytesInChild(buffer: Buffer, limits: ConfigLimits = configLimits): Promise<ConfigValues> {
  if (buffer.length > limits.maxBytes)
    return Promise.reject(
      new ConfigParseError(
        'too_large',
        `is ${buffer.length} bytes; configuration files are limited to ${limits.maxBytes} bytes`,
      ),
    );
  return askParserProcess<ParseAnswer>({ bytes: new Uint8Array(buffer), limits }, limits.timeoutMs).then((answer) => {
    if (answer.ok) return answer.values;
    throw new ConfigParseError(answer.code, answer.message);
  });
}

/**
 * Sends one request to a new parser process (parse-process.ts) and resolves with its one
 * answer: a config file's bytes, or another task it knows (the `profiles` output of
 * agent/trust/sso-targets.ts). Rejects only with ConfigParseError.
 */
export function askParserProcess<T>(message: object, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      // node:child_process only here: loading it costs every command that reads a configuration ~1 ms (issue 21).
      const { fork } = createRequire(import.meta.url)('node:child_process') as { fork: typeof Fork };
      child = fork(fileURLToPath(new URL('./parse-process.js', import.meta.url)), [], {
        // Its own flags, not the daemon's (an --inspect would clash); no environment but PATH.
        execArgv: [`--max-old-space-size=${childHeapMb}`],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
    } catch (error) {
      reject(new ConfigParseError('does_not_parse', `could not start the parser (${(error as Error).message})`));
      return;
    }
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (stderr.length < 4096) stderr += text;
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(new ConfigParseError('timed_out', `took longer than ${timeoutMs} ms to parse; it is ignored`)),
        ),
      timeoutMs,
    );
    timer.unref();
    child.once('message', (answer: T) => settle(() => resolve(answer)));
    child.once('error', (error) =>
      settle(() => reject(new ConfigParseError('does_not_parse', `could not run the parser (${error.message})`))),
    );
    // 'close', not 'exit': it comes after the IPC channel and stderr have closed, so an answer
    // sent just before the child exits has been delivered ('exit' can come first; seen once
    // at load as "stopped without an answer (exit 0)").
    child.once('close', (code, signal) =>
      settle(() =>
        reject(
          /heap out of memory/i.test(stderr)
            ? new ConfigParseError('too_large', 'needs more memory to parse than allowed; it is ignored')
            : new ConfigParseError(
                'does_not_parse',
                `the parser stopped without an answer (${signal ?? `exit ${code}`})`,
              ),
        ),
      ),
    );
    child.send(message);
  });
}
