// `telemetry test` and `telemetry flush` confirm delivery: after the request they watch the
// Telemetry section (bounded by --wait) until the collector took the records (a success after
// the request, with enough records sent), or an upload after the request failed, and say which,
// when and why. Records are sent in queue order, so "enough sent" means everything queued
// before them and they themselves.
import { request } from '../control/client.js';
import { describeTelemetryCode, type TelemetrySection } from './status-view.js';

export interface Delivery {
  outcome: 'delivered' | 'failed' | 'timeout' | 'unknown';
  /** One sentence for people. */
  sentence: string;
  at: string | null;
  section: TelemetrySection | null;
}

interface Section extends TelemetrySection {
  sent?: number;
}

export async function telemetrySection(socketPath: string): Promise<Section | null> {
  try {
    const response = await request(socketPath, 'status', {}, 5000);
    return response.ok ? ((response.result as { telemetry?: Section }).telemetry ?? null) : null;
  } catch {
    return null;
  }
}

export async function waitForDelivery(options: {
  socketPath: string;
  sinceMs: number;
  sentBefore: number;
  /** How many more records must have been sent (0: any success after the request). */
  needed: number;
  waitMs: number;
  progress?: (text: string) => void;
}): Promise<Delivery> {
  const deadline = Date.now() + options.waitMs;
  let section: Section | null = null;
  for (;;) {
    section = await telemetrySection(options.socketPath);
    if (section) {
      const sent = (section.sent ?? 0) - options.sentBefore;
      const success = section.last_success_at ? Date.parse(section.last_success_at) : 0;
      if (success >= options.sinceMs && sent >= options.needed)
        return {
          outcome: 'delivered',
          at: section.last_success_at ?? null,
          sentence: `The collector took them (${section.collector ?? 'collector'}); ${section.queue_depth ?? 0} events are still queued.`,
          section,
        };
      const error = section.last_error;
      if (error && Date.parse(error.at) >= options.sinceMs && Date.parse(error.at) > success)
        return {
          outcome: 'failed',
          at: error.at,
          sentence: `Not delivered: ${describeTelemetryCode(error.code)}${error.status ? ` (HTTP ${error.status})` : ''}`,
          section,
        };
      options.progress?.(`waiting for the collector… ${Math.max(0, sent)} of ${options.needed} sent`);
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!section)
    return {
      outcome: 'unknown',
      at: null,
      sentence: 'The daemon gave no Telemetry section to confirm delivery.',
      section,
    };
  return {
    outcome: 'timeout',
    at: null,
    sentence: `Not confirmed within ${Math.round(options.waitMs / 1000)} s: the upload is ${section.state ?? 'pending'}; ${section.queue_depth ?? 0} events are queued (agentctl status shows when it is sent).`,
    section,
  };
}
