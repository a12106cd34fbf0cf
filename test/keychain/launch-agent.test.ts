// The per-user LaunchAgent that runs the scrub in each user's session.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parsePlist } from 'plist';
import { keychain } from '../../agent/keychain/index.js';
import { sessionAgentLabel } from '../../agent/keychain/session.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the scrub LaunchAgent: our label, Aqua sessions only, runs agentctl scrub --session at load from the install root', (t) => {
  const file = path.join(root, 'launchd', `${sessionAgentLabel}.plist`);
  const job = parsePlist(readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.is(job.Label, path.basename(file, '.plist'));
  t.false(JSON.stringify(job).includes('com.apple.'));
  t.is(job.LimitLoadToSessionType, 'Aqua');
  t.is(job.RunAtLoad, true);
  t.is(job.KeepAlive, undefined);
  const argv = job.ProgramArguments as string[];
  t.true(argv.slice(0, 2).every((a) => a.startsWith('/Library/Application Support/TrustGuard/')));
  t.deepEqual(argv.slice(1), [
    '/Library/Application Support/TrustGuard/dist/agent/cli/agentctl.js',
    'scrub',
    '--session',
  ]);
  const scrub = keychain.commands!.find((c) => c.name === 'scrub')!;
  t.truthy(scrub.flags!.find((f) => f.name === 'session'));
  t.false(scrub.needsRoot);
});
