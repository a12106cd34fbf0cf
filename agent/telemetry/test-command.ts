// `agentctl telemetry test [--count N] [--wait S]`: the daemon queues N `telemetry.test` events
// and answers once they are on disk, with their event IDs and sequence numbers, so an admin can
// find them in the log store; then it waits (at most S seconds, default 30; 0: not at all) and
// says whether they reached the collector, when, or why not. Exit 0 delivered (or not waited
// for), 2 not delivered or not confirmed, 1 error.
import type { CommandInput } from '../capability.js';
import { formatDate } from '../cli/format.js';
import { progressLine } from '../cli/progress.js';
import { chooseSocket } from '../cli/socket.js';
import { exitCodes } from '../exit-codes.js';
import { adminRequest } from './admin-request.js';
import { telemetrySection, waitForDelivery } from './delivery.js';

export interface TestEventsResult {
  ids: string[];
  first_sequence: number;
  last_sequence: number;
  collector: string | null;
}

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; count?: number; wait?: number; socket?: string; config?: string };
  const count = options.count ?? 1;
  const waitMs = (options.wait ?? 30) * 1000;
  const socket = await chooseSocket(options);
  const before = waitMs > 0 ? await telemetrySection(socket.path) : null;
  const sinceMs = Date.now();
  const answer = await adminRequest('telemetry test', 'telemetry.test', { count }, options);
  if (!answer.ok) {
    console.error(answer.message);
    return exitCodes.error;
  }
  const result = answer.result as TestEventsResult;
  if (!options.json) {
    console.log(
      `Queued ${result.ids.length} telemetry.test event${result.ids.length === 1 ? '' : 's'} (sequence ${result.first_sequence}–${result.last_sequence}) for ${result.collector ?? 'no collector'}.`,
    );
    if (result.ids.length <= 10) for (const id of result.ids) console.log(`  event.id ${id}`);
  }
  if (waitMs === 0 || !result.collector) {
    if (options.json) console.log(JSON.stringify(result));
    return exitCodes.ok;
  }
  // Upload now rather than at the next flush interval (the flush also queues a heartbeat, behind
  // them), then confirm: everything queued before them, and they themselves, sent after the request.
  const flush = await adminRequest('telemetry test', 'telemetry.flush', {}, options);
  if (!flush.ok) {
    console.error(flush.message);
    return exitCodes.error;
  }
  const progress = progressLine();
  const delivery = await waitForDelivery({
    socketPath: socket.path,
    sinceMs,
    sentBefore: before?.sent ?? 0,
    needed: (before?.queue_depth ?? 0) + result.ids.length,
    waitMs,
    progress: (text) => progress.update(text),
  });
  progress.done();
  if (options.json)
    console.log(
      JSON.stringify({
        ...result,
        delivery: { outcome: delivery.outcome, at: delivery.at, message: delivery.sentence },
      }),
    );
  else console.log(delivery.at ? `${formatDate(delivery.at)}: ${delivery.sentence}` : delivery.sentence);
  return delivery.outcome === 'delivered' ? exitCodes.ok : exitCodes.checkFailed;
}
