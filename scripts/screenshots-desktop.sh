#!/usr/bin/env bash
# Screenshots of "Arbeitsplatz öffnen" (issue 20) on the demo organisation:
# the tray menu in a real tray host (xfce4-panel's status tray, which
# renders the StatusNotifierItem and its menu) and the status window, both
# while home office is connected and the demo's office desktop answers.
# Run it inside the private test display:
#   make build && bash scripts/testenv.sh bash scripts/screenshots-desktop.sh
# The opened remote desktop (office-desktop-rdp.png) comes from the
# namespace test: DIENSTWEG_SCREENSHOTS=docs/screenshots go test -run
# TestOfficeDesktopThroughTheTunnel ./internal/desktop/ (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bindir=${BIN:-bin}
bin=$bindir/dienstweg
out=docs/screenshots
lang=${SHOTS_LANG:-de}
case $lang in
de) export LANG=de_DE.UTF-8 ;;
en) export LANG=en_GB.UTF-8 ;;
*) echo "screenshots: SHOTS_LANG is de or en" >&2; exit 64 ;;
esac
for p in xfce4-panel xdotool import; do
	command -v "$p" >/dev/null || { echo "screenshots: $p is missing (Debian packages xfce4-panel, xdotool, imagemagick)" >&2; exit 1; }
done
title() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "assets/translations/$lang.json" "$1"; }
# shellcheck source=scripts/demo.sh
. scripts/demo.sh
sock="$XDG_RUNTIME_DIR/shots-desktop/agent.sock"
mkdir -p "$out" "$(dirname "$sock")"

# The tray host: one panel at the top with only the status tray.
conf="$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml"
mkdir -p "$conf"
cat >"$conf/xfce4-panel.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array"><value type="int" value="1"/></property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
XML
/usr/lib/x86_64-linux-gnu/xfce4/xfconf/xfconfd >/dev/null 2>&1 &
xfconf=$!
sleep 0.5
xfce4-panel --disable-wm-check >"$XDG_RUNTIME_DIR/shots-panel.log" 2>&1 &
panel=$!
pids="$panel $xfconf"
trap 'kill $pids 2>/dev/null; wait $pids 2>/dev/null; demo_stop' EXIT
sleep 2

demo_start "$bindir" "$XDG_DATA_HOME/demo-portal-desktop" >"$XDG_RUNTIME_DIR/shots-desktop-demo.log"
"$bin" agent --profile "$XDG_DATA_HOME/demo-portal-desktop/profile.json" --socket "$sock" --lang "$lang" >"$XDG_RUNTIME_DIR/shots-desktop-agent.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

api() { curl -sf --unix-socket "$sock" "$@"; }
act() { api -X POST -H 'Content-Type: application/json' -d "$1" http://agent/v1/enroll >/dev/null; sleep 1.2; }
# Set up as in screenshots.sh, through the wizard's API, once the wizard
# (which opens by itself on a computer not set up) is there.
wizard_id() { LC_ALL=C.UTF-8 xwininfo -root -tree | awk -v t="\"$(title enroll.window_title)\":" 'index($0, t) {print $1; exit}'; }
for _ in $(seq 100); do [ -n "$(wizard_id)" ] && break; sleep 0.1; done
sleep 1.5
act '{"action":"next"}'
login=$(api http://agent/v1/status | python3 -c 'import json,sys; d=json.load(sys.stdin)["demo_login"]; print(json.dumps({"action":"sign_in","user":d["user"],"activation_code":d["activation_code"]}))')
act "$login"
act '{"action":"toggle_secret"}' # the key shows only when asked
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
for _ in 1 2 3 4; do act '{"action":"next"}'; done
wizard=$(wizard_id)
[ -n "$wizard" ] && { pid=$(xdotool getwindowpid "$wizard" 2>/dev/null) && kill "$pid" 2>/dev/null || true; }
"$bin" up --socket "$sock" --code "$(totp 1)" >/dev/null
# Wait until the verdict offers the desktop.
for _ in $(seq 100); do
	api http://agent/v1/status | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["verdict"].get("desktops") else 1)' && break
	sleep 0.2
done
api http://agent/v1/status | python3 -c 'import json,sys; d=json.load(sys.stdin)["verdict"].get("desktops"); assert d, "the demo desktop is not offered"; print("screenshots: desktops offered:", d)'

# The tray menu: a right click on the icon, the panel's first item.
sleep 1
xdotool mousemove 16 16 click 3
sleep 1.5
import -window root -crop 370x272+0+0 "$out/tray-desktop-$lang.png"
echo "screenshots: $out/tray-desktop-$lang.png"
xdotool key Escape
sleep 0.5

# The status window with the button.
"$bin" open status --socket "$sock"
st="$(title status.title)"
for _ in $(seq 100); do
	id=$(LC_ALL=C.UTF-8 xwininfo -root -tree | awk -v t="\"$st\":" 'index($0, t) {print $1; exit}')
	[ -n "$id" ] && break
	sleep 0.1
done
sleep 1.5
import -window "$id" "$out/status-desktop-$lang.png"
echo "screenshots: $out/status-desktop-$lang.png"
"$bin" down --socket "$sock" >/dev/null 2>&1 || true
