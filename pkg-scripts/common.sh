# shellcheck shell=sh disable=SC2034 # the variables are used by the scripts that source this file
# Shared by preinstall, postinstall and uninstall (sourced, never run). POSIX sh.
#
# The installer runs the package scripts as root with:
#   $1 the package's path   $2 the install location   $3 the target volume ("/" when
#   installing on the running system)   $4 the root of the startup disk.
# Everything that touches files is relative to $3, so an install onto another volume
# (a disk image being prepared, `installer -target /Volumes/X`) works; launchd and the
# console user exist only on the running system, so those steps run only when $3 is "/".

# --- build settings: written by `npm run pkg` from scripts/pkg/settings.ts ---
TG_LABEL='com.trustguard.agent'
TG_SESSION_LABEL='com.trustguard.agent.session'
TG_PKG_ID='com.trustguard.agent'
TG_INSTALL_ROOT='/Library/Application Support/TrustGuard'
TG_LOG_DIR='/Library/Logs/TrustGuard'
TG_CLI_LINK='/usr/local/bin/agentctl'
# --- end of build settings ---

TG_DAEMON_PLIST="/Library/LaunchDaemons/$TG_LABEL.plist"
TG_SESSION_PLIST="/Library/LaunchAgents/$TG_SESSION_LABEL.plist"
TG_CLI_TARGET="$TG_INSTALL_ROOT/bin/agentctl"
# launchctl bootstrap right after a bootout (ours, or an MDM installing twice at once) can
# fail with "Input/output error" while launchd is still tearing the old job down: retry.
TG_BOOTSTRAP_ATTEMPTS=5
TG_BOOTSTRAP_DELAY=2

# The installer copies stdout into /var/log/install.log.
tg_log() {
  printf '%s: %s\n' "${0##*/}" "$*"
}

# tg_volume VOLUME: prints the prefix for paths on the target volume ("" for "/").
tg_volume() {
  case "$1" in
    '' | /) printf '' ;;
    *) printf '%s' "${1%/}" ;;
  esac
}

# tg_is_live VOLUME: true when installing onto the running system.
tg_is_live() {
  [ -z "$1" ] || [ "$1" = / ]
}

# The user logged in at the console, if any (not root, not the login window, not Setup
# Assistant's user). Prints nothing and fails otherwise.
tg_console_user() {
  tg_user=$(stat -f%Su /dev/console 2>/dev/null) || return 1
  case "$tg_user" in
    '' | root | loginwindow | _mbsetupuser) return 1 ;;
  esac
  printf '%s\n' "$tg_user"
}

# tg_bootout DOMAIN/LABEL: stops and unloads a job; a job that is not loaded is fine.
tg_bootout() {
  launchctl bootout "$1" 2>/dev/null || true
}

# tg_bootstrap_system PLIST: loads a LaunchDaemon, retried (see TG_BOOTSTRAP_ATTEMPTS).
tg_bootstrap_system() {
  tg_attempt=1
  while ! launchctl bootstrap system "$1"; do
    if [ "$tg_attempt" -ge "$TG_BOOTSTRAP_ATTEMPTS" ]; then
      tg_log "launchctl bootstrap system $1 failed $tg_attempt times"
      return 1
    fi
    tg_log "launchctl bootstrap system $1 failed (attempt $tg_attempt of $TG_BOOTSTRAP_ATTEMPTS); retrying in ${TG_BOOTSTRAP_DELAY}s"
    sleep "$TG_BOOTSTRAP_DELAY"
    tg_attempt=$((tg_attempt + 1))
  done
}

# tg_session_bootout: stops the scrub's LaunchAgent in the console user's session.
tg_session_bootout() {
  tg_user=$(tg_console_user) || return 0
  tg_uid=$(id -u "$tg_user") || return 0
  tg_bootout "gui/$tg_uid/$TG_SESSION_LABEL"
}
