// The configuration parser's own process (bounded-parse.ts askParserProcess): receives one
// request, sends back one answer, and exits. A request is a configuration file's bytes and
// limits (answered with the values or the error's code and message), or `profiles` output
// whose SSO targets agent/trust/sso-targets.ts wants (parsed here, so that agentd never holds
// up to 16 MB of XML tree), or a configuration profile for agent/profiles/in-parser.ts (the
// profile reader's document: agentd never parses a profile itself), or `profiles` output whose
// SSO payloads agent/sso/installed-service.ts answers (reduced here: agent/sso/installed-task.ts).
import type { ProfileRequest } from '../profiles/parser-task.js';
import type { InstalledRequest } from '../sso/installed-task.js';
import { ssoTargetsFromOutput } from '../trust/sso-targets.js';
import { ConfigParseError, parseConfigBytes, type ConfigLimits, type ParseAnswer } from './bounded-parse.js';

type Request =
  | { task?: undefined; bytes: Uint8Array; limits: ConfigLimits }
  | { task: 'sso_targets'; bytes: Uint8Array }
  | ProfileRequest
  | InstalledRequest;

const reply = (answer: unknown) => process.send!(answer, () => process.disconnect());

process.once('message', (request: Request) => {
  if (request.task === 'sso_targets') {
    void ssoTargetsFromOutput(request.bytes).then(reply);
    return;
  }
  if (request.task === 'profile') {
    // Loaded only for this task: parsing a configuration file needs none of the profile reader.
    void import('../profiles/parser-task.js').then(({ answerProfileRequest }) => reply(answerProfileRequest(request)));
    return;
  }
  if (request.task === 'sso_installed') {
    void import('../sso/installed-task.js').then(({ answerInstalledRequest }) =>
      reply(answerInstalledRequest(request)),
    );
    return;
  }
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
    .then(reply);
});
