import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parsePlist } from 'plist';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the LaunchDaemon plist parses, is ours, and runs from the install root', (t) => {
  const file = path.join(root, 'launchd', 'com.trustguard.agent.plist');
  const job = parsePlist(readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.is(job.Label, path.basename(file, '.plist'));
  t.false(JSON.stringify(job).includes('com.apple.'));
  const argv = job.ProgramArguments as string[];
  t.true(argv.every((a) => a.startsWith('/Library/Application Support/TrustGuard/')));
  t.is(job.RunAtLoad, true);
  t.is(job.KeepAlive, true);
  t.is(typeof job.ThrottleInterval, 'number');
  t.deepEqual(job.AssociatedBundleIdentifiers, ['com.trustguard.agent']);
  t.truthy(job.StandardOutPath);
  t.truthy(job.StandardErrorPath);
});
