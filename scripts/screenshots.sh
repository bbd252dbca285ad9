#!/usr/bin/env bash
# Takes a screenshot of every window, in German (or SHOTS_LANG=en), on the
# demo organisation, into docs/screenshots/ (NAME-LANG.png). Run it inside
# the private test display:
#   make build && bash scripts/testenv.sh bash scripts/screenshots.sh
# BIN is the directory with the built binaries (default bin).
set -euo pipefail
cd "$(dirname "$0")/.."
bindir=${BIN:-bin}
bin=$bindir/dienstweg
out=docs/screenshots
sock="$XDG_RUNTIME_DIR/shots/agent.sock"
mkdir -p "$out"
lang=${SHOTS_LANG:-de}
case $lang in
de) export LANG=de_DE.UTF-8 ;;
en) export LANG=en_GB.UTF-8 ;;
*) echo "screenshots: SHOTS_LANG is de or en" >&2; exit 64 ;;
esac
# title KEY is a window title in the language of the screenshots.
title() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "assets/translations/$lang.json" "$1"; }
# shellcheck source=scripts/demo.sh
. scripts/demo.sh

# A tray host, as on a desktop; without one the agent opens its status
# window at start to explain, which would cover the others.
go build -o "$XDG_RUNTIME_DIR/sniwait" ./bench/cmd/sniwait
"$XDG_RUNTIME_DIR/sniwait" >/dev/null &
host=$!
sleep 0.5
trap 'kill $host 2>/dev/null; wait $host 2>/dev/null; demo_stop' EXIT
# The demo organisation, fresh in this environment's data directory.
demo_start "$bindir" "$XDG_DATA_HOME/demo-portal" >"$XDG_RUNTIME_DIR/shots-demo.log"
"$bin" agent --profile "$XDG_DATA_HOME/demo-portal/profile.json" --socket "$sock" --lang "$lang" >"$XDG_RUNTIME_DIR/shots-agent.log" 2>&1 &
agent=$!
trap 'kill $agent $host 2>/dev/null; wait $agent $host 2>/dev/null; demo_stop' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# close_window ID ends the window's own process (GLFW sets _NET_WM_PID),
# not whatever else matches a name.
close_window() {
	local pid
	pid=$(xdotool getwindowpid "$1" 2>/dev/null) && kill "$pid" 2>/dev/null || true
}

# shoot WINDOW TITLE FILE: open the window, wait for it, grab it, close it.
shoot() {
	local window=$1 title=$2 file=$3 id=""
	"$bin" open "$window" --socket "$sock"
	for _ in $(seq 100); do
		id=$(LC_ALL=C.UTF-8 xwininfo -root -tree | awk -v t="\"$title\":" 'index($0, t) {print $1; exit}')
		[ -n "$id" ] && break
		sleep 0.1
	done
	[ -n "$id" ] || { echo "screenshots: window '$title' did not appear" >&2; return 1; }
	sleep 1.5 # let the first frames render
	import -window "$id" "$out/$file"
	close_window "$id"
	sleep 0.5
	echo "screenshots: $out/$file"
}

api() { curl -sf --unix-socket "$sock" "$@"; }
act() { api -X POST -H 'Content-Type: application/json' -d "$1" http://agent/v1/enroll >/dev/null; sleep 1.2; }
wizard_title=$(title enroll.window_title)
wizard_id() { LC_ALL=C.UTF-8 xwininfo -root -tree | awk -v t="\"$wizard_title\":" 'index($0, t) {print $1; exit}'; }
grab() { import -window "$(wizard_id)" "$out/$1"; echo "screenshots: $out/$1"; }

# The wizard opens by itself on a device that is not set up.
for _ in $(seq 100); do [ -n "$(wizard_id)" ] && break; sleep 0.1; done
sleep 1.5
grab wizard-e1-$lang.png
act '{"action":"next"}'
grab wizard-e2-$lang.png
login=$(api http://agent/v1/status | python3 -c 'import json,sys; d=json.load(sys.stdin)["demo_login"]; print(json.dumps({"action":"sign_in","user":d["user"],"activation_code":d["activation_code"]}))')
act "$login"
grab wizard-e3-hidden-$lang.png
act '{"action":"toggle_secret"}'
grab wizard-e3-$lang.png
# A phone would scan the QR code; compute its code the same way (RFC 6238).
uri=$(api http://agent/v1/enroll | python3 -c 'import json,sys; print(json.load(sys.stdin)["authenticator"]["uri"])')
totp() { python3 -c '
import base64,hashlib,hmac,struct,sys,time,urllib.parse
secret=urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)["secret"][0]
key=base64.b32decode(secret+"="*(-len(secret)%8))
h=hmac.new(key,struct.pack(">Q",int(time.time())//30+int(sys.argv[2])),hashlib.sha1).digest()
o=h[-1]&15
print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$uri" "$1"; }
code=$(totp 0)
act '{"action":"next"}'
grab wizard-e4-$lang.png
act "{\"action\":\"code\",\"code\":\"$code\"}"
grab wizard-e5-$lang.png
act '{"action":"next"}'
grab wizard-e6-$lang.png
act '{"action":"next"}'
grab wizard-e6-tested-$lang.png
act '{"action":"next"}'
grab wizard-done-$lang.png
# "Einrichtung neu beginnen" asks first; with the keyboard: Tab to the
# button, Space, and the dialog's default is "Abbrechen".
xdotool windowactivate --sync "$(wizard_id)" 2>/dev/null || xdotool windowfocus "$(wizard_id)"
xdotool key --window "$(wizard_id)" Tab space
sleep 1
grab wizard-restart-$lang.png
xdotool key --window "$(wizard_id)" Escape
sleep 0.5
close_window "$(wizard_id)"
sleep 0.5

shoot status "$(title status.title)" status-$lang.png
# The first morning: home office with the next code, then the status.
"$bin" up --socket "$sock" --code "$(totp 1)" >/dev/null
sleep 4
shoot status "$(title status.title)" status-connected-$lang.png
# Quitting while connected asks first.
shoot quit "$(title quit.title)" quit-$lang.png
shoot code "$(title code.title)" code-$lang.png
shoot support "$(title support.title)" support-$lang.png
shoot announcements "$(title announce.title)" announcements-$lang.png
