#!/usr/bin/env node
// The test command (`npm test`). It brings what the integration tests need: as root on
// Debian it installs the missing apt packages; otherwise it names them, loudly, and the
// tests that need them are skipped with the reason in their title. Then it lints (ESLint,
// Prettier), builds the addon (if needed) and the TypeScript, and runs ava.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Debian packages the integration tests need, shared with .ci/run (scripts/test-packages.json).
const aptPackages = JSON.parse(readFileSync(path.join(root, 'scripts', 'test-packages.json'), 'utf8')).packages.map(
  (p) => ({
    ...p,
    present: () => p.probe.some((probe) => (probe.startsWith('cmd:') ? onPath(probe.slice(4)) : existsSync(probe))),
  }),
);

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function banner(lines) {
  const bar = '!'.repeat(78);
  console.log(`\n${bar}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${bar}\n`);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...options });
  if (r.status !== 0) {
    console.error(`test: '${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function ensureAptPackages() {
  if (process.platform !== 'linux') return;
  let absent = aptPackages.filter((p) => !p.present());
  if (absent.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const isDebian = existsSync('/etc/debian_version') && onPath('apt-get');
  if (isRoot && isDebian) {
    console.log(`test: installing ${absent.map((p) => p.pkg).join(' ')} with apt-get`);
    // Never let a package's maintainer script start a service (chronyd would discipline
    // this machine's clock): policy-rc.d exit 101 forbids it for the install.
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const install = () =>
        spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...absent.map((p) => p.pkg)], {
          stdio: 'inherit',
          env,
        });
      if (install().status !== 0) {
        spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
        install();
      }
    } finally {
      if (ownPolicy) rmSync(policy, { force: true });
    }
    absent = aptPackages.filter((p) => !p.present());
  }
  if (absent.length > 0) {
    banner([
      'MISSING TEST PREREQUISITES — the tests that need them will be SKIPPED:',
      ...absent.map((p) => `  ${p.pkg.padEnd(14)} for ${p.for}`),
      `Install them with: sudo apt-get install ${absent.map((p) => p.pkg).join(' ')}`,
    ]);
  }
}

ensureAptPackages();
// Rebuild the addon when it is missing or older than a native source or binding.gyp.
const addonFile = path.join(root, 'build', 'Release', 'trustguard.node');
const nativeInputs = () => [
  'binding.gyp',
  ...readdirSync(path.join(root, 'native'), { recursive: true }).map((f) => path.join('native', String(f))),
];
const stale = () =>
  !existsSync(addonFile) ||
  nativeInputs().some(
    (f) => /\.(cc|h|gyp)$/.test(f) && statSync(path.join(root, f)).mtimeMs > statSync(addonFile).mtimeMs,
  );
if (stale()) run(process.execPath, ['scripts/build-native.mjs']);
// The linter and the formatter are part of the test command: CI fails on either.
run(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
run(process.execPath, [
  path.join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
  '--check',
  '--log-level',
  'warn',
  '.',
]);
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
run(process.execPath, [path.join(root, 'scripts', 'bundle.mjs')]);

// ava prints its own summary; the closing 'N passed, N failed, N skipped' line is for
// machines that read only the last line.
const ava = spawn(
  process.execPath,
  [path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
  },
);
let output = '';
ava.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  output += chunk.toString();
});
ava.on('close', (code, signal) => {
  const count = (re) => {
    const m = output.match(re);
    return m ? Number(m[1]) : 0;
  };
  // ava leaves out the passed count when something failed; its verbose ✔ lines still say it.
  const ticks = output.split('\n').filter((l) => /^\s*✔/.test(l)).length;
  const passed = Math.max(count(/(\d+) tests? passed/), ticks);
  const failed =
    count(/(\d+) tests? failed/) + count(/(\d+) uncaught exceptions?/) + count(/(\d+) unhandled rejections?/);
  const skipped = count(/(\d+) tests? skipped/);
  const skippedTitles = output.split('\n').filter((l) => /^\s*- .*\[needs /.test(l));
  if (skippedTitles.length > 0) banner(['SKIPPED for missing prerequisites:', ...skippedTitles.map((l) => l.trim())]);
  const exitCode = code ?? 1;
  console.log(`${passed} passed, ${exitCode !== 0 && failed === 0 ? 1 : failed} failed, ${skipped} skipped`);
  process.exit(signal ? 1 : exitCode);
});
