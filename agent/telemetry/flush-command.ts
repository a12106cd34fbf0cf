// `agentctl telemetry flush`: the daemon queues a heartbeat and uploads now, even while it is
// backing off after a failure (an admin's explicit request); prints the Telemetry section.
import type { CommandInput } from '../capability.js';
import { formatDate, rowsFor, styleFor } from '../cli/format.js';
import { progressLine } from '../cli/progress.js';
import { chooseSocket } from '../cli/socket.js';
import { exitCodes } from '../exit-codes.js';
import { adminRequest } from './admin-request.js';
import { telemetrySection, waitForDelivery } from './delivery.js';
import { telemetryView, type TelemetrySection } from './status-view.js';

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; wait?: number; socket?: string; config?: string };
  const waitMs = (options.wait ?? 30) * 1000;
  const socket = await chooseSocket(options);
  const before = waitMs > 0 ? await telemetrySection(socket.path) : null;
  const sinceMs = Date.now();
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
  if (section.enabled === false) {
    if (options.json) console.log(JSON.stringify(section, null, 2));
    return exitCodes.error;
  }
  if (!options.json) console.log('Heartbeat queued; upload started.');
  // Confirm: an upload after the request succeeded (the heartbeat queues behind the backlog, so
  // a large queue may still be draining), or failed; then the state after it.
  let delivery = null;
  let after = section;
  if (waitMs > 0) {
    const progress = progressLine();
    delivery = await waitForDelivery({
      socketPath: socket.path,
      sinceMs,
      sentBefore: before?.sent ?? 0,
      needed: 0,
      waitMs,
      progress: (text) => progress.update(text),
    });
    progress.done();
    after = delivery.section ?? section;
  }
  if (options.json) {
    console.log(
      JSON.stringify(
        delivery
          ? { ...after, delivery: { outcome: delivery.outcome, at: delivery.at, message: delivery.sentence } }
          : after,
        null,
        2,
      ),
    );
  } else {
    if (delivery) console.log(delivery.at ? `${formatDate(delivery.at)}: ${delivery.sentence}` : delivery.sentence);
    const rows = rowsFor(telemetryView(after), styleFor(process.stdout));
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) console.log(`  ${label.padEnd(width)} | ${value}`);
  }
  return delivery && delivery.outcome !== 'delivered' ? exitCodes.checkFailed : exitCodes.ok;
}
