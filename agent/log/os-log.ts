// What the agent writes to the OS log under, decided here: the addon keeps one os_log_t per
// subsystem/category pair for the life of the process (native/darwin/log.cc) and refuses more
// than 64 pairs, so only the agent's own subsystem is allowed, and categories are a bounded set
// of short names. Anything else is written under the "agent" category.

/** The subsystems (os_log) / idents (syslog) the agent writes under. */
export const agentLogSubsystems = ['com.trustguard.agent'] as const;
export type AgentLogSubsystem = (typeof agentLogSubsystems)[number];

export function isAgentLogSubsystem(value: unknown): value is AgentLogSubsystem {
  return typeof value === 'string' && (agentLogSubsystems as readonly string[]).includes(value);
}

/** The category used when a log entry names none, a malformed one, or one too many. */
export const defaultLogCategory = 'agent';
/** Distinct categories one process may use (the addon's bound is 64 pairs). */
export const maxLogCategories = 16;
const categoryPattern = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Maps the categories a process uses onto a bounded set: a short lowercase name is kept as long
 * as fewer than maxLogCategories have been seen; anything else becomes "agent".
 */
export class LogCategories {
  private readonly seen = new Set<string>([defaultLogCategory]);

  categoryFor(value: unknown): string {
    if (typeof value !== 'string' || !categoryPattern.test(value)) return defaultLogCategory;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= maxLogCategories) return defaultLogCategory;
    this.seen.add(value);
    return value;
  }
}
