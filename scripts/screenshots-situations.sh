#!/usr/bin/env bash
# Screenshots of the status, code and support windows in the situations of
# issue 15 (not set up, not connected, connected, locked out; the code
# prompt's confirmation; support after "Kopieren" and "Speichern"), in
# SHOT_LANG (de or en), into docs/screenshots/. Run it inside the private
# test display, once per language:
#   make build && SHOT_LANG=en bash scripts/testenv.sh bash scripts/screenshots-situations.sh
# BIN is the directory with the built binaries (default bin).
# Outside the working hours, after a failed start and support after a
# renewed support code come from the ui tests, which serve those states
# over a real local API (internal/ui/situations_shots_test.go):
#   DIENSTWEG_SCREENSHOTS=$PWD/docs/screenshots bash scripts/testenv.sh go test ./internal/ui -run 'Served$'
set -euo pipefail
cd "$(dirname "$0")/.."
L=${SHOT_LANG:-de}
bindir=${BIN:-bin}
bin=$bindir/dienstweg
out=${OUT:-docs/screenshots}
mkdir -p "$out"
sock="$XDG_RUNTIME_DIR/shots/agent.sock"
if [ "$L" = de ]; then export LANG=de_DE.UTF-8; else export LANG=en_US.UTF-8; fi
# shellcheck source=scripts/demo.sh
. scripts/demo.sh
go build -o "$XDG_RUNTIME_DIR/sniwait" ./bench/cmd/sniwait
"$XDG_RUNTIME_DIR/sniwait" >/dev/null &
host=$!
sleep 0.5
trap 'kill $host 2>/dev/null; wait $host 2>/dev/null; demo_stop' EXIT
demo_start "$bindir" "$XDG_DATA_HOME/demo-portal" >"$XDG_RUNTIME_DIR/shots-demo.log"
# A SOCKS port of its own: another agent on this machine may hold 1080.
"$bin" agent --profile "$XDG_DATA_HOME/demo-portal/profile.json" --socket "$sock" --lang "$L" --socks 127.0.0.1:0 >"$XDG_RUNTIME_DIR/shots-agent.log" 2>&1 &
agent=$!
trap 'kill $agent $host 2>/dev/null; wait $agent $host 2>/dev/null; demo_stop' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

if [ "$L" = de ]; then
	T_STATUS="Dienstweg – Status"; T_CODE="Dienstweg – Code eingeben"; T_SUPPORT="Dienstweg – Hilfe & Support"; T_WIZ="Dienstweg – Einrichtung"
else
	T_STATUS="Dienstweg – Status"; T_CODE="Dienstweg – Enter code"; T_SUPPORT="Dienstweg – Help & support"; T_WIZ="Dienstweg – Setup"
fi
winid() { LC_ALL=C.UTF-8 xwininfo -root -tree | awk -v t="\"$1\":" 'index($0, t) {print $1; exit}'; }
waitwin() { local id=""; for _ in $(seq 100); do id=$(winid "$1"); [ -n "$id" ] && break; sleep 0.1; done; [ -n "$id" ] || { echo "no window $1" >&2; return 1; }; echo "$id"; }
openwin() { "$bin" open "$1" --socket "$sock"; waitwin "$2"; }
grab() { import -window "$1" "$out/$2"; echo "shot: $out/$2 $(xwininfo -id "$1" | awk '/Width|Height/ {printf "%s ", $2}')"; }
closewin() { pkill -f "$bindir/dienstweg-ui $1" || true; sleep 0.5; }

api() { curl -sf --unix-socket "$sock" "$@"; }
act() { api -X POST -H 'Content-Type: application/json' -d "$1" http://agent/v1/enroll >/dev/null; sleep 1.2; }

# Not set up: the wizard opens by itself; close it and look at the status.
waitwin "$T_WIZ" >/dev/null
sleep 1
closewin wizard
id=$(openwin status "$T_STATUS"); sleep 1.5
grab "$id" "status-not-set-up-$L.png"
# `up` says the same, and asks for no code.
"$bin" up --socket "$sock" </dev/null || true
closewin status

# Set up through the API, as the wizard would.
act '{"action":"next"}'
login=$(api http://agent/v1/status | python3 -c 'import json,sys; d=json.load(sys.stdin)["demo_login"]; print(json.dumps({"action":"sign_in","user":d["user"],"activation_code":d["activation_code"]}))')
act "$login"
act '{"action":"toggle_secret"}'
uri=$(api http://agent/v1/enroll | python3 -c 'import json,sys; print(json.load(sys.stdin)["authenticator"]["uri"])')
totp() { python3 -c '
import base64,hashlib,hmac,struct,sys,time,urllib.parse
secret=urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)["secret"][0]
key=base64.b32decode(secret+"="*(-len(secret)%8))
h=hmac.new(key,struct.pack(">Q",int(time.time())//30+int(sys.argv[2])),hashlib.sha1).digest()
o=h[-1]&15
print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$uri" "$1"; }
act '{"action":"next"}'
act "{\"action\":\"code\",\"code\":\"$(totp 0)\"}"
act '{"action":"next"}'
act '{"action":"next"}'
act '{"action":"next"}'
closewin wizard
sleep 2

id=$(openwin status "$T_STATUS"); sleep 1.5
grab "$id" "status-$L.png"
closewin status

# The first morning: the code prompt, then its confirmation.
id=$(openwin code "$T_CODE"); sleep 1.5
grab "$id" "code-$L.png"
xdotool mousemove --window "$id" 200 150 click 1
xdotool type --window "$id" "$(totp 1)"
xdotool key --window "$id" Return
for _ in $(seq 100); do
	s=$(api http://agent/v1/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
	[ "$s" = connected ] && break
	sleep 0.1
done
sleep 0.3
grab "$id" "code-connected-$L.png"
sleep 3
id=$(openwin status "$T_STATUS"); sleep 1.5
grab "$id" "status-connected-$L.png"
closewin status

# Help & support: copy, then save the report; both are answered in view.
id=$(openwin support "$T_SUPPORT"); sleep 1.5
h=$(xwininfo -id "$id" | awk '/Height/ {print $2}')
xdotool mousemove --window "$id" 60 $((h - 70)) click 1
sleep 0.3
xdotool mousemove --window "$id" 260 $((h - 70)) click 1
sleep 1.2
grab "$id" "support-$L.png"
closewin support
"$bin" down --socket "$sock" >/dev/null 2>&1 || true
sleep 1

# Locked out: five wrong codes.
for _ in 1 2 3 4 5 6; do "$bin" up --socket "$sock" --code 000000 >/dev/null 2>&1 || true; done
sleep 1
id=$(openwin status "$T_STATUS"); sleep 1.5
grab "$id" "status-locked-$L.png"
closewin status
