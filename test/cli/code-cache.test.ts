// agentctl's V8 code caches (agent/cli/agentctl.cts, scripts/bundle.mjs, issue 21): each of its
// bundles has one that V8 accepts in a process with Node's default flags, and code that runs
// from a cache still imports what its bundle leaves out, without a word on stderr.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentctl, agentctlPath, distRoot } from '../helpers/agent.js';

const agentDist = path.join(distRoot, 'agent');
/** What tsc writes (not bundles): agentctl's entry and agentd's. */
const entries = new Set([agentctlPath, path.join(agentDist, 'daemon', 'agentd.cjs')]);

function withoutNodeOptions(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/** The bundles agentctl can load: its main bundle, status's, and what they require, in turn. */
function agentctlBundles(): string[] {
  const found = new Set([
    path.join(agentDist, 'cli', 'agentctl-main.cjs'),
    path.join(agentDist, 'cli', 'commands', 'status.cjs'),
  ]);
  for (const file of found)
    for (const [, relative] of readFileSync(file, 'utf8').matchAll(/require\("(\.\.?\/[^"]+\.cjs)"\)/g)) {
      const target = path.resolve(path.dirname(file), relative!);
      if (!entries.has(target)) found.add(target);
    }
  return [...found];
}

test('every agentctl bundle has a code cache, and a node with default flags accepts each', (t) => {
  const bundles = agentctlBundles();
  t.true(bundles.includes(path.join(agentDist, 'trust', 'trust-command.cjs')));
  t.true(bundles.includes(path.join(agentDist, 'config', 'load.cjs')));
  // An XML configuration goes through agent/config/xml-plist.ts: no agentctl bundle requires
  // the plist package's parser (xmldom: 20-30 ms to load, issue 21).
  t.false(bundles.includes(path.join(agentDist, 'config', 'plist.cjs')));
  t.true(bundles.includes(path.join(agentDist, 'cli', 'agentctl-main.cjs')));
  t.true(bundles.includes(path.join(agentDist, 'cli', 'commands', 'status.cjs')));
  t.deepEqual(
    bundles.filter((f) => !existsSync(`${f}.cache`)),
    [],
    'a bundle without its cache',
  );
  const script = `
    const { compileBundle } = require(${JSON.stringify(agentctlPath)});
    const { readFileSync } = require('node:fs');
    const rejected = JSON.parse(process.argv[1]).filter(
      (f) => compileBundle(f, readFileSync(f, 'utf8'), readFileSync(f + '.cache')).cachedDataRejected,
    );
    console.log(JSON.stringify(rejected));`;
  const run = spawnSync(process.execPath, ['-e', script, JSON.stringify(bundles)], {
    encoding: 'utf8',
    env: withoutNodeOptions(),
  });
  t.is(run.status, 0, run.stderr);
  t.deepEqual(JSON.parse(run.stdout), [], 'caches V8 rejects');
});

test('a command run from its cache imports the configuration loader its bundle leaves out, silently', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-code-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'agent.json');
  const socket = path.join(dir, 'no-daemon.sock');
  writeFileSync(config, JSON.stringify({ ControlSocketPath: socket }));
  // version --config: import('../../config/load.js') from the cached version.cjs.
  const r = await agentctl(['version', '--config', config], { env: { NODE_OPTIONS: '' } });
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes(`not reachable (cannot connect to ${socket} (ENOENT))`), r.stdout);
  t.is(r.stderr, '');
});
