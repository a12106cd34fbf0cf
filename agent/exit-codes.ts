// agentctl's exit codes, the one place they are written (README and docs/ name the same).
export const exitCodes = { ok: 0, error: 1, guardrail: 2, checkFailed: 2, usage: 64 } as const;

/** 0 healthy, 1 error or daemon unreachable, 2 guardrail active, non-compliant or a check failed, 64 usage. */
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];
