// How `agentctl status` looks: first the verdict (`Healthy: yes/no`) and every problem in one
// entry each (code, sentence, fix; errors before warnings), then the daemon's own sections and
// every capability's, each with its title, its human view, its problems and its contribution
// to the exit code (agent/capability.ts). agentd renders it for `agentctl status` (statusText,
// the `status.text` request); agentctl itself only for --json and for an older agentd.
import type { Problem, StatusSection } from '../capability.js';
import { capabilities } from '../capabilities.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import { paint, renderSection, rowsFor, wrapText } from './format.js';
import { clampColumns, styleFor, type Style } from './style.js';

type AnySection = StatusSection<Record<string, unknown>>;

/** A problem as `status --json` lists it: which section it comes from, then the problem. */
export interface SectionProblem extends Problem {
  section: string;
}

/** The daemon's own problems (its configuration and its log). */
export const daemonProblemCodes = ['config_problem', 'log_file_off', 'section_failed'] as const;

function daemonProblems(section: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const configProblems = Array.isArray(section.config_problems) ? (section.config_problems as unknown[]) : [];
  for (const p of configProblems.slice(0, 10))
    problems.push({
      code: 'config_problem',
      severity: 'error',
      sentence: `Configuration: ${String(p).slice(0, 300)}`,
      fix: 'fix the profile or file (agentctl config show names the source), then agentctl reload',
    });
  if (configProblems.length > 10)
    problems.push({
      code: 'config_problem',
      severity: 'error',
      sentence: `${configProblems.length - 10} more configuration problems.`,
      fix: 'agentctl config show lists them all',
    });
  if (typeof section.log_problem === 'string' && section.log_problem)
    problems.push({
      code: 'log_file_off',
      severity: 'warning',
      sentence: `The log file is off: ${section.log_problem.slice(0, 300)}`,
      fix: 'make LogDirectory a root-owned folder that only root can write (docs/security.md)',
    });
  return problems;
}

/** What the daemon section shows without --verbose: the internals stay out. */
const daemonVerbose = [
  'pid',
  'started_at',
  'config_files',
  'control_socket',
  'admin_socket',
  'log_file',
  'control',
  'state_directory',
  'rss_bytes',
  'jobs',
];

function daemonView(section: Record<string, unknown>): Record<string, unknown> {
  const { config_problems: problems, log_problem: logProblem, ...rest } = section;
  const view: Record<string, unknown> = { ...rest };
  view.config_problems = Array.isArray(problems) && problems.length ? `${problems.length} (listed above)` : 'None';
  if (logProblem) view.log_problem = 'listed above';
  return view;
}

const daemonSection: AnySection = {
  key: 'daemon',
  title: 'Daemon',
  absent: 'No data',
  view: daemonView,
  problems: daemonProblems,
  problemCodes: daemonProblemCodes,
  verbose: daemonVerbose,
};
const permissionsSection: AnySection = { key: 'permissions', title: 'Permissions', absent: 'No data' };

export function statusSections(): AnySection[] {
  return [daemonSection, ...capabilities.flatMap((c) => (c.status ?? []) as readonly AnySection[]), permissionsSection];
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** A section the daemon could not give (it failed, or was too large): its error, not its view. */
function failedSection(object: Record<string, unknown>): boolean {
  return typeof object.error === 'string' && Object.keys(object).every((k) => k === 'error' || k === 'error_code');
}

const severityOrder: Record<string, number> = { error: 0, warning: 1 };

/** Every problem of every section present, errors first (then in section order). */
export function statusProblems(status: Record<string, unknown>): SectionProblem[] {
  const problems: SectionProblem[] = [];
  for (const section of statusSections()) {
    const value = asObject(status[section.key]);
    if (!value) continue;
    if (failedSection(value)) {
      problems.push({
        section: section.key,
        code: 'section_failed',
        severity: 'error',
        sentence: `${section.title}: the daemon could not report it (${String(value.error).slice(0, 200)}).`,
        fix: 'read the agent log (agentctl flare collects it) and report it',
      });
      continue;
    }
    let found: Problem[] = [];
    try {
      found = section.problems?.(value) ?? [];
    } catch (error) {
      found = [
        {
          code: 'section_failed',
          severity: 'error',
          sentence: `${section.title}: its answer could not be read (${(error as Error).message.slice(0, 200)}).`,
          fix: 'run agentctl status --json and report it',
        },
      ];
    }
    // A section whose exit code says "not healthy" without naming a problem still counts.
    if (found.length === 0 && (section.exitCode?.(value) ?? exitCodes.ok) !== exitCodes.ok)
      found = [
        {
          code: 'section_failed',
          severity: 'error',
          sentence: `${section.title} is not healthy.`,
          fix: 'run agentctl status --json',
        },
      ];
    for (const p of found) problems.push({ section: section.key, ...p });
  }
  return problems
    .map((p, i) => [p, i] as const)
    .sort(([a, i], [b, j]) => (severityOrder[a.severity] ?? 2) - (severityOrder[b.severity] ?? 2) || i - j)
    .map(([p]) => p);
}

/** 0 healthy, 2 any problem in any section (agent/exit-codes.ts; 1 and 64 are the command's). */
export function statusExitCode(status: Record<string, unknown>): ExitCode {
  let code: ExitCode = statusProblems(status).length > 0 ? exitCodes.checkFailed : exitCodes.ok;
  for (const section of statusSections()) {
    const value = asObject(status[section.key]);
    if (!value || !section.exitCode) continue;
    const contribution = section.exitCode(value);
    if (contribution > code) code = contribution;
  }
  return code;
}

/** Epoch milliseconds (2001 to 2286): a timestamp, not a duration. */
const isEpochMs = (v: unknown): v is number => typeof v === 'number' && v >= 1e12 && v < 1e13;
const timestampName = /(^since|_since|_check|_at)_ms$/;

/**
 * Timestamps as RFC 3339 UTC strings, one format in every JSON: a daemon field `X_ms` (or
 * `X_at_ms`) holding epoch milliseconds becomes `X_at` (`last_check_ms` → `last_check_at`);
 * numbers stay only for durations, named `_ms`.
 */
export function rfc3339Timestamps(value: unknown, depth = 0): unknown {
  if (depth > 16 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => rfc3339Timestamps(v, depth + 1));
  const out: Record<string, unknown> = {};
  const source = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(source)) {
    if (key.endsWith('_ms') && (isEpochMs(v) || (v === null && timestampName.test(key)))) {
      const renamed = key.endsWith('_at_ms') ? key.slice(0, -3) : `${key.slice(0, -3)}_at`;
      if (!(renamed in source)) {
        out[renamed] = v === null ? null : new Date(v).toISOString();
        continue;
      }
    }
    out[key] = rfc3339Timestamps(v, depth + 1);
  }
  return out;
}

/** `status --json`: `healthy` and `problems` first, then every section (timestamps in RFC 3339 UTC). */
export function statusJson(status: Record<string, unknown>): Record<string, unknown> {
  const problems = statusProblems(status);
  return { healthy: problems.length === 0, problems, ...(rfc3339Timestamps(status) as Record<string, unknown>) };
}

/** The summary: `Healthy: yes/no`, then one entry per problem (code, sentence, fix). */
export function renderSummary(problems: readonly SectionProblem[], style: Style): string {
  if (problems.length === 0) return `Healthy: ${paint(style, 'green', 'yes')}`;
  const errors = problems.filter((p) => p.severity === 'error').length;
  const counts = [
    errors ? `${errors} error${errors === 1 ? '' : 's'}` : '',
    problems.length - errors ? `${problems.length - errors} warning${problems.length - errors === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  const lines = [`Healthy: ${paint(style, 'red', 'no')} (${counts.join(', ')})`];
  for (const p of problems) {
    const mark = p.severity === 'error' ? paint(style, 'red', 'ERROR') : paint(style, 'yellow', 'WARN ');
    const text = `${p.code}: ${p.sentence.trim()} Fix: ${p.fix.trim()}${/[.!?]$/.test(p.fix.trim()) ? '' : '.'}`;
    wrapText(text, style.columns - 8).forEach((l, i) => lines.push(i === 0 ? `  ${mark} ${l}` : `        ${l}`));
  }
  return lines.join('\n');
}

export function renderStatus(
  status: Record<string, unknown>,
  stream: NodeJS.WriteStream,
  options: { verbose?: boolean } = {},
): string {
  return renderStatusIn(status, styleFor(stream), options);
}

/** The human view in a given style (agentd renders it for `agentctl status`: statusText). */
export function renderStatusIn(
  status: Record<string, unknown>,
  style: Style,
  options: { verbose?: boolean } = {},
): string {
  const known = statusSections();
  const keys = new Set(known.map((s) => s.key));
  const extra = Object.keys(status)
    .filter((k) => !keys.has(k))
    .map((k): AnySection => ({
      key: k,
      title: k[0]!.toUpperCase() + k.slice(1).replaceAll('_', ' '),
      absent: 'No data',
    }));
  const sections = [...known, ...extra].map((section) => {
    const value = status[section.key];
    if (value === undefined || value === null) return renderSection(section.title, section.absent, style);
    const object = asObject(value);
    if (!object) return renderSection(section.title, [['Value', JSON.stringify(value)]], style);
    const failed = failedSection(object);
    let view = (!failed && section.view?.(object)) || object;
    if (!options.verbose && section.verbose?.length)
      view = Object.fromEntries(Object.entries(view).filter(([k]) => !section.verbose!.includes(k)));
    const rows = rowsFor(view, style);
    return renderSection(section.title, rows.length ? rows : 'No data', style);
  });
  return [renderSummary(statusProblems(status), style), '', ...sections].join('\n');
}

/** What `agentctl status` asks agentd for (`status.text`): how its terminal shows text. */
export interface StatusTextRequest {
  columns: number;
  colour: boolean;
  verbose: boolean;
}

/** The answer to `status.text`: the human view, and the exit code it means (0 or 2). */
export interface StatusText {
  text: string;
  exit_code: ExitCode;
}

/**
 * `status.text`, agentd's side: the human view of its own status answer, rendered where the
 * formatter is already loaded and compiled, so that `agentctl status` only connects, asks and
 * prints (issue 21: status within 1.15 × `node -e 0`; launchctl print is rendered by launchd
 * the same way). The arguments come from any local user: anything but a whole number of
 * columns is 80, clamped to 40-80 as on a terminal; colour and verbose only when `true`.
 * Dates are in agentd's time zone, the Mac's system zone that the menu bar clock shows.
 */
export function statusText(status: Record<string, unknown>, args: Record<string, unknown>): StatusText {
  const columns = Number.isInteger(args.columns) ? clampColumns(args.columns as number) : 80;
  const style: Style = { colour: args.colour === true, columns };
  return {
    text: renderStatusIn(status, style, { verbose: args.verbose === true }),
    exit_code: statusExitCode(status),
  };
}
