// `agentctl telemetry test [--count N]`: the daemon queues N `telemetry.test` events and
// answers once they are on disk, with their event IDs and sequence numbers, so an admin can
// find them in the log store (and a test can prove none is lost).
import type { CommandInput } from '../capability.js';
import { exitCodes } from '../exit-codes.js';
import { adminRequest } from './admin-request.js';

export interface TestEventsResult {
  ids: string[];
  first_sequence: number;
  last_sequence: number;
  collector: string | null;
}

export async function run({ flags }: CommandInput): Promise<number> {
  const options = flags as { json?: boolean; count?: number; socket?: string; config?: string };
  const count = options.count ?? 1;
  const answer = await adminRequest('telemetry test', 'telemetry.test', { count }, options);
  if (!answer.ok) {
    console.error(answer.message);
    return exitCodes.error;
  }
  const result = answer.result as TestEventsResult;
  if (options.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `Queued ${result.ids.length} telemetry.test event${result.ids.length === 1 ? '' : 's'} (sequence ${result.first_sequence}–${result.last_sequence}) for ${result.collector ?? 'no collector'}.`,
    );
    if (result.ids.length <= 10) for (const id of result.ids) console.log(`  event.id ${id}`);
  }
  return exitCodes.ok;
}
