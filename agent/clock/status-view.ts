// What `agentctl status` shows a support person of the Clock section: the few rows that
// answer "is the clock right, by whom, and what do I do" (`--json` keeps everything).
// Imported by the status command, so it stays free of heavy imports.
import { describeOffset } from './wording.js';

interface SourceRow {
  kind?: string;
  address?: string;
  authenticated?: boolean;
  status?: string;
  offset_ms?: number | null;
  delay_ms?: number | null;
  stratum?: number | null;
  error?: string | null;
}

export { describeOffset };

function sourceLine(s: SourceRow): string {
  if (s.status === 'error') return `error: ${s.error ?? 'no answer'}`;
  const parts = [s.status ?? '?'];
  if (s.authenticated) parts.push('authenticated');
  if (typeof s.offset_ms === 'number') parts.push(describeOffset(s.offset_ms));
  if (typeof s.delay_ms === 'number') parts.push(`delay ${s.delay_ms.toFixed(1)} ms`);
  if (typeof s.stratum === 'number') parts.push(`stratum ${s.stratum}`);
  return parts.join(', ');
}

export function clockView(section: Record<string, unknown>): Record<string, unknown> {
  const offset = section.offset_ms as number | null;
  const uncertainty = section.uncertainty_ms as number | null;
  const sources = (section.sources as SourceRow[] | undefined) ?? [];
  const kernel = (section.kernel_ntp ?? {}) as { synchronized?: boolean; state?: string; error?: string };
  const compliance = (section.compliance ?? {}) as { state?: string };
  const view: Record<string, unknown> = {
    state: section.state,
    offset:
      offset === null || offset === undefined
        ? 'No estimate'
        : `${describeOffset(offset)} ± ${(uncertainty ?? 0).toFixed(1)} ms`,
    mode: section.mode,
    compliance: compliance.state,
    agreeing_sources: `${section.agreeing_sources ?? 0} of ${section.total_sources ?? sources.length}`,
  };
  const perSource: Record<string, string> = {};
  for (const s of sources) perSource[`${(s.kind ?? '').toUpperCase()} ${s.address ?? ''}`.trim()] = sourceLine(s);
  view.sources = Object.keys(perSource).length ? perSource : 'None configured';
  view.falsetickers = section.falsetickers;
  view.kernel_ntp = kernel.error
    ? `unavailable: ${kernel.error}`
    : `${kernel.synchronized ? 'synchronized' : 'not synchronized'} (${kernel.state ?? '?'})`;
  view.last_check_at = section.last_check_ms ?? null;
  if (section.last_check_reason) view.last_check_reason = section.last_check_reason;
  if (section.active_since_ms) view.active_since_at = section.active_since_ms;
  view.hint = section.hint ?? 'None';
  return view;
}

export function complianceView(section: Record<string, unknown>): Record<string, unknown> {
  const { since_ms: since, ...rest } = section;
  return { ...rest, since_at: since ?? null };
}
