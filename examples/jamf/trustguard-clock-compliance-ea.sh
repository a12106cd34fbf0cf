#!/bin/sh
# Jamf Pro extension attribute "TrustGuard clock compliance" (data type: String, input type:
# Script). Values: "Compliant", "NonCompliant: <one sentence why>", "Unknown: <why>".
# A Smart Computer Group with "TrustGuard clock compliance" "like" "NonCompliant" finds the Macs
# whose clock-skew guardrail is active in enforce mode.
#
# Jamf runs this as root at inventory time. It only reads the agent's saved state (no network),
# so it answers in milliseconds and never blocks an inventory update.

AGENTCTL="${TRUSTGUARD_AGENTCTL:-/Library/Application Support/TrustGuard/bin/agentctl}"
if [ ! -x "$AGENTCTL" ]; then
  echo "<result>Unknown: TrustGuard is not installed ($AGENTCTL not found)</result>"
  exit 0
fi

# agentctl exits 2 when non-compliant; the result text carries that, so the status is not needed.
result=$("$AGENTCTL" compliance --format jamf 2>/dev/null)
case "$result" in
  "<result>"*"</result>") echo "$result" ;;
  *) echo "<result>Unknown: agentctl compliance gave no answer</result>" ;;
esac
# An extension attribute must always exit 0, or Jamf drops the value.
exit 0
