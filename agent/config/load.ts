// Reads the configuration sources and resolves the effective configuration. Invalid keys
// are reported and ignored; a file that does not parse never replaces a good configuration.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { systemConfigFiles } from './defaults.js';
import { checkRelations, checkValue, defaultConfig, keyTable, loadKeyTable } from './keys.js';
import type { CoreConfig } from './schema.js';

/** The configuration in force: the daemon's keys typed, each capability's read through its own type. */
export type AgentConfig = CoreConfig & Readonly<Record<string, unknown>>;

export type ConfigValues = Record<string, unknown>;

/** A file that could not be read or parsed as a configuration. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ConfigFileError';
  }
}

const require = createRequire(import.meta.url);

/** Parses XML plist, binary plist (magic "bplist00") or JSON into a dictionary of keys. */
export async function parseConfigBuffer(buffer: Buffer, file: string): Promise<ConfigValues> {
  let parsed: unknown;
  const head = buffer.subarray(0, 8).toString('latin1');
  const text = head.startsWith('bplist') ? '' : buffer.toString('utf8').replace(/^\uFEFF/, '');
  try {
    if (head === 'bplist00') {
      const bplist = require('bplist-parser') as typeof import('bplist-parser');
      parsed = bplist.parseBuffer(buffer)[0];
    } else if (head.startsWith('bplist')) {
      throw new Error(`unsupported binary plist version "${head}"`);
    } else if (/^\s*[{[]/.test(text)) {
      parsed = JSON.parse(text);
    } else if (/^\s*</.test(text)) {
      const plist = await import('plist');
      parsed = quietly(() => plist.parse(text));
    } else {
      throw new Error('neither a property list (XML or binary) nor JSON');
    }
  } catch (error) {
    throw new ConfigFileError(file, `does not parse: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || parsed instanceof Date || parsed instanceof Uint8Array) {
    throw new ConfigFileError(file, 'does not parse: the top level is not a dictionary');
  }
  return parsed as ConfigValues;
}

// xmldom (inside plist) reports XML errors on the console itself; a daemon's console is not
// where they belong. Parsing is synchronous, so the swap cannot catch anyone else's output.
function quietly<T>(parse: () => T): T {
  const saved = { error: console.error, warn: console.warn, log: console.log };
  const messages: string[] = [];
  console.error = console.warn = console.log = (...args: unknown[]) => void messages.push(args.map(String).join(' '));
  try {
    return parse();
  } catch (error) {
    const detail = messages.find((m) => /fatal|error/i.test(m))?.replace(/\s+/g, ' ').trim();
    throw new Error(detail ? `${(error as Error).message} (${detail})` : (error as Error).message);
  } finally {
    Object.assign(console, saved);
  }
}

export async function readConfigFile(file: string): Promise<ConfigValues> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigFileError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`);
  }
  return parseConfigBuffer(buffer, file);
}

/** The configuration in force, with where each value came from. */
export interface ResolvedConfig {
  config: AgentConfig;
  /** Per key: the file it came from, "default", or "<file> (last good)". */
  sources: Record<string, string>;
  /** The files that were read, highest precedence first. */
  files: string[];
  /** Every problem found, each naming its key or file. */
  problems: string[];
}

export interface Layer {
  source: string;
  values: ConfigValues;
}

const lastGood = (source: string) => (source.endsWith(' (last good)') ? source : `${source} (last good)`);

/**
 * Resolves layers (highest precedence first) over the defaults. A key whose value is invalid
 * keeps its previous value when there is one (a running daemon), else the next layer's or
 * the default.
 */
export function resolveLayers(layers: Layer[], previous?: ResolvedConfig, platform: NodeJS.Platform = process.platform): ResolvedConfig {
  const keyNames = keyTable().names;
  const defaults = defaultConfig(platform);
  const config: Record<string, unknown> = { ...defaults };
  const sources: Record<string, string> = Object.fromEntries(keyNames.map((k) => [k, 'default']));
  const problems: string[] = [];
  const known = new Set<string>(keyNames);
  for (const layer of layers) {
    for (const name of Object.keys(layer.values)) {
      // Payload* keys are configuration-profile metadata that may accompany the settings.
      if (!known.has(name) && !name.startsWith('Payload')) problems.push(`${name} is not a known key (in ${layer.source}); ignored`);
    }
  }
  for (const name of keyNames) {
    for (const layer of layers) {
      if (!Object.hasOwn(layer.values, name)) continue;
      const problem = checkValue(name, layer.values[name]);
      if (problem === undefined) {
        config[name] = layer.values[name];
        sources[name] = layer.source;
        break;
      }
      if (previous) {
        problems.push(`${problem} (in ${layer.source}); keeping ${JSON.stringify(redactValue(name, previous.config[name]))}`);
        config[name] = previous.config[name];
        sources[name] = lastGood(previous.sources[name] ?? 'default');
        break;
      }
      problems.push(`${problem} (in ${layer.source}); ignored`);
    }
  }
  for (const relation of checkRelations(config)) {
    const fallback = previous ? 'keeping the previous values' : 'using the defaults';
    problems.push(`${relation.message}; ${fallback} for ${relation.keys.join(' and ')}`);
    for (const name of relation.keys) {
      config[name] = previous ? previous.config[name] : defaults[name];
      sources[name] = previous ? lastGood(previous.sources[name] ?? 'default') : 'default';
    }
  }
  return { config: config as unknown as AgentConfig, sources, files: layers.map((l) => l.source), problems };
}

export interface LoadOptions {
  /** `--config FILE`: for development it replaces the system files (an installed profile must not leak into a development run). */
  configFile?: string;
  /** The configuration in force (a running daemon): kept when a file does not parse. */
  previous?: ResolvedConfig;
  /** Overrides the system files (tests). */
  systemFiles?: readonly string[];
}

export interface LoadResult extends ResolvedConfig {
  /** True when a file did not parse and the previous configuration was kept as a whole. */
  keptPrevious: boolean;
}

export async function loadConfig(options: LoadOptions = {}): Promise<LoadResult> {
  await loadKeyTable();
  const candidates = options.configFile ? [options.configFile] : [...(options.systemFiles ?? systemConfigFiles)];
  const layers: Layer[] = [];
  const fileProblems: string[] = [];
  for (const file of candidates) {
    try {
      layers.push({ source: file, values: await readConfigFile(file) });
    } catch (error) {
      const missingSystemFile = !options.configFile && /no such file$/.test((error as Error).message);
      if (!missingSystemFile) fileProblems.push((error as Error).message);
    }
  }
  if (fileProblems.length > 0 && options.previous) {
    return { ...options.previous, problems: [...fileProblems.map((p) => `${p}; keeping the last good configuration`)], keptPrevious: true };
  }
  const resolved = resolveLayers(layers, options.previous);
  return { ...resolved, problems: [...fileProblems.map((p) => `${p}; ignoring the file`), ...resolved.problems], keptPrevious: false };
}

/** Validates one file on its own (for `agentctl config validate`): every problem, nothing resolved. */
export async function validateConfigFile(file: string): Promise<string[]> {
  await loadKeyTable();
  let values: ConfigValues;
  try {
    values = await readConfigFile(file);
  } catch (error) {
    return [(error as Error).message];
  }
  const resolved = resolveLayers([{ source: file, values }]);
  return resolved.problems.map((p) => p.replace(` (in ${file})`, '').replace(/; (ignored|using the defaults for .*)$/, ''));
}

export function redactValue(name: string, value: unknown): unknown {
  if (!keyTable().keys[name]?.secret) return value;
  return value === '' ? '' : '<redacted>';
}

/** The effective configuration as `config show` prints it: values (secrets redacted) and sources. */
export function describeConfig(resolved: ResolvedConfig): Record<string, { value: unknown; source: string }> {
  const out: Record<string, { value: unknown; source: string }> = {};
  for (const name of keyTable().names) out[name] = { value: redactValue(name, resolved.config[name]), source: resolved.sources[name] };
  return out;
}

/** The source that matters most for a reader: the highest-precedence file read, or "defaults". */
export function primarySource(resolved: ResolvedConfig): string {
  return resolved.files[0] ?? 'defaults';
}
