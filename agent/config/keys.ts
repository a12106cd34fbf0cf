// Every key of the domain: the daemon's own (schema.ts) and each capability's (its config
// module, reached through agent/capabilities.ts). Loaded once per process, asynchronously,
// because capability keys are imported on demand (zod stays off `agentctl status`'s path).
import { capabilities } from '../capabilities.js';
import { isRoot } from '../process.js';
import type { KeySpec, RelationProblem } from './key-spec.js';
import { coreKeys, describeValue, pendingKeys } from './schema.js';

export interface KeyTable {
  keys: Readonly<Record<string, KeySpec>>;
  names: readonly string[];
  relations: ReadonlyArray<(config: Record<string, unknown>) => RelationProblem[]>;
}

let table: KeyTable | undefined;
let loading: Promise<KeyTable> | undefined;

/** Gathers the keys of the daemon and every capability (cached). */
export function loadKeyTable(): Promise<KeyTable> {
  loading ??= (async () => {
    const keys: Record<string, KeySpec> = { ...coreKeys };
    const relations: KeyTable['relations'][number][] = [];
    const owner = new Map(Object.keys(coreKeys).map((k) => [k, 'the daemon']));
    for (const capability of capabilities) {
      const contribution = await capability.config?.();
      if (!contribution) continue;
      for (const [name, spec] of Object.entries(contribution.keys)) {
        if (owner.has(name))
          throw new Error(`configuration key ${name} is claimed by ${owner.get(name)} and ${capability.name}`);
        owner.set(name, capability.name);
        keys[name] = spec;
      }
      if (contribution.relations) relations.push(contribution.relations);
    }
    for (const [name, spec] of Object.entries(pendingKeys)) if (!owner.has(name)) keys[name] = spec;
    table = { keys, names: Object.keys(keys), relations };
    return table;
  })();
  return loading;
}

/** The table loaded by loadKeyTable(); loadConfig() loads it, so code that has a config has it. */
export function keyTable(): KeyTable {
  if (!table) throw new Error('the configuration key table is not loaded yet (call loadKeyTable first)');
  return table;
}

export function defaultConfig(platform: NodeJS.Platform = process.platform, root = isRoot()): Record<string, unknown> {
  const { keys, names } = keyTable();
  return Object.fromEntries(names.map((name) => [name, keys[name]!.default(platform, root)]));
}

/**
 * Checks one value; returns the problem in words, or undefined when it is valid. With `quote`
 * false the words describe the value's type and size only, never what it holds (root's
 * `agentctl config validate`, issue 17 item 11).
 */
export function checkValue(name: string, value: unknown, quote = true): string | undefined {
  const spec = keyTable().keys[name];
  if (!spec) return `${name} is not a known key`;
  // Nothing a value holds may throw out of here (a daemon must start whatever a file says).
  try {
    if (spec.schema.safeParse(value).success) {
      const refused = spec.check?.(value);
      if (refused === undefined) return undefined;
      return quote
        ? `${name} is refused: ${refused}`
        : `${name} is refused by its safety check (values are not shown to root)`;
    }
    return `${name} must be ${spec.expected}; got ${spec.secret ? describeSecret(value) : quote ? describeValue(value) : describeShape(value)}`;
  } catch (error) {
    return `${name} could not be checked (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** A secret's value is never described: its type and length only. */
function describeSecret(value: unknown): string {
  return typeof value === 'string'
    ? `a string of ${value.length} characters`
    : Array.isArray(value)
      ? 'an array'
      : typeof value;
}

/** A value's type and size, nothing it holds. */
function describeShape(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value instanceof Date) return 'a date';
  if (value instanceof Uint8Array) return `data (${value.length} bytes)`;
  if (value === null) return 'null';
  return typeof value === 'object' ? 'a dictionary' : `a ${typeof value}`;
}

export function checkRelations(config: Record<string, unknown>): RelationProblem[] {
  return keyTable().relations.flatMap((relation) => relation(config));
}
