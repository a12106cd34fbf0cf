// The capability seam (agent/capability.ts): agentd and agentctl know capabilities only through
// the registry, and `--help` / `status` load no command code they do not run.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { capabilities } from '../../agent/capabilities.js';
import { agentctlImports } from '../helpers/imports.js';

const sourceRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const agentRoot = path.join(sourceRoot, 'agent');

function sources(dir: string): string[] {
  return readdirSync(path.join(agentRoot, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** Every module a source file imports, statically or with import(), relative to agent/. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(agentRoot, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'([^']+)'/g)].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => path.normalize(path.join(path.dirname(file), s)));
}

const capabilityFolders = readdirSync(agentRoot, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .filter((name) => readdirSync(path.join(agentRoot, name)).includes('index.ts'));

test('the registry lists every capability folder, and each folder exports its descriptor from index.ts', (t) => {
  t.true(capabilityFolders.includes('clock'));
  t.deepEqual([...capabilities.map((c) => c.name)].sort(), [...capabilityFolders].sort());
});

test('agent/cli and agent/daemon import no capability folder (only the registry and the contract)', (t) => {
  for (const file of [...sources('cli'), ...sources('daemon')]) {
    for (const imported of importsOf(file)) {
      const top = imported.split(path.sep)[0]!;
      t.false(capabilityFolders.includes(top), `${file} imports ${imported}`);
    }
  }
});

test('agentctl --help loads no command code; status loads only its own command', (t) => {
  const isCommandCode = (m: string) => /(^|\/)(commands\/.*|[a-z-]+-command)\.c?js$/.test(m);
  const help = agentctlImports(['--help']);
  t.deepEqual(help.modules.filter(isCommandCode), [], help.modules.join(', '));
  t.deepEqual(help.packages, [], 'no npm package is loaded for --help');
  const status = agentctlImports(['status', '--socket', '/nonexistent/agent.sock']);
  t.deepEqual(status.modules.filter(isCommandCode), ['cli/commands/status.cjs']);
  t.deepEqual(status.packages, [], 'no npm package is loaded for status');
  // Capability code on status's path is its descriptor and its status view only.
  for (const m of status.modules) {
    const top = m.split('/')[0]!;
    if (capabilityFolders.includes(top)) t.regex(m, /\/(index|status-view|wording)\.js$/, m);
  }
});
