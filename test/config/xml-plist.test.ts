// Our one XML property-list reader (agent/config/xml-plist.ts) against the `plist` package it
// replaced for configuration files: the same values, type for type, for generated plists and
// for the real profiles of shared/corpora/profiles; a clear error (an Error saying where,
// never what is there) for malformed ones; the depth and object limits while parsing. Its
// positions form (readXmlPlist, for the profile doctor and the SSO checks): the line of every
// key and array element, duplicate keys, exact integers beyond 2^53.
import test from 'ava';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as plist from 'plist';
import { ConfigParseError, configLimits, parseConfigBytes } from '../../agent/config/bounded-parse.js';
import { parseXmlPlist, readXmlPlist, XmlPlistError } from '../../agent/config/xml-plist.js';
import { corpus } from '../helpers/corpora.js';

const roomy = { maxDepth: 64, maxObjects: 1_000_000 };

/** plist.parse with xmldom's console reports silenced (it prints a malformed document's errors). */
function plistParse(text: string): unknown {
  const saved = { error: console.error, warn: console.warn, log: console.log };
  console.error = console.warn = console.log = () => undefined;
  try {
    return plist.parse(text);
  } finally {
    Object.assign(console, saved);
  }
}

// Characters XML 1.0 allows (§2.2 Char); xmlbuilder refuses to write any other.
const notXmlChar = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
// The one disagreement with plist, tested on its own below: xmldom reads U+0085, U+2028 and
// U+2029 as line ends (XML 1.1's rule, its normalizeLineEndings) in an XML 1.0 plist.
const xml11LineEnd = /[\u0085\u2028\u2029]/g;
const anyText = fc
  .string({ unit: 'binary', maxLength: 24 })
  .map((s) => s.replace(notXmlChar, '').replace(xml11LineEnd, ''));
const markupText = fc.string({
  unit: fc.constantFrom(
    '<',
    '>',
    '&',
    ';',
    '"',
    "'",
    ']]>',
    '<![CDATA[',
    '-->',
    '\r',
    '\r\n',
    '\n',
    ' ',
    'a',
    '😀',
    '&amp;',
    '#x41',
  ),
  maxLength: 12,
});
const text = fc.oneof(anyText, markupText);
const leafValue = fc.oneof(
  text,
  fc.maxSafeInteger(),
  fc.integer(),
  // plist.build writes an integral number as <integer> with toString(): beyond 2^53 that can be
  // "1e+21", which plist read as 1 and we refuse; such numbers are not in a configuration.
  fc.double().filter((d) => !Number.isInteger(d) || Math.abs(d) <= Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
  fc.uint8Array({ maxLength: 40 }),
);
const { value: plistValue } = fc.letrec<{ value: unknown; array: unknown[]; dict: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafValue, tie('array'), tie('dict')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  dict: fc.array(fc.tuple(text, tie('value')), { maxLength: 5 }).map((entries) => {
    const out: Record<string, unknown> = {};
    // plist refuses a "__proto__" key (CVE-2022-22912); ours keeps it as an ordinary key.
    for (const [key, value] of entries) if (key !== '__proto__') out[key] = value;
    return out;
  }),
}));

test('property: plist.build(value) read by ours is what plist.parse reads, type for type', (t) => {
  fc.assert(
    fc.property(plistValue, fc.boolean(), (value, pretty) => {
      const xml = plist.build(value as plist.PlistValue, { pretty });
      const theirs = plistParse(xml);
      const ours = parseXmlPlist(xml, roomy);
      t.deepEqual(ours, theirs, xml);
      // The positions form reads the same value (integers here are within 2^53).
      t.deepEqual(readXmlPlist(xml, roomy).value, ours, xml);
      return true;
    }),
    { numRuns: 500 },
  );
});

test('U+0085, U+2028 and U+2029 are characters of an XML 1.0 plist, not line ends (plist, through xmldom, reads them as LF)', (t) => {
  // XML 1.0 §2.11 makes only CR LF and CR line ends; CF's parseStringTag (CFPropertyList.c)
  // keeps a string's bytes as they are.
  for (const ch of ['\u0085', '\u2028', '\u2029']) {
    const xml = plist.build({ [`a${ch}b`]: `c${ch}d` });
    t.deepEqual(parseXmlPlist(xml, roomy), { [`a${ch}b`]: `c${ch}d` });
    t.deepEqual(plistParse(xml), { 'a\nb': 'c\nd' }, 'plist (xmldom) still reads a line end');
  }
});

test('dates, data, integers and reals are the types plist.parse gave (Date, Uint8Array, number)', (t) => {
  const xml = plist.build({
    when: new Date('2024-02-29T23:59:58Z'),
    bytes: new Uint8Array([0, 1, 254, 255]),
    count: -42,
    ratio: 0.25,
    on: true,
    list: ['a', 1],
  });
  const ours = parseXmlPlist(xml, roomy) as Record<string, unknown>;
  t.true(ours.when instanceof Date);
  t.is(Object.getPrototypeOf(ours.bytes), Uint8Array.prototype);
  t.deepEqual(ours, plistParse(xml));
  t.deepEqual(ours, {
    when: new Date('2024-02-29T23:59:58Z'),
    bytes: new Uint8Array([0, 1, 254, 255]),
    count: -42,
    ratio: 0.25,
    on: true,
    list: ['a', 1],
  });
});

test('the XML forms plist.build does not write read as plist.parse reads them', (t) => {
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- before -->',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0"><!-- c --><dict>',
    '<key>s</key><string>a&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600;<![CDATA[<&>]]>b\r\nc</string>',
    '<key>empty</key><string/><key>d</key><dict/><key>a</key><array/>',
    '<key>i</key><integer> +007 </integer><key>z</key><integer>-0</integer>',
    '<key>r</key><real>-1.5E3</real><key>n</key><real>NaN</real><key>inf</key><real>-Infinity</real>',
    '<key>t</key><true></true><key>f</key><false/>',
    '<key>data</key><data>\n\tAAEC\n\t/w==\n</data><key>nodata</key><data/>',
    '<key>s</key><string>later wins</string>',
    '</dict></plist>\n<!-- after -->\n',
  ].join('');
  const ours = parseXmlPlist(xml, roomy);
  t.deepEqual(ours, plistParse(xml));
  // A later duplicate key replaces the value and keeps the first one's place (plist's assignment).
  t.deepEqual(Object.keys(ours as object)[0], 's');
  t.is((ours as Record<string, unknown>).s, 'later wins');
  // A byte order mark (bounded-parse strips it before plist ever saw it).
  t.deepEqual(parseXmlPlist(`\uFEFF${xml}`, roomy), ours);
});

test('where CF and plist.parse differ, ours reads as CoreFoundation does', (t) => {
  const one = (body: string) => parseXmlPlist(`<plist version="1.0">${body}</plist>`, roomy);
  // CFPropertyList.c parseIntegerTag reads hex; plist read "0x1F" as 0.
  t.is(one('<integer>0x1F</integer>'), 31);
  t.is(one('<integer>-0x10</integer>'), -16);
  t.is(one('<integer>18446744073709551615</integer>'), 2 ** 64); // the nearest double, as parseInt gives
  t.throws(() => one('<integer>18446744073709551616</integer>'), { message: /outside the 64-bit range/ });
  t.throws(() => one('<integer>-9223372036854775809</integer>'), { message: /outside the 64-bit range/ });
  // plist gave NaN, an Invalid Date, or 12 for these.
  t.throws(() => one('<integer>{{passcode_length}}</integer>'), { message: /not an integer/ });
  t.throws(() => one('<integer>12abc</integer>'), { message: /not an integer/ });
  t.throws(() => one('<real>1.5x</real>'), { message: /not a number/ });
  t.throws(() => one('<date>yesterday</date>'), { message: /YYYY-MM-DDTHH:MM:SSZ/ });
  t.throws(() => one('<date>2023-02-29T00:00:00Z</date>'), { message: /no such day/ });
  t.throws(() => one('<data>QQ=</data>'), { message: /not base64/ });
  t.throws(() => one('<true>yes</true>'), { message: /<true> is not empty/ });
  t.throws(() => one('<null/>'), { message: /not a property list value/ });
  // A key "__proto__" is an ordinary key, as in bplist.ts and JSON.parse.
  const proto = one('<dict><key>__proto__</key><string>x</string></dict>') as object;
  t.deepEqual(Object.keys(proto), ['__proto__']);
  t.is(Object.getPrototypeOf(proto), Object.prototype);
});

const profiles = corpus('profiles');

test('every XML profile of the corpus reads as plist.parse reads it, or both refuse it', (t) => {
  if (!profiles) return t.pass('no corpus here');
  const files = readdirSync(profiles).filter((f) => f.endsWith('.mobileconfig'));
  let compared = 0;
  const refused: string[] = [];
  for (const file of files) {
    const xml = readFileSync(path.join(profiles, file), 'utf8').replace(/^\uFEFF/, '');
    if (!/^\s*</.test(xml)) continue; // signed (CMS) or binary
    let theirs: unknown;
    try {
      theirs = plistParse(xml);
    } catch {
      theirs = undefined;
    }
    let ours: unknown;
    try {
      ours = parseXmlPlist(xml, roomy);
    } catch (error) {
      t.true(error instanceof XmlPlistError, file);
      refused.push(file);
      continue;
    }
    if (theirs === undefined) {
      // xmldom refuses an XML declaration after leading whitespace; CF (skipWhitespace, then the
      // processing instruction: parseXMLPropertyList) and ours read it.
      t.is(file, 'shell-intune-samples__Docker_Desktop_-_Sign-in_Enforcement.mobileconfig');
      continue;
    }
    t.deepEqual(ours, theirs, file);
    compared++;
  }
  t.true(compared >= 25, `${compared} compared`);
  t.deepEqual(refused.sort(), [
    // Malformed XML: plist refuses them too.
    'jamfconnect__Jamf_Connect_Login_Hybrid_ID_ADFS.mobileconfig',
    'shell-intune-samples__Google_Chrome_-_Prevent_proceeding_from_the_SSL_warning_page.mobileconfig',
    // <integer>{{passcode_length}}</integer>, a template: plist read NaN, CF refuses it.
    'thoughtworks-configuration-profiles__SimpleMDM-passcode-attribute.mobileconfig',
  ]);
});

const malformed: Array<[string, string, RegExp]> = [
  [
    'mismatched tag',
    '<plist><dict><key>a</key><string>x</string></array></plist>',
    /does not close the <dict> of line 1/,
  ],
  ['mismatched leaf tag', '<plist><string>x</integer></plist>', /does not close the <string> of line 1/],
  [
    'unclosed dict',
    '<plist version="1.0">\n<dict>\n<key>a</key>\n<true/>\n',
    /ends before the <dict> of line 2 is closed/,
  ],
  ['unclosed string', '<plist><string>abc', /<string> is not closed/],
  ['key without value', '<plist><dict><key>a</key></dict></plist>', /a <key> without a value/],
  [
    'two keys in a row',
    '<plist><dict><key>a</key><key>b</key><true/></dict></plist>',
    /the key before it has no value/,
  ],
  ['value without key', '<plist><dict><string>a</string></dict></plist>', /a value without a <key>/],
  ['unknown element', '<plist><dict><key>a</key><secret/></dict></plist>', /not a property list value/],
  ['element inside a string', '<plist><string>a<b>c</b></string></plist>', /an element inside <string>/],
  ['bad entity', '<plist><string>&secret;</string></plist>', /unknown or malformed entity/],
  ['bare ampersand', '<plist><string>a & b</string></plist>', /unknown or malformed entity/],
  ['character reference to a surrogate', '<plist><string>&#xD800;</string></plist>', /no string can hold/],
  ['character reference beyond U+10FFFF', '<plist><string>&#1114112;</string></plist>', /no string can hold/],
  ['text after the root', '<plist><dict/></plist>secret', /text after the end/],
  ['an element after the root', '<plist><dict/></plist><plist><dict/></plist>', /text after the end/],
  [
    'text between elements',
    '<plist><dict>secret<key>a</key><true/></dict></plist>',
    /text between the elements of <dict>/,
  ],
  ['text before the root', 'secret<plist><dict/></plist>', /text before the root/],
  ['root not a value', '<secret><dict/></secret>', /not a property list value/],
  ['bare root then more', '<dict/><dict/>', /text after the end/],
  [
    'DOCTYPE with an internal subset',
    '<!DOCTYPE plist [<!ENTITY secret "x">]><plist><string/></plist>',
    /internal subset/,
  ],
  ['a second DOCTYPE', '<!DOCTYPE plist><!DOCTYPE plist><plist><string/></plist>', /text before the root/],
  ['empty plist', '<plist version="1.0"></plist>', /<plist> holds no value/],
  ['empty plist tag', '<plist/>', /<plist> holds no value/],
  ['two values in plist', '<plist><dict/><dict/></plist>', /a second value in <plist>/],
  ['unclosed comment', '<plist><!-- secret <dict/></plist>', /a comment is not closed/],
  ['malformed tag', '<plist><dict secret></dict></plist>', /a malformed tag/],
  ['empty file', '   ', /no element/],
];

for (const [name, xml, reason] of malformed) {
  test(`malformed: ${name} is an Error saying where, with none of the text`, (t) => {
    const error = t.throws(() => parseXmlPlist(xml, roomy), { instanceOf: XmlPlistError, message: reason });
    t.regex(error.message, /\(line \d+, column \d+\)$/);
    t.notRegex(error.message, /secret/);
  });
}

test('a mismatched tag is located at its line and column', (t) => {
  const xml = '<plist>\n  <dict>\n    <key>a</key>\n    <string>x</string>\n  </array>\n</plist>';
  const error = t.throws(() => parseXmlPlist(xml, roomy), { instanceOf: XmlPlistError });
  t.is(error.line, 5);
  t.is(error.column, 3);
});

test('100,000 nested arrays stop at maxDepth: too_deep, not a RangeError', async (t) => {
  const xml = `<plist version="1.0">${'<array>'.repeat(100_000)}${'</array>'.repeat(100_000)}</plist>`;
  const error = t.throws(() => parseXmlPlist(xml, configLimits), { instanceOf: XmlPlistError });
  t.true(error.limit);
  t.regex(error.message, new RegExp(`^nested deeper than ${configLimits.maxDepth} levels`));
  // Through parseConfigBytes: 100,000 opening tags (no closing ones: 1 MB is the file limit).
  const opened = Buffer.from(`<plist version="1.0">${'<array>'.repeat(100_000)}`);
  const rejected = await t.throwsAsync(parseConfigBytes(opened), { instanceOf: ConfigParseError });
  t.is(rejected.code, 'too_deep');
  // Nested dictionaries too, and one level within the limit still reads.
  const dicts = (n: number) => `<plist>${'<dict><key>k</key>'.repeat(n)}<true/>${'</dict>'.repeat(n)}</plist>`;
  t.throws(() => parseXmlPlist(dicts(100_000), configLimits), { message: /nested deeper/ });
  t.notThrows(() => parseXmlPlist(dicts(configLimits.maxDepth), configLimits));
  t.throws(() => parseXmlPlist(dicts(configLimits.maxDepth + 1), configLimits), { message: /nested deeper/ });
});

test('many objects stop at maxObjects: too_many_objects', async (t) => {
  const items = (n: number) => `<plist><dict><key>a</key><array>${'<true/>'.repeat(n)}</array></dict></plist>`;
  // The root dict, the array and its elements: as checkTree counts them.
  t.notThrows(() => parseXmlPlist(items(configLimits.maxObjects - 2), configLimits));
  const error = t.throws(() => parseXmlPlist(items(configLimits.maxObjects - 1), configLimits), {
    instanceOf: XmlPlistError,
  });
  t.true(error.limit);
  t.regex(error.message, new RegExp(`^more than ${configLimits.maxObjects} objects`));
  const rejected = await t.throwsAsync(parseConfigBytes(Buffer.from(items(100_000))), {
    instanceOf: ConfigParseError,
  });
  t.is(rejected.code, 'too_many_objects');
});

test('parseConfigBytes reads an XML configuration with ours, and refuses a malformed one as does_not_parse', async (t) => {
  const values = { Mode: 'observe', WarnThresholdSeconds: 30, NTPServers: ['a.example', 'b.example'] };
  t.deepEqual(await parseConfigBytes(Buffer.from(plist.build(values))), values);
  const rejected = await t.throwsAsync(parseConfigBytes(Buffer.from('<plist><dict><key>Mode</key></dict></plist>')), {
    instanceOf: ConfigParseError,
  });
  t.is(rejected.code, 'does_not_parse');
  t.is(rejected.message, 'does not parse: not a valid XML property list: a <key> without a value (line 1, column 14)');
});

test('property: any bytes after a plist head give a value or an Error, never another throw', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom('<?xml version="1.0"?><plist>', '<plist><dict><key>', '<plist><array><string>', '<plist><data>'),
      fc.string({ unit: 'binary', maxLength: 200 }),
      (head, rest) => {
        try {
          parseXmlPlist(head + rest, configLimits);
        } catch (error) {
          t.true(error instanceof XmlPlistError, String(error));
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('character references to control characters read, as CF reads them (parseEntityReference_pl)', (t) => {
  t.is(
    parseXmlPlist('<plist><string>a&#x1b;[1m&#0;&#x9B;&#x202E;</string></plist>', roomy),
    'a\u001b[1m\u0000\u009b\u202e',
  );
  t.is(readXmlPlist('<plist><string>&#x1F600;</string></plist>', roomy).value, '😀');
});

test('a bare root value without <plist> reads, as CF reads it (CFPropertyList.c parseXMLPropertyList)', (t) => {
  t.deepEqual(parseXmlPlist('<?xml version="1.0"?>\n<dict><key>a</key><true/></dict>\n', roomy), { a: true });
  t.is(parseXmlPlist('<string>x</string>', roomy), 'x');
  t.deepEqual(readXmlPlist('<array><integer>1</integer></array>', roomy).value, [1]);
  // The root still counts against the limits as under <plist>.
  const nested = (n: number) => `${'<array>'.repeat(n + 1)}${'</array>'.repeat(n + 1)}`;
  t.notThrows(() => parseXmlPlist(nested(configLimits.maxDepth), configLimits));
  t.throws(() => parseXmlPlist(nested(configLimits.maxDepth + 1), configLimits), { message: /nested deeper/ });
});

test('an XML declaration after leading whitespace reads (CF: skipWhitespace, then the processing instruction)', (t) => {
  t.deepEqual(parseXmlPlist(' \n<?xml version="1.0"?>\n<plist><dict/></plist>', roomy), {});
});

test('a DOCTYPE with an internal subset is refused, even one that defines no entity; a quoted "[" is not a subset', (t) => {
  for (const doctype of ['<!DOCTYPE plist [<!ENTITY e "secret">]>', '<!DOCTYPE plist []>']) {
    const error = t.throws(() => readXmlPlist(`${doctype}\n<plist><string>&e;</string></plist>`, roomy), {
      instanceOf: XmlPlistError,
    });
    t.is(error.reason, 'a DOCTYPE with an internal subset (entity definitions) is refused');
    t.deepEqual([error.line, error.column, error.limit], [1, 1, false]);
  }
  t.is(parseXmlPlist('<!DOCTYPE plist SYSTEM "odd[name].dtd"><plist><string>x</string></plist>', roomy), 'x');
});

test('readXmlPlist: the line of every key and array element, the later duplicate key with its line', (t) => {
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>', // 1
    '<plist version="1.0">', // 2
    '<dict>', // 3
    '  <key>A</key>', // 4
    '  <string>x</string>', // 5
    '  <key>List</key>', // 6
    '  <array>', // 7
    '    <integer>1</integer>', // 8
    '    <dict><key>In</key><true/></dict>', // 9
    '    <array/>', // 10
    '  </array>', // 11
    '  <key>Empty</key><dict/>', // 12
    '  <key>A</key>', // 13
    '  <string>later</string>', // 14
    '</dict>', // 15
    '</plist>', // 16
  ].join('\r\n');
  const { value, lines, duplicateKeys } = readXmlPlist(xml, roomy);
  const root = value as { A: string; List: [number, object, unknown[]]; Empty: object };
  t.is(root.A, 'later');
  t.deepEqual(
    [...lines.keys.get(root)!],
    [
      ['A', 13],
      ['List', 6],
      ['Empty', 12],
    ],
  );
  t.deepEqual(lines.items.get(root.List), [8, 9, 10]);
  t.deepEqual([...lines.keys.get(root.List[1])!], [['In', 9]]);
  t.deepEqual(lines.items.get(root.List[2]), []);
  t.deepEqual([...lines.keys.get(root.Empty)!], []);
  t.deepEqual(duplicateKeys, [{ key: 'A', line: 13 }]);
  // parseXmlPlist keeps no positions and reads the same value.
  t.deepEqual(parseXmlPlist(xml, roomy), value);
});

test('readXmlPlist: integers beyond 2^53 are exact BigInts (CF keeps 64 bits); parseXmlPlist gives the nearest double', (t) => {
  const one = (n: string) => `<plist><integer>${n}</integer></plist>`;
  t.is(readXmlPlist(one('9007199254740993'), roomy).value, 9007199254740993n);
  t.is(readXmlPlist(one('-9223372036854775808'), roomy).value, -9223372036854775808n);
  t.is(readXmlPlist(one('9007199254740991'), roomy).value, 9007199254740991);
  t.is(parseXmlPlist(one('9007199254740993'), roomy), 9007199254740992);
  t.throws(() => readXmlPlist(one('18446744073709551616'), roomy), { message: /outside the 64-bit range/ });
});

// The profile doctor's errors: a reason, then the line and column it points at (SARIF region).
const located: Array<[string, string, string, number, number]> = [
  [
    'text before the root',
    ' "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist/>',
    'text before the root element',
    1,
    2,
  ],
  [
    'an end tag left open',
    '<plist>\n<dict>\n  <key>U</key>\n  <string>https://secret.example</string\n </dict>\n</plist>',
    'a malformed end tag',
    4,
    33,
  ],
  [
    'an element inside <string>',
    '<plist>\n<dict>\n  <key>N</key>\n  <string>secret/string>\n  <key>D</key>\n</dict></plist>',
    'an element inside <string>',
    5,
    3,
  ],
  [
    'a template in <integer>',
    '<plist><dict>\n\n   <key>L</key>\n   <integer>{{secret}}</integer>\n</dict></plist>',
    'an <integer> that is not an integer',
    4,
    4,
  ],
  [
    'a mismatched end tag in <string>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n  <key>PayloadType</key>\n  <string>Configuration</dict>\n</plist>\n',
    'an end tag that does not close the <string> of line 5',
    5,
    24,
  ],
  [
    'a CRLF file',
    '<plist>\r\n<dict>\r\n<key>A</key>\r\n<string>x</dict>',
    'an end tag that does not close the <string> of line 4',
    4,
    10,
  ],
];

for (const [name, xml, reason, line, column] of located) {
  test(`located: ${name} is at line ${line}, column ${column}, with a reason and none of the text`, (t) => {
    const error = t.throws(() => readXmlPlist(xml, roomy), { instanceOf: XmlPlistError });
    t.deepEqual([error.reason, error.line, error.column, error.limit], [reason, line, column, false]);
    t.is(error.message, `${reason} (line ${line}, column ${column})`);
    t.notRegex(error.message, /secret/);
  });
}
