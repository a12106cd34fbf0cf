// The report a session sends the daemon after a scrub (control request "keychain.report"),
// bounded so that it fits the control channel and cannot flood the daemon: counts, the first
// entries, the error codes. The daemon checks it against this schema and files it under the
// uid the kernel gives for the connection; a uid written in the report is refused by the
// schema (strict objects: unknown keys are an error).
import * as z from 'zod/mini';
import { scrubModes } from './config.js';
import { keychainErrorCodes } from './errors.js';
import type { ScrubReport } from './scrub.js';

export const reportLimits = {
  /** Deleted / would-delete entries carried (the counts are always exact). */
  entries: 32,
  errors: 16,
  /** Characters of one service or account name. */
  text: 256,
  /** The request's arguments, serialized. */
  bytes: 16 * 1024,
} as const;

const text = z.string().check(z.maxLength(reportLimits.text));
const count = z.int().check(z.nonnegative(), z.maximum(1e9));
const tag = z.string().check(z.regex(/^[0-9a-f]{64}$/));
const reason = z.enum(['other_tenant', 'current_tenant', 'untagged', 'service_not_listed']);
const code = z.enum(keychainErrorCodes);

export const reportSchema = z.strictObject({
  version: z.literal(1),
  /** The uid the sender says it runs as: informational only, never what the report is filed under. */
  uid: z.optional(z.int().check(z.nonnegative(), z.maximum(0xffffffff))),
  /** 'session': the login/user-switch or daemon-requested run; 'command': someone ran agentctl scrub. */
  trigger: z.enum(['session', 'command']),
  tenant: z.string().check(z.maxLength(253)),
  tenant_tag: z.nullable(tag),
  mode: z.enum(scrubModes),
  skipped: z.nullable(z.enum(['no_tenant', 'no_services'])),
  scanned: count,
  kept: count,
  deleted: count,
  would_delete: count,
  failed: count,
  entries: z
    .array(z.strictObject({ service: text, account: z.nullable(text), tag: z.nullable(tag), reason }))
    .check(z.maxLength(reportLimits.entries)),
  truncated: z.boolean(),
  errors: z.array(z.strictObject({ code })).check(z.maxLength(reportLimits.errors)),
  not_searched: z.array(z.strictObject({ access_group: text, code })).check(z.maxLength(reportLimits.errors)),
  started_at: z.string().check(z.maxLength(40)),
  duration_ms: count,
});

export type SessionReport = z.infer<typeof reportSchema>;

const clip = (s: string) => (s.length > reportLimits.text ? `${s.slice(0, reportLimits.text - 1)}…` : s);

/** The bounded summary of a run: it always fits reportLimits.bytes (entries are dropped to fit). */
export function summarize(report: ScrubReport, trigger: SessionReport['trigger']): SessionReport {
  const acted = report.deleted ?? report.would_delete ?? [];
  const uid = process.getuid?.();
  const summary: SessionReport = {
    version: 1,
    ...(uid === undefined ? {} : { uid }),
    trigger,
    tenant: report.tenant.slice(0, 253),
    tenant_tag: report.tenant_tag,
    mode: report.mode,
    skipped: report.skipped,
    scanned: report.scanned,
    kept: report.kept,
    deleted: report.deleted?.length ?? 0,
    would_delete: report.would_delete?.length ?? 0,
    failed: report.errors.length,
    entries: acted.slice(0, reportLimits.entries).map((e) => ({
      service: clip(e.service),
      account: e.account === null ? null : clip(e.account),
      tag: e.tag,
      reason: e.reason,
    })),
    truncated: acted.length > reportLimits.entries,
    errors: report.errors.slice(0, reportLimits.errors).map((e) => ({ code: e.code })),
    not_searched: report.not_searched
      .slice(0, reportLimits.errors)
      .map((n) => ({ access_group: clip(n.access_group), code: n.code })),
    started_at: report.started_at,
    duration_ms: report.duration_ms,
  };
  while (summary.entries.length > 0 && Buffer.byteLength(JSON.stringify({ report: summary })) > reportLimits.bytes) {
    summary.entries.pop();
    summary.truncated = true;
  }
  return summary;
}

export type ReportProblem = 'too_large' | 'invalid_report';

/** Checks a report request's arguments: the report, or why it is refused. */
export function parseReportArgs(
  args: Record<string, unknown>,
): { report: SessionReport } | { problem: ReportProblem; detail: string } {
  const size = Buffer.byteLength(JSON.stringify(args));
  if (size > reportLimits.bytes)
    return { problem: 'too_large', detail: `the report is ${size} bytes; the limit is ${reportLimits.bytes}` };
  const keys = Object.keys(args);
  if (keys.length !== 1 || keys[0] !== 'report')
    return { problem: 'invalid_report', detail: 'the arguments must be exactly { "report": {...} }' };
  const parsed = reportSchema.safeParse(args.report);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      problem: 'invalid_report',
      detail: `${issue?.path.join('.') || 'report'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { report: parsed.data };
}
