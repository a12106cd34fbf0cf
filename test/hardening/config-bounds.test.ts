// Issue 8, item 8 (parsing part): a configuration file must never freeze or stop the daemon.
// Bounded reading (1 MB), a bounded binary-plist reader (object budget, depth, cycles), depth
// and object checks after XML and JSON, parsing off the event loop, and only ConfigParseError
// out of it.
import test from 'ava';
import bplistCreator from 'bplist-creator';
import bplistParser from 'bplist-parser';
import fc from 'fast-check';
import { chmodSync, chownSync, closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseBinaryPlist } from '../../agent/config/bplist.js';
import {
  ConfigParseError,
  configLimits,
  parseConfigBytes,
  parseConfigBytesInChild,
  readConfigBytes,
} from '../../agent/config/bounded-parse.js';
import { asNobody, needsNobody, nobodyTitle, tempFolder } from '../helpers/attacker.js';

const nobodyTest = needsNobody ? test.skip : test;

/**
 * A binary plist of `levels` arrays where array i holds two references to array i+1: 30 levels
 * are a few hundred bytes that describe 2^30 leaves (bplist-parser expands every reference).
 */
function sharedReferenceBomb(levels: number, fanOut = 2): Buffer {
  const objects: Buffer[] = [];
  for (let i = 0; i < levels; i++) objects.push(Buffer.from([0xa0 | fanOut, ...Array(fanOut).fill(i + 1)]));
  objects.push(Buffer.from([0x51, 0x78])); // the leaf: "x"
  return assemble(objects, 0);
}

/** bplist00 with 1-byte references and offsets: header, objects, offset table, trailer. */
function assemble(objects: Buffer[], top: number): Buffer {
  const header = Buffer.from('bplist00', 'latin1');
  const offsets: number[] = [];
  let at = header.length;
  for (const o of objects) {
    offsets.push(at);
    at += o.length;
  }
  const offsetSize = at < 256 ? 1 : 2;
  const table = Buffer.alloc(objects.length * offsetSize);
  offsets.forEach((o, i) => (offsetSize === 1 ? table.writeUInt8(o, i) : table.writeUInt16BE(o, i * 2)));
  const trailer = Buffer.alloc(32);
  trailer[6] = offsetSize;
  trailer[7] = 1;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(BigInt(top), 16);
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([header, ...objects, table, trailer]);
}

test.serial(
  'the shared-reference bomb (a few hundred bytes, 2^30 leaves) is refused at once by its object budget',
  async (t) => {
    const bomb = sharedReferenceBomb(30);
    t.true(bomb.length < 300, `${bomb.length} bytes`);
    const started = process.hrtime.bigint();
    const error = await t.throwsAsync(parseConfigBytes(bomb), { instanceOf: ConfigParseError });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.is(error!.code, 'too_many_objects');
    t.regex(error!.message, /more than 20000 objects/);
    t.log(`${bomb.length}-byte bomb refused in ${ms.toFixed(1)} ms (bplist-parser: 37 s and 3.7 GB for 285 bytes)`);
    // Wide instead of deep: 8 levels of 16 references each.
    const wide = await t.throwsAsync(parseConfigBytes(sharedReferenceBomb(8, 14)), { instanceOf: ConfigParseError });
    t.is(wide!.code, 'too_many_objects');
  },
);

test('a binary plist that contains itself, or is nested past the depth limit, is refused', async (t) => {
  // Array 0 holds a reference to itself.
  const cycle = assemble([Buffer.from([0xa1, 0x00])], 0);
  t.regex((await t.throwsAsync(parseConfigBytes(cycle)))!.message, /contains itself/);
  const deep = sharedReferenceBomb(40, 1);
  const error = await t.throwsAsync(parseConfigBytes(deep), { instanceOf: ConfigParseError });
  t.is(error!.code, 'too_deep');
});

test('ordinary binary plists read the same as with bplist-parser: strings, unicode, integers, reals, booleans, dates, data, arrays, dictionaries', async (t) => {
  const value = {
    Mode: 'enforce',
    Unicode: 'Zürich — 東京',
    WarnThresholdSeconds: 40,
    Big: 2 ** 40,
    Negative: -5,
    Ratio: 0.25,
    Flag: true,
    Off: false,
    When: new Date('2024-05-06T07:08:09.000Z'),
    Blob: Buffer.from([1, 2, 3]),
    NTPServers: ['a.example.com', 'b.example.com:123'],
    Nested: { Inner: ['x', { Deep: 1 }] },
  };
  const bytes = bplistCreator(value);
  const ours = await parseConfigBytes(bytes);
  const theirs = bplistParser.parseBuffer(bytes)[0] as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    const a = ours[key];
    const b = theirs[key];
    if (b instanceof Buffer) t.deepEqual(Buffer.from(a as Uint8Array), b, key);
    else t.deepEqual(a, b, key);
  }
});

test('property: any bytes after "bplist00", or any corruption of a valid file, give a dictionary or a ConfigParseError, never anything else', async (t) => {
  const valid = bplistCreator({
    Mode: 'observe',
    NTPServers: ['a', 'b', 'c'],
    Nested: { List: [1, 2, { X: 'y' }] },
    N: 7,
  });
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc
          .uint8Array({ minLength: 0, maxLength: 600 })
          .map((tail) => Buffer.concat([Buffer.from('bplist00'), Buffer.from(tail)])),
        fc
          .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
          .map((edits) => {
            const copy = Buffer.from(valid);
            for (const [at, byte] of edits) copy[at] = byte;
            return copy;
          }),
      ),
      async (bytes) => {
        try {
          const values = await parseConfigBytes(bytes);
          return typeof values === 'object' && values !== null && !Array.isArray(values);
        } catch (error) {
          return error instanceof ConfigParseError;
        }
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('deeply nested JSON and XML are refused with a reason, not a stack overflow out of the loader', async (t) => {
  const json = Buffer.from(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  const jsonError = await t.throwsAsync(parseConfigBytes(json), { instanceOf: ConfigParseError });
  t.is(jsonError!.code, 'too_deep');
  const xml = Buffer.from(
    `<plist><dict><key>a</key>${'<array>'.repeat(20_000)}${'</array>'.repeat(20_000)}</dict></plist>`,
  );
  const xmlError = await t.throwsAsync(parseConfigBytes(xml), { instanceOf: ConfigParseError });
  t.is(xmlError!.code, 'too_deep');
  // Many values, shallow: refused by the object count.
  const many = Buffer.from(JSON.stringify({ a: Array.from({ length: 30_000 }, () => 0) }));
  t.is((await t.throwsAsync(parseConfigBytes(many), { instanceOf: ConfigParseError }))!.code, 'too_many_objects');
});

test('a 50 MB file is refused from its size, before a byte is read; a file growing past 1 MB while read is refused too', (t) => {
  const dir = tempFolder(t);
  const file = path.join(dir, 'huge.plist');
  const fd = openSync(file, 'w', 0o644);
  ftruncateSync(fd, 50 * 1024 * 1024);
  closeSync(fd);
  const error = t.throws(() => readConfigBytes(file), { instanceOf: ConfigParseError });
  t.is(error!.code, 'too_large');
  t.regex(error!.message, /is 52428800 bytes; configuration files are limited to 1048576 bytes/);
  const ok = path.join(dir, 'ok.json');
  writeFileSync(ok, '{"Mode":"observe"}', { mode: 0o644 });
  t.is(readConfigBytes(ok).toString(), '{"Mode":"observe"}');
});

test.serial(
  'off the event loop: while a 1 MB XML plist is parsed in the parser process, timers keep firing; the result is the same',
  async (t) => {
    const xml = Buffer.from(
      `<plist><dict><key>List</key><array>${`<string>${'abcdefghij'.repeat(5)}</string>`.repeat(15_000)}</array></dict></plist>`,
    );
    t.true(xml.length > 900_000 && xml.length <= configLimits.maxBytes);
    let ticks = 0;
    let longestGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 10);
    t.teardown(() => clearInterval(timer));
    const values = await parseConfigBytesInChild(xml);
    clearInterval(timer);
    t.is((values.List as string[]).length, 15_000);
    t.true(ticks >= 5, `${ticks} ticks`);
    t.log(`parsed off-thread; ${ticks} timer ticks meanwhile, longest gap ${longestGap} ms`);
    // Errors cross the thread as ConfigParseError with their code.
    const bomb = await t.throwsAsync(parseConfigBytesInChild(sharedReferenceBomb(30)), {
      instanceOf: ConfigParseError,
    });
    t.is(bomb!.code, 'too_many_objects');
    const late = await t.throwsAsync(parseConfigBytesInChild(xml, { ...configLimits, timeoutMs: 1 }), {
      instanceOf: ConfigParseError,
    });
    t.is(late!.code, 'timed_out');
  },
);

nobodyTest(
  nobodyTitle(
    '(9) a configuration file nobody owns, or anyone can write, is not read for root; through a link neither',
  ),
  async (t) => {
    const dir = tempFolder(t);
    const own = path.join(dir, 'nobodys');
    mkdirSync(own);
    chownSync(own, 65534, 65534);
    const theirs = path.join(own, 'theirs.json');
    const made = await asNobody('sh', ['-c', `umask 0; printf '{"RemediationCommand":["/tmp/x"]}' > ${theirs}`]);
    t.is(made.code, 0, made.stderr);
    t.is(t.throws(() => readConfigBytes(theirs), { instanceOf: ConfigParseError })!.code, 'unsafe_file');
    const writable = path.join(dir, 'writable.json');
    writeFileSync(writable, '{}');
    chmodSync(writable, 0o666);
    t.regex(
      t.throws(() => readConfigBytes(writable))!.message,
      /is not trusted: is writable by anyone \(mode 0666\); it is ignored/,
    );
    const groupWritable = path.join(dir, 'group.json');
    writeFileSync(groupWritable, '{}');
    chownSync(groupWritable, 0, 50);
    chmodSync(groupWritable, 0o664);
    t.regex(t.throws(() => readConfigBytes(groupWritable))!.message, /writable by group 50/);
    mkdirSync(path.join(dir, 'sub'));
    const root = path.join(dir, 'sub', 'root.json');
    writeFileSync(root, '{"Mode":"observe"}', { mode: 0o644 });
    const { symlinkSync } = await import('node:fs');
    symlinkSync(root, path.join(dir, 'link.json'));
    t.is(t.throws(() => readConfigBytes(path.join(dir, 'link.json')))!.message.includes('symbolic link'), true);
    // `agentctl config validate` may read any file the caller names.
    t.is(readConfigBytes(theirs, { trusted: false }).toString(), '{"RemediationCommand":["/tmp/x"]}');
  },
);

test('parseBinaryPlist checks every offset: truncated files and out-of-range trailers are refused', (t) => {
  const valid = bplistCreator({ A: 'b' });
  for (let cut = 8; cut < valid.length; cut += 3) {
    t.throws(() => parseBinaryPlist(valid.subarray(0, cut), configLimits), undefined, `cut at ${cut}`);
  }
  const badTop = Buffer.from(valid);
  badTop.writeBigUInt64BE(99n, badTop.length - 16);
  t.throws(() => parseBinaryPlist(badTop, configLimits), { message: /top object out of range/ });
});
