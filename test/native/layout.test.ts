import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sources = (dir: string) => readdirSync(path.join(root, 'native', dir)).filter((f) => f.endsWith('.cc')).sort();

test('every darwin source has a linux twin of the same name, and vice versa', (t) => {
  t.deepEqual(sources('darwin'), sources('linux'));
  t.true(sources('darwin').length > 0);
});

test('binding.gyp builds every platform source on its platform', (t) => {
  const gyp = readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  for (const dir of ['darwin', 'linux']) {
    for (const file of sources(dir)) t.true(gyp.includes(`native/${dir}/${file}`), `binding.gyp does not build native/${dir}/${file}`);
  }
});

test('darwin sources use C APIs only: no Objective-C, no Foundation', (t) => {
  for (const file of sources('darwin')) {
    const text = readFileSync(path.join(root, 'native', 'darwin', file), 'utf8');
    t.false(/#\s*(import|include)\s*<Foundation\//.test(text), `${file} includes Foundation`);
    t.false(/@(interface|implementation|autoreleasepool)|\[\[?\w+ \w+\]/.test(text), `${file} contains Objective-C`);
  }
});
