#!/bin/sh
# HostPulse agent installer, served by the hub at /install.sh:
#
#   curl -fsSL http://HUB/install.sh | sudo sh -s -- --token hp_...
#
# Everything comes from the hub (no internet needed): the agent wheel and a wheelhouse of its
# dependencies at HUB/install/wheels/, the systemd unit at HUB/install/hostpulse-agent.service.
# Run again, it upgrades in place (the token and the spool are kept); --uninstall removes it.
# POSIX sh: no bashisms, so it runs under dash, busybox ash and bash alike.
set -eu

HUB="@HUB_URL@"
VERSION="@VERSION@"
TOKEN=""
ROOT=""
PREFIX=""
ETC=""
STATE=""
UNINSTALL=0
PURGE=0
START=1

say() { printf 'hostpulse-install: %s\n' "$*"; }
die() { printf 'hostpulse-install: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<EOF
usage: install.sh --token hp_... [--hub URL] [--root DIR] [--prefix DIR] [--no-start]
       install.sh --uninstall [--purge] [--root DIR] [--prefix DIR]
  --token T     the host's agent token (hostpulse host add NAME prints the whole command);
                left out on an upgrade, the installed one is used
  --hub URL     the hub to install from and send to (default: $HUB)
  --root DIR    install under DIR instead of / (tests, images built offline)
  --prefix DIR  the agent's venv (default: ROOT/opt/hostpulse)
  --no-start    install, but do not start the agent: print the command that starts it
  --uninstall   stop and remove the agent, its unit and its config; the spool is kept
  --purge       with --uninstall: remove the spool (ROOT/var/lib/hostpulse) too
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --token) [ $# -ge 2 ] || die "--token needs a value"; TOKEN="$2"; shift 2 ;;
        --token=*) TOKEN="${1#*=}"; shift ;;
        --hub) [ $# -ge 2 ] || die "--hub needs a value"; HUB="$2"; shift 2 ;;
        --hub=*) HUB="${1#*=}"; shift ;;
        --root) [ $# -ge 2 ] || die "--root needs a value"; ROOT="$2"; shift 2 ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; PREFIX="$2"; shift 2 ;;
        --no-start) START=0; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge) PURGE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

HUB="${HUB%/}"
PREFIX="${PREFIX:-$ROOT/opt/hostpulse}"
ETC="$ROOT/etc/hostpulse"
STATE="$ROOT/var/lib/hostpulse"
UNIT="$ROOT/etc/systemd/system/hostpulse-agent.service"

# systemd is used only on the real root of a host that runs it; otherwise the command is printed.
use_systemd() {
    [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

if [ "$UNINSTALL" = 1 ]; then
    if use_systemd && [ -f "$UNIT" ]; then
        systemctl disable --now hostpulse-agent.service >/dev/null 2>&1 || true
    fi
    removed=""
    for path in "$UNIT" "$PREFIX" "$PREFIX.new" "$PREFIX.old" "$ETC"; do
        if [ -e "$path" ]; then rm -rf "$path"; removed="$removed $path"; fi
    done
    if [ "$PURGE" = 1 ] && [ -e "$STATE" ]; then rm -rf "$STATE"; removed="$removed $STATE"; fi
    if use_systemd; then systemctl daemon-reload || true; fi
    say "removed:${removed:- nothing (not installed)}"
    if [ "$PURGE" = 0 ] && [ -e "$STATE" ]; then
        say "kept the spool and dead-letter file in $STATE (--uninstall --purge removes it)"
    fi
    exit 0
fi

# An upgrade may leave the token out: the one installed before is used again.
if [ -z "$TOKEN" ] && [ -r "$ETC/token" ]; then TOKEN="$(cat "$ETC/token")"; fi
[ -n "$TOKEN" ] || { usage >&2; die "--token is required (hostpulse host add NAME prints the command with it)"; }
case "$HUB" in http://*|https://*) ;; *) die "--hub must be an http:// or https:// URL, not '$HUB'" ;; esac

# -- checks before anything is written: a failure here leaves the host as it was -----------------
system="$(uname -s)"
machine="$(uname -m)"
[ "$system" = Linux ] || die "unsupported platform: $system $machine (the agent runs on Linux)"
command -v curl >/dev/null 2>&1 || die "curl is needed"
PYTHON="$(command -v python3 || true)"
[ -n "$PYTHON" ] || die "python3 (3.11 or newer) is needed"
"$PYTHON" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "python3 is $("$PYTHON" -V 2>&1), the agent needs 3.11 or newer with venv"

fetch() { curl -fsS --max-time 60 "$@"; }

answer="$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "$HUB/api/v1/install/whoami" 2>/dev/null)" || answer=000
case "$answer" in
    200) ;;
    401) die "the hub at $HUB refuses this token (unknown or revoked): create one with hostpulse host add NAME" ;;
    000) die "cannot reach the hub at $HUB" ;;
    *) die "the hub at $HUB answered $answer to the token check" ;;
esac
HOST="$(fetch -H "Authorization: Bearer $TOKEN" "$HUB/api/v1/install/whoami" \
    | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["host"])')"

# -- from here on, a failure removes what this run made -------------------------------------------
upgraded=0
[ -x "$PREFIX/bin/hostpulse" ] && upgraded=1
made_prefix=0
made_etc=0
done_ok=0
cleanup() {
    if [ "$done_ok" = 0 ]; then
        if [ "$made_prefix" = 1 ]; then rm -rf "$PREFIX"; fi
        if [ "$made_etc" = 1 ]; then rm -rf "$ETC"; fi
        rm -f "$UNIT.tmp"
        say "stopped before the end: nothing of this run is left behind"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ "$upgraded" = 0 ]; then
    rm -rf "$PREFIX"
    made_prefix=1
    mkdir -p "$(dirname "$PREFIX")"
    "$PYTHON" -m venv "$PREFIX" || die "could not create a venv in $PREFIX"
fi
# The hub alone: --no-index, and PIP_CONFIG_FILE=/dev/null so that no pip.conf of this host adds
# an index, a find-links or a constraint. An upgrade installs over the running venv; pip rolls a
# failed upgrade back, so the old agent stays.
log="$(mktemp)"
if ! PIP_CONFIG_FILE=/dev/null "$PREFIX/bin/pip" install --quiet --disable-pip-version-check \
        --no-index --find-links "$HUB/install/wheels/" --upgrade "hostpulse==$VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "the hub's wheelhouse has no agent for this platform ($machine, $("$PYTHON" -V 2>&1)): on the hub, hostpulse wheelhouse build --platform ... for it"
fi
rm -f "$log"

if [ ! -d "$ETC" ]; then made_etc=1; fi
mkdir -p "$ETC" "$STATE"
chmod 750 "$ETC"
chmod 700 "$STATE"
(umask 077 && printf '%s\n' "$TOKEN" >"$ETC/token")
"$PREFIX/bin/hostpulse" agent init "$ETC/agent.toml" --hub "$HUB" --host "$HOST" --force >/dev/null \
    || die "could not write $ETC/agent.toml"

mkdir -p "$(dirname "$UNIT")"
fetch "$HUB/install/hostpulse-agent.service" \
    | sed -e "s|/opt/hostpulse|$PREFIX|g" -e "s|/etc/hostpulse|$ETC|g" >"$UNIT.tmp"
mv "$UNIT.tmp" "$UNIT"
done_ok=1

say "$( [ "$upgraded" = 1 ] && echo upgraded || echo installed ) hostpulse $VERSION for host $HOST, sending to $HUB"
say "  agent:  $PREFIX (a venv; from $HUB/install/wheels/)"
say "  config: $ETC/agent.toml"
say "  token:  $ETC/token (mode 600; the unit passes it as the systemd credential 'token')"
say "  unit:   $UNIT"
say "  spool:  $STATE"
RUN="HOSTPULSE_TOKEN_FILE=$ETC/token HOSTPULSE_STATE_DIR=$STATE $PREFIX/bin/hostpulse agent --config $ETC/agent.toml"
if use_systemd; then
    systemctl daemon-reload
    if [ "$START" = 1 ]; then
        systemctl enable hostpulse-agent.service >/dev/null 2>&1
        systemctl restart hostpulse-agent.service
        say "started: systemctl status hostpulse-agent"
    else
        say "not started (--no-start): systemctl enable --now hostpulse-agent"
    fi
else
    say "no systemd here (or --root given): start the agent with"
    printf '%s\n' "$RUN"
fi
