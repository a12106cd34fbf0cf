// The steps of `npm run pkg` that need Apple's tools (macOS only): the universal addon and
// runtime (node-gyp, lipo), code signing with the hardened runtime (codesign), the component
// and product packages (pkgbuild, productbuild), signing (productsign), notarization
// (notarytool, stapler), and reading the result back (pkgutil --check-signature, --expand,
// lsbom). Each step throws with the tool's own words when it fails.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parsePlist } from 'plist';
import {
  checkComponentPlist,
  checkInstallerXml,
  componentFileName,
  componentPlist,
  runtimeEntitlements,
  type ComponentEntry,
} from './installer-xml.js';
import { walk } from './payload.js';
import type { BuildSettings } from './settings.js';

export const macArchitectures = ['arm64', 'x86_64'] as const;

export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${String(r.stderr || r.stdout).trim()}`);
  return String(r.stdout);
}

/** The architectures of a Mach-O file (`lipo -archs`). */
export function archs(file: string): string[] {
  return run('lipo', ['-archs', file]).trim().split(/\s+/).filter(Boolean);
}

export function isUniversal(file: string): boolean {
  const have = archs(file);
  return macArchitectures.every((a) => have.includes(a));
}

/** Mach-O by magic number: thin 32/64-bit either endianness, and fat (universal) files. */
export function isMachO(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    if (readSync(fd, head, 0, 4, 0) < 4) return false;
    return [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe, 0xbebafeca].includes(head.readUInt32BE(0));
  } finally {
    closeSync(fd);
  }
}

const require = createRequire(import.meta.url);

function nodeGypArgs(): string[] {
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir =
    existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && !process.env.npm_config_nodedir
      ? [`--nodedir=${prefix}`]
      : [];
  return [gyp, 'rebuild', ...nodedir];
}

/** Rebuilds the project's addon for arm64 + x86_64 in one file (binding.gyp universal=true). */
export function buildUniversalAddon(repoRoot: string): string {
  run(process.execPath, nodeGypArgs(), {
    cwd: repoRoot,
    env: { ...process.env, GYP_DEFINES: 'universal=true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const addon = path.join(repoRoot, 'build', 'Release', 'trustguard.node');
  if (!isUniversal(addon)) throw new Error(`${addon} is not universal: lipo -archs says ${archs(addon).join(' ')}`);
  return addon;
}

/**
 * A universal Node runtime: one `--node` that is already universal, or one per architecture
 * joined with `lipo -create` (nodejs.org ships darwin-arm64 and darwin-x64 separately).
 */
export function universalRuntime(nodes: string[], workDir: string): string {
  if (nodes.length === 1) {
    if (!isUniversal(nodes[0])) {
      throw new Error(
        `${nodes[0]} has only ${archs(nodes[0]).join(' ')}; the package installs on arm64 and x86_64 Macs: give --node twice (the darwin-arm64 and darwin-x64 node of the same version)`,
      );
    }
    return nodes[0];
  }
  const versions = nodes.map((n) => run(n, ['--version']).trim());
  if (new Set(versions).size !== 1) throw new Error(`the --node runtimes differ in version: ${versions.join(', ')}`);
  const out = path.join(workDir, 'node-universal');
  run('lipo', ['-create', ...nodes, '-output', out]);
  if (!isUniversal(out)) throw new Error(`lipo -create ${nodes.join(' ')} gave ${archs(out).join(' ')}`);
  return out;
}

/**
 * Third-party addons in the payload (node-mac-permissions) come from `npm ci` for this Mac's
 * architecture only: rebuild each thin one for both architectures from a copy of its package
 * and join them with lipo.
 */
export function universalizeDependencyAddons(installRootDir: string, repoRoot: string): string[] {
  const fixed: string[] = [];
  const modules = path.join(installRootDir, 'node_modules');
  if (!existsSync(modules)) return fixed;
  for (const rel of walk(modules).filter((f) => f.endsWith('.node'))) {
    const staged = path.join(modules, rel);
    if (!isMachO(staged) || isUniversal(staged)) continue;
    // The package folder: the nearest ancestor with a binding.gyp.
    const parts = rel.split('/');
    let pkgRel: string | undefined;
    for (let i = parts.length - 1; i > 0; i--) {
      const candidate = parts.slice(0, i).join('/');
      if (existsSync(path.join(repoRoot, 'node_modules', candidate, 'binding.gyp'))) {
        pkgRel = candidate;
        break;
      }
    }
    if (!pkgRel) throw new Error(`${rel} is not universal and no binding.gyp to rebuild it was found`);
    const inPackage = path.relative(pkgRel, rel);
    const slices: string[] = [];
    const work = mkdtempSync(path.join(tmpdir(), 'tg-addon-'));
    try {
      for (const arch of ['arm64', 'x64']) {
        const copy = path.join(work, arch);
        cpSync(path.join(repoRoot, 'node_modules', pkgRel), copy, { recursive: true });
        run(process.execPath, [...nodeGypArgs(), `--arch=${arch}`], { cwd: copy, stdio: ['ignore', 'ignore', 'pipe'] });
        slices.push(path.join(copy, inPackage));
      }
      run('lipo', ['-create', ...slices, '-output', staged]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (!isUniversal(staged)) throw new Error(`${rel}: lipo -create gave ${archs(staged).join(' ')}`);
    fixed.push(rel);
  }
  return fixed;
}

export interface SigningResult {
  identity: string;
  signed: string[];
}

/**
 * Signs every Mach-O file of the install root with the hardened runtime: the addons first,
 * then the runtime with its entitlements (JIT). `identity` is a "Developer ID Application: …"
 * identity, or "-" for an ad-hoc signature (a development build that cannot be notarized).
 */
export function codesignPayload(
  installRootDir: string,
  settings: BuildSettings,
  identity: string,
  entitlementsFile: string,
): SigningResult {
  const runtime = path.join(installRootDir, 'bin', 'node');
  const machO = walk(installRootDir)
    .map((rel) => path.join(installRootDir, rel))
    .filter((f) => f !== runtime && lstatSync(f).isFile() && isMachO(f));
  const timestamp = identity === '-' ? '--timestamp=none' : '--timestamp';
  const signed: string[] = [];
  for (const file of machO) {
    const id = `${settings.runtimeSigningIdentifier}.${path.basename(file, path.extname(file)).replace(/[^A-Za-z0-9.-]/g, '-')}`;
    run('codesign', ['--force', '--options', 'runtime', timestamp, '--identifier', id, '--sign', identity, file]);
    signed.push(path.relative(installRootDir, file));
  }
  run('codesign', [
    '--force',
    '--options',
    'runtime',
    timestamp,
    '--identifier',
    settings.runtimeSigningIdentifier,
    '--entitlements',
    entitlementsFile,
    '--sign',
    identity,
    runtime,
  ]);
  signed.push('bin/node');
  for (const file of signed) run('codesign', ['--verify', '--strict', '--verbose=2', path.join(installRootDir, file)]);
  // The runtime carries the JIT entitlements and the hardened runtime flag.
  const entitlements = run('codesign', ['-d', '--entitlements', '-', '--xml', runtime]);
  for (const key of Object.keys(runtimeEntitlements)) {
    if (!entitlements.includes(key)) throw new Error(`bin/node lacks the entitlement ${key} after signing`);
  }
  const details = spawnSync('codesign', ['-dv', '--verbose=4', runtime], { encoding: 'utf8' });
  if (!/flags=0x[0-9a-f]*\(.*runtime.*\)/.test(details.stderr))
    throw new Error('bin/node is not signed with the hardened runtime');
  return { identity, signed };
}

/** `codesign -d -r-` of the signed runtime: its designated requirement (for the PPPC profile). */
export function designatedRequirement(runtime: string): string | undefined {
  const r = spawnSync('codesign', ['-d', '-r-', runtime], { encoding: 'utf8' });
  const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.startsWith('designated => '));
  return line?.slice('designated => '.length).trim();
}

/** pkgbuild --analyze, then every bundle made non-relocatable. */
export function analyzeComponents(payloadRoot: string, out: string): string {
  const analyzed = path.join(out, 'component.analyzed.plist');
  run('pkgbuild', ['--analyze', '--root', payloadRoot, analyzed]);
  const entries = parsePlist(readFileSync(analyzed, 'utf8')) as Array<
    Partial<ComponentEntry> & { RootRelativeBundlePath: string }
  >;
  rmSync(analyzed);
  const file = path.join(out, 'component.plist');
  writeFileSync(file, componentPlist(entries));
  const problems = checkComponentPlist(parsePlist(readFileSync(file, 'utf8')));
  if (problems.length) throw new Error(problems.join('; '));
  return file;
}

export function pkgbuild(input: {
  payloadRoot: string;
  scriptsDir: string;
  componentPlistFile: string;
  settings: BuildSettings;
  out: string;
}): string {
  const file = path.join(input.out, componentFileName(input.settings));
  run('pkgbuild', [
    '--root',
    input.payloadRoot,
    '--component-plist',
    input.componentPlistFile,
    '--scripts',
    input.scriptsDir,
    '--identifier',
    input.settings.packageIdentifier,
    '--version',
    input.settings.version,
    '--install-location',
    '/',
    '--ownership',
    'recommended',
    file,
  ]);
  return file;
}

export function productbuild(input: { distributionFile: string; packageDir: string; output: string }): void {
  run('productbuild', ['--distribution', input.distributionFile, '--package-path', input.packageDir, input.output]);
}

export function productsign(input: { identity: string; unsigned: string; output: string }): void {
  run('productsign', ['--sign', input.identity, '--timestamp', input.unsigned, input.output]);
}

/** notarytool submit --wait (with a stored keychain profile), then stapler staple. */
export function notarize(productFile: string, keychainProfile: string): string {
  const r = spawnSync(
    'xcrun',
    ['notarytool', 'submit', productFile, '--keychain-profile', keychainProfile, '--wait', '--output-format', 'json'],
    { encoding: 'utf8' },
  );
  let result: { id?: string; status?: string; message?: string } = {};
  try {
    result = JSON.parse(r.stdout) as typeof result;
  } catch {
    throw new Error(`notarytool submit: exit ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  }
  if (result.status !== 'Accepted') {
    const log = result.id
      ? spawnSync('xcrun', ['notarytool', 'log', result.id, '--keychain-profile', keychainProfile], {
          encoding: 'utf8',
        }).stdout
      : '';
    throw new Error(
      `notarization ${result.status ?? 'failed'} (${result.id ?? 'no id'}): ${result.message ?? ''}\n${log}`.trim(),
    );
  }
  run('xcrun', ['stapler', 'staple', productFile]);
  run('xcrun', ['stapler', 'validate', productFile]);
  return `accepted (${result.id}), stapled`;
}

/**
 * pkgutil --check-signature: a signed build must show a trusted Developer ID Installer
 * signature; an unsigned one must say so ("no signature"), which is reported, not an error.
 */
export function checkSignature(
  productFile: string,
  expectSigned: boolean,
  options: { anyCertificate?: boolean } = {},
): string {
  const r = spawnSync('pkgutil', ['--check-signature', productFile], { encoding: 'utf8' });
  const text = `${r.stdout}${r.stderr}`.trim();
  const status = /Status:\s*(.*)/.exec(text)?.[1]?.trim() ?? text.split('\n')[0];
  // The TypeScript writer may be given a certificate macOS does not trust (a test root):
  // pkgutil must still find and read the signature.
  if (expectSigned && options.anyCertificate) {
    if (/no signature/i.test(status) || !/signed/i.test(status)) throw new Error(`pkgutil --check-signature: ${text}`);
    return status;
  }
  if (expectSigned) {
    if (r.status !== 0 || !/signed by a (developer )?certificate/i.test(status))
      throw new Error(`pkgutil --check-signature: ${text}`);
    return status;
  }
  if (!/no signature/i.test(status)) throw new Error(`pkgutil --check-signature on an unsigned build says: ${text}`);
  return 'unsigned (no --sign): "no signature"';
}

/**
 * pkgutil --expand, then the real Distribution and PackageInfo are checked like the staged
 * ones, the BOM's owners and modes are read with lsbom, and the scripts are ours.
 */
export function checkExpanded(productFile: string, out: string, settings: BuildSettings, scriptsDir: string): string[] {
  const expanded = path.join(out, 'expanded');
  rmSync(expanded, { recursive: true, force: true });
  run('pkgutil', ['--expand', productFile, expanded]);
  const component = path.join(expanded, componentFileName(settings));
  const problems = checkInstallerXml({
    distribution: readFileSync(path.join(expanded, 'Distribution'), 'utf8'),
    packageInfo: readFileSync(path.join(component, 'PackageInfo'), 'utf8'),
    settings,
    componentFile: `#${componentFileName(settings)}`,
  });
  // lsbom -p fmug: path, octal mode, uid, gid. pkgbuild --ownership recommended: root owns
  // everything; nothing may be writable by group or others.
  for (const line of run('lsbom', ['-p', 'fmug', path.join(component, 'Bom')])
    .split('\n')
    .filter(Boolean)) {
    const [file, mode, uid] = line.split('\t');
    if (uid !== '0') problems.push(`BOM: ${file} is owned by uid ${uid}, not root`);
    if ((parseInt(mode, 8) & 0o022) !== 0) problems.push(`BOM: ${file} mode ${mode} is writable by group or others`);
  }
  for (const name of ['preinstall', 'postinstall', 'common.sh']) {
    const inPkg = path.join(component, 'Scripts', name);
    if (!existsSync(inPkg) || !readFileSync(inPkg).equals(readFileSync(path.join(scriptsDir, name))))
      problems.push(`Scripts/${name} differs from the staged script`);
  }
  return problems;
}
