import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sources = (dir: string) =>
  readdirSync(path.join(root, 'native', dir))
    .filter((f) => f.endsWith('.cc'))
    .sort();

test('every darwin source has a linux twin of the same name, and vice versa', (t) => {
  t.deepEqual(sources('darwin'), sources('linux'));
  t.true(sources('darwin').length > 0);
});

test('binding.gyp builds every binding, posix and platform source on its platform', (t) => {
  for (const os of ['darwin', 'linux']) {
    const listed = spawnSync(process.execPath, [path.join(root, 'scripts', 'native-sources.mjs'), os], {
      encoding: 'utf8',
    }).stdout.split('\n');
    for (const dir of ['bindings', 'posix', os]) {
      for (const file of sources(dir))
        t.true(listed.includes(`native/${dir}/${file}`), `${os} build misses native/${dir}/${file}`);
    }
  }
  const gyp = readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  t.true(gyp.includes('native-sources.mjs darwin') && gyp.includes('native-sources.mjs linux'));
});

test('each binding registers itself and has a typed wrapper', (t) => {
  for (const file of sources('bindings')) {
    const name = file.replace(/\.cc$/, '');
    t.regex(
      readFileSync(path.join(root, 'native', 'bindings', file), 'utf8'),
      new RegExp(`TG_NATIVE_CAPABILITY\\(${name},`),
    );
    t.notThrows(() => readFileSync(path.join(root, 'native', `${name}.ts`)), `native/${name}.ts is missing`);
  }
});

test('darwin sources use C APIs only: no Objective-C, no Foundation', (t) => {
  for (const file of sources('darwin')) {
    const text = readFileSync(path.join(root, 'native', 'darwin', file), 'utf8');
    t.false(/#\s*(import|include)\s*<Foundation\//.test(text), `${file} includes Foundation`);
    t.false(/@(interface|implementation|autoreleasepool)|\[\[?\w+ \w+\]/.test(text), `${file} contains Objective-C`);
  }
});
