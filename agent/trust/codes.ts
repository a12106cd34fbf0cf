// Trust reporting's reason codes: one closed list per kind, as const arrays so that tests can
// enumerate them and each type is exactly its array. JSON, logs and telemetry carry these codes;
// sentences are made where they are shown. docs/codes.md ("Trust reporting") explains each code
// and what to do (test/trust/codes.test.ts checks both ways). Never rename or reuse a code.

/** What is wrong with a target, `diagnosis` and `findings[]` in JSON, `code` of `trust.changed` events. */
export const diagnosisCodes = [
  'ok',
  'clock_skew',
  'expired',
  'not_yet_valid',
  'untrusted_root',
  'hostname_mismatch',
  'revoked',
  'revocation_unknown',
  'incomplete_chain',
  'malformed',
  'unreachable',
  'bad_signature',
  'name_not_permitted',
  'weak_key',
  'weak_signature',
  'bad_usage',
  'nonconforming',
  'validity_too_long',
] as const;
export type DiagnosisCode = (typeof diagnosisCodes)[number];

/** Why no evaluation took place, `error.code` when `at_system_time` is null (diagnosis unreachable or malformed). */
export const failureCodes = [
  'connection_refused',
  'dns',
  'network_unreachable',
  'timeout',
  'tls_failed',
  'no_certificate',
  'file_unreadable',
  'file_unsafe',
  'not_a_file',
  'file_too_large',
  'file_empty',
  'not_certificates',
  'too_many_certificates',
  'certificate_too_large',
  'malformed_certificate',
  'evaluation_failed',
] as const;
export type FailureCode = (typeof failureCodes)[number];

/** What revocation checking found, `revocation.status` in JSON. */
export const revocationStatuses = ['off', 'good', 'revoked', 'unknown', 'not_checked'] as const;
export type RevocationStatus = (typeof revocationStatuses)[number];

/** Why revocation was not checked, `revocation.code` in JSON (null when it was, or is off). */
export const revocationCodes = [
  'no_responder',
  'issuer_missing',
  'request_invalid',
  'responder_url_invalid',
  'responder_not_allowed',
  'responder_unreachable',
  'responder_timeout',
  'responder_http_status',
  'response_unusable',
  'response_too_large',
  'chain_not_trusted',
] as const;
export type RevocationCode = (typeof revocationCodes)[number];

/** What became of one OCSP request, `revocation.requests[].result` in JSON: answered, or why not. */
export const requestResults = [
  'answered',
  'responder_url_invalid',
  'responder_not_allowed',
  'responder_unreachable',
  'responder_timeout',
  'responder_http_status',
  'response_too_large',
] as const;
export type RequestResult = (typeof requestResults)[number];

/** Why agentd checked its targets, `trust.last_check_reason` in JSON. */
export const checkReasons = ['start', 'interval', 'config_changed', 'clock_estimate', 'clock_state_changed'] as const;
export type CheckReason = (typeof checkReasons)[number];

/** Every list (docs/codes.md documents each of their codes once, in its Trust reporting part). */
export const trustCodeLists = {
  diagnosisCodes,
  failureCodes,
  revocationStatuses,
  revocationCodes,
  requestResults,
  checkReasons,
} as const;
