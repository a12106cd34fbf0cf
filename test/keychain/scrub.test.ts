// `agentctl scrub` end to end: the real agentctl, in a real gnome-keyring session (private
// D-Bus session, items seeded with secret-tool), checked with secret-tool.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tenantTag } from '../../agent/keychain/tag.js';
import { agentctlPath, agentdPath, runProgram, type CommandResult } from '../helpers/agent.js';
import { keyringMissing, startKeyring, type Keyring, type SeedItem } from '../helpers/keyring.js';
import { hasCommand, isRoot } from '../helpers/system.js';

const absent = keyringMissing();
const needs = absent ? ` [needs ${absent}]` : '';
const withKeyring = absent ? test.skip : test;

const A = 'a.example.com';
const B = 'b.example.com';
const tagA = tenantTag(A);
const tagB = tenantTag(B);

interface Run extends CommandResult {
  json: Record<string, unknown> & {
    deleted?: Array<Record<string, unknown>>;
    would_delete?: Array<Record<string, unknown>>;
    errors: Array<{ code: string }>;
  };
}

/** A configuration file in the keyring's folder; the control socket is there too (no daemon). */
function writeConfig(keyring: Keyring, values: Record<string, unknown>): string {
  const file = path.join(keyring.dir, `agent-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ ControlSocketPath: path.join(keyring.dir, 'run', 'agent.sock'), ...values }));
  return file;
}

async function scrub(keyring: Keyring, args: string[], env: NodeJS.ProcessEnv = keyring.env): Promise<Run> {
  const r = await runProgram(process.execPath, [agentctlPath, 'scrub', ...args], { env: { ...env, NO_COLOR: '1' } });
  let json = { errors: [] } as unknown as Run['json'];
  if (args.includes('--json') && r.code !== 64) {
    try {
      json = JSON.parse(r.stdout) as Run['json'];
    } catch {
      throw new Error(`agentctl scrub ${args.join(' ')} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }
  return { ...r, json };
}

function auditLines(keyring: Keyring): Array<Record<string, unknown>> {
  const file = path.join(keyring.env.HOME!, '.local', 'state', 'trustguard', 'agent.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.category === 'keychain' && typeof l.outcome === 'string');
}

const accounts = (entries: Array<Record<string, unknown>> | undefined) => (entries ?? []).map((e) => e.account).sort();

async function withSession<T>(t: ExecutionContext, run: (keyring: Keyring) => Promise<T>): Promise<T> {
  const keyring = await startKeyring();
  t.teardown(() => keyring.cleanup());
  return run(keyring);
}

// Acceptance 1: 3 items of S tagged A, 3 of S tagged B, 2 of S untagged, 2 of another service tagged B.
const seed: SeedItem[] = [
  ...[1, 2, 3].map((i) => ({ service: 'S', account: `a${i}`, comment: tagA, secret: `secret-a${i}` })),
  ...[1, 2, 3].map((i) => ({ service: 'S', account: `b${i}`, comment: tagB, secret: `secret-b${i}` })),
  ...[1, 2].map((i) => ({ service: 'S', account: `u${i}`, secret: `secret-u${i}` })),
  ...[1, 2].map((i) => ({ service: 'O', account: `o${i}`, comment: tagB, secret: `secret-o${i}` })),
];

withKeyring(
  `scrub --tenant A --dry-run lists exactly the B items of S and deletes nothing; enforce deletes exactly those${needs}`,
  async (t) => {
    await withSession(t, async (keyring) => {
      await keyring.storeAll(seed);
      const enforce = writeConfig(keyring, { ScrubMode: 'enforce', TenantDomain: B, ScrubServices: ['O'] });

      const dry = await scrub(keyring, ['--tenant', A, '--dry-run', '--service', 'S', '--json', '--config', enforce]);
      t.is(dry.code, 0, dry.stderr);
      t.like(dry.json, { tenant: A, tenant_tag: tagA, mode: 'dry-run', scanned: 8, kept: 5, errors: [] });
      t.deepEqual(accounts(dry.json.would_delete), ['b1', 'b2', 'b3']);
      t.true(dry.json.would_delete!.every((e) => e.tag === tagB && e.service === 'S' && e.reason === 'other_tenant'));
      t.is(dry.json.deleted, undefined);
      t.is((await keyring.search('S')).length, 8);
      t.is((await keyring.search('O')).length, 2);

      // The safe default: ScrubMode unset (dry-run) and no --dry-run still deletes nothing.
      const defaults = await scrub(keyring, [
        '--tenant',
        A,
        '--service',
        'S',
        '--json',
        '--config',
        writeConfig(keyring, {}),
      ]);
      t.is(defaults.json.mode, 'dry-run');
      t.is((await keyring.search('S')).length, 8);

      const real = await scrub(keyring, ['--tenant', A, '--service', 'S', '--json', '--config', enforce]);
      t.is(real.code, 0, real.stderr);
      t.like(real.json, { mode: 'enforce', scanned: 8, kept: 5, errors: [] });
      t.deepEqual(accounts(real.json.deleted), ['b1', 'b2', 'b3']);
      const left = [...(await keyring.search('S')), ...(await keyring.search('O'))];
      t.deepEqual(left.map((i) => i.attributes.account).sort(), ['a1', 'a2', 'a3', 'o1', 'o2', 'u1', 'u2']);
      for (const item of left) t.is(item.secret, `secret-${item.attributes.account}`);

      // Every decision is in the audit log (service, account, tag, reason), never a secret.
      const audit = auditLines(keyring);
      t.deepEqual(
        audit
          .filter((l) => l.outcome === 'deleted')
          .map((l) => l.account)
          .sort(),
        ['b1', 'b2', 'b3'],
      );
      t.deepEqual(
        audit
          .filter((l) => l.outcome === 'would_delete')
          .map((l) => l.account)
          .sort(),
        ['b1', 'b1', 'b2', 'b2', 'b3', 'b3'],
      );
      t.is(audit.filter((l) => l.outcome === 'kept').length, 15);
      for (const line of audit) {
        t.like(line, { service: 'S' });
        t.truthy(line.reason);
      }
      const logText = readFileSync(path.join(keyring.env.HOME!, '.local', 'state', 'trustguard', 'agent.log'), 'utf8');
      t.false(logText.includes('secret-'));

      // Human output says what happened, and that no daemon took the report.
      const human = await scrub(keyring, ['--tenant', A, '--service', 'S', '--config', enforce]);
      t.is(human.code, 0);
      t.regex(human.stdout, /Keychain scrub, enforce, tenant a\.example\.com/);
      t.regex(human.stdout, /Scanned 5 items of S\nDeleted 0\nKept 5/);
      t.regex(human.stdout, /Not reported to the daemon: the daemon is not reachable/);
    });
  },
);

withKeyring(
  `property: over random item sets the scrub deletes exactly the other tenants' items of ScrubServices${needs}`,
  async (t) => {
    await withSession(t, async (keyring) => {
      const tagC = tenantTag('c.example.com');
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              listed: fc.boolean(),
              comment: fc.constantFrom<string | undefined>(tagA, tagB, tagC, undefined, 'a note'),
            }),
            { minLength: 1, maxLength: 8 },
          ),
          fc.boolean(),
          async (specs, scrubUntagged) => {
            run++;
            const listed = `P${run}`;
            const other = `Q${run}`;
            const items = specs.map((s, i) => ({
              service: s.listed ? listed : other,
              account: `acct${i}`,
              comment: s.comment,
              secret: `pw-${run}-${i}`,
            }));
            await keyring.storeAll(items);
            const config = writeConfig(keyring, {
              TenantDomain: A,
              ScrubServices: [listed],
              ScrubMode: 'enforce',
              ScrubUntagged: scrubUntagged,
            });
            const r = await scrub(keyring, ['--json', '--config', config]);
            if (r.code !== 0) throw new Error(`scrub failed: ${r.stdout}${r.stderr}`);
            const left = new Set(
              [...(await keyring.search(listed)), ...(await keyring.search(other))].map(
                (i) => `${i.attributes.service}/${i.attributes.account}/${i.secret}`,
              ),
            );
            for (const item of items) {
              const untagged = item.comment === undefined || item.comment === 'a note';
              const shouldGo = item.service === listed && (untagged ? scrubUntagged : item.comment !== tagA);
              if (left.has(`${item.service}/${item.account}/${item.secret}`) === shouldGo) return false;
            }
            return true;
          },
        ),
        { numRuns: 8 },
      );
      t.pass();
    });
  },
);

withKeyring(
  `kill -9 in the middle of a large scrub, then a re-run: the same end state as one uninterrupted run${needs}`,
  async (t) => {
    await withSession(t, async (keyring) => {
      const n = 240;
      const items: SeedItem[] = Array.from({ length: n }, (_, i) => ({
        service: 'Big',
        account: `acct${i}`,
        comment: i % 4 === 0 ? tagA : i % 4 === 3 ? undefined : tagB,
        secret: `big-${i}`,
        collection: 'session' as const,
      }));
      await keyring.storeAll(items, 6);
      const expected = items
        .filter((i) => i.comment !== tagB)
        .map((i) => `${i.account}/${i.secret}`)
        .sort();
      const config = writeConfig(keyring, { TenantDomain: A, ScrubServices: ['Big'], ScrubMode: 'enforce' });

      const child = spawn(process.execPath, [agentctlPath, 'scrub', '--json', '--config', config], {
        env: keyring.env,
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      let deletedBeforeKill = 0;
      for (let i = 0; i < 2000; i++) {
        deletedBeforeKill = auditLines(keyring).filter((l) => l.outcome === 'deleted').length;
        if (deletedBeforeKill >= 5) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGKILL');
      await exited;
      const afterKill = await keyring.search('Big');
      const targets = n - expected.length;
      t.log(
        `killed after ${deletedBeforeKill} audited deletions; ${afterKill.length - expected.length} of ${targets} targets left`,
      );
      t.true(afterKill.length > expected.length, 'the scrub finished before it could be interrupted');
      t.true(afterKill.length < n, 'the scrub had not deleted anything yet');

      const again = await scrub(keyring, ['--json', '--config', config]);
      t.is(again.code, 0, again.stderr);
      t.is(again.json.errors.length, 0);
      const end = (await keyring.search('Big')).map((i) => `${i.attributes.account}/${i.secret}`).sort();
      t.deepEqual(end, expected);
      // And once more: nothing left to do.
      const third = await scrub(keyring, ['--json', '--config', config]);
      t.deepEqual(third.json.deleted, []);
    });
  },
);

withKeyring(`a locked keyring: a clear error, exit 1, nothing deleted${needs}`, async (t) => {
  const first = await startKeyring();
  t.teardown(() => first.cleanup());
  await first.storeAll(seed.filter((s) => s.service === 'S'));
  await first.stop();
  // The same keyring files, started without the password: the login keyring is locked.
  const locked = await startKeyring({ dir: first.dir, unlocked: false });
  t.teardown(() => locked.stop());
  const config = writeConfig(locked, { TenantDomain: A, ScrubServices: ['S'], ScrubMode: 'enforce' });
  const r = await scrub(locked, ['--json', '--config', config]);
  t.is(r.code, 1);
  t.deepEqual(
    r.json.errors.map((e) => e.code),
    ['keychain_locked'],
  );
  t.deepEqual(r.json.deleted, []);
  const human = await scrub(locked, ['--config', config]);
  t.is(human.code, 1);
  t.regex(human.stdout, /A keychain is locked: its items were left alone/);
  await locked.stop();
  const reopened = await startKeyring({ dir: first.dir });
  t.teardown(() => reopened.stop());
  t.is((await reopened.search('S')).length, 8);
});

withKeyring(`no D-Bus session: a clear error, exit 1, nothing deleted${needs}`, async (t) => {
  await withSession(t, async (keyring) => {
    await keyring.storeAll(seed.slice(3, 6));
    const config = writeConfig(keyring, { TenantDomain: A, ScrubServices: ['S'], ScrubMode: 'enforce' });
    const emptyRuntime = mkdtempSync(path.join(os.tmpdir(), 'tg-nobus-'));
    t.teardown(() => rmSync(emptyRuntime, { recursive: true, force: true }));
    const env: NodeJS.ProcessEnv = { ...keyring.env, XDG_RUNTIME_DIR: emptyRuntime };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const r = await scrub(keyring, ['--json', '--config', config], env);
    t.is(r.code, 1);
    t.deepEqual(
      r.json.errors.map((e) => e.code),
      ['no_session'],
    );
    const human = await scrub(keyring, ['--config', config], env);
    t.regex(human.stdout, /There is no D-Bus session bus/);
    t.is((await keyring.search('S')).length, 3);
  });
});

const libsecretPath = [
  '/usr/lib/x86_64-linux-gnu/libsecret-1.so.0',
  '/usr/lib/aarch64-linux-gnu/libsecret-1.so.0',
].find((p) => existsSync(p));
const canHide = !absent && isRoot && hasCommand('unshare') && libsecretPath !== undefined;
(canHide ? test : test.skip)(
  `no libsecret: a clear error, exit 1, nothing deleted${canHide ? '' : ' [needs root, unshare, libsecret-1-0]'}`,
  async (t) => {
    await withSession(t, async (keyring) => {
      await keyring.storeAll(seed.slice(3, 6));
      const config = writeConfig(keyring, { TenantDomain: A, ScrubServices: ['S'], ScrubMode: 'enforce' });
      // In a private mount namespace, an empty file is bound over the library: dlopen fails there only.
      const empty = path.join(keyring.dir, 'empty.so');
      writeFileSync(empty, '');
      chmodSync(empty, 0o644);
      const script = `mount --bind "$1" "$2" && shift 2 && exec "$@"`;
      const r = await runProgram(
        'unshare',
        [
          '--mount',
          'sh',
          '-c',
          script,
          'sh',
          empty,
          realpathSync(libsecretPath!),
          process.execPath,
          agentctlPath,
          'scrub',
          '--json',
          '--config',
          config,
        ],
        { env: keyring.env },
      );
      t.is(r.code, 1, r.stderr);
      const json = JSON.parse(r.stdout) as Run['json'];
      t.deepEqual(
        json.errors.map((e) => e.code),
        ['library_missing'],
      );
      t.is((await keyring.search('S')).length, 3);
    });
  },
);

withKeyring(`not configured: nothing to do, exit 0; usage errors exit 64${needs}`, async (t) => {
  await withSession(t, async (keyring) => {
    const none = await scrub(keyring, ['--json', '--config', writeConfig(keyring, { ScrubServices: ['S'] })]);
    t.is(none.code, 0);
    t.is(none.json.skipped, 'no_tenant');
    const noServices = await scrub(keyring, ['--config', writeConfig(keyring, { TenantDomain: A })]);
    t.is(noServices.code, 0);
    t.regex(noServices.stdout, /No services are configured/);
    const config = writeConfig(keyring, {});
    for (const args of [['--tenant', 'not a domain'], ['--tenant', ''], ['--service', ''], ['--bogus']]) {
      const r = await scrub(keyring, [...args, '--config', config]);
      t.is(r.code, 64, args.join(' '));
    }
  });
});

withKeyring(
  `agentd --session runs the configured scrub once: one JSON line, exit 0 even when it failed${needs}`,
  async (t) => {
    await withSession(t, async (keyring) => {
      await keyring.storeAll(seed);
      const config = writeConfig(keyring, { TenantDomain: A, ScrubServices: ['S'], ScrubMode: 'enforce' });
      const run = await runProgram(process.execPath, [agentdPath, '--session', '--config', config], {
        env: keyring.env,
      });
      t.is(run.code, 0, run.stderr);
      const line = JSON.parse(run.stdout) as Run['json'] & { reported: boolean; report_problem: string };
      t.like(line, { mode: 'enforce', scanned: 8, kept: 5, reported: false });
      t.deepEqual(accounts(line.deleted), ['b1', 'b2', 'b3']);
      t.regex(line.report_problem, /not reachable/);
      t.deepEqual((await keyring.search('S')).map((i) => i.attributes.account).sort(), ['a1', 'a2', 'a3', 'u1', 'u2']);
      // No session bus: the error is in the line (and the log), and launchd is not made to retry.
      const env: NodeJS.ProcessEnv = { ...keyring.env, XDG_RUNTIME_DIR: path.join(keyring.dir, 'home') };
      delete env.DBUS_SESSION_BUS_ADDRESS;
      const failed = await runProgram(process.execPath, [agentdPath, '--session', '--config', config], { env });
      t.is(failed.code, 0);
      t.deepEqual(
        (JSON.parse(failed.stdout) as Run['json']).errors.map((e) => e.code),
        ['no_session'],
      );
      const usage = await runProgram(process.execPath, [agentdPath, '--session', '--state-dir', keyring.dir]);
      t.is(usage.code, 64);
    });
  },
);
