#!/usr/bin/env bash
# Takes a screenshot of every window, in German, on the demo organisation,
# into docs/screenshots/. Run it inside the private test display:
#   make build && bash scripts/testenv.sh bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin/dienstweg}
out=docs/screenshots
sock="$XDG_RUNTIME_DIR/shots/agent.sock"
mkdir -p "$out"
export LANG=de_DE.UTF-8

"$bin" agent --demo --socket "$sock" --lang de >/dev/null 2>&1 &
agent=$!
trap 'kill $agent 2>/dev/null; wait $agent 2>/dev/null' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# shoot WINDOW TITLE FILE: open the window, wait for it, grab it, close it.
shoot() {
	local window=$1 title=$2 file=$3 id=""
	"$bin" open "$window" --socket "$sock"
	for _ in $(seq 100); do
		id=$(LC_ALL=C.UTF-8 xwininfo -root -tree | awk -v t="\"$title\":" '$0 ~ t {print $1; exit}')
		[ -n "$id" ] && break
		sleep 0.1
	done
	[ -n "$id" ] || { echo "screenshots: window '$title' did not appear" >&2; return 1; }
	sleep 1.5 # let the first frames render
	import -window "$id" "$out/$file"
	pkill -f "$bin ui $window" || true
	sleep 0.5
	echo "screenshots: $out/$file"
}

shoot status "Dienstweg – Status" status-de.png
shoot code "Dienstweg – Code eingeben" code-de.png
shoot support "Dienstweg – Hilfe & Support" support-de.png
