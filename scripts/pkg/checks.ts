// The checks of a staged package that need no Apple tool: they run on Linux and on macOS.
// Each returns problems (empty = passed); main.ts turns them into the report.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parsePlist } from 'plist';
import { checkLaunchdJob, launchdFiles } from './launchd.js';
import { devOnlyPackages, walk } from './payload.js';
import { installPaths, type BuildSettings } from './settings.js';

/** Files the install root must carry, with whether each must be executable. */
export function requiredFiles(settings: BuildSettings): Array<{ path: string; executable: boolean }> {
  const p = installPaths(settings);
  return [
    { path: p.runtime, executable: true },
    { path: p.agentctlWrapper, executable: true },
    { path: p.uninstall, executable: true },
    { path: `${settings.installRoot}/bin/common.sh`, executable: false },
    { path: p.daemonEntry, executable: false },
    { path: p.cliEntry, executable: false },
    { path: p.addon, executable: false },
    { path: `${settings.installRoot}/package.json`, executable: false },
    { path: p.daemonPlist, executable: false },
    { path: p.sessionPlist, executable: false },
  ];
}

/** The payload holds what it must, nothing of the development tree, and no links. */
export function checkPayloadTree(payloadRoot: string, settings: BuildSettings, repoRoot: string): string[] {
  const problems: string[] = [];
  const rel = (p: string) => p.replace(/^\//, '');
  for (const file of requiredFiles(settings)) {
    const full = path.join(payloadRoot, rel(file.path));
    if (!existsSync(full) || !lstatSync(full).isFile()) problems.push(`missing ${file.path}`);
  }
  const root = rel(settings.installRoot);
  const allowed = [root, ...launchdFiles(settings).map((f) => rel(f.installPath))];
  const ancestors = new Set(allowed.flatMap((a) => a.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
  const dev = new Set(devOnlyPackages(repoRoot).map((p) => `${root}/${p}`));
  for (const entry of walk(payloadRoot)) {
    const st = lstatSync(path.join(payloadRoot, entry));
    if (st.isSymbolicLink()) problems.push(`${entry} is a link`);
    if (!ancestors.has(entry) && !allowed.some((a) => entry.startsWith(`${a}/`)))
      problems.push(`${entry} is outside the install root and the launchd plists`);
    if (dev.has(entry)) problems.push(`${entry} is a development-only package`);
  }
  for (const forbidden of [
    'dist/test',
    'dist/bench',
    'dist/scripts',
    'node_modules/typescript',
    'node_modules/ava',
    'node_modules/node-gyp',
  ]) {
    if (existsSync(path.join(payloadRoot, root, forbidden)))
      problems.push(`${settings.installRoot}/${forbidden} is in the payload`);
  }
  return problems;
}

/** Directories 0755; files 0644, or 0755 when they must run; no set-id bits, no group/other write. */
export function checkModes(payloadRoot: string, settings: BuildSettings): string[] {
  const problems: string[] = [];
  const mustRun = new Set(
    requiredFiles(settings)
      .filter((f) => f.executable)
      .map((f) => f.path.replace(/^\//, '')),
  );
  const plists = new Set(launchdFiles(settings).map((f) => f.installPath.replace(/^\//, '')));
  for (const entry of ['', ...walk(payloadRoot)]) {
    const st = lstatSync(path.join(payloadRoot, entry));
    const mode = st.mode & 0o7777;
    const show = `${entry || '.'} ${mode.toString(8).padStart(4, '0')}`;
    if (st.isDirectory()) {
      if (mode !== 0o755) problems.push(`${show}: a directory must be 0755`);
    } else if (mode !== 0o644 && mode !== 0o755) {
      problems.push(`${show}: a file must be 0644 or 0755`);
    } else if (mustRun.has(entry) && mode !== 0o755) {
      problems.push(`${show}: must be executable`);
    } else if (plists.has(entry) && mode !== 0o644) {
      problems.push(`${show}: launchd wants 0644`);
    }
  }
  return problems;
}

/** Every entry root:wheel (uid 0, gid 0); only meaningful when staged as root. */
export function checkOwners(dir: string): string[] {
  return ['', ...walk(dir)].flatMap((entry) => {
    const st = lstatSync(path.join(dir, entry));
    return st.uid === 0 && st.gid === 0
      ? []
      : [`${entry || '.'} is owned by ${st.uid}:${st.gid}, not root:wheel (0:0)`];
  });
}

/** Each launchd plist parses and has the keys launchd needs (launchd.ts checkLaunchdJob). */
export function checkLaunchdPlists(payloadRoot: string, settings: BuildSettings): string[] {
  return launchdFiles(settings).flatMap((file) => {
    const full = path.join(payloadRoot, file.installPath);
    let job: unknown;
    try {
      job = parsePlist(readFileSync(full, 'utf8'));
    } catch (error) {
      return [`${file.installPath}: not a well-formed plist: ${(error as Error).message.split('\n')[0]}`];
    }
    return checkLaunchdJob(job, { fileName: path.basename(full), kind: file.kind, settings }).map(
      (p) => `${file.installPath}: ${p}`,
    );
  });
}

/** A property list parses (for the component plist, entitlements, PPPC profile). */
export function parsePlistFile(file: string): unknown {
  return parsePlist(readFileSync(file, 'utf8'));
}

/**
 * Runs the staged agent with the staged runtime: `agentctl version` and loading the addon.
 * Only where the runtime can run (the host's OS and architecture).
 */
export function smokeTest(installRootDir: string, settings: BuildSettings): string[] {
  const node = path.join(installRootDir, 'bin', 'node');
  const version = spawnSync(node, [path.join(installRootDir, 'dist', 'agent', 'cli', 'agentctl.cjs'), 'version'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const problems: string[] = [];
  if (version.status !== 0 || !version.stdout.includes(settings.version)) {
    problems.push(
      `bin/node dist/agent/cli/agentctl.cjs version: exit ${version.status ?? version.signal}: ${(version.stderr || version.stdout).trim().split('\n')[0]}`,
    );
  }
  const addon = path.join(installRootDir, 'build', 'Release', 'trustguard.node');
  const load = spawnSync(
    node,
    ['-e', `const a = require(${JSON.stringify(addon)}); if (Object.keys(a).length === 0) process.exit(3);`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (load.status !== 0)
    problems.push(`the staged runtime cannot load the addon: ${load.stderr.trim().split('\n')[0]}`);
  return problems;
}
