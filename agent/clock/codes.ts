// The clock capability's reason codes: one closed list per kind of diagnosis, as const arrays so
// that tests can enumerate them and every type below is exactly its array (no `string` escape).
// JSON output, logs and telemetry carry these codes; sentences for people are made where they
// are shown. docs/codes.md explains each code and what to do about it (a test checks that every
// code here is documented there, and nothing else).
//
// Codes are stable: a fleet counts devices by them. Add codes freely; never rename or reuse one.

/** Why `validateReply` (ntp-packet.ts) rejected an NTP reply, in the order the checks run. */
export const ntpReplyCodes = [
  'short_packet',
  'malformed_tail',
  'mode_invalid',
  'version_invalid',
  'origin_mismatch',
  'kiss_rate',
  'kiss_deny',
  'kiss_rstr',
  'kiss_other',
  'kiss_unreadable',
  'stratum_unsynchronised',
  'stratum_invalid',
  'leap_alarm',
  'zero_timestamp',
  'root_distance',
  'negative_delay',
] as const;
export type NtpReplyCode = (typeof ntpReplyCodes)[number];

/** A datagram the NTP client ignored before or instead of validating it (ntp-source.ts). */
export const ntpDatagramCodes = ['stray_datagram', 'duplicate_reply', 'unsolicited_datagram'] as const;
export type NtpDatagramCode = (typeof ntpDatagramCodes)[number];

/** Everything the NTP client reports through `onRejected`: a rejected reply or an ignored datagram. */
export const ntpRejectionCodes = [...ntpReplyCodes, ...ntpDatagramCodes] as const;
export type NtpRejectionCode = (typeof ntpRejectionCodes)[number];

/** Why one NTP request got no valid reply, besides a rejection (ntp-source.ts). */
export const ntpSampleCodes = ['timeout', 'socket_error', 'send_failed', 'cancelled'] as const;
/** Why one NTP request failed, as `onRejected` reports it: a rejection or a request failure. */
export type NtpSampleCode = NtpRejectionCode | (typeof ntpSampleCodes)[number];

/** Why an NTP source gave no sample before or around its requests (ntp-source.ts). */
export const ntpSourceCodes = ['dns', 'rate_backoff', 'retired_deny', 'retired_rstr', 'internal_error'] as const;

/** Why an HTTPS time source gave no sample (https-time.ts). */
export const httpsCodes = [
  'url_invalid',
  'options_invalid',
  'ca_file_unreadable',
  'ca_file_unsafe',
  'dns',
  'connection_refused',
  'network_unreachable',
  'timeout',
  'tls_untrusted',
  'request_failed',
  'body_too_large',
  'http_status',
  'json_invalid',
  'json_field_missing',
  'json_time_invalid',
  'date_missing',
  'date_malformed',
  'cert_validity',
  'internal_error',
] as const;

/** Why an NTS-KE (RFC 8915 §4) handshake gave no keys and cookies (nts-ke.ts). */
export const ntsKeCodes = [
  'nts_ke_connect_failed',
  'nts_ke_timeout',
  'nts_ke_tls_failed',
  'nts_ke_no_alpn',
  'nts_ke_name_mismatch',
  'nts_ke_untrusted',
  'nts_ke_malformed',
  'nts_ke_too_large',
  'nts_ke_unknown_critical',
  'nts_ke_server_error',
  'nts_ke_protocol_unsupported',
  'nts_ke_aead_unsupported',
  'nts_ke_no_cookies',
  'nts_ke_server_invalid',
] as const;
export type NtsKeCode = (typeof ntsKeCodes)[number];

/** Why an NTS-protected NTP reply was refused (nts-packet.ts). */
export const ntsReplyCodes = [
  'nts_malformed',
  'nts_uid_mismatch',
  'nts_auth_missing',
  'nts_auth_failed',
  'kiss_ntsn',
] as const;
export type NtsReplyCode = (typeof ntsReplyCodes)[number];

/**
 * A configured source that cannot be used as written (measure.ts); `duplicate`: an earlier entry,
 * NTP or HTTPS, reaches the same peer (same resolved address and port), which is asked and
 * counted once.
 */
export const sourceConfigCodes = ['address_invalid', 'options_invalid', 'duplicate'] as const;

/** A sample that arrived but cannot be combined (combine.ts). */
export const combineCodes = ['non_finite', 'unauthenticated_excluded'] as const;

const sourceFailureLists = [
  ntpRejectionCodes,
  ntpSampleCodes,
  ntpSourceCodes,
  httpsCodes,
  ntsKeCodes,
  ntsReplyCodes,
  sourceConfigCodes,
  combineCodes,
] as const;

/** Every reason a source gave no usable sample in a round: `SourceFailure.code`. */
export type SourceFailureCode = (typeof sourceFailureLists)[number][number];
export const sourceFailureCodes: readonly SourceFailureCode[] = [...new Set(sourceFailureLists.flat())];

/** A source that answered but lies outside the agreeing set. */
export const sourceVerdictCodes = ['falseticker'] as const;

/** The `code` of a source's row in `agentctl time --json` and `status --json`: null when the source agrees. */
export type SourceReportCode = SourceFailureCode | (typeof sourceVerdictCodes)[number];

/** Why a remediation command did not succeed (remediation.ts), `remediation.last.code` in JSON; null when it exited 0. */
export const remediationCodes = [
  'command_empty',
  'command_untrusted',
  'spawn_failed',
  'killed_timeout',
  'killed_signal',
  'exit_nonzero',
] as const;
export type RemediationCode = (typeof remediationCodes)[number];

/** Why the guardrail did not run its remediation command although the clock is off (logged with `code`). */
export const remediationSkipCodes = [
  'remediation_not_configured',
  'remediation_rate_limited',
  'no_agreeing_ntp_server',
  'no_authenticated_majority',
] as const;
export type RemediationSkipCode = (typeof remediationSkipCodes)[number];

/** Why a round's combination is not confident (combine.ts), `uncertain_reason` in JSON. */
export const uncertainReasons = ['no_sources', 'single_source', 'no_agreement', 'tie', 'no_majority'] as const;
export type UncertainReason = (typeof uncertainReasons)[number];

/** The guardrail's state, `state` in JSON. */
export const guardrailStates = ['ok', 'warn', 'active', 'uncertain'] as const;
export type GuardrailState = (typeof guardrailStates)[number];

/** The device compliance derived from it (compliance.ts). */
export const complianceStates = ['compliant', 'non_compliant', 'unknown'] as const;
export type ComplianceState = (typeof complianceStates)[number];

/** Why the daemon measured at once, outside its schedule (clock-events.ts). */
export const clockEventReasons = ['clock_set', 'clock_jump', 'wake'] as const;
export type ClockEventReason = (typeof clockEventReasons)[number];

/** Why the daemon measured, `last_check_reason` in JSON: the scheduler's own reasons, a request, or a clock event. */
export const measureReasons = ['start', 'interval', 'requested', 'config_changed', ...clockEventReasons] as const;
export type MeasureReason = (typeof measureReasons)[number];

/** Every list (docs/codes.md documents each of their codes exactly once). */
export const codeLists = {
  ntpReplyCodes,
  ntpDatagramCodes,
  ntpSampleCodes,
  ntpSourceCodes,
  httpsCodes,
  ntsKeCodes,
  ntsReplyCodes,
  sourceConfigCodes,
  combineCodes,
  sourceVerdictCodes,
  remediationCodes,
  remediationSkipCodes,
  uncertainReasons,
  guardrailStates,
  complianceStates,
  measureReasons,
} as const;

/** True when `value` is one of `list` (narrows unknown JSON, e.g. a restored state file). */
export function isCode<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/** The reply code of a Kiss-o'-Death code (RFC 5905 §7.4). */
export function kissReplyCode(kissCode: string): NtpReplyCode {
  switch (kissCode) {
    case 'RATE':
      return 'kiss_rate';
    case 'DENY':
      return 'kiss_deny';
    case 'RSTR':
      return 'kiss_rstr';
    default:
      return 'kiss_other';
  }
}
