// Payloads against Apple's schema: the YAML files of github.com/apple/device-management
// (mdm/profiles/): TopLevel.yaml for a profile's outer dictionary, CommonPayloadKeys.yaml plus
// the payload type's file for each payload. Several files may describe one PayloadType (the
// Kerberos SSO extension, the MCX variants): the variant that fits best (fewest problems) is
// used. Nested dictionaries (subkeys) and array elements (the one subkey of an array) are
// checked the same way; `ANY` stands for any key.
//
// Quirks: what macOS accepts although the schema says otherwise. Each is a note, never a
// warning, and each is a row of the table in docs/profiles.md ("Quirks").
import { closeSync, constants, fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { FileTooLargeError, readBounded } from '../fs-safety.js';
import type { FindingCode } from './codes.js';
import { isDict, joinPath, lineOf, type Dict, type Payload, type ProfileDocument } from './reader.js';

interface OsSupport {
  introduced?: string;
  /** Several payloads of the type may be installed (false: macOS applies one). */
  multiple?: boolean;
  deprecated?: string;
  removed?: string;
}

export interface KeySchema {
  key: string;
  type?: string | string[];
  presence?: string;
  rangelist?: unknown[];
  range?: { min?: number; max?: number };
  format?: string;
  subkeys?: KeySchema[];
  supportedOS?: { macOS?: OsSupport };
}

export interface PayloadSchema {
  file: string;
  payloadType: string;
  macOS: OsSupport | null;
  keys: KeySchema[];
}

export interface SchemaSet {
  dir: string;
  top: PayloadSchema;
  common: PayloadSchema;
  /** The schemas of a payload type (several: variants). Throws SchemaLoadError when one does not parse. */
  byType: { get(payloadType: string): PayloadSchema[] | undefined };
}

export class SchemaLoadError extends Error {}

/** The folder with the YAML files: DIR/mdm/profiles (a checkout), or DIR itself. */
function profilesDir(dir: string): string {
  const nested = path.join(dir, 'mdm', 'profiles');
  try {
    if (statSync(nested).isDirectory()) return nested;
  } catch {
    // DIR itself
  }
  return dir;
}

type YamlParse = (text: string, options: { maxAliasCount: number }) => unknown;

/**
 * A file's payload type read without parsing the YAML: only when `payloadtype:` is the first
 * key of the top-level `payload:` mapping, a plain or quoted name, and the file's only
 * `payloadtype:` (Apple's files are all so); any other file is parsed at once.
 */
function quickPayloadType(text: string): string | null {
  const m = /^payload:[ \t]*\r?\n[ \t]+payloadtype:[ \t]*(['"]?)([A-Za-z0-9._-]+)\1[ \t]*\r?$/m.exec(text);
  return m && text.indexOf('payloadtype:') === text.lastIndexOf('payloadtype:') ? m[2]! : null;
}

function parseSchemaFile(parse: YamlParse, name: string, text: string): PayloadSchema | null {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 10_000 });
  } catch (error) {
    throw new SchemaLoadError(`${name} does not parse: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isDict(doc) || !isDict(doc.payload) || !Array.isArray(doc.payloadkeys)) return null;
  const os = isDict(doc.payload.supportedOS) ? doc.payload.supportedOS : {};
  // Every field of the type the checker reads (keySchemas): no schema file can make it throw.
  return {
    file: name,
    payloadType: String(doc.payload.payloadtype ?? ''),
    macOS: osSupport(os.macOS),
    keys: keySchemas(doc.payloadkeys, new WeakMap(), 0),
  };
}

/**
 * The payload schemas by type, each file parsed the first time its type is asked for: parsing
 * all 128 YAML files of Apple's repository was most of a run's time (bench/profiles.bench.ts),
 * and a set of profiles uses a few types.
 */
class SchemaIndex {
  private readonly parsed = new Map<string, PayloadSchema[]>();
  private readonly pending = new Map<string, Array<{ name: string; text: string }>>();

  constructor(private readonly parse: YamlParse) {}

  add(payloadType: string, name: string, text: string): void {
    this.pending.set(payloadType, [...(this.pending.get(payloadType) ?? []), { name, text }]);
  }

  addParsed(schema: PayloadSchema): void {
    this.parsed.set(schema.payloadType, [...(this.parsed.get(schema.payloadType) ?? []), schema]);
  }

  get(payloadType: string): PayloadSchema[] | undefined {
    const files = this.pending.get(payloadType);
    this.pending.delete(payloadType);
    for (const { name, text } of files ?? []) {
      const schema = parseSchemaFile(this.parse, name, text);
      if (schema) this.addParsed(schema);
    }
    return this.parsed.get(payloadType);
  }
}

/** Loads the schemas of DIR. Throws SchemaLoadError when DIR is not Apple's repository. */
export async function loadSchemas(dir: string): Promise<SchemaSet> {
  const { parse } = await import('yaml');
  const folder = profilesDir(dir);
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.yaml'));
  } catch (error) {
    throw new SchemaLoadError(
      `cannot read ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const byType = new SchemaIndex(parse);
  let top: PayloadSchema | null = null;
  let common: PayloadSchema | null = null;
  // The folder may be anyone's (a checkout in a home folder): its files are outside input. No
  // link followed, no FIFO or device read (a FIFO would hang the read, /dev/zero never ends),
  // each file at most 4 MB, at most 2,000 files (Apple's repository has a few hundred).
  if (names.length > schemaLimits.files)
    throw new SchemaLoadError(`${dir} holds ${names.length} YAML files; at most ${schemaLimits.files} are read`);
  for (const name of names.sort()) {
    let text: string;
    try {
      const read = readSchemaFile(path.join(folder, name));
      if (read === null) continue;
      text = read;
    } catch (error) {
      throw new SchemaLoadError(`${name} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const type = name === 'TopLevel.yaml' || name === 'CommonPayloadKeys.yaml' ? null : quickPayloadType(text);
    if (type) {
      byType.add(type, name, text);
      continue;
    }
    const schema = parseSchemaFile(parse, name, text);
    if (!schema) continue;
    if (name === 'TopLevel.yaml') top = schema;
    else if (name === 'CommonPayloadKeys.yaml') common = schema;
    else byType.addParsed(schema);
  }
  if (!top || !common)
    throw new SchemaLoadError(
      `${dir} holds no TopLevel.yaml and CommonPayloadKeys.yaml: give a checkout of github.com/apple/device-management`,
    );
  return { dir, top, common, byType };
}

export const schemaLimits = { files: 2000, fileBytes: 4 * 1024 * 1024, depth: 64, formatChars: 1000 };

/** A schema file's text, or null when it is not a regular file of at most 4 MB (skipped). */
function readSchemaFile(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A link (ELOOP) is skipped like any file that is not the schema's; anything else is an error.
    if (code === 'ELOOP') return null;
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return null;
    return readBounded(fd, info, file, schemaLimits.fileBytes).toString('utf8');
  } catch (error) {
    if (error instanceof FileTooLargeError) return null;
    throw error;
  } finally {
    closeSync(fd);
  }
}

function osSupport(raw: unknown): OsSupport | null {
  if (!isDict(raw)) return null;
  const out: OsSupport = {};
  for (const k of ['introduced', 'deprecated', 'removed'] as const) if (typeof raw[k] === 'string') out[k] = raw[k];
  if (typeof raw.multiple === 'boolean') out.multiple = raw.multiple;
  return out;
}

/**
 * The key schemas of a YAML list, each field of the type the checker reads (anything else is
 * dropped), so that no schema file can make the checker throw. Shared YAML nodes (anchors and
 * aliases, even cyclic ones) are converted once.
 */
function keySchemas(raw: unknown, seen: WeakMap<object, KeySchema[]>, depth: number): KeySchema[] {
  if (!Array.isArray(raw) || depth > schemaLimits.depth) return [];
  const known = seen.get(raw);
  if (known) return known;
  const out: KeySchema[] = [];
  seen.set(raw, out);
  for (const item of raw) {
    if (!isDict(item) || typeof item.key !== 'string') continue;
    const spec: KeySchema = { key: item.key };
    if (typeof item.type === 'string') spec.type = item.type;
    else if (Array.isArray(item.type)) spec.type = item.type.filter((t): t is string => typeof t === 'string');
    if (typeof item.presence === 'string') spec.presence = item.presence;
    if (Array.isArray(item.rangelist)) spec.rangelist = item.rangelist;
    if (isDict(item.range)) {
      const { min, max } = item.range;
      spec.range = {
        ...(typeof min === 'number' ? { min } : {}),
        ...(typeof max === 'number' ? { max } : {}),
      };
    }
    if (typeof item.format === 'string' && item.format.length <= schemaLimits.formatChars) spec.format = item.format;
    if (item.subkeys !== undefined) spec.subkeys = keySchemas(item.subkeys, seen, depth + 1);
    const os = isDict(item.supportedOS) ? osSupport(item.supportedOS.macOS) : null;
    if (os) spec.supportedOS = { macOS: os };
    out.push(spec);
  }
  return out;
}

/**
 * Whether `value` matches a schema's `format`. The pattern comes from the schema folder (outside
 * input), so it may backtrack without end: each test has a deadline (vm's timeout interrupts
 * the regular expression), a pattern that misses it is not used again, and after a few such
 * patterns no format is checked any more. null: not checked.
 */
function formatMatches(format: string, value: string): boolean | null {
  if (formatState.badPatterns.has(format) || formatState.timeouts >= formatLimits.patterns) return null;
  let re = formatState.compiled.get(format);
  if (re === undefined) {
    try {
      re = new RegExp(format);
    } catch {
      re = null;
    }
    if (formatState.compiled.size < 10_000) formatState.compiled.set(format, re);
  }
  if (re === null) return null;
  try {
    formatState.context.re = re;
    formatState.context.value = value;
    return formatState.script.runInContext(formatState.context, { timeout: formatLimits.testMs }) === true;
  } catch {
    formatState.badPatterns.add(format);
    formatState.timeouts++;
    return null;
  }
}

export const formatLimits = { testMs: 50, patterns: 5 };
const formatState = {
  compiled: new Map<string, RegExp | null>(),
  badPatterns: new Set<string>(),
  timeouts: 0,
  context: vm.createContext({ re: null as RegExp | null, value: '' }),
  script: new vm.Script('re.test(value)'),
};

export interface SchemaIssue {
  code: FindingCode;
  keyPath: string;
  line: number | null;
  message: string;
}

/** "14.0" → [14, 0]; null for "n/a" and anything else. */
function version(text: string | undefined): number[] | null {
  if (typeof text !== 'string' || !/^\d+(\.\d+)*$/.test(text)) return null;
  return text.split('.').map(Number);
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface SchemaOptions {
  /** --target-macos: the oldest macOS the profile must work on. */
  targetMacos: number[] | null;
}

const typeOf = (v: unknown): string => {
  if (typeof v === 'string') return '<string>';
  if (typeof v === 'boolean') return '<boolean>';
  if (typeof v === 'bigint') return '<integer>';
  if (typeof v === 'number') return Number.isInteger(v) ? '<integer>' : '<real>';
  if (v instanceof Date) return '<date>';
  if (ArrayBuffer.isView(v)) return '<data>';
  if (Array.isArray(v)) return '<array>';
  return '<dictionary>';
};

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeOf(v);
};

const tccType = 'com.apple.TCC.configuration-profile-policy';

class Checker {
  issues: SchemaIssue[] = [];
  constructor(
    readonly document: ProfileDocument,
    readonly payloadType: string | null,
    readonly options: SchemaOptions,
  ) {}

  add(code: FindingCode, keyPath: string, line: number | null, message: string) {
    if (this.issues.length < 500) this.issues.push({ code, keyPath, line, message });
  }

  os(spec: OsSupport | undefined, keyPath: string, line: number | null, what: string) {
    if (!spec) return;
    if (spec.introduced === 'n/a') {
      this.add('not_for_macos', keyPath, line, `${what} is not supported on macOS`);
      return;
    }
    if (spec.removed && version(spec.removed)) {
      this.add('not_for_macos', keyPath, line, `${what} was removed in macOS ${spec.removed}`);
      return;
    }
    if (spec.deprecated && version(spec.deprecated))
      this.add('key_deprecated', keyPath, line, `${what} is deprecated since macOS ${spec.deprecated}`);
    const introduced = version(spec.introduced);
    if (introduced && this.options.targetMacos && compareVersions(introduced, this.options.targetMacos) > 0)
      this.add(
        'newer_than_target',
        keyPath,
        line,
        `${what} needs macOS ${spec.introduced}; the target is macOS ${this.options.targetMacos.join('.')}`,
      );
  }

  dict(dict: Dict, specs: KeySchema[], base: string, skipRequired = false) {
    const any = specs.find((s) => s.key === 'ANY');
    for (const key of Object.keys(dict)) {
      const keyPath = joinPath(base, key);
      const line = lineOf(this.document, dict, key);
      const spec = specs.find((s) => s.key === key) ?? any;
      if (!spec) {
        if (key === 'PayloadEnabled' && typeof dict[key] === 'boolean')
          this.add('quirk_payload_enabled', keyPath, line, 'PayloadEnabled is not in the schema (macOS accepts it)');
        else this.add('unknown_key', keyPath, line, `${key} is not a key of this payload`);
        continue;
      }
      this.value(dict[key], spec, keyPath, line);
    }
    if (skipRequired) return;
    for (const spec of specs) {
      if (spec.presence !== 'required' || spec.key === 'ANY' || Object.hasOwn(dict, spec.key)) continue;
      // The Payload* keys are the identity checks' to report.
      if (spec.key.startsWith('Payload')) continue;
      if (spec.supportedOS?.macOS?.introduced === 'n/a') continue;
      const keyPath = joinPath(base, spec.key);
      if (this.payloadType === tccType && spec.key === 'Allowed' && typeof dict.Authorization === 'string') {
        this.add(
          'quirk_tcc_authorization_without_allowed',
          keyPath,
          lineOf(this.document, dict, 'Authorization'),
          'Authorization without Allowed (the schema requires Allowed; macOS 11 and later accept Authorization alone)',
        );
        continue;
      }
      this.add('required_key_missing', keyPath, null, `the required key ${spec.key} is missing`);
    }
  }

  value(value: unknown, spec: KeySchema, keyPath: string, line: number | null) {
    this.os(spec.supportedOS?.macOS, keyPath, line, spec.key === 'ANY' ? keyPath : spec.key);
    const types = (Array.isArray(spec.type) ? spec.type : [spec.type ?? '<any>']).map(String);
    const actual = typeOf(value);
    if (!types.includes('<any>') && !types.includes(actual)) {
      const intForReal = actual === '<integer>' && types.includes('<real>');
      if (intForReal) {
        // an integer is a valid real
      } else if (this.payloadType === tccType && types.includes('<boolean>') && (value === 0 || value === 1)) {
        this.add('quirk_tcc_integer_boolean', keyPath, line, `the integer ${String(value)} stands for a boolean`);
        return;
      } else {
        this.add(
          'wrong_type',
          keyPath,
          line,
          `${keyPath} is ${actual} (${show(value)}); the schema says ${types.join(' or ')}`,
        );
        return;
      }
    }
    if (
      Array.isArray(spec.rangelist) &&
      spec.rangelist.length > 0 &&
      actual !== '<array>' &&
      actual !== '<dictionary>'
    ) {
      if (!spec.rangelist.some((allowed) => allowed === value || String(allowed) === String(value)))
        this.add(
          'value_not_allowed',
          keyPath,
          line,
          `${show(value)} is not one of ${spec.rangelist.slice(0, 8).map(show).join(', ')}${spec.rangelist.length > 8 ? ', …' : ''}`,
        );
    }
    if (spec.range && (typeof value === 'number' || typeof value === 'bigint')) {
      const n = Number(value);
      if (
        (typeof spec.range.min === 'number' && n < spec.range.min) ||
        (typeof spec.range.max === 'number' && n > spec.range.max)
      )
        this.add(
          'value_out_of_range',
          keyPath,
          line,
          `${n} is outside ${spec.range.min ?? '…'}–${spec.range.max ?? '…'}`,
        );
    }
    if (typeof spec.format === 'string' && typeof value === 'string') {
      if (formatMatches(spec.format, value) === false)
        this.add('value_format_mismatch', keyPath, line, `${show(value)} does not match ${spec.format}`);
    }
    if (Array.isArray(spec.subkeys) && spec.subkeys.length > 0) {
      if (isDict(value) && actual === '<dictionary>') this.dict(value, spec.subkeys, keyPath);
      else if (Array.isArray(value)) {
        const item = spec.subkeys[0]!;
        value.slice(0, 1000).forEach((element, i) => {
          if (Array.isArray(spec.rangelist) && spec.rangelist.length > 0 && !spec.rangelist.includes(element))
            this.add(
              'value_not_allowed',
              joinPath(keyPath, i),
              lineOf(this.document, value, i),
              `${show(element)} is not an allowed value`,
            );
          this.value(
            element,
            { ...item, key: item.key },
            joinPath(keyPath, i),
            lineOf(this.document, value, i) ?? line,
          );
        });
      }
    }
  }
}

export interface PayloadSchemaResult {
  schema: PayloadSchema | null;
  issues: SchemaIssue[];
}

const serious = (issues: SchemaIssue[]) =>
  issues.filter((i) => !i.code.startsWith('quirk_') && i.code !== 'key_deprecated' && i.code !== 'newer_than_target')
    .length;

/** Checks one payload (or a profile's outer dictionary) against the schemas. */
export function checkPayloadSchema(
  document: ProfileDocument,
  payload: Payload,
  schemas: SchemaSet,
  options: SchemaOptions,
): PayloadSchemaResult {
  if (payload.role === 'top') {
    if (document.kind !== 'profile') return { schema: schemas.top, issues: [] };
    const checker = new Checker(document, null, options);
    // PayloadContent's elements are payloads, checked each against their own schema.
    const keys = schemas.top.keys.map((k) => (k.key === 'PayloadContent' ? { ...k, subkeys: undefined } : k));
    checker.dict(payload.dict, keys, payload.path);
    return { schema: schemas.top, issues: checker.issues };
  }
  const candidates = payload.type ? (schemas.byType.get(payload.type) ?? []) : [];
  if (candidates.length === 0) return { schema: null, issues: [] };
  let best: PayloadSchemaResult | null = null;
  for (const schema of candidates) {
    const checker = new Checker(document, payload.type, options);
    const line = payload.path === '' ? null : null;
    checker.os(schema.macOS ?? { introduced: 'n/a' }, payload.path, line, `the payload type ${payload.type}`);
    const installed = document.kind === 'installed';
    const keys = installed ? schema.keys : [...schemas.common.keys, ...schema.keys];
    // Installed profiles show the settings without the common keys (they sit beside them).
    checker.dict(payload.settings, keys, payload.settingsPath);
    if (!best || serious(checker.issues) < serious(best.issues)) best = { schema, issues: checker.issues };
  }
  return best!;
}
