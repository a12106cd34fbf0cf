#!/bin/sh
# Intune custom compliance discovery script for the TrustGuard clock-skew guardrail.
# It prints one line of compact JSON; trustguard-clock-rules.json says which values are
# compliant. Keys:
#   TrustGuardClockCompliance    "Compliant" | "NonCompliant" | "Unknown"
#   TrustGuardClockState         "ok" | "warn" | "active" | "uncertain" | "unknown"
#   TrustGuardClockOffsetSeconds reference − system clock (positive: the clock is behind), or null
#   TrustGuardClockReason        one sentence for support staff
# It only reads the agent's saved state (no network), so it answers in milliseconds.

AGENTCTL="${TRUSTGUARD_AGENTCTL:-/Library/Application Support/TrustGuard/bin/agentctl}"
unknown() {
  printf '{"TrustGuardClockCompliance":"Unknown","TrustGuardClockState":"unknown","TrustGuardClockOffsetSeconds":null,"TrustGuardClockReason":"%s"}\n' "$1"
  exit 0
}
[ -x "$AGENTCTL" ] || unknown "TrustGuard is not installed ($AGENTCTL not found)"

# agentctl exits 2 when non-compliant; the JSON carries that, so the status is not needed.
json=$("$AGENTCTL" compliance --format intune 2>/dev/null)
case "$json" in
  '{"TrustGuardClockCompliance":'*'}') printf '%s\n' "$json" ;;
  *) unknown "agentctl compliance gave no answer" ;;
esac
exit 0
