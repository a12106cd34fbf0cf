// `agentctl status`: asks the daemon and prints the verdict, the problems, then its sections;
// exits 0 healthy, 2 any problem, 1 daemon unreachable or error, 64 usage. Support staff run this
// and it must answer at once: agentd renders the human view (`status.text`, agent/cli/status.ts
// statusText) in this terminal's style, and this command loads only node:net to ask for it. The
// formatter (../status.js) loads here only for --json, or for an agentd older than status.text.
import type { CommandInput, FlagValue } from '../../capability.js';
import type { ControlResponse } from '../../control/protocol.js';
import { DaemonUnreachableError, request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import type { StatusText, StatusTextRequest } from '../status.js';
import { chooseSocket, unreachableMessage } from '../socket.js';
import { statusFlags } from '../status-flags.js';
import { stdoutStyle, writeStdoutNow } from '../style.js';

/**
 * `agentctl status ARGS` straight from agentctl's entry (agent/cli/agentctl.cts), without
 * agentctl's command table (every capability's descriptors; status's flags are in
 * ../status-flags.ts): issue 21, status within 1.15 × `node -e 0`. Only a command line that
 * agentctl would run as it is runs here: status's own flags (its descriptor's), `--name`,
 * `--name value` or `--name=value`, no argument. For any other (--help, a usage error, a value
 * that looks like a flag) it returns false having done nothing, and agentctl parses it as
 * always. (Not node:util's parseArgs: its first call costs
 * about a millisecond, and this accepts a subset of what it would give the same values.)
 */
export function runFromEntry(argv: string[]): boolean {
  const specs = statusFlags;
  if (specs.some((f) => f.required)) return false;
  const flags: Record<string, FlagValue> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(argv[i]!);
    const flag = match && specs.find((f) => f.name === match[1]);
    if (!match || !flag || flag.multiple || flag.choices || flag.integer) return false;
    const inline = match[2];
    if (!flag.value) {
      if (inline !== undefined) return false;
      flags[flag.name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('-'))) return false;
    flags[flag.name] = value;
  }
  run({ args: [], flags }).then(
    (code) => {
      process.exitCode = code;
      // The verdict is on stdout and the daemon's socket is closed: leave once stdout has
      // taken it, without the event loop's last turn (where V8 collected garbage, ~1.5 ms).
      // Not after an error: its sentence is on stderr.
      if (code !== exitCodes.ok && code !== exitCodes.checkFailed) return;
      if (written) process.exit();
      else process.stdout.write('', () => process.exit());
    },
    (error: unknown) => {
      console.error(`agentctl: ${(error as Error).message}`);
      process.exitCode = exitCodes.error;
    },
  );
  return true;
}

/** True once run() has written all its output with write(2): nothing is left for process.stdout. */
let written = false;

/** agentd's `status.text` answer, when it has that shape: the text and an exit code status may give. */
function asStatusText(result: unknown): StatusText | null {
  const answer = result as Partial<StatusText> | null;
  return answer !== null &&
    typeof answer === 'object' &&
    typeof answer.text === 'string' &&
    (answer.exit_code === exitCodes.ok || answer.exit_code === exitCodes.checkFailed)
    ? (answer as StatusText)
    : null;
}

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; verbose?: boolean; socket?: string; config?: string };
  if (options.socket !== undefined && options.config !== undefined) {
    console.error('agentctl status: --socket and --config name the socket twice; give one');
    return exitCodes.usage;
  }
  let socket = await chooseSocket(options, { preferDefault: true });
  const style = options.json ? null : stdoutStyle();
  const textRequest: StatusTextRequest | null = style && { ...style, verbose: options.verbose === true };
  // What was asked last: an agentd older than status.text answers it unknown_request, and is
  // asked for its status answer, rendered here.
  let asked: 'status.text' | 'status' = textRequest ? 'status.text' : 'status';
  const ask = (path: string): Promise<ControlResponse> =>
    asked === 'status.text' ? request(path, asked, { ...textRequest }) : request(path, asked);
  let response: ControlResponse;
  try {
    response = await ask(socket.path).catch(async (error: unknown) => {
      // The default socket, taken without reading the preference files: when it does not
      // answer, the socket they name, if another.
      const other = error instanceof DaemonUnreachableError && socket.configured ? await socket.configured() : null;
      if (!other || other.path === socket.path) throw error;
      socket = other;
      return ask(other.path);
    });
    if (asked === 'status.text' && !response.ok && response.error.code === 'unknown_request') {
      asked = 'status';
      response = await ask(socket.path);
    }
  } catch (error) {
    if (error instanceof DaemonUnreachableError) {
      console.error(unreachableMessage(socket.path, error.code));
      return exitCodes.error;
    }
    console.error(`agentctl: ${(error as Error).message}`);
    return exitCodes.error;
  }
  if (!response.ok) {
    console.error(`agentctl: the daemon refused status: ${response.error.message}`);
    return exitCodes.error;
  }
  if (asked === 'status.text') {
    const answer = asStatusText(response.result);
    if (!answer) {
      console.error('agentctl: the daemon answered status.text with an answer of the wrong shape');
      return exitCodes.error;
    }
    written = writeStdoutNow(`${answer.text}\n`);
    return answer.exit_code;
  }
  const { renderStatus, statusExitCode, statusJson } = await import('../status.js');
  const status = response.result as Record<string, unknown>;
  written = writeStdoutNow(
    options.json
      ? `${JSON.stringify(statusJson(status), null, 2)}\n`
      : `${renderStatus(status, process.stdout, { verbose: options.verbose === true })}\n`,
  );
  return statusExitCode(status);
}
