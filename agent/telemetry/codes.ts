// Every reason code the telemetry capability reports (status, logs, events). Sentences are
// made from them at the edge (status-view.ts).
import type { ProtectedFileProblem } from './protected-file.js';

export type CredentialFile = 'token_file' | 'ca_file' | 'client_certificate' | 'client_key';
type FileProblem = ProtectedFileProblem extends `file_${infer P}` ? P : never;

export type TelemetryCode =
  /** Connection refused, reset, DNS failure: retried. */
  | 'collector_unreachable'
  /** No complete answer within CollectorTimeoutSeconds: retried. */
  | 'collector_timeout'
  /** The TLS handshake or the collector's certificate failed: retried. */
  | 'collector_tls'
  /** HTTP 429: retried after Retry-After or backoff. */
  | 'collector_throttled'
  /** HTTP 502, 503, 504: retried after Retry-After or backoff. */
  | 'collector_unavailable'
  /** HTTP 3xx or 4xx other than 429: the batch is dead-lettered. */
  | 'collector_rejected'
  /** HTTP 5xx other than 502–504: the batch is dead-lettered. */
  | 'collector_failed'
  /** A credential or CA file cannot be used (missing, unsafe owner/mode, unreadable, too large): retried, nothing sent. */
  | `${CredentialFile}_${FileProblem}`
  /** The CA file or client certificate is not valid PEM. */
  | 'ca_file_invalid'
  | 'client_certificate_invalid'
  /** The bearer token has characters a token cannot have (RFC 6750). */
  | 'bearer_token_invalid'
  /** A spool record could not be decoded: counted as dead-lettered. */
  | 'record_unreadable'
  /** The spool's disk failed. */
  | 'spool_io_error'
  /** An exporter threw (a bug): retried. */
  | 'exporter_error'
  /** A capability sent an event with a bad name or severity: refused. */
  | 'event_invalid'
  /** The device identity could not be read. */
  | 'identity_unavailable';

export const retriedCodes: ReadonlySet<string> = new Set([
  'collector_unreachable',
  'collector_timeout',
  'collector_tls',
  'collector_throttled',
  'collector_unavailable',
]);
