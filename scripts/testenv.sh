#!/usr/bin/env bash
# testenv.sh CMD ARGS... runs CMD inside a private test environment and tears
# it down again: an Xvfb display, a private D-Bus session bus, an unlocked
# gnome-keyring (Secret Service) on that bus, and HOME/XDG_* directories in a
# fresh temp dir, so tests never touch the real user's desktop, bus or files.
# It exits with CMD's exit code. It installs nothing; see the Makefile's deps.
#
#   bash scripts/testenv.sh go test -race ./internal/dbustest/
#
# Tuning (environment): TESTENV_KEYRING_PASSWORD (default "dienstweg-test"),
# TESTENV_KEEP=1 keeps the temp dir for inspection.
set -uo pipefail

prog=testenv
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 70; }

if [ "$#" -eq 0 ]; then
	say "usage: $0 CMD [ARGS...]"
	exit 64
fi

# Name the Debian package, because "command not found" alone sends people hunting.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "$1 not found; install the Debian package '$2' (apt-get install $2, or run the Makefile's deps step)"
}
need Xvfb xvfb
need dbus-daemon dbus
need dbus-send dbus
need gnome-keyring-daemon gnome-keyring

# State for cleanup; empty means "not started".
tmp=""
xvfb_pid=""
bus_pid=""
keyring_pid=""
cmd_pid=""

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# descendants PID prints PID's children, grandchildren, ... (by parent PID).
descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# stop PID... sends TERM, waits up to 5 s, then KILLs. Works for processes that
# are not our children (daemons that forked), where bash's wait cannot help.
stop() {
	local p i left
	for p in "$@"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 50); do
		left=""
		for p in "$@"; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in "$@"; do
		if alive "$p"; then
			say "pid $p ignored SIGTERM; killing"
			kill -KILL "$p" 2>/dev/null
		fi
	done
	# Reap our own children so no zombie or late output outlives the script.
	for p in "$@"; do wait "$p" 2>/dev/null; done
	return 0
}

bus_call() { # bus_call METHOD ARGS... against org.freedesktop.DBus on our bus
	dbus-send --session --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus "org.freedesktop.DBus.$1" "${@:2}" 2>/dev/null
}

# bus_peer_pids prints the PIDs of every process still connected to our bus,
# except the bus itself. Only processes started inside this environment know
# its address (the socket lives in our 0700 temp dir), so every peer left at
# teardown is a stray of this run, e.g. a service the bus activated.
bus_peer_pids() {
	local name pid
	for name in $(bus_call ListNames | sed -n 's/^ *string "\(:[^"]*\)"$/\1/p'); do
		pid=$(bus_call GetConnectionUnixProcessID "string:$name" | sed -n 's/^ *uint32 \([0-9]*\)$/\1/p')
		[ -n "$pid" ] && [ "$pid" != "$bus_pid" ] && [ "$pid" != "$$" ] && echo "$pid"
	done | sort -u
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if alive "$cmd_pid"; then
		# Collect the tree before stopping its root, or the children get
		# reparented to init and escape. TERM, not INT: async commands of a
		# non-interactive shell ignore SIGINT.
		# shellcheck disable=SC2046 # word splitting of PIDs is intended
		stop "$cmd_pid" $(descendants "$cmd_pid")
	fi
	if alive "$bus_pid"; then
		# shellcheck disable=SC2046
		stop $(bus_peer_pids)
	fi
	stop "$keyring_pid"
	stop "$bus_pid"
	stop "$xvfb_pid"
	if [ -n "$tmp" ]; then
		if [ "${TESTENV_KEEP:-}" = 1 ]; then
			say "kept $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
	exit "$rc"
}

on_signal() { # cleanup stops CMD and everything it started
	say "got SIG$1; stopping the command"
	exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dienstweg-testenv.XXXXXX") || die "cannot create temp dir"
chmod 0700 "$tmp"
mkdir -m 0700 -p "$tmp/home" "$tmp/run" "$tmp/data" "$tmp/config" "$tmp/state" "$tmp/cache"

# Keep Go's caches and settings: a fresh HOME/XDG_CACHE_HOME would otherwise
# make `go test` rebuild everything (Fyne: minutes) and refetch modules.
if command -v go >/dev/null 2>&1; then
	for v in GOPATH GOCACHE GOMODCACHE GOENV; do
		val=$(go env "$v" 2>/dev/null) || continue
		[ -n "$val" ] && export "$v=$val"
	done
fi

export HOME="$tmp/home"
export XDG_RUNTIME_DIR="$tmp/run"
export XDG_DATA_HOME="$tmp/data"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_STATE_HOME="$tmp/state"
export XDG_CACHE_HOME="$tmp/cache"
# Fyne cannot parse "C.UTF-8" as a language and logs an error on every
# start; tests that care about the language set LANG themselves.
export LANG="${LANG:-en_US.UTF-8}"
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK WAYLAND_DISPLAY

# --- X display -------------------------------------------------------------
# Take :99 if free, else the next free one. Several runs may race for the same
# number; the loser's Xvfb exits, and we try the next.
#
# -noreset: by default an X server resets itself whenever its last client
# disconnects, and a client that connects during the reset has its connection
# reset (ECONNRESET; Xlib says "unable to open display"). Tests open and close
# windows and poll with xwininfo one client at a time, so every few hundred
# connections one failed: 6 of 1000 back-to-back xdpyinfo runs on a fresh Xvfb,
# 0 of 2000 with -noreset.
start_xvfb() {
	local n i
	for n in $(seq 99 199); do
		[ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
		Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp -noreset >"$tmp/xvfb.log" 2>&1 </dev/null &
		xvfb_pid=$!
		for i in $(seq 100); do
			if ! alive "$xvfb_pid"; then
				wait "$xvfb_pid" 2>/dev/null
				xvfb_pid=""
				break
			fi
			# The lock file names the owner: the socket must be ours, not a racer's.
			if [ -S "/tmp/.X11-unix/X$n" ] &&
				[ "$(tr -d ' \n' <"/tmp/.X$n-lock" 2>/dev/null)" = "$xvfb_pid" ]; then
				export DISPLAY=":$n"
				return 0
			fi
			sleep 0.1
		done
		if alive "$xvfb_pid"; then
			stop "$xvfb_pid"
			xvfb_pid=""
			die "Xvfb :$n did not create /tmp/.X11-unix/X$n within 10 s; log: $(cat "$tmp/xvfb.log")"
		fi
	done
	die "no free X display in :99-:199; last Xvfb log: $(cat "$tmp/xvfb.log" 2>/dev/null)"
}
start_xvfb

# --- session bus ------------------------------------------------------------
# --nofork in the background keeps the daemon our child, so we can wait for it.
dbus-daemon --session --nofork --nopidfile --print-address=1 \
	--address="unix:path=$XDG_RUNTIME_DIR/bus" \
	>"$tmp/bus.address" 2>"$tmp/bus.log" </dev/null &
bus_pid=$!
for i in $(seq 100); do
	[ -s "$tmp/bus.address" ] && break
	alive "$bus_pid" || die "dbus-daemon exited: $(cat "$tmp/bus.log")"
	sleep 0.1
done
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/bus.address")
[ -n "$DBUS_SESSION_BUS_ADDRESS" ] || die "dbus-daemon printed no address within 10 s: $(cat "$tmp/bus.log")"
export DBUS_SESSION_BUS_ADDRESS

# --- keyring -----------------------------------------------------------------
# --foreground keeps it our child (no daemonizing, so we know its PID);
# --unlock reads the password from stdin and creates/unlocks "login".
printf '%s' "${TESTENV_KEYRING_PASSWORD:-dienstweg-test}" |
	gnome-keyring-daemon --foreground --unlock --components=secrets \
		>"$tmp/keyring.env" 2>"$tmp/keyring.log" &
keyring_pid=$!
owned=""
for i in $(seq 100); do
	if bus_call NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true'; then
		owned=1
		break
	fi
	alive "$keyring_pid" || break
	sleep 0.1
done
[ -n "$owned" ] ||
	die "gnome-keyring-daemon did not own org.freedesktop.secrets within 10 s; log: $(cat "$tmp/keyring.log")"
ctl=$(sed -n 's/^GNOME_KEYRING_CONTROL=//p' "$tmp/keyring.env")
[ -n "$ctl" ] && export GNOME_KEYRING_CONTROL="$ctl"

# --- the command ---------------------------------------------------------------
# In the background so a signal to this script runs our trap at once; <&0
# keeps stdin (async commands would otherwise read /dev/null).
"$@" <&0 &
cmd_pid=$!
wait "$cmd_pid"
rc=$?
cmd_pid=""
exit "$rc"
