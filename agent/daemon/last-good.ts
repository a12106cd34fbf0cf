// The last good configuration, kept in the state directory so that it survives a restart: at
// start-up a preference file that does not parse, or a key that does not validate, falls back
// to it rather than to the defaults. Root-only (mode 0600): it may hold the collector's token.
import * as z from 'zod/mini';
import type { ResolvedConfig } from '../config/load.js';
import { StateFile } from '../state/state-file.js';

const documentSchema = z.object({
  version: z.literal(1),
  saved_at_ms: z.number(),
  config: z.record(z.string(), z.unknown()),
  sources: z.record(z.string(), z.string()),
  files: z.array(z.string()),
});
export type LastGoodDocument = z.infer<typeof documentSchema>;
export type LastGoodConfigFile = StateFile<LastGoodDocument>;

export function lastGoodConfig(stateDir: string): LastGoodConfigFile {
  return new StateFile(stateDir, 'last-good-config.json', documentSchema);
}

export function lastGoodDocument(resolved: ResolvedConfig, nowMs = Date.now()): LastGoodDocument {
  return {
    version: 1,
    saved_at_ms: nowMs,
    config: { ...resolved.config },
    sources: { ...resolved.sources },
    files: [...resolved.files],
  };
}

/** The saved configuration as the `previous` of a load: each value's source says "(last good)". */
export function restoredConfig(document: LastGoodDocument): ResolvedConfig {
  const sources = Object.fromEntries(
    Object.entries(document.sources).map(([key, source]) => [
      key,
      source === 'default' || source.endsWith(' (last good)') ? source : `${source} (last good)`,
    ]),
  );
  return { config: document.config as ResolvedConfig['config'], sources, files: document.files, problems: [] };
}
