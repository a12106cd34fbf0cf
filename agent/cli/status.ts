// How `agentctl status` looks: the daemon's own sections and every capability's, each with its
// title, its human view and its contribution to the exit code (agent/capability.ts).
// Imported on status's fast path: only light modules here.
import type { StatusSection } from '../capability.js';
import { capabilities } from '../capabilities.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import { renderSection, rowsFor, styleFor } from './format.js';

type AnySection = StatusSection<Record<string, unknown>>;

const daemonSection: AnySection = { key: 'daemon', title: 'Daemon', absent: 'No data' };
const permissionsSection: AnySection = { key: 'permissions', title: 'Permissions', absent: 'No data' };

export function statusSections(): AnySection[] {
  return [daemonSection, ...capabilities.flatMap((c) => (c.status ?? []) as readonly AnySection[]), permissionsSection];
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** The largest contribution of the sections present: 2 when the guardrail is active or the device non-compliant. */
export function statusExitCode(status: Record<string, unknown>): ExitCode {
  let code: ExitCode = exitCodes.ok;
  for (const section of statusSections()) {
    const value = asObject(status[section.key]);
    if (!value || !section.exitCode) continue;
    const contribution = section.exitCode(value);
    if (contribution > code) code = contribution;
  }
  return code;
}

export function renderStatus(status: Record<string, unknown>, stream: NodeJS.WriteStream): string {
  const style = styleFor(stream);
  const known = statusSections();
  const keys = new Set(known.map((s) => s.key));
  const extra = Object.keys(status)
    .filter((k) => !keys.has(k))
    .map((k): AnySection => ({
      key: k,
      title: k[0]!.toUpperCase() + k.slice(1).replaceAll('_', ' '),
      absent: 'No data',
    }));
  return [...known, ...extra]
    .map((section) => {
      const value = status[section.key];
      if (value === undefined || value === null) return renderSection(section.title, section.absent, style);
      const object = asObject(value);
      if (!object) return renderSection(section.title, [['Value', JSON.stringify(value)]], style);
      // A section the daemon could not give (it failed, or was too large) is its error, not its view.
      const failed =
        typeof object.error === 'string' && Object.keys(object).every((k) => k === 'error' || k === 'error_code');
      const rows = rowsFor((!failed && section.view?.(object)) || object, style);
      return renderSection(section.title, rows.length ? rows : 'No data', style);
    })
    .join('\n');
}
