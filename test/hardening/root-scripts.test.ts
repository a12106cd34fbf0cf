// Issue 17 item 13: the Jamf extension attribute and the Intune discovery script run as root;
// they call the install root's bin/agentctl by its absolute path (root-owned, in the payload),
// never /usr/local/bin/agentctl (a link a Homebrew user can re-point) nor a program found on PATH.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requiredFiles } from '../../scripts/pkg/checks.js';
import { buildSettings, installPaths } from '../../scripts/pkg/settings.js';
import { hasCommand } from '../helpers/system.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const scripts = [
  path.join('examples', 'jamf', 'trustguard-clock-compliance-ea.sh'),
  path.join('examples', 'intune', 'trustguard-clock-discovery.sh'),
];
const installed = installPaths(buildSettings({ version: '1.0.0' })).agentctlWrapper;

test('(issue 17, 13) the root scripts in examples/ call the install root bin/agentctl by its absolute path, which the payload carries', (t) => {
  t.is(installed, '/Library/Application Support/TrustGuard/bin/agentctl');
  t.true(
    requiredFiles(buildSettings({ version: '1.0.0' })).some((f) => f.path === installed && f.executable),
    'the package check requires bin/agentctl, executable',
  );
  for (const script of scripts) {
    const text = readFileSync(path.join(repoRoot, script), 'utf8');
    t.true(text.includes(`AGENTCTL="\${TRUSTGUARD_AGENTCTL:-${installed}}"`), script);
    t.false(text.includes('/usr/local'), `${script} names nothing in /usr/local`);
  }
});

test('(issue 17, 13) run as root with an agentctl planted on PATH, the scripts never run it: they look for the install root only', (t) => {
  if (existsSync(installed))
    return t.pass('TrustGuard is installed here: the planted program test needs a machine without it');
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-root-scripts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ran = path.join(dir, 'planted-ran');
  const planted = path.join(dir, 'agentctl');
  writeFileSync(planted, `#!/bin/sh\ntouch "${ran}"\necho '<result>Compliant</result>'\n`);
  chmodSync(planted, 0o755);
  for (const script of scripts) {
    const result = spawnSync('/bin/sh', [path.join(repoRoot, script)], {
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
      encoding: 'utf8',
    });
    t.is(result.status, 0, result.stderr);
    t.false(existsSync(ran), `${script} ran the agentctl found on PATH`);
    t.true(result.stdout.includes(`TrustGuard is not installed (${installed} not found)`), result.stdout);
  }
});

test(`(issue 17, 13) shellcheck passes the root scripts${hasCommand('shellcheck') ? '' : ' [needs shellcheck]'}`, (t) => {
  if (!hasCommand('shellcheck')) return t.pass();
  const result = spawnSync('shellcheck', ['-s', 'sh', ...scripts.map((s) => path.join(repoRoot, s))], {
    encoding: 'utf8',
  });
  t.is(result.status, 0, result.stdout);
});
