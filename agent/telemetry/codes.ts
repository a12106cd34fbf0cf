// Every reason code the telemetry capability reports (status, logs, events). Sentences are
// made from them at the edge (status-view.ts); docs/telemetry.md explains each (a test checks
// both ways).

/** Credential and trust files, and what can be wrong with one (protected-file.ts). */
export const credentialFiles = ['token_file', 'ca_file', 'client_certificate', 'client_key'] as const;
export const fileProblems = ['missing', 'unsafe', 'unreadable', 'too_large'] as const;
export type CredentialFile = (typeof credentialFiles)[number];

export const telemetryCodes = [
  // Retried (the batch stays queued):
  'collector_unreachable',
  'collector_timeout',
  'collector_tls',
  'collector_throttled',
  'collector_unavailable',
  // Final (the batch is dead-lettered):
  'collector_rejected',
  'collector_failed',
  // Local configuration: nothing is sent until fixed (retried):
  ...credentialFiles.flatMap((f) => fileProblems.map((p) => `${f}_${p}` as const)),
  'ca_file_invalid',
  'client_certificate_invalid',
  'bearer_token_invalid',
  'collector_url_invalid',
  // The queue and the events:
  'record_unreadable',
  'spool_io_error',
  'exporter_error',
  'event_invalid',
  'identity_unavailable',
  // Events:
  'config_invalid',
] as const;

export type TelemetryCode = (typeof telemetryCodes)[number];
