// When to try the collector again: Retry-After when it says so, otherwise exponential backoff
// with full jitter (AWS's "Exponential Backoff and Jitter": a uniformly random wait between 0
// and base·2^attempt, capped), so that devices that failed together do not retry together.

export const MAX_BACKOFF_MS = 3600_000;

/** Full jitter: uniform in [0, min(cap, base·2^attempt)). `attempt` counts from 0. */
export function fullJitterDelay(attempt: number, random: () => number, baseMs = 1000, capMs = MAX_BACKOFF_MS): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 52));
  return Math.floor(random() * ceiling);
}

/**
 * A Retry-After header in milliseconds from now: delta-seconds, or an HTTP-date measured
 * against the response's own Date header (our clock may be the thing that is wrong), else
 * against `nowMs`. Capped at an hour; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | undefined,
  responseDate: string | undefined,
  nowMs: number,
  capMs = MAX_BACKOFF_MS,
): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(capMs, Number(text) * 1000);
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  const serverNow = responseDate === undefined ? Number.NaN : Date.parse(responseDate);
  const reference = Number.isNaN(serverNow) ? nowMs : serverNow;
  return Math.min(capMs, Math.max(0, at - reference));
}

/** How long to wait after Retry-After asked for `ms`: that, plus up to 10 % (at most 5 s) so a fleet does not return in step. */
export function retryAfterDelay(ms: number, random: () => number): number {
  return Math.min(MAX_BACKOFF_MS, ms + Math.floor(random() * Math.min(ms * 0.1, 5000)));
}
