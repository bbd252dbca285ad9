# shellcheck shell=bash
# Sourced by scripts/run.sh, scripts/screenshots.sh and bench/agent-idle.sh:
#
#   demo_start BIN DIR   starts BIN/dienstweg-portal demo --dir DIR in the
#                        background (its pid in demo_pid) and returns once it
#                        has written DIR/profile.json, the client's profile;
#                        it fails with the reason if that does not happen
#                        within DEMO_TIMEOUT seconds (default 60).
#   demo_stop            stops it again (the profile goes with it).

demo_pid=""

demo_start() {
	local bin=$1 dir=$2 i
	local profile=$dir/profile.json timeout=${DEMO_TIMEOUT:-60}
	# A profile left by a demo that was killed points at a portal that is
	# gone; the new one must not be mistaken for ready before it starts.
	rm -f "$profile"
	"$bin/dienstweg-portal" demo --dir "$dir" &
	demo_pid=$!
	for ((i = 0; i < timeout * 10; i++)); do
		[ -s "$profile" ] && return 0
		if ! kill -0 "$demo_pid" 2>/dev/null; then
			wait "$demo_pid" 2>/dev/null || true
			demo_pid=""
			echo "demo: the demo organisation ($bin/dienstweg-portal demo) exited before writing $profile; its output is above" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "demo: the demo organisation wrote no profile to $profile within $timeout s (DEMO_TIMEOUT); stopping it" >&2
	demo_stop
	return 1
}

demo_stop() {
	[ -n "$demo_pid" ] || return 0
	# || true: callers may run under set -e, and a demo that already ended
	# is fine.
	kill -TERM "$demo_pid" 2>/dev/null || true
	wait "$demo_pid" 2>/dev/null || true
	demo_pid=""
	return 0
}
