#!/usr/bin/env node
// After tsc: bundles the two programs whose cost is budgeted (bench/status.bench.ts).
//
// - agentd's bundle (dist/agent/daemon/agentd-main.js, in place): one ES module with its npm
//   packages, tree-shaken and minified. The entry file, dist/agent/daemon/agentd.cjs, stays as
//   tsc wrote it (CommonJS, node: built-ins only): it installs the signal handlers, then imports
//   the bundle, so that no signal comes while Node parses the bundle with no handler (issue 17). An idle daemon's RSS is mostly code: Node 20 keeps every
//   module's source, and loading a package's whole module graph (zod alone is ~100 modules)
//   costs megabytes it never uses. Command code (`*-command.js`, cli/commands/) stays out: the
//   daemon never runs a command. The configuration parser's process is bundled beside it
//   (dist/agent/daemon/parse-process.js), where `new URL('./parse-process.js', import.meta.url)`
//   finds it.
// - agentctl (dist/agent/cli/agentctl-main.cjs) and each of its commands (commands/status.cjs
//   with status's formatter, and one file per other command below): CommonJS, because Node 20's
//   ES module loader costs `agentctl status` about 10 ms that the CommonJS one does not. A
//   command is required when it runs: `--help` loads none of them. agentctl's entry,
//   dist/agent/cli/agentctl.cjs, stays as tsc wrote it (agent/cli/agentctl.cts): it hands V8
//   the code cache made here beside each bundle (codeCaches below), and takes `status` straight
//   to its command.
//
// Every bundle keeps a linked source map, and import.meta.url keeps meaning "this file".
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'agent');
const at = (file) => path.join(dist, file);

// A capability's doctor checks (`<cap>/doctor.js`, or `<cap>/doctor-row.js` where doctor.js is
// a command's own code: agent/sso; Capability.doctor) are agentctl's too.
const doctorRows = /[\\/]doctor(-row)?\.js$/;
const isCommand = (file) =>
  /-command\.js$/.test(file) || file.includes(`${path.sep}cli${path.sep}commands${path.sep}`) || doctorRows.test(file);

/** What a command's bundle leaves to a dynamic import: another command, a daemon service. */
const notInCommands = (file) => isCommand(file) || /[\\/](service|installed-service|session-run)\.js$/.test(file);

/** Leaves the dynamic imports that `keep(file)` selects as imports of the file beside the bundle. */
function keepDynamicImports(outfile, keep) {
  return {
    name: 'keep-dynamic-imports',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const target = path.resolve(args.resolveDir, args.path);
        if (!keep(target)) return undefined;
        let relative = path.relative(path.dirname(outfile), target);
        if (!relative.startsWith('.')) relative = `./${relative}`;
        return { path: relative, external: true };
      });
    },
  };
}

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
// import.meta.url in a CommonJS bundle: this file's URL, made when first asked for (a URL
// costs `agentctl status` a fraction of a millisecond per bundle it loads, for nothing).
const cjsImportMeta = {
  define: { 'import.meta.url': '__tgImportMeta.url' },
  banner: {
    js: "const __tgImportMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };",
  },
};
// CommonJS packages inside an ES module bundle call require(): give them one.
const esmRequire =
  "import { createRequire as __tgRequire } from 'node:module'; const require = __tgRequire(import.meta.url);";

async function daemon() {
  const outfile = at('daemon/agentd-main.js');
  await build({
    ...common,
    entryPoints: [outfile],
    outfile,
    allowOverwrite: true,
    format: 'esm',
    minify: true,
    keepNames: true,
    banner: { js: esmRequire },
    // Loaded only where they are needed: the macOS permissions package only on a Mac; plist is
    // the build scripts' (a bundle that imports it fails in agentctl()).
    external: ['plist', 'node-mac-permissions'],
    plugins: [keepDynamicImports(outfile, isCommand)],
  });
  await build({
    ...common,
    entryPoints: [at('config/parse-process.js')],
    outfile: at('daemon/parse-process.js'),
    format: 'esm',
    minify: true,
    banner: { js: esmRequire },
  });
}

async function agentctl() {
  const status = at('cli/commands/status.js');
  const bundles = [
    [at('cli/agentctl.js'), at('cli/agentctl-main.cjs')],
    [status, at('cli/commands/status.cjs')],
  ];
  // status's formatter (cli/status.cjs, a chunk below) is required only once the request has
  // left, so that V8 reads its code while the daemon answers.
  const formatter = at('cli/status.js');
  for (const [entry, outfile] of bundles) {
    await build({
      ...common,
      entryPoints: [entry],
      outfile,
      format: 'cjs',
      // Less to parse at every start (issue 21: status within 1.15 × node -e 0). Names are not
      // kept (keepNames defines `name` on every function and class when the module loads: a
      // quarter of a megabyte of allocation in `trust FILE`, more garbage to collect); error
      // names are set by each error class itself, and the source maps name the functions.
      minify: true,
      keepNames: false,
      ...cjsImportMeta,
      plugins: [keepDynamicImports(outfile, () => true)],
    });
  }
  // The status command is CommonJS: require it (an import() would start the ES module loader).
  const file = at('cli/agentctl-main.cjs');
  let text = readFileSync(file, 'utf8');
  const from = 'import("./commands/status.js")';
  if (text.split(from).length !== 2) throw new Error(`bundle: expected one ${from} in ${file}`);
  text = text.replace(from, 'Promise.resolve().then(() => require("./commands/status.cjs"))');
  // Every other command too (issue 21: each local command within 1.5 × `node -e 0`): one
  // CommonJS file each, with everything it imports inlined, required when it runs. Node 20's
  // ES module loader and the many small files it reads are most of a command's start-up.
  const outputs = [];
  const commands = [
    ...new Set([...text.matchAll(/import\("(\.\.?\/[^"]+-command|\.\/commands\/[^"]+)\.js"\)/g)].map((m) => m[1])),
  ];
  // A module that a command imports only on one path (`trust --ntp` measures the clock) is a
  // CommonJS file of its own too, required on that path.
  // So is the SSO doctor, which `agentctl doctor`'s SSO row loads only when payloads are installed,
  // and the configuration loader, which `status` (socket.ts) loads only when a preference file
  // exists, as on every managed Mac: through Node's ES module loader it cost `status` ~200 ms.
  const chunks = [at('clock/measure.js'), at('sso/doctor.js'), at('config/load.js'), at('cli/status.js')];
  /**
   * A bundle's import() of a chunk made a require() of its CommonJS file. The `plist` package
   * (xmldom: 20-30 ms to load) is for the build scripts only: the agent reads XML property lists
   * with its own reader (agent/config/xml-plist.ts), and a bundle that imports plist fails here.
   */
  const linkChunks = (outfile) => {
    let bundled = readFileSync(outfile, 'utf8');
    for (const chunk of chunks) {
      let from = path.relative(path.dirname(outfile), chunk);
      if (!from.startsWith('.')) from = `./${from}`;
      bundled = bundled.replaceAll(
        `import(${JSON.stringify(from)})`,
        `Promise.resolve().then(() => require(${JSON.stringify(from.replace(/\.js$/, '.cjs'))}))`,
      );
    }
    if (/(require|import)\("plist"\)/.test(bundled)) throw new Error(`bundle: ${outfile} imports plist`);
    writeFileSync(outfile, bundled);
  };
  for (const chunk of chunks) {
    await build({
      ...common,
      entryPoints: [chunk],
      outfile: chunk.replace(/\.js$/, '.cjs'),
      format: 'cjs',
      minify: true,
      keepNames: false,
      external: ['node-mac-permissions', 'plist'],
      // status's formatter leaves every import() out, as status did when it held the formatter.
      plugins: [keepDynamicImports(chunk.replace(/\.js$/, '.cjs'), chunk === formatter ? () => true : notInCommands)],
      ...cjsImportMeta,
    });
  }
  for (const relative of commands) {
    const entry = path.resolve(path.dirname(file), `${relative}.js`);
    const outfile = entry.replace(/\.js$/, '.cjs');
    // What the command imports statically (every dynamic import left out).
    const { metafile } = await build({
      ...common,
      entryPoints: [entry],
      outfile,
      write: false,
      metafile: true,
      sourcemap: false,
      logLevel: 'silent',
      external: ['node-mac-permissions', 'plist'],
      plugins: [keepDynamicImports(outfile, () => true)],
    });
    const loadsConfig = Object.keys(metafile.inputs).some((f) => /config[\\/]load\.js$/.test(f));
    // doctor and flare run every capability's checks (`<cap>/doctor.js`): inlined, not each
    // through the ES module loader.
    const runsChecks = /cli[\\/]commands[\\/](doctor|flare)\.js$/.test(entry);
    const leftOut = (target) =>
      (!loadsConfig && /config[\\/]load\.js$/.test(target)) ||
      (chunks.includes(target) && !Object.keys(metafile.inputs).some((f) => path.resolve(root, f) === target)) ||
      (notInCommands(target) && !(runsChecks && doctorRows.test(target) && target !== entry));
    await build({
      ...common,
      entryPoints: [entry],
      outfile,
      format: 'cjs',
      // Loaded only where needed: on a Mac, and the XML parser's own dependency graph.
      minify: true,
      keepNames: false,
      external: ['node-mac-permissions', 'plist'],
      // The configuration loader (zod and the parsers) that socket.ts imports only when a
      // preference file exists stays out of a command that does not import it itself (one that
      // does keeps its one copy: not a second one through the ES module loader). So do
      // the other commands and the daemon's services that the capabilities' descriptors name
      // (`load`, `attach`, `session`): inlined, they made every command that reads the key
      // table parse all of them (winston, yaml...), ~880 KB, for nothing.
      plugins: [keepDynamicImports(outfile, leftOut)],
      ...cjsImportMeta,
    });
    linkChunks(outfile);
    text = text.replaceAll(`import("${relative}.js")`, `Promise.resolve().then(() => require("${relative}.cjs"))`);
    outputs.push(outfile);
  }
  writeFileSync(file, text);
  for (const outfile of [...bundles.map(([, o]) => o), ...chunks.map((c) => c.replace(/\.js$/, '.cjs'))])
    linkChunks(outfile);
  return [...bundles.map(([, outfile]) => outfile), ...chunks.map((c) => c.replace(/\.js$/, '.cjs')), ...outputs];
}

// Beside each of agentctl's bundles, V8's code cache of all its functions (`<bundle>.cache`), that
// agentctl's entry (dist/agent/cli/agentctl.cjs, agent/cli/agentctl.cts) gives V8 when the bundle
// is required: compiling is much of a command's own time (issue 21). Every function is compiled
// now (--no-lazy), not only those that run at the top level, so that each command's path finds
// its code; --lazy is back before the cache is made, for V8 to accept it in a process with the
// default flags (it checks them, and its own version: a cache made by another Node is rejected,
// and the bundle compiles as usual). Code from a cache cannot import() in Node 20, so each
// import() becomes the entry's importFrom(), first.
function codeCaches(files) {
  const entry = at('cli/agentctl.cjs');
  const { compileBundle } = createRequire(import.meta.url)(entry);
  for (const file of files) {
    let from = path.relative(path.dirname(file), entry);
    if (!from.startsWith('.')) from = `./${from}`;
    const content = readFileSync(file, 'utf8').replace(
      /\bimport\(("[^"]+")\)/g,
      (_, specifier) => `require(${JSON.stringify(from)}).importFrom(__filename,${specifier})`,
    );
    if (/\bimport\(/.test(content)) throw new Error(`bundle: ${file} has an import() that is not a string`);
    writeFileSync(file, content);
    setFlagsFromString('--no-lazy');
    let script;
    try {
      // V8 keeps the name a script had when its cache was made: the file's path in the package,
      // the same where the build ran and where the package installs it.
      script = compileBundle(path.relative(root, file), content);
    } finally {
      setFlagsFromString('--lazy');
    }
    const cache = script.createCachedData();
    if (compileBundle(file, content, cache).cachedDataRejected)
      throw new Error(`bundle: V8 rejects the cache of ${file}`);
    writeFileSync(`${file}.cache`, cache);
  }
}

await daemon();
codeCaches(await agentctl());
