#!/usr/bin/env bash
# make run: the agent on the embedded demo organisation, status window open.
set -euo pipefail
bin=${1:-bin/dienstweg}
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
	echo "run: no desktop display found; starting the demo inside a private Xvfb."
	echo "run: look at it with: import -display \$DISPLAY -window root shot.png (from another shell in the same environment)"
	exec bash "$(dirname "$0")/testenv.sh" "$bin" --demo --open status
fi
echo "run: starting Dienstweg on the demo organisation Musterstadt (Ctrl-C quits)."
exec "$bin" --demo --open status
