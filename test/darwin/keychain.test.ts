// The keychain scrub on macOS, run by .github/workflows/macos.yml (test/darwin) as the runner's
// login user, the user the scrub's LaunchAgent runs as, and again as root: against a temporary
// keychain made with `security create-keychain`, put first in the user's search list for the
// test and seeded with `security add-generic-password -s -a -j -w` (-j sets the comment, where
// the tenant tag goes). The search list is restored afterwards.
// With TG_SYSTEM_KEYCHAIN_SERVICE set, the workflow has put an item of that service, tagged for
// b.example.com, in /Library/Keychains/System.keychain: the scrub must neither list nor touch it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classifyFailure } from '../../agent/keychain/errors.js';
import { tenantTag } from '../../agent/keychain/tag.js';
import { deleteItem, KeychainOSError, listGenericPasswords } from '../../native/keychain.js';
import { agentctlPath } from '../helpers/agent.js';

const onDarwin = process.platform === 'darwin';
const serial = onDarwin ? test.serial : test.serial.skip;
const needs = onDarwin ? '' : ' [needs darwin]';
const systemService = process.env.TG_SYSTEM_KEYCHAIN_SERVICE ?? '';
const systemKeychain = '/Library/Keychains/System.keychain';
const withSystemItem = onDarwin && systemService ? test.serial : test.serial.skip;
const needsSystemItem = onDarwin && systemService ? '' : ' [needs darwin and TG_SYSTEM_KEYCHAIN_SERVICE]';

const A = 'a.example.com';
const B = 'b.example.com';
const S = `com.trustguard.test.${randomUUID()}`;
const O = `${S}.other`;
const password = 'tg-test-password';
const dir = onDarwin ? mkdtempSync(path.join(os.tmpdir(), 'tg-darwin-kc-')) : '';
const keychainPath = path.join(dir, 'tg-test.keychain-db');
let savedSearchList: string[] = [];

function security(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/security', args, { encoding: 'utf8', input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(args: string[]): string {
  const r = security(args);
  if (r.code !== 0) throw new Error(`security ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function seed(service: string, account: string, comment: string | null, secret: string): void {
  // -A: any application may read the secret without a prompt (CI has no one to click); the
  // scrub never reads it anyway.
  must([
    'add-generic-password',
    '-s',
    service,
    '-a',
    account,
    '-l',
    `${service} ${account}`,
    ...(comment ? ['-j', comment] : []),
    '-w',
    secret,
    '-A',
    keychainPath,
  ]);
}

/** The item's secret, or null when it is gone. */
function secretOf(service: string, account: string): string | null {
  const r = security(['find-generic-password', '-s', service, '-a', account, '-w', keychainPath]);
  return r.code === 0 ? r.stdout.trim() : null;
}

interface ScrubRun {
  code: number | null;
  json: Record<string, unknown> & { errors: Array<{ code: string }> };
  stdout: string;
  stderr: string;
}

function scrub(args: string[], config: Record<string, unknown> = {}): ScrubRun {
  const file = path.join(dir, `agent-${randomUUID()}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      ControlSocketPath: path.join(dir, 'agent.sock'),
      TenantDomain: B,
      ScrubServices: [O],
      ScrubMode: 'enforce',
      ...config,
    }),
  );
  // HOME only moves the session's log: the keychain search list comes from the user's real home
  // (CFFIXED_USER_HOME, then the password database; _CFCopyHomeDirURLForUser in CF's CFPlatform.c).
  const r = spawnSync(process.execPath, [agentctlPath, 'scrub', ...args, '--config', file], {
    encoding: 'utf8',
    env: { ...process.env, HOME: dir },
  });
  return {
    code: r.status,
    json: args.includes('--json') ? (JSON.parse(r.stdout) as ScrubRun['json']) : { errors: [] },
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

test.before(() => {
  if (!onDarwin) return;
  must(['create-keychain', '-p', password, keychainPath]);
  must(['set-keychain-settings', keychainPath]); // no auto-lock during the test
  must(['unlock-keychain', '-p', password, keychainPath]);
  savedSearchList = must(['list-keychains', '-d', 'user'])
    .split('\n')
    .map((l) => l.trim().replace(/^"|"$/g, ''))
    .filter(Boolean);
  must(['list-keychains', '-d', 'user', '-s', keychainPath, ...savedSearchList]);
  for (const i of [1, 2, 3]) seed(S, `a${i}`, tenantTag(A), `secret-a${i}`);
  for (const i of [1, 2, 3]) seed(S, `b${i}`, tenantTag(B), `secret-b${i}`);
  for (const i of [1, 2]) seed(S, `u${i}`, null, `secret-u${i}`);
  for (const i of [1, 2]) seed(O, `o${i}`, tenantTag(B), `secret-o${i}`);
});

test.after.always(() => {
  if (!onDarwin) return;
  if (savedSearchList.length) security(['list-keychains', '-d', 'user', '-s', ...savedSearchList]);
  security(['delete-keychain', keychainPath]);
  rmSync(dir, { recursive: true, force: true });
});

serial(`listGenericPasswords returns the attributes and a persistent ref, never the secret${needs}`, async (t) => {
  const items = await listGenericPasswords({ services: [S] });
  t.is(items.length, 8);
  const a1 = items.find((i) => i.account === 'a1')!;
  t.like(a1, { service: S, comment: tenantTag(A), label: `${S} a1`, locked: false });
  t.true(typeof a1.created === 'number' && Math.abs(a1.created - Date.now() / 1000) < 3600);
  t.regex(a1.ref, /^[A-Za-z0-9+/]+=*$/);
  t.is(items.find((i) => i.account === 'u1')!.comment, null);
  t.false(JSON.stringify(items).includes('secret-'));
});

serial(`scrub --tenant A --dry-run lists exactly the B items of S; without it deletes exactly those${needs}`, (t) => {
  const dry = scrub(['--tenant', A, '--dry-run', '--service', S, '--json']);
  t.is(dry.code, 0, dry.stderr);
  t.like(dry.json, { mode: 'dry-run', scanned: 8, kept: 5, errors: [] });
  t.deepEqual(((dry.json.would_delete as Array<{ account: string }>) ?? []).map((e) => e.account).sort(), [
    'b1',
    'b2',
    'b3',
  ]);
  t.is(secretOf(S, 'b1'), 'secret-b1');

  const real = scrub(['--tenant', A, '--service', S, '--json']);
  t.is(real.code, 0, real.stderr);
  t.deepEqual(((real.json.deleted as Array<{ account: string }>) ?? []).map((e) => e.account).sort(), [
    'b1',
    'b2',
    'b3',
  ]);
  for (const account of ['b1', 'b2', 'b3']) t.is(secretOf(S, account), null, account);
  for (const account of ['a1', 'a2', 'a3', 'u1', 'u2']) t.is(secretOf(S, account), `secret-${account}`, account);
  for (const account of ['o1', 'o2']) t.is(secretOf(O, account), `secret-${account}`, account);
});

serial(`a deleted ref names nothing: OSStatus errSecItemNotFound, classified not_found${needs}`, async (t) => {
  const [u2] = (await listGenericPasswords({ services: [S] })).filter((i) => i.account === 'u2');
  await deleteItem(u2!.ref);
  const again = await t.throwsAsync(deleteItem(u2!.ref), { instanceOf: KeychainOSError });
  t.is(again && classifyFailure(again.failure), 'not_found');
  t.is(again?.failure.domain, 'OSStatus');
  t.truthy(again?.failure.message);
  await t.throwsAsync(deleteItem('not base64!'), { instanceOf: KeychainOSError });
});

withSystemItem(
  `a System.keychain item of a scrubbed service is neither listed nor touched${needsSystemItem}`,
  async (t) => {
    const present = () => security(['find-generic-password', '-s', systemService, systemKeychain]).code === 0;
    t.true(present(), `the workflow puts a ${systemService} item in ${systemKeychain}`);
    t.deepEqual(await listGenericPasswords({ services: [systemService] }), []);
    const r = scrub(['--tenant', A, '--service', systemService, '--json']);
    t.is(r.code, 0, r.stderr);
    t.like(r.json, { scanned: 0, errors: [] });
    t.deepEqual(r.json.deleted, []);
    t.true(present());
  },
);

serial(`a locked keychain: exit 1, keychain_locked, its items left alone, no prompt${needs}`, (t) => {
  must(['lock-keychain', keychainPath]);
  try {
    const r = scrub(['--tenant', A, '--service', O, '--json']);
    t.is(r.code, 1, r.stdout);
    t.deepEqual(
      r.json.errors.map((e) => e.code),
      ['keychain_locked'],
    );
    t.deepEqual(r.json.deleted, []);
  } finally {
    must(['unlock-keychain', '-p', password, keychainPath]);
  }
  for (const account of ['o1', 'o2']) t.is(secretOf(O, account), `secret-${account}`);
});

serial(
  `the data-protection keychain without the entitlement is reported as not searched, not as a failure${needs}`,
  (t) => {
    const r = scrub(['--tenant', B, '--service', O, '--json'], {
      ScrubAccessGroups: ['ABCDE12345.com.trustguard.test'],
    });
    t.is(r.code, 0, r.stdout);
    const notSearched = r.json.not_searched as Array<{ access_group: string; code: string }>;
    // An unsigned node has no keychain-access-groups entitlement: macOS answers errSecMissingEntitlement.
    t.log(`not searched: ${JSON.stringify(notSearched)}`);
    t.true(
      notSearched.every((n) => n.access_group === 'ABCDE12345.com.trustguard.test' && n.code === 'missing_entitlement'),
    );
    t.deepEqual(r.json.errors, []);
  },
);
