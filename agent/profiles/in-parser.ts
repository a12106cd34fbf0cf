// Profiles in the daemon (issue 19: "in the daemon, parsed in the parser child"): agentd never
// parses a profile itself. readProfileInParser sends the bytes (`profiles show -output
// stdout-xml` output for the SSO doctor, or a file's) to a parser process
// (agent/config/parse-process.ts, task 'profile': parser-task.ts), which runs the one reader and
// answers its ReadResult: the same document `agentctl doctor profile` reads, dates, data and
// certificates as they were parsed, but without the lines of XML keys (findings about it name
// key paths). This file imports the reader's types only, so agentd's bundle holds no parser.
import { askParserProcess, configLimits, ConfigParseError } from '../config/bounded-parse.js';
import type { ProfileRequest } from './parser-task.js';
import type { ReadResult } from './reader.js';

const maxProfileBytes = 16 * 1024 * 1024; // parser-task.ts maxProfileBytes
const failureCodes = new Set([
  'file_unreadable',
  'file_too_large',
  'not_a_profile',
  'plist_malformed',
  'plist_too_complex',
  'cms_corrupt',
]);
const kinds = new Set(['profile', 'installed', 'preferences']);

const failure = (code: Extract<ReadResult, { ok: false }>['code'], message: string): ReadResult => ({
  ok: false,
  code,
  message,
  line: null,
  column: null,
  signed: false,
});

/**
 * Buffers cross as Uint8Array: those of the signed envelope (content, certificates, the signer)
 * are made Buffers again, as the reader gives them (no copy, in place; a plist's <data> is a
 * Uint8Array already).
 * The tree is the reader's, already bounded in depth and size; the walk is iterative all the same.
 */
function restoreBuffers(value: unknown): void {
  const stack: unknown[] = [value];
  let visited = 0;
  while (stack.length > 0 && visited++ < 1_000_000) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || node instanceof Date || ArrayBuffer.isView(node)) continue;
    const entries: Array<[string | number, unknown]> = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node);
    for (const [k, v] of entries) {
      if (v instanceof Uint8Array && !Buffer.isBuffer(v))
        (node as Record<string | number, unknown>)[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      else stack.push(v);
    }
  }
}

/**
 * Reads a profile in a new parser process: at most `maxBytes` (configuration files' 1 MB unless
 * given, at most 16 MB, as `profiles show` output may need), killed after `timeoutMs`. Never
 * rejects: a parser that fails, runs out of time or memory is a failure ReadResult.
 */
export async function readProfileInParser(
  bytes: Uint8Array,
  file: string,
  options: { maxBytes?: number; timeoutMs?: number } = {},
): Promise<ReadResult> {
  const maxBytes = Math.min(options.maxBytes ?? configLimits.maxBytes, maxProfileBytes);
  if (bytes.byteLength > maxBytes)
    return failure('file_too_large', `is ${bytes.byteLength} bytes; profiles are limited to ${maxBytes} bytes`);
  const request: ProfileRequest = { task: 'profile', bytes, file, maxBytes };
  let answer: ReadResult;
  try {
    answer = await askParserProcess<ReadResult>(request, options.timeoutMs ?? configLimits.timeoutMs);
  } catch (error) {
    const e = error as ConfigParseError;
    if (e.code === 'too_large' || e.code === 'timed_out') return failure('plist_too_complex', e.message);
    return failure('file_unreadable', e instanceof ConfigParseError ? e.message : String(error));
  }
  // It crossed a process boundary: check its shape before anyone uses it.
  if (answer?.ok === true) {
    const d = answer.document as Partial<ReadResult & { ok: true }>['document'];
    if (d && d.root !== null && typeof d.root === 'object' && !Array.isArray(d.root) && kinds.has(d.kind!)) {
      restoreBuffers(d.signed);
      return { ok: true, document: { ...d, file, lines: null } };
    }
  } else if (answer?.ok === false && failureCodes.has(answer.code) && typeof answer.message === 'string')
    return {
      ok: false,
      code: answer.code,
      message: answer.message.slice(0, 1000),
      line: typeof answer.line === 'number' ? answer.line : null,
      column: typeof answer.column === 'number' ? answer.column : null,
      signed: answer.signed === true,
    };
  return failure('file_unreadable', 'the parser process gave an answer of the wrong shape');
}
