// One configuration key: its type, what a valid value is, its meaning and default. The daemon
// owns a few keys (agent/config/schema.ts); each capability owns its own (its config module,
// reached through its descriptor's config()).
import type * as z from 'zod/mini';

export interface KeySpec<S extends z.ZodMiniType = z.ZodMiniType> {
  schema: S;
  /** What a valid value is, phrased to follow "must be". */
  expected: string;
  /** One line for admins (docs/configuration.md, `config show`). */
  meaning: string;
  default: (platform: NodeJS.Platform, root: boolean) => z.infer<S>;
  /** Never shown or logged; `config show` prints "<redacted>". */
  secret?: boolean;
  /** Changing it needs a daemon restart (the daemon logs that and keeps the old value). */
  restart?: boolean;
  /**
   * Accepted only from the managed preferences (the MDM's profile) or `--config`: a value that
   * makes root run something must not come from a file a local admin could write.
   */
  managedOnly?: boolean;
  /** A check beyond the schema (e.g. on the file system); returns why the value is refused. */
  check?: (value: z.infer<S>) => string | undefined;
}

export type KeySpecs = Record<string, KeySpec>;

/** The typed values of a table of keys: `ConfigOf<typeof clockKeys>`. */
export type ConfigOf<K extends KeySpecs> = { -readonly [P in keyof K]: z.infer<K[P]['schema']> };

/** A cross-key rule's finding; it names every key involved. */
export interface RelationProblem {
  keys: string[];
  message: string;
}
