// Reads the configuration sources and resolves the effective configuration. Invalid keys
// are reported and ignored; a file that does not parse never replaces a good configuration.
import {
  ConfigParseError,
  parseConfigBytes,
  parseConfigBytesInChild,
  readConfigBytes,
  type ConfigParseCode,
} from './bounded-parse.js';
import { domain, payloadMetadataKeys, systemConfigFiles } from './defaults.js';
import { checkRelations, checkValue, defaultConfig, keyTable, loadKeyTable } from './keys.js';
import { redactMessage } from '../log/redact.js';
import type { CoreConfig } from './schema.js';

/** The configuration in force: the daemon's keys typed, each capability's read through its own type. */
export type AgentConfig = CoreConfig & Readonly<Record<string, unknown>>;

export type ConfigValues = Record<string, unknown>;

/** A file that could not be read or parsed as a configuration. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
    readonly code: ConfigParseCode = 'does_not_parse',
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ConfigFileError';
  }
}

/** Parses XML plist, binary plist (magic "bplist00") or JSON into a dictionary of keys, within the bounds of bounded-parse.ts. */
export async function parseConfigBuffer(
  buffer: Buffer,
  file: string,
  options: { isolated?: boolean } = {},
): Promise<ConfigValues> {
  try {
    return options.isolated ? await parseConfigBytesInChild(buffer) : await parseConfigBytes(buffer);
  } catch (error) {
    throw new ConfigFileError(
      file,
      error instanceof Error ? error.message : String(error),
      error instanceof ConfigParseError ? error.code : 'does_not_parse',
    );
  }
}

export interface ReadOptions {
  /** Parse in a child process (the daemon: its event loop answers status meanwhile). */
  isolated?: boolean;
  /** false: read whoever owns the file (`agentctl config validate`). Default: root's files only. */
  trusted?: boolean;
}

/**
 * Reads one configuration file: at most 1 MB, opened without following a link and, unless
 * `trusted: false`, only when root owns it and nobody else can write it (agent/fs-safety.ts).
 */
export async function readConfigFile(file: string, options: ReadOptions = {}): Promise<ConfigValues> {
  let buffer: Buffer;
  try {
    buffer = readConfigBytes(file, { trusted: options.trusted });
  } catch (error) {
    throw new ConfigFileError(
      file,
      error instanceof Error ? error.message : String(error),
      error instanceof ConfigParseError ? error.code : 'unreadable',
    );
  }
  return parseConfigBuffer(buffer, file, options);
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
  /** The managed preferences (or `--config`): the only source of managedOnly keys. */
  managed?: boolean;
  /** false: problems describe values by type and size only (root's `config validate`). */
  quoteValues?: boolean;
}

const lastGood = (source: string) => (source.endsWith(' (last good)') ? source : `${source} (last good)`);

/**
 * Resolves layers (highest precedence first) over the defaults. A key whose value is invalid
 * keeps its previous value when there is one (a running daemon), else the next layer's or
 * the default.
 */
export function resolveLayers(
  layers: Layer[],
  previous?: ResolvedConfig,
  platform: NodeJS.Platform = process.platform,
): ResolvedConfig {
  const keyNames = keyTable().names;
  const defaults = defaultConfig(platform);
  const config: Record<string, unknown> = { ...defaults };
  const sources: Record<string, string> = Object.fromEntries(keyNames.map((k) => [k, 'default']));
  const problems: string[] = [];
  const known = new Set<string>(keyNames);
  for (const layer of layers) {
    for (const name of Object.keys(layer.values)) {
      // A payload's metadata keys may accompany the settings; PayloadContent (a whole profile) may not.
      if (!known.has(name) && !payloadMetadataKeys.has(name))
        problems.push(`${name} is not a known key (in ${layer.source}); ignored`);
    }
  }
  const { keys } = keyTable();
  for (const name of keyNames) {
    for (const layer of layers) {
      if (!Object.hasOwn(layer.values, name)) continue;
      if (keys[name]?.managedOnly && !layer.managed) {
        problems.push(`${name} is accepted only from the managed preferences (in ${layer.source}); ignored`);
        continue;
      }
      const problem = checkValue(name, layer.values[name], layer.quoteValues !== false);
      if (problem === undefined) {
        config[name] = layer.values[name];
        sources[name] = layer.source;
        break;
      }
      if (previous) {
        problems.push(
          `${problem} (in ${layer.source}); keeping ${JSON.stringify(redactValue(name, previous.config[name]))}`,
        );
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

export interface LoadOptions extends Pick<ReadOptions, 'isolated'> {
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
  for (const [index, file] of candidates.entries()) {
    try {
      // The managed preferences come first; `--config` (given by whoever starts the daemon) stands in for them.
      layers.push({
        source: file,
        values: await readConfigFile(file, { isolated: options.isolated }),
        managed: options.configFile !== undefined || index === 0,
      });
    } catch (error) {
      const missingSystemFile = !options.configFile && /no such file$/.test((error as Error).message);
      if (!missingSystemFile) fileProblems.push((error as Error).message);
    }
  }
  if (fileProblems.length > 0 && options.previous) {
    return {
      ...options.previous,
      problems: [...fileProblems.map((p) => `${p}; keeping the last good configuration`)],
      keptPrevious: true,
    };
  }
  const resolved = resolveLayers(layers, options.previous);
  return {
    ...resolved,
    problems: [...fileProblems.map((p) => `${p}; ignoring the file`), ...resolved.problems],
    keptPrevious: false,
  };
}

const isDict = (v: unknown): v is ConfigValues =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !ArrayBuffer.isView(v);

/** A configuration profile (its outer dictionary), not a preference file. */
function isProfile(values: ConfigValues): boolean {
  return Array.isArray(values.PayloadContent) && typeof values.PayloadType === 'string';
}

/**
 * The agent's settings in a configuration profile, as macOS would write them to the managed
 * preferences: each payload whose PayloadType is the agent's domain, and each
 * com.apple.ManagedClient.preferences payload's `PayloadContent.<domain>.Forced[].mcx_preference_settings`
 * (Apple's com.apple.ManagedClient.preferences.yaml). Each source is named by its payload.
 */
export function agentPayloads(values: ConfigValues): Array<{ source: string; values: ConfigValues }> {
  const out: Array<{ source: string; values: ConfigValues }> = [];
  for (const [index, payload] of (values.PayloadContent as unknown[]).entries()) {
    if (!isDict(payload)) continue;
    const name = `payload ${index} (${typeof payload.PayloadIdentifier === 'string' ? payload.PayloadIdentifier.slice(0, 120) : 'no PayloadIdentifier'})`;
    if (payload.PayloadType === domain) {
      out.push({
        source: name,
        values: Object.fromEntries(Object.entries(payload).filter(([k]) => !payloadMetadataKeys.has(k))),
      });
    } else if (payload.PayloadType === 'com.apple.ManagedClient.preferences' && isDict(payload.PayloadContent)) {
      const domainEntry = payload.PayloadContent[domain];
      if (!isDict(domainEntry)) continue;
      for (const [level, list] of Object.entries(domainEntry)) {
        if (!Array.isArray(list)) continue;
        for (const item of list)
          if (isDict(item) && isDict(item.mcx_preference_settings))
            out.push({ source: `${name} ${level}`, values: item.mcx_preference_settings });
      }
    }
  }
  return out;
}

/**
 * Validates one file on its own (for `agentctl config validate`): every problem, nothing
 * resolved. A configuration profile is checked as the daemon would see it: the settings of each
 * payload for the agent's domain; a profile without one is a problem.
 */
export async function validateConfigFile(file: string): Promise<string[]> {
  await loadKeyTable();
  let values: ConfigValues;
  try {
    // Whoever owns it: validating a profile before it is uploaded to the MDM reads the caller's file.
    values = await readConfigFile(file, { trusted: false });
  } catch (error) {
    return [(error as Error).message];
  }
  // Run as root, a problem says which key, never what the file holds there (issue 17 item 11):
  // root may be shown a file its owner alone could read.
  const quoteValues = process.getuid?.() !== 0;
  const clean = (source: string, layerValues: ConfigValues, prefix: string) => {
    const resolved = resolveLayers([{ source, values: layerValues, managed: true, quoteValues }]);
    const problems = quoteValues ? resolved.problems : resolved.problems.map(withoutNumbers);
    return problems.map(
      (p) => prefix + p.replace(` (in ${source})`, '').replace(/; (ignored|using the defaults for .*)$/, ''),
    );
  };
  if (!isProfile(values)) return clean(file, values, '');
  const payloads = agentPayloads(values);
  if (payloads.length === 0)
    return [
      `the profile has no payload for ${domain} (PayloadType ${domain}, or com.apple.ManagedClient.preferences carrying it)`,
    ];
  return payloads.flatMap((p) => clean(p.source, p.values, `${p.source}: `));
}

/** Relation problems quote the numbers they compare: root's `config validate` names the keys only. */
function withoutNumbers(problem: string): string {
  return problem.replace(/ \(-?[\d.e+]+\)/g, '');
}

/** A value as output may show it: a secret never (its presence only), URLs without userinfo or query. */
export function redactValue(name: string, value: unknown): unknown {
  if (keyTable().keys[name]?.secret) return value === '' ? '' : '<redacted>';
  if (typeof value === 'string') return redactMessage(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? redactMessage(v) : v));
  return value;
}

/** The effective configuration as `config show` prints it: values (secrets redacted) and sources. */
export function describeConfig(resolved: ResolvedConfig): Record<string, { value: unknown; source: string }> {
  const out: Record<string, { value: unknown; source: string }> = {};
  for (const name of keyTable().names)
    out[name] = { value: redactValue(name, resolved.config[name]), source: resolved.sources[name] };
  return out;
}

/** The source that matters most for a reader: the highest-precedence file read, or "defaults". */
export function primarySource(resolved: ResolvedConfig): string {
  return resolved.files[0] ?? 'defaults';
}
