// `agentctl telemetry flush`: the daemon queues a heartbeat and uploads now, even while it is
// backing off after a failure (an admin's explicit request); prints the Telemetry section.
import type { CommandInput } from '../capability.js';
import { rowsFor, styleFor } from '../cli/format.js';
import { exitCodes } from '../exit-codes.js';
import { adminRequest } from './admin-request.js';
import { telemetryView, type TelemetrySection } from './status-view.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; socket?: string; config?: string };
  const answer = await adminRequest('telemetry flush', 'telemetry.flush', {}, options);
  if (!answer.ok) {
    console.error(answer.message);
    return exitCodes.error;
  }
  const section = answer.result as TelemetrySection;
  if (section.enabled === false && !options.json) {
    console.error('agentctl telemetry flush: telemetry is off (CollectorURL is empty); nothing to upload');
    return exitCodes.error;
  }
  if (options.json) {
    console.log(JSON.stringify(section, null, 2));
  } else {
    console.log('Heartbeat queued; upload started.');
    const rows = rowsFor(telemetryView(section), styleFor(process.stdout));
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) console.log(`  ${label.padEnd(width)} | ${value}`);
  }
  return section.enabled === false ? exitCodes.error : exitCodes.ok;
}
