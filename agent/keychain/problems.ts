// The Keychain section's problems for the summary of `agentctl status` (codes in docs/codes.md,
// "Status problems"). Imported by the status command: no heavy imports.
import type { Problem } from '../capability.js';
import type { KeychainErrorCode } from './errors.js';
import { errorHints } from './hints.js';

export const keychainProblemCodes = ['keychain_scrub_error'] as const;

export function keychainProblems(section: Record<string, unknown>): Problem[] {
  const users = Array.isArray(section.users) ? (section.users as Array<{ uid?: number; errors?: string[] }>) : [];
  const problems: Problem[] = [];
  for (const u of users) {
    const codes = [...new Set(Array.isArray(u.errors) ? u.errors : [])];
    for (const code of codes.slice(0, 4))
      problems.push({
        code: 'keychain_scrub_error',
        severity: 'error',
        sentence: `The scrub of uid ${u.uid ?? '?'} failed (${code}).`,
        fix: errorHints[code as KeychainErrorCode] ?? 'see docs/codes.md',
      });
  }
  return problems;
}
