// One configuration key: its type, what a valid value is, its meaning and default.
import type { z } from 'zod';

export interface KeySpec {
  schema: z.ZodType;
  /** What a valid value is, phrased to follow "must be". */
  expected: string;
  /** One line for admins (docs/configuration.md, `config show`). */
  meaning: string;
  default: (platform: NodeJS.Platform, root: boolean) => unknown;
  /** Never shown or logged; `config show` prints "<redacted>". */
  secret?: boolean;
  /** Changing it needs a daemon restart (the daemon logs that and keeps the old value). */
  restart?: boolean;
}

