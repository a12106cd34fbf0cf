// The native keychain capability against a real gnome-keyring on a private D-Bus session.
// GDBus keeps one session-bus connection per process, so this file uses one keyring, reached
// from this test process itself (serial tests).
import test from 'ava';
import { deleteItem, KeychainOSError, listGenericPasswords } from '../../native/keychain.js';
import { keyringMissing, startKeyring, type Keyring } from '../helpers/keyring.js';

const absent = keyringMissing();
const serial = absent ? test.serial.skip : test.serial;
const needs = absent ? ` [needs ${absent}]` : '';

let keyring: Keyring | undefined;

test.before(async () => {
  if (absent) return;
  keyring = await startKeyring();
  // The addon's GDBus connection reads these at its first use.
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
  process.env.HOME = keyring.env.HOME;
  process.env.XDG_RUNTIME_DIR = keyring.env.XDG_RUNTIME_DIR;
  await keyring.storeAll([
    { service: 'native.S', account: 'alice', label: 'Alice', comment: 'tag-1', secret: 'secret-alice' },
    { service: 'native.S', account: 'bob', secret: 'secret-bob' },
    { service: 'native.T', account: 'carol', comment: 'tag-2', secret: 'secret-carol' },
    { service: 'native.other', account: 'dave', secret: 'secret-dave' },
  ]);
});

test.after.always(async () => {
  await keyring?.cleanup();
});

serial(`lists the items of the given services with their attributes, never a secret${needs}`, async (t) => {
  const items = await listGenericPasswords({ services: ['native.S', 'native.T'] });
  t.is(items.length, 3);
  const alice = items.find((i) => i.account === 'alice')!;
  t.like(alice, { service: 'native.S', label: 'Alice', comment: 'tag-1', locked: false });
  t.regex(alice.ref, /^\/org\/freedesktop\/secrets\/collection\//);
  t.true(typeof alice.created === 'number' && Math.abs(alice.created - Date.now() / 1000) < 3600);
  t.is(items.find((i) => i.account === 'bob')!.comment, null);
  t.deepEqual(Object.keys(alice).sort(), [
    'account',
    'comment',
    'created',
    'label',
    'locked',
    'modified',
    'ref',
    'service',
  ]);
  t.false(JSON.stringify(items).includes('secret-'));
  t.deepEqual(await listGenericPasswords({ services: ['native.none'] }), []);
});

serial(`deletes one item by its ref; the ref then names nothing${needs}`, async (t) => {
  const [bob] = (await listGenericPasswords({ services: ['native.S'] })).filter((i) => i.account === 'bob');
  await deleteItem(bob!.ref);
  const left = await listGenericPasswords({ services: ['native.S'] });
  t.deepEqual(
    left.map((i) => i.account),
    ['alice'],
  );
  const again = await t.throwsAsync(deleteItem(bob!.ref), { instanceOf: KeychainOSError });
  t.like(again?.failure, { stage: 'open', domain: 'g-dbus-error-quark' });
  // The others are untouched, secrets included.
  t.is((await keyring!.search('native.other'))[0]?.secret, 'secret-dave');
});

serial(`a malformed ref is an error, never a hang or a crash${needs}`, async (t) => {
  const error = await t.throwsAsync(deleteItem('not a path'), { instanceOf: KeychainOSError });
  t.like(error?.failure, { stage: 'open', domain: 'ref' });
});

test('arguments are checked before C++ sees them', async (t) => {
  const bad: unknown[] = [
    undefined,
    null,
    [],
    'S',
    { services: 'S' },
    { services: [] },
    { services: [1] },
    { services: [''] },
    { services: ['a\0b'] },
    { services: ['S', 'S'] },
    { services: ['S'], extra: 1 },
    {
      services: Array(65)
        .fill('x')
        .map((x, i) => `${x}${i}`),
    },
    { services: ['S'], accessGroup: 7 },
  ];
  for (const value of bad)
    await t.throwsAsync(listGenericPasswords(value as never), { instanceOf: TypeError }, JSON.stringify(value));
  for (const value of [undefined, 7, '', 'a\0b', 'x'.repeat(5000)])
    await t.throwsAsync(deleteItem(value as never), { instanceOf: TypeError });
  await t.throwsAsync(deleteItem('/a', 'b' as never), { instanceOf: TypeError });
});

(process.platform === 'linux' ? test : test.skip)(
  'access groups exist only on macOS: a clear error on Linux',
  async (t) => {
    const error = await t.throwsAsync(listGenericPasswords({ services: ['S'], accessGroup: 'ABCDE12345.x' }), {
      instanceOf: KeychainOSError,
    });
    t.is(error?.failure.domain, 'unsupported');
  },
);
