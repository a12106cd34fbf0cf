// `agentctl config show`: the running daemon's configuration in force (which may be a last
// good one that differs from the files), or the files' when the daemon is not running.
import type { CommandInput } from '../../capability.js';
import { describeConfig, loadConfig } from '../../config/load.js';
import { systemConfigFiles } from '../../config/defaults.js';
import { DaemonUnreachableError, request } from '../../control/client.js';
import { exitCodes } from '../../exit-codes.js';
import { renderSection, styleFor } from '../format.js';
import { chooseSocket } from '../socket.js';

/** A value for people: "not set", "set, 43 characters" for a secret, lists joined, no JSON quotes. */
export function plainValue(value: unknown, localValue?: unknown): string {
  if (value === '<redacted>')
    return typeof localValue === 'string' && localValue
      ? `set, ${localValue.length} characters (secret, not shown)`
      : 'set (secret, not shown)';
  if (value === undefined || value === null || value === '') return 'not set';
  if (Array.isArray(value)) return value.length ? value.map((v) => plainValue(v)).join(', ') : 'none';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function describeSource(source: string | undefined): string {
  if (!source || source === 'default') return ' (default)';
  if (source.startsWith(systemConfigFiles[0])) return ` (from the profile${source.slice(systemConfigFiles[0].length)})`;
  return ` (from ${source})`;
}

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; socket?: string; config?: string };
  // A running daemon is asked first: its configuration in force may be a last good one
  // that differs from the files on disk.
  const socket = await chooseSocket(options);
  let origin: string;
  let shown: { files: string[]; problems: string[]; keys: Record<string, { value: unknown; source: string }> };
  try {
    const response = await request(socket.path, 'config');
    if (!response.ok) throw new Error(response.error.message);
    shown = response.result as typeof shown;
    origin = `the running daemon (${socket.path})`;
  } catch (error) {
    if (!(error instanceof DaemonUnreachableError)) throw error;
    const loaded = await loadConfig({ configFile: options.config });
    shown = { files: loaded.files, problems: loaded.problems, keys: describeConfig(loaded) };
    origin = 'the configuration files (the daemon is not running)';
  }
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ origin: origin.startsWith('the running') ? 'daemon' : 'files', files: shown.files, problems: shown.problems, keys: shown.keys }, null, 2)}\n`,
    );
    return exitCodes.ok;
  }
  const style = styleFor(process.stdout);
  const width = Math.max(...Object.keys(shown.keys).map((k) => k.length));
  // A secret's length comes from the files this user can read (the daemon's answer has none).
  const redactedKeys = Object.entries(shown.keys).filter(([, { value }]) => value === '<redacted>');
  let local: Record<string, unknown> = {};
  if (redactedKeys.length > 0) {
    try {
      local = (await loadConfig({ configFile: options.config })).config as Record<string, unknown>;
    } catch {
      local = {};
    }
  }
  const rows = Object.entries(shown.keys).map(([key, { value, source }]): [string, string] => [
    key,
    `${plainValue(value, local[key])}${describeSource(source)}`,
  ]);
  const out = [
    `Effective configuration from ${origin}`,
    `Files: ${shown.files.length ? shown.files.join(', ') : 'none (defaults)'}`,
    renderSection('Configuration', rows, style, width),
  ];
  if (shown.problems.length)
    out.push(
      renderSection(
        'Problems',
        shown.problems.map((p): [string, string] => ['-', p]),
        style,
        1,
      ),
    );
  process.stdout.write(`${out.join('\n')}\n`);
  return exitCodes.ok;
}
