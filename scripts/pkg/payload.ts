// Stages the component's payload: a tree laid out as on the target volume.
//
//   Library/Application Support/TrustGuard/   the install root
//     bin/node                 the Node runtime (--node, default: the running one)
//     bin/agentctl             runs agentctl with that runtime; /usr/local/bin/agentctl links here
//     bin/uninstall, bin/common.sh
//     dist/agent, dist/native  the compiled JavaScript (no tests, benchmarks or build tools), and
//                              the V8 code caches of agentctl's bundles (`*.cjs.cache`)
//     build/Release/trustguard.node
//     node_modules/            the production dependencies (package-lock.json's closure)
//     package.json             version, "type": "module", and the build settings
//   Library/LaunchDaemons/<label>.plist, Library/LaunchAgents/<session label>.plist
//
// /usr/local/bin/agentctl is not in the payload: postinstall makes the link, because a
// payload directory usr/local/bin would make Installer take over a folder that Homebrew owns.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { launchdFiles } from './launchd.js';
import { installerScripts, renderScripts, sharedScript, uninstallScript } from './install-scripts.js';
import { installPaths, type BuildSettings } from './settings.js';

/** Dependencies that only build the addon; the payload carries the built addon instead. */
export const buildOnlyDependencies = ['node-gyp', 'node-addon-api'];

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where Node would find `name` from the package at lock path `from` ('' = the root). */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

/**
 * The lock paths (node_modules/a, node_modules/a/node_modules/b) of the production closure:
 * package.json's dependencies and optionalDependencies minus the build-only ones, and what
 * they need. Optional packages missing from this machine (node-mac-permissions on Linux)
 * are left out.
 */
export function productionClosure(repoRoot: string): { paths: string[]; missingOptional: string[] } {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const packages = lock.packages;
  const seen = new Set<string>();
  const missingOptional: string[] = [];
  const queue: Array<{ from: string; name: string; optional: boolean }> = [
    ...Object.keys(manifest.dependencies ?? {}).map((name) => ({ from: '', name, optional: false })),
    ...Object.keys(manifest.optionalDependencies ?? {}).map((name) => ({ from: '', name, optional: true })),
  ].filter((d) => !buildOnlyDependencies.includes(d.name));
  while (queue.length > 0) {
    const { from, name, optional } = queue.shift()!;
    const at = resolveInLock(packages, from, name);
    const present = at !== undefined && existsSync(path.join(repoRoot, at, 'package.json'));
    if (!present) {
      if (optional || (at && packages[at].optional)) {
        missingOptional.push(name);
        continue;
      }
      throw new Error(
        `production dependency ${name} (needed by ${from || 'package.json'}) is not installed: run npm ci`,
      );
    }
    if (seen.has(at)) continue;
    if (packages[at].link) throw new Error(`${at} is a link (file: dependency); the payload carries real files only`);
    seen.add(at);
    const entry = packages[at];
    for (const dep of Object.keys(entry.dependencies ?? {})) queue.push({ from: at, name: dep, optional: false });
    for (const dep of Object.keys(entry.optionalDependencies ?? {}))
      queue.push({ from: at, name: dep, optional: true });
  }
  return { paths: [...seen].sort(), missingOptional: [...new Set(missingOptional)].sort() };
}

/** The lock paths npm marks dev-only: none of them may reach the payload. */
export function devOnlyPackages(repoRoot: string): string[] {
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  return Object.entries(lock.packages)
    .filter(([key, entry]) => key !== '' && entry.dev === true)
    .map(([key]) => key);
}

export interface StagedPayload {
  payloadRoot: string;
  scriptsDir: string;
  /** Absolute path of the install root inside the payload. */
  installRootDir: string;
  numberOfFiles: number;
  installKBytes: number;
  missingOptional: string[];
}

/** Files and directories under `dir`, relative, sorted (directories before their contents). */
export function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const child = rel ? `${rel}/${name}` : name;
    out.push(child);
    const st = lstatSync(path.join(dir, child));
    if (st.isDirectory()) out.push(...walk(dir, child));
  }
  return out;
}

function isExecutable(file: string): boolean {
  return (lstatSync(file).mode & 0o111) !== 0;
}

function copyJavaScript(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    // `.cjs.cache`: V8's code cache of agentctl's bundles (agent/cli/agentctl.cts).
    filter: (src) => lstatSync(src).isDirectory() || /\.c?js$|\.cjs\.cache$/.test(src),
  });
}

export function agentctlWrapper(settings: BuildSettings): string {
  const paths = installPaths(settings);
  return `#!/bin/sh
# agentctl with ${settings.productName}'s own Node runtime; ${settings.cliLink} links here.
exec "${paths.runtime}" "${paths.cliEntry}" "$@"
`;
}

/** The component's Scripts folder: preinstall, postinstall (0755) and common.sh (0644). */
export function writeInstallerScripts(scriptsDir: string, scripts: Record<string, string>): void {
  mkdirSync(scriptsDir, { recursive: true });
  for (const name of installerScripts) writeFileSync(path.join(scriptsDir, name), scripts[name], { mode: 0o755 });
  writeFileSync(path.join(scriptsDir, sharedScript), scripts[sharedScript], { mode: 0o644 });
}

/** Stages payload/ and scripts/ under `out`. `runtime` is the Node binary to carry. */
export function stagePayload(input: {
  repoRoot: string;
  out: string;
  settings: BuildSettings;
  runtime: string;
  addon: string;
}): StagedPayload {
  const { repoRoot, out, settings } = input;
  const payloadRoot = path.join(out, 'payload');
  const scriptsDir = path.join(out, 'scripts');
  const installRootDir = path.join(payloadRoot, settings.installRoot);
  for (const dir of [installRootDir, scriptsDir]) mkdirSync(dir, { recursive: true });

  // The compiled agent: dist/agent and dist/native only.
  for (const part of ['agent', 'native']) {
    const from = path.join(repoRoot, 'dist', part);
    if (!existsSync(from)) throw new Error(`${from} is missing: run npm run build`);
    copyJavaScript(from, path.join(installRootDir, 'dist', part));
  }
  if (!existsSync(input.addon)) throw new Error(`the addon ${input.addon} is missing: run npm ci`);
  mkdirSync(path.join(installRootDir, 'build', 'Release'), { recursive: true });
  copyFileSync(input.addon, path.join(installRootDir, 'build', 'Release', 'trustguard.node'));

  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
  };
  const installedManifest = {
    name: manifest.name,
    version: settings.version,
    private: true,
    license: manifest.license,
    // dist/ is ES modules.
    type: 'module',
    // What this build was made with; the daemon's preference domain is daemonLabel.
    trustguard: {
      identifierPrefix: settings.identifierPrefix,
      domain: settings.daemonLabel,
      sessionLabel: settings.sessionLabel,
      installRoot: settings.installRoot,
    },
  };
  writeFileSync(path.join(installRootDir, 'package.json'), `${JSON.stringify(installedManifest, null, 2)}\n`);

  // Runtime, the agentctl wrapper, the uninstall script.
  const bin = path.join(installRootDir, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(input.runtime, path.join(bin, 'node'));
  chmodSync(path.join(bin, 'node'), 0o755);
  writeFileSync(path.join(bin, 'agentctl'), agentctlWrapper(settings), { mode: 0o755 });
  const scripts = renderScripts(repoRoot, settings);
  writeFileSync(path.join(bin, uninstallScript), scripts[uninstallScript], { mode: 0o755 });
  writeFileSync(path.join(bin, sharedScript), scripts[sharedScript], { mode: 0o644 });
  writeInstallerScripts(scriptsDir, scripts);

  // Production node_modules.
  const closure = productionClosure(repoRoot);
  for (const at of closure.paths) {
    const from = path.join(repoRoot, at);
    cpSync(from, path.join(installRootDir, at), {
      recursive: true,
      // Nested node_modules are packages of their own (copied when in the closure); .bin
      // holds links to tools.
      filter: (src) => {
        const rel = path.relative(from, src);
        return rel === '' || !(rel === 'node_modules' || rel.startsWith(`node_modules${path.sep}`));
      },
    });
  }

  // launchd.
  for (const file of launchdFiles(settings)) {
    const target = path.join(payloadRoot, file.installPath);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.text);
  }

  // Modes as installed: directories 0755, files 0644 or 0755 (already executable ones),
  // nothing writable by group or others, no set-id bits. Owners root:wheel (0:0) when we can.
  const entries = walk(payloadRoot);
  let bytes = 0;
  for (const rel of entries) {
    const file = path.join(payloadRoot, rel);
    const st = lstatSync(file);
    if (st.isSymbolicLink()) throw new Error(`${rel} is a symbolic link; the payload carries none`);
    if (st.isDirectory()) chmodSync(file, 0o755);
    else {
      chmodSync(file, isExecutable(file) ? 0o755 : 0o644);
      bytes += st.size;
    }
  }
  chmodSync(payloadRoot, 0o755);
  if (process.getuid?.() === 0) {
    for (const rel of ['', ...entries]) chownSync(path.join(payloadRoot, rel), 0, 0);
    for (const rel of ['', ...walk(scriptsDir)]) chownSync(path.join(scriptsDir, rel), 0, 0);
  }
  return {
    payloadRoot,
    scriptsDir,
    installRootDir,
    // pkgbuild counts the payload's root folder too.
    numberOfFiles: entries.length + 1,
    installKBytes: Math.ceil(bytes / 1024),
    missingOptional: closure.missingOptional,
  };
}
