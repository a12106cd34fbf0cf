// The Telemetry section's problems for the summary of `agentctl status` (codes in
// docs/codes.md, "Status problems"). Imported by the status command: no heavy imports.
import type { Problem } from '../capability.js';
import { describeTelemetryCode, type TelemetrySection } from './status-view.js';

export const telemetryProblemCodes = ['telemetry_failing', 'telemetry_misconfigured'] as const;

export function telemetryProblems(section: TelemetrySection): Problem[] {
  const problems: Problem[] = [];
  for (const p of section.problems ?? [])
    problems.push({
      code: 'telemetry_misconfigured',
      severity: 'error',
      sentence: describeTelemetryCode(p.code),
      fix: 'fix the Collector keys (agentctl config show), then agentctl reload',
    });
  const error = section.last_error;
  const success = section.last_success_at ? Date.parse(section.last_success_at) : 0;
  if (section.enabled !== false && error && Date.parse(error.at) >= success)
    problems.push({
      code: 'telemetry_failing',
      severity: 'error',
      sentence: `Uploads fail: ${describeTelemetryCode(error.code)}${error.status ? ` (HTTP ${error.status})` : ''}`,
      fix: 'check the collector, the network and the token; agentctl doctor asks the collector',
    });
  return problems;
}
