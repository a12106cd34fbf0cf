#!/usr/bin/env node
// Builds the addon with node-gyp. node-gyp downloads Node's headers unless it is told where
// they are; machines without internet (CI, air-gapped build hosts) have them next to the
// running node, so point node-gyp there when nobody configured a nodedir.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild'];
const configured = process.env.npm_config_nodedir;
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!configured && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(run.status ?? 1);
