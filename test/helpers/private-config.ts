// A temporary folder with a configuration file of its own for standalone agentctl commands:
// its socket answers nobody and its paths are private, so neither a daemon running on this
// machine nor the system preference files are ever consulted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function privateAgentConfig(
  prefix: string,
  values: Record<string, unknown> = {},
): { dir: string; configFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const configFile = path.join(dir, 'agent.json');
  const paths = { ControlSocketPath: path.join(dir, 'none.sock'), StateDirectory: dir, LogDirectory: dir };
  writeFileSync(configFile, JSON.stringify({ ...paths, ...values }));
  return { dir, configFile };
}
