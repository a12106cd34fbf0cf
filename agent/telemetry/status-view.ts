// What `agentctl status` shows of the Telemetry section: where events go, how many wait, what
// was lost, and the last failure in one sentence (`--json` keeps every field and the codes).
// Imported by the status command, so it stays free of heavy imports.

export interface TelemetrySection {
  enabled?: boolean;
  collector?: string | null;
  auth?: string;
  state?: string;
  queue_depth?: number;
  queue_bytes?: number;
  queue_max_bytes?: number;
  dropped?: number;
  dead_lettered?: number;
  rejected_by_collector?: number;
  sent?: number;
  last_success_at?: string | null;
  next_attempt_at?: string | null;
  last_error?: { code: string; status: number | null; detail: string | null; at: string } | null;
  problems?: Array<{ code: string; detail?: string }>;
}

/** One sentence per code, for people (the codes are in agent/telemetry/codes.ts). */
const sentences: Record<string, string> = {
  collector_unreachable: 'The collector could not be reached; retrying with backoff.',
  collector_timeout: 'The collector did not answer in time (CollectorTimeoutSeconds); retrying with backoff.',
  collector_tls:
    "The collector's TLS certificate was not trusted or the handshake failed (check CollectorCAFile); retrying.",
  collector_throttled: 'The collector asked to slow down (HTTP 429); retrying after its Retry-After.',
  collector_unavailable: 'The collector is unavailable (HTTP 502/503/504); retrying after its Retry-After.',
  collector_rejected:
    'The collector refused a batch for good (HTTP 4xx); it was dead-lettered (check the token and the URL).',
  collector_failed: 'The collector failed on a batch (HTTP 5xx); it was dead-lettered.',
  collector_url_invalid: 'CollectorURL is not a URL this agent can use; telemetry is off until it is fixed.',
  bearer_token_invalid: 'The bearer token is not a valid token (RFC 6750 characters only); nothing is sent.',
  ca_file_invalid: 'CollectorCAFile holds no valid PEM certificate; nothing is sent.',
  client_certificate_invalid: 'The client certificate or key is not valid PEM, or they do not match; nothing is sent.',
  record_unreadable: 'Queued events could not be read back; they were counted as dead-lettered.',
  spool_io_error: 'The telemetry queue could not be written or read (disk full?).',
  exporter_error: 'An internal error stopped an upload; retrying.',
  identity_unavailable: 'The device identity could not be read.',
  event_invalid: 'A capability produced an event that was refused.',
  config_invalid: 'The configuration has problems (see agentctl config show).',
};

const fileWords: Record<string, string> = {
  token_file: 'CollectorBearerTokenFile',
  ca_file: 'CollectorCAFile',
  client_certificate: 'CollectorClientCertificateFile',
  client_key: 'CollectorClientKeyFile',
};
const problemWords: Record<string, string> = {
  missing: 'does not exist',
  unsafe:
    'is not protected (it must be owned by root, not a link, and not writable — for secrets not readable — by others)',
  unreadable: 'cannot be read',
  too_large: 'is too large',
};

export function describeTelemetryCode(code: string): string {
  if (sentences[code]) return sentences[code];
  const m = /^(token_file|ca_file|client_certificate|client_key)_(missing|unsafe|unreadable|too_large)$/.exec(code);
  if (m) return `${fileWords[m[1]!]} ${problemWords[m[2]!]}; nothing is sent until it is fixed.`;
  return code;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

export function telemetryView(section: TelemetrySection): Record<string, unknown> {
  if (section.enabled === false) {
    return {
      collector: 'None configured (CollectorURL is empty): telemetry is off',
      queue: `${section.queue_depth ?? 0} events waiting`,
    };
  }
  const view: Record<string, unknown> = {
    collector: section.collector ?? 'None',
    state: section.state,
    queue: `${section.queue_depth ?? 0} events, ${bytes(section.queue_bytes ?? 0)} of ${bytes(section.queue_max_bytes ?? 0)}`,
    dropped: section.dropped ?? 0,
    dead_lettered: section.dead_lettered ?? 0,
    last_success_at: section.last_success_at ?? null,
  };
  if (section.state === 'backing_off') view.next_attempt_at = section.next_attempt_at ?? null;
  const error = section.last_error;
  view.last_error = error
    ? `${describeTelemetryCode(error.code)}${error.status ? ` (HTTP ${error.status})` : ''} — ${error.at}`
    : 'None';
  for (const p of section.problems ?? []) view[`problem_${p.code}`] = describeTelemetryCode(p.code);
  return view;
}
