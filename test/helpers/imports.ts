// What a real agentctl run loads (its own modules, under dist/agent), recorded by the
// import-trace hooks; used by the layering test and the benchmark.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentctlPath, distRoot } from './agent.js';

const hooks = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'helpers',
  'import-trace.mjs',
);

/** The project modules (paths relative to dist/agent) an agentctl invocation loads. */
export function agentctlImports(args: string[]): { modules: string[]; packages: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-imports-'));
  try {
    const file = path.join(dir, 'trace');
    spawnSync(process.execPath, ['--import', hooks, agentctlPath, ...args], {
      env: { ...process.env, TG_IMPORT_TRACE: file },
      stdio: 'ignore',
    });
    const urls = [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
    const agentRoot = `${path.join(distRoot, 'agent')}${path.sep}`;
    const files = urls.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
    return {
      modules: files
        .filter((f) => f.startsWith(agentRoot))
        .map((f) => path.relative(agentRoot, f))
        .sort(),
      packages: [
        ...new Set(files.map((f) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter((p): p is string => !!p)),
      ].sort(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
