// The configuration parser's worker thread (bounded-parse.ts parseConfigBytesOffThread): parses
// one file's bytes and posts the values, or the error's code and message.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigParseError, parseConfigBytes, type ConfigLimits } from './bounded-parse.js';

const { bytes, limits } = workerData as { bytes: Uint8Array; limits: ConfigLimits };
try {
  const values = await parseConfigBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), limits);
  parentPort!.postMessage({ ok: true, values });
} catch (error) {
  const code = error instanceof ConfigParseError ? error.code : 'does_not_parse';
  parentPort!.postMessage({ ok: false, code, message: error instanceof Error ? error.message : String(error) });
}
