// The install scripts (pkg-scripts/) carry their identifiers in one block of common.sh; the
// package build writes that block from the build settings. The repository's copy holds the
// default settings, and a test keeps it equal to what this file writes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildSettings } from './settings.js';

/** The scripts the installer runs (Scripts/ of the component) and the one it sources. */
export const installerScripts = ['preinstall', 'postinstall'] as const;
export const sharedScript = 'common.sh';
/** Installed into the install root's bin/ (with common.sh) for admins to run. */
export const uninstallScript = 'uninstall';

const blockStart = '# --- build settings: written by `npm run pkg` from scripts/pkg/settings.ts ---';
const blockEnd = '# --- end of build settings ---';

function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function settingsBlock(settings: BuildSettings): string {
  const values: Array<[string, string]> = [
    ['TG_LABEL', settings.daemonLabel],
    ['TG_SESSION_LABEL', settings.sessionLabel],
    ['TG_PKG_ID', settings.packageIdentifier],
    ['TG_INSTALL_ROOT', settings.installRoot],
    ['TG_LOG_DIR', settings.logDirectory],
    ['TG_CLI_LINK', settings.cliLink],
  ];
  return [blockStart, ...values.map(([k, v]) => `${k}=${shQuote(v)}`), blockEnd].join('\n');
}

/** common.sh with its settings block written from `settings`. */
export function renderCommon(source: string, settings: BuildSettings): string {
  const start = source.indexOf(blockStart);
  const end = source.indexOf(blockEnd);
  if (start < 0 || end < start || source.indexOf(blockStart, start + 1) >= 0) {
    throw new Error(`${sharedScript}: the build settings block (${blockStart} … ${blockEnd}) is missing or repeated`);
  }
  return source.slice(0, start) + settingsBlock(settings) + source.slice(end + blockEnd.length);
}

/** The scripts' texts for a build: every file of pkg-scripts/ that the package carries. */
export function renderScripts(repoRoot: string, settings: BuildSettings): Record<string, string> {
  const dir = path.join(repoRoot, 'pkg-scripts');
  const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
  return {
    [sharedScript]: renderCommon(read(sharedScript), settings),
    ...Object.fromEntries([...installerScripts, uninstallScript].map((name) => [name, read(name)])),
  };
}

export interface ScriptCheck {
  tool: 'sh -n' | 'shellcheck';
  /** 'skipped' when the tool is not installed. */
  result: 'passed' | 'failed' | 'skipped';
  detail: string;
}

/** `sh -n` on every script, then `shellcheck` (following common.sh) when it is installed. */
export function checkScripts(dir: string, names: readonly string[]): ScriptCheck[] {
  const files = names.map((n) => path.join(dir, n));
  const syntax = files
    .map((f) => ({ f, r: spawnSync('sh', ['-n', f], { encoding: 'utf8' }) }))
    .filter(({ r }) => r.status !== 0);
  const checks: ScriptCheck[] = [
    syntax.length === 0
      ? { tool: 'sh -n', result: 'passed', detail: `${files.length} scripts` }
      : {
          tool: 'sh -n',
          result: 'failed',
          detail: syntax.map(({ f, r }) => `${path.basename(f)}: ${r.stderr.trim()}`).join('; '),
        },
  ];
  const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  if (shellcheck.error || shellcheck.status !== 0) {
    checks.push({
      tool: 'shellcheck',
      result: 'skipped',
      detail: 'shellcheck is not installed (apt-get install shellcheck / brew install shellcheck)',
    });
    return checks;
  }
  const run = spawnSync('shellcheck', ['--shell=sh', '--external-sources', ...files], { encoding: 'utf8', cwd: dir });
  checks.push(
    run.status === 0
      ? {
          tool: 'shellcheck',
          result: 'passed',
          detail: `${files.length} scripts, shellcheck ${/version: (\S+)/.exec(shellcheck.stdout)?.[1] ?? ''}`.trim(),
        }
      : { tool: 'shellcheck', result: 'failed', detail: run.stdout.trim() || run.stderr.trim() },
  );
  return checks;
}
