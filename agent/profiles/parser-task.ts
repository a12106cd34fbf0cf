// The parser process's side of reading a profile for the daemon (agent/config/parse-process.ts,
// task 'profile'; the daemon's side is in-parser.ts): the one reader (reader.ts), within the
// bounds of configuration files (depth, object count; the size the daemon asked, at most
// maxProfileBytes), and an answer that crosses the process boundary by structured clone. The
// lines of XML keys stay here: they live in WeakMaps, which do not cross.
import { configLimits } from '../config/bounded-parse.js';
import { readProfileBytes, type ReadResult } from './reader.js';

/** As agent/trust/sso-targets.ts bounds `profiles show -output stdout-xml` output. */
export const maxProfileBytes = 16 * 1024 * 1024;

export interface ProfileRequest {
  task: 'profile';
  bytes: Uint8Array;
  /** The name findings show (a path, or e.g. "profiles show"). */
  file: string;
  maxBytes: number;
}

/** Runs in the parser process. Never throws for anything the bytes hold. */
export function answerProfileRequest(request: ProfileRequest): ReadResult {
  const { bytes } = request;
  const maxBytes = Math.min(Number(request.maxBytes) || configLimits.maxBytes, maxProfileBytes);
  const result = readProfileBytes(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    String(request.file).slice(0, 1024),
    { ...configLimits, maxBytes },
  );
  return result.ok ? { ok: true, document: { ...result.document, lines: null } } : result;
}
