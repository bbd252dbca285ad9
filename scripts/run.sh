#!/usr/bin/env bash
# make run: the demo organisation "Stadt Musterstadt" in its own process
# (dienstweg-portal demo) and the client agent on the profile it writes,
# with the status window open. Quitting the client (the tray's "Dienstweg
# beenden") or Ctrl-C stops both. Without a desktop display both run inside
# a private Xvfb (scripts/testenv.sh).
#
#   bash scripts/run.sh [BIN]    BIN: the directory with the built binaries (default bin)
set -euo pipefail
bin=${1:-bin}
here=$(cd "$(dirname "$0")" && pwd)
for b in dienstweg dienstweg-ui dienstweg-portal; do
	[ -x "$bin/$b" ] || { echo "run: $bin/$b is missing: run make build (make run does)" >&2; exit 1; }
done
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
	echo "run: no desktop display found; starting the demo inside a private Xvfb (no window manager: windows open centred)."
	DIENSTWEG_RUN_PRIVATE_X=1 exec bash "$here/testenv.sh" bash "$here/run.sh" "$bin"
fi
if [ -n "${DIENSTWEG_RUN_PRIVATE_X:-}" ]; then
	# Only now, inside testenv.sh, is the display's number known.
	echo "run: the private display is $DISPLAY; look at it from another shell with:"
	echo "run:   import -display $DISPLAY -window root shot.png"
fi
# shellcheck source=scripts/demo.sh
. "$here/demo.sh"

agent=""
stop() {
	trap - EXIT INT TERM
	if [ -n "$agent" ]; then
		kill -TERM "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
	fi
	demo_stop
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Kept across runs, so a device set up in the demo stays set up.
dir=${XDG_DATA_HOME:-$HOME/.local/share}/dienstweg/demo-portal
echo "run: starting the demo organisation Stadt Musterstadt (data in $dir)."
demo_start "$bin" "$dir"
echo "run: starting Dienstweg on it (Ctrl-C or the tray's \"Dienstweg beenden\" quits both)."
"$bin/dienstweg" --profile "$dir/profile.json" --open status &
agent=$!
wait "$agent"
