// Records every module a process loads: run node with
// `--import <this file>` and TG_IMPORT_TRACE=<file>; each resolved URL is appended to the file.
// ES modules are recorded by the hooks as they resolve; CommonJS modules (agentctl's bundles)
// do not pass through them, so the require cache is recorded when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.TG_IMPORT_TRACE;
register('./import-trace-hooks.mjs', import.meta.url, { data: { file } });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const loaded = Object.keys(cache).filter((f) => f.startsWith('/'));
  if (file && loaded.length) appendFileSync(file, loaded.map((f) => `${pathToFileURL(f).href}\n`).join(''));
});
