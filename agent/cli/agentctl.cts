#!/usr/bin/env node
// agentctl's entry point (package.json's bin; the package's bin/agentctl runs it). It stays tiny
// and CommonJS, with node: built-ins only (scripts/bundle.mjs leaves it out of the bundles): it
// makes require() use the V8 code caches that the build stored beside agentctl's bundles, then
// requires agentctl itself (agentctl-main.cjs, the bundle of ./agentctl.ts).
//
// Why (issue 21: `status` within 1.15 × `node -e 0`): Node 20 keeps no compile cache for user
// code (module.enableCompileCache is Node 22), and compiling is much of a command's own time:
// V8 pre-parses a whole bundle before running it, then compiles each function it calls.
// `<bundle>.cache` is V8's code cache of every function of the bundle (scripts/bundle.mjs);
// with it V8 deserializes the code instead of compiling it: about 5 ms off `status`, 20 ms off
// `trust FILE` (bench/README.md).
//
// - Nothing is ever written at run time: the caches are build products, in the install root
//   beside the bundles, as trusted as the code they hold. Only files under dist/agent/ are
//   looked up; one without a `.cache` compiles as usual.
// - V8 checks the cache (its own version, flags and the source's length) and compiles the
//   source when the cache does not fit (`cachedDataRejected`): another Node's cache is never
//   used. The check is the length, so a bundle is never edited in place: rebuild.
// - The module runs as Node runs it: the same wrapper function and arguments. Stack traces
//   name the bundle by its path in the package (dist/agent/...: V8 keeps the name the script had
//   when the build made its cache), with its lines and columns (the wrapper is on a line of its
//   own, lineOffset -1).
//   With source maps on (--enable-source-maps), which vm.Script does not apply, Node compiles.
// - import() does not work in code that V8 took from a cache (Node 20 loses the script's import
//   callback), so the build makes each import() in a bundle a call of importFrom below, which
//   Node compiled: the same module, through Node's own ES module loader.
import { readFileSync } from 'node:fs';
import type NodeModule from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

// Node's CommonJS Module class, which node:module exports too: that module also loads the ES
// module loader (about 1 ms of `status`).
const Module = module.constructor as typeof NodeModule;

/** A CommonJS file's text as the function Node makes of it, the file from line 2 on. */
function wrap(content: string): string {
  return `(function (exports, require, module, __filename, __dirname) {\n${content.replace(/^#!/, '//')}\n})`;
}

/** How both the build (scripts/bundle.mjs) and require() compile a bundle. */
export function compileBundle(filename: string, content: string, cachedData?: Buffer): vm.Script {
  return new vm.Script(wrap(content), { filename, lineOffset: -1, cachedData });
}

/** `import(specifier)` as written in the file `from` (a bundle: scripts/bundle.mjs). */
export function importFrom(from: string, specifier: string): Promise<unknown> {
  return import(
    specifier.startsWith('.') ? pathToFileURL(path.resolve(path.dirname(from), specifier)).href : specifier
  );
}

interface StatusCommand {
  runFromEntry(argv: string[]): boolean;
}

type Compile = (this: NodeModule, content: string, filename: string, ...rest: unknown[]) => unknown;

function useCodeCaches(): void {
  const root = `${path.dirname(__dirname)}${path.sep}`;
  const prototype = Module.prototype as unknown as { _compile: Compile };
  const compile = prototype._compile;
  if (process.sourceMapsEnabled) return;
  prototype._compile = function (content, filename, ...rest) {
    let cachedData: Buffer | undefined;
    try {
      if (filename.startsWith(root)) cachedData = readFileSync(`${filename}.cache`);
    } catch {
      // No cache: compiled as usual.
    }
    if (cachedData === undefined) return compile.call(this, content, filename, ...rest);
    const wrapper = compileBundle(filename, content, cachedData).runInThisContext({ displayErrors: true });
    const dirname = path.dirname(filename);
    return wrapper.call(this.exports, this.exports, Module.createRequire(filename), this, filename, dirname);
  };
}

/**
 * require() of one of agentctl's own bundles (a path beside this file), without require's
 * resolution, which stats the path and reads package.json files above it (about 1 ms of
 * `status`). The module is put in require's cache as require would. With source maps on (no
 * code caches: useCodeCaches), plain require().
 */
function requireBundle(relative: string): unknown {
  const filename = path.join(__dirname, relative);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.sourceMapsEnabled) return require(filename);
  const cached = require.cache[filename];
  if (cached) return cached.exports;
  const loaded = new Module(filename, module);
  loaded.filename = filename;
  require.cache[filename] = loaded;
  (Module.prototype as unknown as { _compile: Compile })._compile.call(
    loaded,
    readFileSync(filename, 'utf8'),
    filename,
  );
  loaded.loaded = true;
  return loaded.exports;
}

// The build requires this file for compileBundle, a bundle for importFrom; only `node agentctl.cjs` runs agentctl.
if (require.main === module) {
  useCodeCaches();
  // require(), not import(): import() would start Node's ES module loader (about 10 ms).
  /* eslint-disable @typescript-eslint/no-require-imports */
  // `agentctl status`, what support staff run most, goes straight to its command, which needs
  // none of agentctl's command table (agent/cli/commands/status.ts, runFromEntry).
  const argv = process.argv.slice(2);
  const status = argv[0] === 'status' && (requireBundle('commands/status.cjs') as StatusCommand);
  if (!status || !status.runFromEntry(argv.slice(1))) require('./agentctl-main.cjs');
  /* eslint-enable @typescript-eslint/no-require-imports */
}
