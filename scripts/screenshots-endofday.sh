#!/usr/bin/env bash
# Screenshot of the status window before the day's authorisation ends
# (issue 17: "Verbunden – endet um …" with "Homeoffice verlängern"), in
# SHOT_LANG (de or en), into docs/screenshots/. The agent warns a whole day
# ahead (--expiry-warning 24h), so the warning shows at once. Run it inside
# the private test display, once per language:
#   make build && SHOT_LANG=en bash scripts/testenv.sh bash scripts/screenshots-endofday.sh
# BIN is the directory with the built binaries (default bin).
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
"$bin" agent --profile "$XDG_DATA_HOME/demo-portal/profile.json" --socket "$sock" --lang "$L" --socks 127.0.0.1:0 --expiry-warning 24h >"$XDG_RUNTIME_DIR/shots-agent.log" 2>&1 &
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
# closewin TITLE ends that window's own process (GLFW sets _NET_WM_PID),
# not whatever else matches a name.
closewin() {
	local id pid
	id=$(winid "$1") && [ -n "$id" ] && pid=$(xdotool getwindowpid "$id" 2>/dev/null) && kill "$pid" 2>/dev/null || true
	sleep 0.5
}

api() { curl -sf --unix-socket "$sock" "$@"; }
act() { api -X POST -H 'Content-Type: application/json' -d "$1" http://agent/v1/enroll >/dev/null; sleep 1.2; }

# Set up through the API, as the wizard would.
waitwin "$T_WIZ" >/dev/null
sleep 1
closewin "$T_WIZ"
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
closewin "$T_WIZ"
sleep 1

"$bin" up --socket "$sock" --code "$(totp 1)" >/dev/null
for _ in $(seq 100); do
	s=$(api http://agent/v1/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"]["situation"])')
	[ "$s" = ends_soon ] && break
	sleep 0.2
done
[ "$s" = ends_soon ] || { echo "screenshots: the warning never came (situation $s)" >&2; exit 1; }
sleep 2
id=$(openwin status "$T_STATUS"); sleep 1.5
grab "$id" "status-ends-soon-$L.png"
closewin "$T_STATUS"
"$bin" status --socket "$sock"
