#!/usr/bin/env node
// After tsc: bundles agentctl's fast path in place. Node 20 pays about 2 ms of CPU per ES
// module at start-up, and `agentctl status` must answer at once (bench: ≤ 1.3 × `node -e 0`),
// so dist/agent/cli/agentctl.js (the dispatcher, the registry, each capability's descriptor and
// status view) and dist/agent/cli/commands/status.js (the status command and what it renders)
// each become one file. Every dynamic import() stays a separate module, loaded on demand, with
// its path rewritten relative to the bundle: no command's code is loaded by --help.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const agent = path.join(root, 'dist', 'agent');
const entries = ['cli/agentctl.js', 'cli/commands/status.js'];

for (const entry of entries) {
  const file = path.join(agent, entry);
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'keep-dynamic-imports',
        setup(b) {
          b.onResolve({ filter: /^\./ }, (args) => {
            if (args.kind !== 'dynamic-import') return undefined;
            let relative = path.relative(path.dirname(file), path.resolve(args.resolveDir, args.path));
            if (!relative.startsWith('.')) relative = `./${relative}`;
            return { path: relative, external: true };
          });
        },
      },
    ],
  });
}
