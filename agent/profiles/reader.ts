// The one reader of configuration profiles (SPEC §1.3): an XML or binary-plist .mobileconfig,
// the same inside CMS SignedData (DER or PEM), the output of `profiles show -output stdout-xml`
// (the installed profiles), or a bare preference plist. The bounds of configuration files apply
// (agent/config/bounded-parse.ts: 1 MB, depth, object count). XML is read by the configuration
// layer's reader (agent/config/xml-plist.ts, readXmlPlist), which keeps the line of every key, so
// each finding can point at its place.
import { linkRefusal } from '../fs-safety.js';
import { configLimits, ConfigParseError, readConfigBytes, type ConfigLimits } from '../config/bounded-parse.js';
import { BplistError, parseBinaryPlist } from '../config/bplist.js';
import { readXmlPlist, XmlPlistError, type PlistLines } from '../config/xml-plist.js';
import { CmsError, parseSignedData, verifySignedData, type SignatureVerdict, type SignedData } from './cms.js';
import type { FindingCode } from './codes.js';

export type Dict = Record<string, unknown>;

export interface ProfileDocument {
  file: string;
  format: 'xml' | 'binary';
  container: 'plain' | 'cms_der' | 'cms_pem';
  /** A profile, `profiles show` output (installed profiles), or a bare preference plist. */
  kind: 'profile' | 'installed' | 'preferences';
  root: Dict;
  /** Lines of the XML; they are the file's lines only when `container` is plain. */
  lines: PlistLines | null;
  duplicateKeys: Array<{ key: string; line: number }>;
  signed: { data: SignedData; verdict: SignatureVerdict } | null;
}

export type ReadResult =
  | { ok: true; document: ProfileDocument }
  | {
      ok: false;
      code: Extract<
        FindingCode,
        'file_unreadable' | 'file_too_large' | 'not_a_profile' | 'plist_malformed' | 'plist_too_complex' | 'cms_corrupt'
      >;
      message: string;
      line: number | null;
      column: number | null;
      /** The content was inside CMS (the line is within the signed content). */
      signed: boolean;
    };

export const isDict = (v: unknown): v is Dict =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !ArrayBuffer.isView(v);

/** Reads and parses one file: never throws for anything a file can hold. */
export function readProfileFile(file: string): ReadResult {
  // Run as root, a link someone else planted is refused, never read through (issue 17 item 11).
  const refused = linkRefusal(file);
  if (refused) return failure('file_unreadable', refused);
  let bytes: Buffer;
  try {
    // Whoever owns it (a profile in a CI checkout), but no FIFO hang and at most 1 MB.
    bytes = readConfigBytes(file, { trusted: false });
  } catch (error) {
    const tooLarge = error instanceof ConfigParseError && error.code === 'too_large';
    return {
      ok: false,
      code: tooLarge ? 'file_too_large' : 'file_unreadable',
      message: (error as Error).message,
      line: null,
      column: null,
      signed: false,
    };
  }
  return readProfileBytes(bytes, file);
}

const failure = (
  code: Extract<ReadResult, { ok: false }>['code'],
  message: string,
  extra: Partial<{ line: number | null; column: number | null; signed: boolean }> = {},
): ReadResult => ({ ok: false, code, message, line: null, column: null, signed: false, ...extra });

export type ProfileLimits = Pick<ConfigLimits, 'maxBytes' | 'maxDepth' | 'maxObjects'>;

/** Parses the bytes of a profile, within `limits` (those of configuration files unless given). Never throws for bad input. */
export function readProfileBytes(bytes: Buffer, file: string, limits: ProfileLimits = configLimits): ReadResult {
  if (bytes.length > limits.maxBytes)
    return failure('file_too_large', `is ${bytes.length} bytes; profiles are limited to ${limits.maxBytes} bytes`);
  let content = bytes;
  let container: ProfileDocument['container'] = 'plain';
  let signed: ProfileDocument['signed'] = null;
  const head = bytes.subarray(0, 64).toString('latin1');
  if (bytes[0] === 0x30 || /^-----BEGIN (PKCS7|CMS)-----/.test(head.trimStart())) {
    let der = bytes;
    if (bytes[0] !== 0x30) {
      const pem = /-----BEGIN (PKCS7|CMS)-----([A-Za-z0-9+/=\s]*)-----END \1-----/.exec(bytes.toString('latin1'));
      if (!pem) return failure('cms_corrupt', 'the PEM envelope is not closed or holds something other than base64');
      der = Buffer.from(pem[2]!.replace(/\s+/g, ''), 'base64');
      container = 'cms_pem';
    } else container = 'cms_der';
    try {
      const data = parseSignedData(der);
      signed = { data, verdict: verifySignedData(data) };
      content = data.content;
    } catch (error) {
      if (!(error instanceof CmsError)) throw error;
      return failure('cms_corrupt', `the signed envelope (CMS) is corrupt: ${error.message}`);
    }
  }
  const parsed = parsePlist(content, limits);
  if (!parsed.ok) return { ...parsed, signed: signed !== null };
  const root = parsed.value;
  if (!isDict(root)) return failure('not_a_profile', 'the top level is not a dictionary', { signed: signed !== null });
  return {
    ok: true,
    document: {
      file,
      format: parsed.format,
      container,
      kind: kindOf(root),
      root,
      lines: parsed.lines,
      duplicateKeys: parsed.duplicateKeys,
      signed,
    },
  };
}

type Parsed =
  | {
      ok: true;
      value: unknown;
      format: 'xml' | 'binary';
      lines: PlistLines | null;
      duplicateKeys: Array<{ key: string; line: number }>;
    }
  | Extract<ReadResult, { ok: false }>;

function parsePlist(bytes: Buffer, { maxDepth, maxObjects }: ProfileLimits): Parsed {
  const limits = { maxDepth, maxObjects };
  const head = bytes.subarray(0, 8).toString('latin1');
  if (head === 'bplist00') {
    try {
      return { ok: true, value: parseBinaryPlist(bytes, limits), format: 'binary', lines: null, duplicateKeys: [] };
    } catch (error) {
      if (!(error instanceof BplistError)) throw error;
      const complex = /more than \d+ objects|nested deeper/.test(error.message);
      return failure(
        complex ? 'plist_too_complex' : 'plist_malformed',
        `the binary plist does not parse: ${error.message}`,
      ) as Parsed;
    }
  }
  const text = bytes.toString('utf8');
  if (!/^\uFEFF?\s*</.test(text) && !/^\uFEFF?\s*"http:\/\/www\.apple\.com\/DTDs/.test(text))
    return failure('not_a_profile', 'neither a property list (XML or binary) nor a signed profile (CMS)') as Parsed;
  try {
    const xml = readXmlPlist(text, limits);
    return { ok: true, value: xml.value, format: 'xml', lines: xml.lines, duplicateKeys: xml.duplicateKeys };
  } catch (error) {
    if (error instanceof XmlPlistError) {
      return failure(error.limit ? 'plist_too_complex' : 'plist_malformed', error.reason, {
        line: error.line,
        column: error.column,
      }) as Parsed;
    }
    if (error instanceof RangeError) return failure('plist_too_complex', `does not parse: ${error.message}`) as Parsed;
    throw error;
  }
}

function kindOf(root: Dict): ProfileDocument['kind'] {
  if (Array.isArray(root.PayloadContent) || typeof root.PayloadType === 'string') return 'profile';
  const values = Object.values(root);
  if (
    Object.hasOwn(root, '_computerlevel') ||
    (values.length > 0 &&
      values.every((v) => Array.isArray(v) && v.every((p) => isDict(p) && Array.isArray(p.ProfileItems))))
  )
    return 'installed';
  return 'preferences';
}

/** One payload of a document: where it is, and where its settings are. */
export interface Payload {
  /** 'top' for a profile's outer dictionary. */
  role: 'top' | 'payload';
  type: string | null;
  identifier: string | null;
  uuid: string | null;
  /** The dictionary with the Payload* keys. */
  dict: Dict;
  /** The dictionary with the settings (the payload itself, or PayloadContent for installed profiles). */
  settings: Dict;
  /** The key path of `dict` ('' for the top level) and of `settings`. */
  path: string;
  settingsPath: string;
  /** The profile this payload belongs to (its outer dictionary's identifier). */
  profileIdentifier: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Every payload of a document, outer dictionaries first. */
export function payloadsOf(document: ProfileDocument): Payload[] {
  const out: Payload[] = [];
  const { root } = document;
  if (document.kind === 'profile') {
    const profileIdentifier = str(root.PayloadIdentifier);
    out.push({
      role: 'top',
      type: str(root.PayloadType),
      identifier: profileIdentifier,
      uuid: str(root.PayloadUUID),
      dict: root,
      settings: root,
      path: '',
      settingsPath: '',
      profileIdentifier,
    });
    const content = Array.isArray(root.PayloadContent) ? root.PayloadContent : [];
    content.forEach((p, i) => {
      if (!isDict(p)) return;
      const path = `PayloadContent[${i}]`;
      out.push({
        role: 'payload',
        type: str(p.PayloadType),
        identifier: str(p.PayloadIdentifier),
        uuid: str(p.PayloadUUID),
        dict: p,
        settings: p,
        path,
        settingsPath: path,
        profileIdentifier,
      });
    });
  } else if (document.kind === 'installed') {
    for (const [scope, list] of Object.entries(root)) {
      if (!Array.isArray(list)) continue;
      list.forEach((profile, i) => {
        if (!isDict(profile)) return;
        const base = `${scope}[${i}]`;
        const profileIdentifier = str(profile.ProfileIdentifier);
        out.push({
          role: 'top',
          type: str(profile.ProfileType) ?? 'Configuration',
          identifier: profileIdentifier,
          uuid: str(profile.ProfileUUID),
          dict: profile,
          settings: profile,
          path: base,
          settingsPath: base,
          profileIdentifier,
        });
        const items = Array.isArray(profile.ProfileItems) ? profile.ProfileItems : [];
        items.forEach((item, j) => {
          if (!isDict(item)) return;
          const path = `${base}.ProfileItems[${j}]`;
          const settings = isDict(item.PayloadContent) ? item.PayloadContent : {};
          out.push({
            role: 'payload',
            type: str(item.PayloadType),
            identifier: str(item.PayloadIdentifier),
            uuid: str(item.PayloadUUID),
            dict: item,
            settings,
            path,
            settingsPath: isDict(item.PayloadContent) ? `${path}.PayloadContent` : path,
            profileIdentifier,
          });
        });
      });
    }
  } else {
    out.push({
      role: 'payload',
      type: null,
      identifier: null,
      uuid: null,
      dict: root,
      settings: root,
      path: '',
      settingsPath: '',
      profileIdentifier: null,
    });
  }
  return out;
}

/** The line of `key` in `dict`, or of element `index` of `array`, when the document keeps lines. */
export function lineOf(document: ProfileDocument, container: object, key: string | number): number | null {
  if (!document.lines) return null;
  if (typeof key === 'number') return document.lines.items.get(container)?.[key] ?? null;
  return document.lines.keys.get(container)?.get(key) ?? null;
}

/** `a.b` / `a[0]` joined. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}
