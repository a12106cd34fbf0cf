// Device identity (ioreg's IOPlatformExpertDevice on macOS, machine-id on Linux) and the
// protected-file reads behind the bearer token, the client key and the CA file.
import test from 'ava';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseIoregPlatform,
  parseMachineId,
  parseOsRelease,
  readDeviceIdentity,
} from '../../agent/telemetry/identity.js';
import { readProtectedFile } from '../../agent/telemetry/protected-file.js';
import { isRoot } from '../helpers/system.js';

// The shape `ioreg -rd1 -c IOPlatformExpertDevice` prints (values made up).
const ioreg = `+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000223, registered, matched, active, busy 0 (5 ms), retain 39>
    {
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"
      "IOPlatformSerialNumber" = "C02ZX1Y2MD6R"
      "compatible" = <"J314sAP","MacBookPro18,3","AppleARM">
      "IOPlatformUUID" = "1a2b3c4d-5E6F-4A1B-8C2D-3E4F5A6B7C8D"
      "model" = <"MacBookPro18,3">
    }
`;

test('ioreg: the hardware UUID and serial number', (t) => {
  t.deepEqual(parseIoregPlatform(ioreg), { uuid: '1A2B3C4D-5E6F-4A1B-8C2D-3E4F5A6B7C8D', serial: 'C02ZX1Y2MD6R' });
  t.deepEqual(parseIoregPlatform(''), { uuid: null, serial: null });
  t.deepEqual(parseIoregPlatform('"IOPlatformUUID" = "not-a-uuid"'), { uuid: null, serial: null });
});

test('machine-id(5) and os-release(5)', (t) => {
  t.is(parseMachineId('3d1219c7c4c5404aaa1f6d2a48adfda4\n'), '3d1219c7c4c5404aaa1f6d2a48adfda4');
  t.is(parseMachineId('uninitialized\n'), null);
  t.is(parseMachineId('00000000000000000000000000000000'), null);
  t.deepEqual(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\n# comment\nID=debian\n'), {
    PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
    VERSION_ID: '12',
    ID: 'debian',
  });
});

(process.platform === 'linux' && existsSync('/etc/machine-id') ? test : test.skip)(
  'on Linux the host ID is /etc/machine-id',
  async (t) => {
    const identity = await readDeviceIdentity('linux');
    t.is(identity.hostId, readFileSync('/etc/machine-id', 'utf8').trim());
    t.is(identity.osType, 'linux');
    t.is(identity.serial, null);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-identity-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const broken = await readDeviceIdentity('linux', {
      machineId: path.join(dir, 'absent'),
      osRelease: path.join(dir, 'absent'),
    });
    t.is(broken.hostId, null);
    t.is(broken.problem?.code, 'identity_unavailable');
  },
);

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-protected-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('protected files: a 0600 file of ours is read; others get a code, never the content', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'token');
  writeFileSync(file, 'secret-token');
  chmodSync(file, 0o600);
  const ok = await readProtectedFile(file, { secret: true, maxBytes: 100 });
  t.true(ok.ok && ok.data.toString() === 'secret-token');
  chmodSync(file, 0o640);
  t.like(await readProtectedFile(file, { secret: true, maxBytes: 100 }), { ok: false, code: 'file_unsafe' });
  t.like(
    await readProtectedFile(file, { secret: false, maxBytes: 100 }),
    { ok: true },
    'a CA file may be readable by others',
  );
  chmodSync(file, 0o620);
  t.like(
    await readProtectedFile(file, { secret: false, maxBytes: 100 }),
    { ok: false, code: 'file_unsafe' },
    'but not writable',
  );
  chmodSync(file, 0o600);
  t.like(await readProtectedFile(file, { secret: true, maxBytes: 5 }), { ok: false, code: 'file_too_large' });
  t.like(await readProtectedFile('relative/token', { secret: true, maxBytes: 5 }), { ok: false, code: 'file_unsafe' });
  t.like(await readProtectedFile(path.join(dir, 'nope'), { secret: true, maxBytes: 5 }), {
    ok: false,
    code: 'file_missing',
  });
  t.like(await readProtectedFile(path.join(dir, 'no-dir', 'token'), { secret: true, maxBytes: 5 }), {
    ok: false,
    code: 'file_missing',
  });
  t.like(
    await readProtectedFile(dir, { secret: true, maxBytes: 5 }),
    { ok: false, code: 'file_unsafe' },
    'a directory',
  );
});

test('protected files: a folder others can write (not sticky) makes the file unsafe', async (t) => {
  const dir = tempDir(t);
  const open = path.join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  writeFileSync(path.join(open, 'token'), 'x');
  chmodSync(path.join(open, 'token'), 0o600);
  const r = await readProtectedFile(path.join(open, 'token'), { secret: true, maxBytes: 10 });
  t.like(r, { ok: false, code: 'file_unsafe' });
  t.regex(r.ok ? '' : r.reason, /writable by group or others/);
  chmodSync(open, 0o1777);
  t.like(
    await readProtectedFile(path.join(open, 'token'), { secret: true, maxBytes: 10 }),
    { ok: true },
    'sticky, like /tmp',
  );
});

(isRoot ? test : test.skip)(
  `protected files: a file owned by another user is unsafe for root${isRoot ? '' : ' [needs root]'}`,
  async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'token');
    writeFileSync(file, 'x');
    chmodSync(file, 0o600);
    chownSync(file, 65534, 65534);
    t.like(await readProtectedFile(file, { secret: true, maxBytes: 10 }), { ok: false, code: 'file_unsafe' });
    chownSync(file, 0, 0);
    const sub = path.join(dir, 'sub');
    mkdirSync(sub);
    chownSync(sub, 65534, 65534);
    writeFileSync(path.join(sub, 'token'), 'x');
    chmodSync(path.join(sub, 'token'), 0o600);
    t.like(
      await readProtectedFile(path.join(sub, 'token'), { secret: true, maxBytes: 10 }),
      { ok: false, code: 'file_unsafe' },
      'a folder owned by someone else',
    );
  },
);
