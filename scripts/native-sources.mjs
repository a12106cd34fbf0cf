#!/usr/bin/env node
// Lists the addon's sources for binding.gyp (`<!@(node scripts/native-sources.mjs linux)`):
// native/addon.cc, every native/bindings/*.cc, native/posix/*.cc, and native/<os>/*.cc.
// A new native capability is its files; binding.gyp does not change.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const os = process.argv[2];
if (os !== 'darwin' && os !== 'linux') {
  console.error('usage: native-sources.mjs darwin|linux');
  process.exit(64);
}
const list = (dir) =>
  readdirSync(path.join(root, 'native', dir))
    .filter((f) => f.endsWith('.cc'))
    .sort()
    .map((f) => `native/${dir}/${f}`);
console.log(['native/addon.cc', ...list('bindings'), ...list('posix'), ...list(os)].join('\n'));
