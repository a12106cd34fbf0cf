// `npm run bench`: runs every dist/bench/*.bench.js in sequence (one at a time: the figures
// must not compete for the CPU) and prints their figures. Exit 1 when a budget is exceeded.
// `npm run bench -- keychain status` runs only the benchmarks whose names are given.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js') && (only.length === 0 || only.includes(f.replace(/\.bench\.js$/, ''))))
  .sort();
let over = 0;
for (const bench of benches) {
  console.log(`\n== ${bench.replace(/\.bench\.js$/, '')}`);
  const run = spawnSync(process.execPath, [path.join(here, bench)], { stdio: 'inherit' });
  if (run.status !== 0) over++;
}
console.log(`\n${benches.length} benchmark${benches.length === 1 ? '' : 's'}, ${over} over budget or failed`);
process.exit(over ? 1 : 0);
