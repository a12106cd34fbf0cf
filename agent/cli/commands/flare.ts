// `agentctl flare [--output FILE]`: writes the support bundle (agent/cli/flare.ts) as one
// .tar.gz, mode 0600, and says where and what a reduced bundle left out. Exit 0 written, 1 not.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandInput } from '../../capability.js';
import { loadConfig } from '../../config/load.js';
import { exitCodes } from '../../exit-codes.js';
import { buildFlare, flareLimits } from '../flare.js';
import { progressLine } from '../progress.js';
import { chooseSocket } from '../socket.js';
import { tarGz } from '../tar.js';
import { gatherContext } from './doctor.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { output?: string; lines?: number; socket?: string; config?: string };
  if (options.socket !== undefined && options.config !== undefined) {
    console.error('agentctl flare: --socket and --config name the socket twice; give one');
    return exitCodes.usage;
  }
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const folder = `trustguard-flare-${os
    .hostname()
    .replace(/[^A-Za-z0-9.-]/g, '_')
    .slice(0, 40)}-${stamp}`;
  const output = path.resolve(options.output ?? `${folder}.tar.gz`);
  const progress = progressLine();
  progress.update('asking the daemon…');
  const context = await gatherContext(options);
  const loaded = await loadConfig({ configFile: options.config });
  const socket = await chooseSocket(options);
  const flare = await buildFlare({
    context,
    loaded,
    socketPath: socket.path,
    lines: options.lines ?? flareLimits.defaultLines,
    progress: (text) => progress.update(text),
  });
  progress.done();
  const archive = tarGz(flare.files.map((f) => ({ name: `${folder}/${f.name}`, data: f.data })));
  try {
    writeFileSync(output, archive, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    console.error(`agentctl flare: cannot write ${output}: ${(error as Error).message}`);
    return exitCodes.error;
  }
  console.log(`Wrote ${output} (${Math.ceil(archive.length / 1024)} KB, ${flare.files.length} files).`);
  if (flare.missing.length) {
    console.error('A reduced bundle; it leaves out:');
    for (const m of flare.missing) console.error(`  - ${m}`);
  }
  console.log('Attach it to the support ticket; secrets from the configuration are cut from every file.');
  return exitCodes.ok;
}
