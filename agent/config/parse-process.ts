// The configuration parser's own process (bounded-parse.ts parseConfigBytesInChild): receives
// one file's bytes and its limits, sends back the values or the error's code and message, and
// exits.
import { ConfigParseError, parseConfigBytes, type ConfigLimits, type ParseAnswer } from './bounded-parse.js';

process.once('message', (request: { bytes: Uint8Array; limits: ConfigLimits }) => {
  const { bytes, limits } = request;
  void parseConfigBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), limits)
    .then(
      (values): ParseAnswer => ({ ok: true, values }),
      (error: unknown): ParseAnswer => ({
        ok: false,
        code: error instanceof ConfigParseError ? error.code : 'does_not_parse',
        message: error instanceof Error ? error.message : String(error),
      }),
    )
    .then((answer) => process.send!(answer, () => process.disconnect()));
});
