// An XML property-list reader that knows where each value came from: the line of every
// dictionary key and array element, and the line and column of a syntax error. The `plist`
// package (xmldom) keeps no positions, and a profile finding must point at its line.
//
// The grammar is Apple's PropertyList-1.0.dtd: plist > (dict | array | string | data | date |
// integer | real | true | false), dict > (key, value)*. CoreFoundation's XML reader
// (CFPropertyList.c, __CFTryParseXMLPropertyList) refuses what this refuses: text outside an
// element, an element inside <string>, a non-numeric <integer>, a tag left open. A DOCTYPE
// with an internal subset (entities) is refused: no entity expansion, ever. Bounded like every
// configuration file (depth and object count, agent/config/bounded-parse.ts).

export class PlistSyntaxError extends Error {
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} (line ${line}, column ${column})`);
    this.name = 'PlistSyntaxError';
  }
}

/** Where the values of a parsed plist are: the line of each dictionary key and array element. */
export interface PlistLines {
  keys: WeakMap<object, Map<string, number>>;
  items: WeakMap<object, number[]>;
}

export interface XmlPlist {
  value: unknown;
  lines: PlistLines;
  /** Keys that appear twice in one dictionary (the last one wins), with their lines. */
  duplicateKeys: Array<{ key: string; line: number }>;
}

export interface XmlPlistLimits {
  maxDepth: number;
  maxObjects: number;
}

const entities: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXmlPlist(text: string, limits: XmlPlistLimits): XmlPlist {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const where = (offset: number): { line: number; column: number } => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
  };
  const fail = (message: string, offset: number): never => {
    const { line, column } = where(offset);
    throw new PlistSyntaxError(message, line, column);
  };
  const lineOf = (offset: number) => where(offset).line;
  const lines: PlistLines = { keys: new WeakMap(), items: new WeakMap() };
  const duplicateKeys: Array<{ key: string; line: number }> = [];
  let pos = 0;
  let objects = 0;

  if (text.charCodeAt(0) === 0xfeff) pos = 1;
  const declaration = text.indexOf('<?xml');
  if (declaration > pos) {
    const before = text.slice(pos, declaration);
    if (/^\s*$/.test(before)) fail('the XML declaration is not at the start of the file', declaration);
  }

  /** Skips whitespace, comments, processing instructions and the DOCTYPE (prolog: true). */
  const skipMisc = (prolog: boolean) => {
    for (;;) {
      while (pos < text.length && /\s/.test(text[pos]!)) pos++;
      if (text.startsWith('<!--', pos)) {
        const end = text.indexOf('-->', pos + 4);
        if (end === -1) fail('a comment is not closed', pos);
        pos = end + 3;
      } else if (text.startsWith('<?', pos)) {
        if (!prolog) fail('a processing instruction inside the property list', pos);
        const end = text.indexOf('?>', pos + 2);
        if (end === -1) fail('a processing instruction is not closed', pos);
        pos = end + 2;
      } else if (text.startsWith('<!DOCTYPE', pos)) {
        if (!prolog) fail('a DOCTYPE inside the property list', pos);
        const end = text.indexOf('>', pos);
        if (end === -1) fail('the DOCTYPE is not closed', pos);
        if (text.slice(pos, end).includes('[')) fail('a DOCTYPE with an internal subset (entities) is refused', pos);
        pos = end + 1;
      } else return;
    }
  };

  interface Tag {
    name: string;
    start: number;
    closing: boolean;
    empty: boolean;
  }
  const readTag = (): Tag => {
    const start = pos;
    if (text[pos] !== '<') {
      const snippet = text.slice(pos, pos + 20).split(/\r?\n/)[0];
      fail(`text outside an element ("${snippet}")`, pos);
    }
    const end = text.indexOf('>', pos);
    const nextOpen = text.indexOf('<', pos + 1);
    if (end === -1 || (nextOpen !== -1 && nextOpen < end)) {
      const name = /^<\/?([A-Za-z][\w.-]*)/.exec(text.slice(pos, pos + 40))?.[1] ?? '';
      fail(`the tag <${text[pos + 1] === '/' ? '/' : ''}${name} is not closed with ">"`, pos);
    }
    const inner = text.slice(pos + 1, end);
    const match = /^(\/?)([A-Za-z][\w.-]*)(\s[^]*?)?(\/?)$/.exec(inner);
    if (!match) fail(`malformed tag <${inner.slice(0, 30)}>`, pos);
    pos = end + 1;
    return { name: match![2]!, start, closing: match![1] === '/', empty: match![4] === '/' };
  };

  /** Text up to `</name>`: entities decoded, CDATA kept, any other element refused. */
  const readText = (name: string, openedAt: number): string => {
    let out = '';
    for (;;) {
      const lt = text.indexOf('<', pos);
      if (lt === -1) fail(`<${name}> is not closed`, openedAt);
      out += decodeEntities(text.slice(pos, lt), pos);
      pos = lt;
      if (text.startsWith('<![CDATA[', pos)) {
        const end = text.indexOf(']]>', pos);
        if (end === -1) fail('a CDATA section is not closed', pos);
        out += text.slice(pos + 9, end);
        pos = end + 3;
        continue;
      }
      if (text.startsWith('<!--', pos)) {
        const end = text.indexOf('-->', pos);
        if (end === -1) fail('a comment is not closed', pos);
        pos = end + 3;
        continue;
      }
      const tag = readTag();
      if (tag.closing && tag.name === name) return out;
      fail(`unexpected <${tag.closing ? '/' : ''}${tag.name}> inside <${name}>`, tag.start);
    }
  };
  const decodeEntities = (raw: string, offset: number): string =>
    raw.replace(/&([^;\s<&]{0,10});?/g, (whole, name: string, at: number) => {
      if (!whole.endsWith(';')) fail('an "&" that starts no entity', offset + at);
      if (name.startsWith('#x') || name.startsWith('#X')) {
        const code = parseInt(name.slice(2), 16);
        if (!Number.isFinite(code) || code > 0x10ffff) fail(`bad character reference &${name};`, offset + at);
        return String.fromCodePoint(code);
      }
      if (name.startsWith('#')) {
        const code = Number(name.slice(1));
        if (!Number.isInteger(code) || code > 0x10ffff) fail(`bad character reference &${name};`, offset + at);
        return String.fromCodePoint(code);
      }
      const value = entities[name];
      if (value === undefined) fail(`unknown entity &${name};`, offset + at);
      return value!;
    });

  const count = (at: number) => {
    if (++objects > limits.maxObjects) fail(`more than ${limits.maxObjects} values`, at);
  };

  const readValue = (tag: Tag, depth: number): unknown => {
    if (depth > limits.maxDepth) fail(`nested deeper than ${limits.maxDepth} levels`, tag.start);
    count(tag.start);
    if (tag.closing) fail(`unexpected </${tag.name}>`, tag.start);
    switch (tag.name) {
      case 'dict': {
        const dict: Record<string, unknown> = {};
        const keyLines = new Map<string, number>();
        lines.keys.set(dict, keyLines);
        if (tag.empty) return dict;
        for (;;) {
          skipMisc(false);
          if (pos >= text.length) fail('<dict> is not closed', tag.start);
          const keyTag = readTag();
          if (keyTag.closing && keyTag.name === 'dict') return dict;
          if (keyTag.name !== 'key' || keyTag.closing)
            fail(`expected <key> or </dict>, found <${keyTag.closing ? '/' : ''}${keyTag.name}>`, keyTag.start);
          const key = keyTag.empty ? '' : readText('key', keyTag.start);
          skipMisc(false);
          if (pos >= text.length) fail(`the key "${key.slice(0, 60)}" has no value`, keyTag.start);
          const valueTag = readTag();
          if (valueTag.closing) fail(`the key "${key.slice(0, 60)}" has no value`, valueTag.start);
          const value = readValue(valueTag, depth + 1);
          if (Object.hasOwn(dict, key)) duplicateKeys.push({ key, line: lineOf(keyTag.start) });
          Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
          keyLines.set(key, lineOf(keyTag.start));
        }
      }
      case 'array': {
        const array: unknown[] = [];
        const itemLines: number[] = [];
        lines.items.set(array, itemLines);
        if (tag.empty) return array;
        for (;;) {
          skipMisc(false);
          if (pos >= text.length) fail('<array> is not closed', tag.start);
          const item = readTag();
          if (item.closing && item.name === 'array') return array;
          itemLines.push(lineOf(item.start));
          array.push(readValue(item, depth + 1));
        }
      }
      case 'true':
      case 'false':
        if (!tag.empty) {
          skipMisc(false);
          const close = readTag();
          if (!close.closing || close.name !== tag.name) fail(`<${tag.name}> is not closed`, tag.start);
        }
        return tag.name === 'true';
      case 'string':
      case 'key':
        if (tag.name === 'key') fail('a <key> outside a dictionary', tag.start);
        return tag.empty ? '' : readText('string', tag.start);
      case 'integer': {
        const raw = tag.empty ? '' : readText('integer', tag.start).trim();
        if (/^[+-]?\d+$/.test(raw)) {
          const big = BigInt(raw);
          return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
        }
        if (/^[+-]?0x[0-9a-f]+$/i.test(raw)) return Number(raw.replace(/^([+-]?)0x/i, '$10x'));
        return fail(`<integer> holds "${raw.slice(0, 40)}", not a number`, tag.start);
      }
      case 'real': {
        const raw = tag.empty ? '' : readText('real', tag.start).trim();
        if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) return Number(raw);
        if (/^[+-]?(inf|infinity)$/i.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity;
        if (/^nan$/i.test(raw)) return NaN;
        return fail(`<real> holds "${raw.slice(0, 40)}", not a number`, tag.start);
      }
      case 'date': {
        const raw = tag.empty ? '' : readText('date', tag.start).trim();
        const date = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(raw) ? new Date(raw) : null;
        if (!date || Number.isNaN(date.getTime()))
          fail(`<date> holds "${raw.slice(0, 40)}", not an ISO 8601 date`, tag.start);
        return date;
      }
      case 'data': {
        const raw = tag.empty ? '' : readText('data', tag.start).replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) fail('<data> holds text that is not base64', tag.start);
        return new Uint8Array(Buffer.from(raw, 'base64'));
      }
      default:
        return fail(`unknown element <${tag.name}>`, tag.start);
    }
  };

  skipMisc(true);
  if (pos >= text.length) fail('the file holds no element', pos);
  const first = readTag();
  let value: unknown;
  if (first.name === 'plist' && !first.closing) {
    if (first.empty) fail('<plist/> holds no value', first.start);
    skipMisc(false);
    const inner = readTag();
    if (inner.closing && inner.name === 'plist') fail('<plist> holds no value', first.start);
    value = readValue(inner, 0);
    skipMisc(false);
    if (pos >= text.length) fail('</plist> is missing: the file ends early', pos);
    const close = readTag();
    if (!close.closing || close.name !== 'plist')
      fail(`expected </plist>, found <${close.closing ? '/' : ''}${close.name}>`, close.start);
  } else {
    value = readValue(first, 0);
  }
  skipMisc(true);
  if (pos < text.length) fail('content after the end of the property list', pos);
  return { value, lines, duplicateKeys };
}
