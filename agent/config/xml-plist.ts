// A bounded reader for XML property lists, the format of a managed Mac's preference file
// (/Library/Managed Preferences/…) and of `agentctl config validate FILE.plist`. The `plist`
// package parses through @xmldom/xmldom, whose loading alone costs a local command 20-30 ms of
// its ~50 ms budget (issue 21); this reader is a few hundred lines with nothing to load.
//
// Like bplist.ts: depth and object count are bounded while parsing (an explicit stack, no
// recursion, so 100,000 nested <array>s stop at maxDepth instead of overflowing the call
// stack), and an error says where parsing failed, never the text there (issue 17 item 11):
// its message names only our own element names, a line and a column.
//
// Grammar: Apple's PropertyList-1.0.dtd as CoreFoundation reads it (CFPropertyList.c,
// parseXMLPropertyList and the parse*Tag functions): an optional BOM, then whitespace, the
// XML declaration and other processing instructions, comments and one DOCTYPE; the root
// <plist> holding exactly one value ("Encountered empty plist tag", "plist can only include
// one object"); values dict, array, string, key, integer, real, true, false, date, data.
// Text content may hold the five predefined entities, character references (to any code point
// but a surrogate half, control characters included, as CF reads them) and CDATA sections. Anything else is an error: an unknown element, a mismatched end tag, text between
// elements, content after </plist>, an unknown entity.
//
// The values are those `plist.parse` (plist 5) gives for the same text, type for type (the
// configuration code was written against it; test/config/xml-plist.test.ts checks both
// against generated plists and the profiles corpus): dict → plain object (a later duplicate
// key replaces the value and keeps the first one's place, as plist's assignment and CF's
// CFDictionarySetValue do), array → Array, string and key → string, integer and real →
// number, true/false → boolean, date → Date, data → Uint8Array. Where the two differ, this
// follows CF, on input plist would misread or accept silently:
// - <integer> in hex (0x1F) is read as CF does (parseIntegerTag); plist read 0. Integers
//   beyond CF's 64-bit range are refused ("Integer overflow"); plist gave a rounded number.
// - a <key> without a value is an error (CF: "Value missing for key inside <dict>"); plist
//   gave it the value "".
// - <integer>, <real>, <date> with trailing text ("12abc"), a <date> not in CF's form
//   YYYY-MM-DDTHH:MM:SSZ, <data> that is not base64: errors; plist gave 12, NaN, an Invalid
//   Date or whatever atob made of it.
// - text or CDATA between the elements of a dict or array, <null/> (not in Apple's DTD),
//   <true>x</true>, and a <plist> with zero or two values: errors; plist ignored the text,
//   and gave [] or an array.
// - a key "__proto__" is an ordinary key (as in bplist.ts and JSON.parse); plist refused it.
// - a comment or CDATA section inside <key>, <integer> or <date> is read past; plist kept
//   only the text before it.
// - a root value without <plist> around it (<dict>…</dict>) is read, as CF's
//   parseXMLPropertyList reads any element it meets after the prolog; plist refused it.
// - a DOCTYPE with an internal subset ([…], where entities are defined) is refused: no entity is
//   ever defined or expanded (CF skips the subset; refusing it is our rule, issue 17).
//
// Positions (readXmlPlist): the profile doctor points each finding at its line, so that form
// also gives the line of every dictionary key and array element (WeakMaps keyed by the parsed
// dict or array), the keys that appear twice in one dictionary, and integers beyond 2^53 as
// BigInt (exact, as CF's 64-bit CFNumber holds them) instead of the nearest double.

export interface XmlPlistLimits {
  /** Values in all (dict and array elements and the root; keys do not count, as in checkTree). */
  maxObjects: number;
  /** Nesting of values: the root value is at depth 0. */
  maxDepth: number;
}

/** Where the values of a parsed plist are: the line of each dictionary key and array element. */
export interface PlistLines {
  keys: WeakMap<object, Map<string, number>>;
  items: WeakMap<object, number[]>;
}

export interface XmlPlist {
  value: unknown;
  lines: PlistLines;
  /** Keys that appear twice in one dictionary (the last one wins), with the later one's line. */
  duplicateKeys: Array<{ key: string; line: number }>;
}

export class XmlPlistError extends Error {
  constructor(
    /** What is wrong, without the position and without any of the file's text. */
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    /** True when a limit (depth, object count) stopped the parse, not a syntax error. */
    readonly limit = false,
  ) {
    super(`${reason} (line ${line}, column ${column})`);
    this.name = 'XmlPlistError';
  }
}

type Container = 'plist' | 'dict' | 'array';

interface Frame {
  tag: Container;
  /** plist: no <plist> element around the root value (CF reads a bare one). */
  implicit?: boolean;
  at: number;
  value: Record<string, unknown> | unknown[] | undefined;
  /** dict: the key read and waiting for its value. */
  key: string | undefined;
  keyAt: number;
  /** plist: values held so far (one is allowed). */
  held: number;
}

const leaves = new Set(['string', 'key', 'integer', 'real', 'true', 'false', 'date', 'data']);
const predefined: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
// CFPropertyList.c parseRealTag: the names a <real> may hold besides a decimal number.
const specialReals: Record<string, number> = {
  nan: NaN,
  infinity: Infinity,
  '+infinity': Infinity,
  '-infinity': -Infinity,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
};

const startTagAt = /<([A-Za-z_:][-\w.:]*)((?:\s+[A-Za-z_:][-\w.:]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const endTagAt = /<\/([A-Za-z_:][-\w.:]*)\s*>/y;
const entityAt = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,8})|#x([0-9A-Fa-f]{1,8}));/y;
const xmlSpace = /^[ \t\n]+|[ \t\n]+$/g;

/** The value of an XML property list, as plist.parse gave it (see above). Throws XmlPlistError. */
export function parseXmlPlist(source: string, limits: XmlPlistLimits): unknown {
  return parse(source, limits, null).value;
}

/** The value with the line of every key and array element, and the duplicate keys. Throws XmlPlistError. */
export function readXmlPlist(source: string, limits: XmlPlistLimits): XmlPlist {
  const lines: PlistLines = { keys: new WeakMap(), items: new WeakMap() };
  return parse(source, limits, lines);
}

function parse(source: string, limits: XmlPlistLimits, lines: PlistLines | null): XmlPlist {
  // XML 1.0 §2.11: a CR LF pair or a lone CR is read as LF (xmldom does the same, so plist
  // gave "\n" for them); a CR written as &#13; stays a CR.
  const text = source.includes('\r') ? source.replace(/\r\n?/g, '\n') : source;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  let lineStarts: number[] | null = null;
  const where = (at: number) => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    }
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - lineStarts[lo]! + 1 };
  };
  const fail = (reason: string, at: number, limit = false): never => {
    const { line, column } = where(Math.min(at, text.length));
    throw new XmlPlistError(reason, line, column, limit);
  };
  const lineOf = (at: number) => where(at).line;

  const skipPast = (end: string, what: string) => {
    const found = text.indexOf(end, pos);
    if (found === -1) fail(`${what} is not closed`, pos);
    pos = found + end.length;
  };
  const skipDoctype = () => {
    const start = pos;
    for (let i = pos + 9; i < text.length; i++) {
      const c = text[i];
      if (c === '"' || c === "'") {
        const close = text.indexOf(c, i + 1);
        if (close === -1) break;
        i = close;
      } else if (c === '[') fail('a DOCTYPE with an internal subset (entity definitions) is refused', start);
      else if (c === '>') {
        pos = i + 1;
        return;
      }
    }
    fail('the DOCTYPE is not closed', start);
  };
  let doctypeSeen = false;
  /** Skips whitespace, comments and processing instructions; in the prolog, one DOCTYPE. */
  const skipMisc = (prolog: boolean) => {
    for (;;) {
      for (let c = text.charCodeAt(pos); c === 0x20 || c === 0x09 || c === 0x0a; c = text.charCodeAt(pos)) pos++;
      if (text.startsWith('<!--', pos)) skipPast('-->', 'a comment');
      else if (text.startsWith('<?', pos)) skipPast('?>', 'a processing instruction');
      else if (prolog && !doctypeSeen && text.startsWith('<!DOCTYPE', pos)) {
        doctypeSeen = true;
        skipDoctype();
      } else return;
    }
  };

  const startTag = () => {
    startTagAt.lastIndex = pos;
    const m = startTagAt.exec(text);
    if (!m) return fail('a malformed tag', pos);
    const tag = { name: m[1]!, at: pos, empty: m[3] === '/' };
    pos = startTagAt.lastIndex;
    return tag;
  };
  const endTag = (): string => {
    endTagAt.lastIndex = pos;
    const m = endTagAt.exec(text);
    if (!m) return fail('a malformed end tag', pos);
    pos = endTagAt.lastIndex;
    return m[1]!;
  };

  /** Decodes entity and character references in raw text that starts at `at`. */
  const decode = (raw: string, at: number): string => {
    if (!raw.includes('&')) return raw;
    let out = '';
    let from = 0;
    for (let amp = raw.indexOf('&'); amp !== -1; amp = raw.indexOf('&', from)) {
      out += raw.slice(from, amp);
      entityAt.lastIndex = amp;
      const m = entityAt.exec(raw);
      if (!m) return fail('an unknown or malformed entity reference', at + amp);
      if (m[1]) out += predefined[m[1]]!;
      else {
        const code = m[2] !== undefined ? Number(m[2]) : parseInt(m[3]!, 16);
        // CF (CFPropertyList.c parseEntityReference_pl) appends whatever the reference names,
        // control characters included (a profile's string may hold ESC: the doctor shows it
        // escaped); what no string can hold is refused: a surrogate half, beyond U+10FFFF.
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
          fail('a character reference to a code point no string can hold', at + amp);
        out += String.fromCodePoint(code);
      }
      from = entityAt.lastIndex;
    }
    return out + raw.slice(from);
  };

  /** The text content of a leaf element up to its end tag: references decoded, CDATA kept, comments skipped. */
  const readText = (name: string, openedAt: number): string => {
    let out = '';
    for (;;) {
      const lt = text.indexOf('<', pos);
      if (lt === -1) fail(`<${name}> is not closed`, openedAt);
      out += decode(text.slice(pos, lt), pos);
      pos = lt;
      if (text.startsWith('</', pos)) {
        if (endTag() !== name) fail(`an end tag that does not close the <${name}> of line ${lineOf(openedAt)}`, lt);
        return out;
      }
      if (text.startsWith('<![CDATA[', pos)) {
        const end = text.indexOf(']]>', pos + 9);
        if (end === -1) fail('a CDATA section is not closed', pos);
        out += text.slice(pos + 9, end);
        pos = end + 3;
      } else if (text.startsWith('<!--', pos)) skipPast('-->', 'a comment');
      else if (text.startsWith('<?', pos)) skipPast('?>', 'a processing instruction');
      else fail(`an element inside <${name}>`, pos);
    }
  };

  const leaf = (name: string, at: number, empty: boolean): unknown => {
    const content = empty ? '' : readText(name, at);
    switch (name) {
      case 'string':
      case 'key':
        return content;
      case 'true':
      case 'false':
        // CF refuses any content ("Encountered non-empty <true>"); whitespace is let be.
        if (content.replace(xmlSpace, '') !== '') fail(`<${name}> is not empty`, at);
        return name === 'true';
      case 'integer': {
        // CFPropertyList.c parseIntegerTag: optional sign, decimal or 0x hex, 64 bits.
        const raw = content.replace(xmlSpace, '');
        const m = /^([+-]?)(?:0[xX]([0-9A-Fa-f]+)|([0-9]+))$/.exec(raw);
        if (!m) return fail(raw === '' ? 'an empty <integer>' : 'an <integer> that is not an integer', at);
        const negative = m[1] === '-';
        const digits = (m[2] ?? m[3]!).replace(/^0+(?=.)/, '');
        const big = digits.length > 20 ? null : BigInt(m[2] !== undefined ? `0x${digits}` : digits);
        if (big === null || big > (negative ? 1n << 63n : (1n << 64n) - 1n))
          return fail('an <integer> outside the 64-bit range', at);
        // parseInt: the very number (and -0 for "-0") plist gave for a decimal integer.
        if (lines && big > BigInt(Number.MAX_SAFE_INTEGER)) return negative ? -big : big;
        if (m[3] !== undefined) return parseInt(raw, 10);
        return negative ? -Number(big) : Number(big);
      }
      case 'real': {
        const raw = content.replace(xmlSpace, '');
        if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(raw)) return parseFloat(raw);
        const special = Object.hasOwn(specialReals, raw.toLowerCase()) ? specialReals[raw.toLowerCase()] : undefined;
        if (special === undefined) return fail(raw === '' ? 'an empty <real>' : 'a <real> that is not a number', at);
        return special;
      }
      case 'date': {
        // CFPropertyList.c parseDateTag: [-]YYYY-MM-DDTHH:MM:SSZ, in UTC.
        const m = /^(-?)([0-9]{1,6})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/.exec(
          content.replace(xmlSpace, ''),
        );
        if (!m) return fail('a <date> not of the form YYYY-MM-DDTHH:MM:SSZ', at);
        const [year, month, day, hour, minute, second] = m.slice(2).map(Number) as [
          number,
          number,
          number,
          number,
          number,
          number,
        ];
        const date = new Date(0);
        date.setUTCFullYear(m[1] === '-' ? -year : year, month - 1, day);
        date.setUTCHours(hour, minute, second, 0);
        if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59)
          return fail('a <date> that names no such day or time', at);
        return date;
      }
      default: {
        // data. plist: whitespace removed, then atob (WHATWG forgiving-base64: "=" padding
        // only to a multiple of 4, no other character); anything else is an error here.
        let raw = content.replace(/\s+/g, '');
        if (raw.length % 4 === 0) raw = raw.replace(/={1,2}$/, '');
        if (raw.length % 4 === 1 || !/^[A-Za-z0-9+/]*$/.test(raw)) fail('<data> that is not base64', at);
        return new Uint8Array(Buffer.from(raw, 'base64'));
      }
    }
  };

  skipMisc(true);
  if (pos >= text.length) fail('no element: the file is empty or holds only comments', pos);
  if (text[pos] !== '<' || text.startsWith('<!', pos)) fail('text before the root element', pos);
  const rootAt = pos;
  // CF's parseXMLPropertyList reads the root element whatever it is: <plist> or a bare value.
  const implicit = !text.startsWith('<plist', pos) || /[-\w.:]/.test(text[pos + 6] ?? '');
  if (!implicit) {
    const root = startTag();
    if (root.empty) fail('<plist> holds no value', root.at);
  }

  const duplicateKeys: XmlPlist['duplicateKeys'] = [];
  let result: unknown;
  let objects = 0;
  const stack: Frame[] = [{ tag: 'plist', implicit, at: rootAt, value: undefined, key: undefined, keyAt: 0, held: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.implicit && top.held > 0) {
      stack.pop();
      continue;
    }
    skipMisc(false);
    if (pos >= text.length) fail(`the file ends before the <${top.tag}> of line ${lineOf(top.at)} is closed`, pos);
    if (text[pos] !== '<' || text.startsWith('<![CDATA[', pos)) fail(`text between the elements of <${top.tag}>`, pos);
    if (text.startsWith('</', pos)) {
      const at = pos;
      if (endTag() !== top.tag) fail(`an end tag that does not close the <${top.tag}> of line ${lineOf(top.at)}`, at);
      if (top.key !== undefined) fail('a <key> without a value', top.keyAt);
      if (top.tag === 'plist' && top.held === 0) fail('<plist> holds no value', top.at);
      stack.pop();
      continue;
    }
    const tag = startTag();
    const name = tag.name;
    if (name !== 'dict' && name !== 'array' && !leaves.has(name))
      fail('an element that is not a property list value', tag.at);
    if (top.tag === 'dict') {
      if (top.key === undefined) {
        if (name !== 'key') fail('a value without a <key> in <dict>', tag.at);
        top.key = leaf('key', tag.at, tag.empty) as string;
        top.keyAt = tag.at;
        continue;
      }
      if (name === 'key') fail('a <key> where a value was expected: the key before it has no value', tag.at);
    } else if (top.tag === 'plist' && top.held > 0) fail('a second value in <plist> (it holds one)', tag.at);

    const depth = stack.length - 1;
    if (depth > limits.maxDepth) fail(`nested deeper than ${limits.maxDepth} levels`, tag.at, true);
    if (++objects > limits.maxObjects) fail(`more than ${limits.maxObjects} objects`, tag.at, true);
    let value: unknown;
    let open: Frame | undefined;
    if (name === 'dict' || name === 'array') {
      value = name === 'dict' ? {} : [];
      if (lines && name === 'dict') lines.keys.set(value as object, new Map());
      if (lines && name === 'array') lines.items.set(value as object, []);
      if (!tag.empty)
        open = { tag: name, at: tag.at, value: value as Frame['value'], key: undefined, keyAt: 0, held: 0 };
    } else value = leaf(name, tag.at, tag.empty);

    if (top.tag === 'plist') {
      result = value;
      top.held++;
    } else if (top.tag === 'array') {
      (top.value as unknown[]).push(value);
      if (lines) lines.items.get(top.value!)!.push(lineOf(tag.at));
    } else {
      if (lines) {
        const line = lineOf(top.keyAt);
        if (Object.hasOwn(top.value!, top.key!)) duplicateKeys.push({ key: top.key!, line });
        lines.keys.get(top.value!)!.set(top.key!, line);
      }
      // defineProperty: a key named "__proto__" stays an ordinary key.
      Object.defineProperty(top.value!, top.key!, { value, enumerable: true, writable: true, configurable: true });
      top.key = undefined;
    }
    if (open) stack.push(open);
  }
  // After the root: whitespace, comments and processing instructions only (XML's Misc).
  skipMisc(false);
  if (pos < text.length) fail('text after the end of the property list', pos);
  return { value: result, lines: lines ?? { keys: new WeakMap(), items: new WeakMap() }, duplicateKeys };
}
