#!/usr/bin/env bash
# wizard-cpu.sh measures what the open setup wizard costs in CPU against a
# bare Fyne window with the same content (bench/cmd/wizardcpu), in one run,
# one window after the other on the same Xvfb display (software
# rendering), and prints a markdown table with the ratios:
#   wizard-busy   E2 while waiting for the portal   vs bare-static, bare-bar,
#                                                     bare-focus, bare-busy
#   wizard-e3     E3 after a field on E2 had focus   vs bare-e3
# bare-busy is Fyne's own infinite progress bar in the same content with
# the activation code field focused: what the wizard showed before issue
# 15; bare-focus the focused field alone (its cursor blinks). CPU is utime+stime from
# /proc/PID/stat over IDLE seconds after SETTLE seconds, as % of one core.
# OLD=path adds the rows of a wizardcpu binary built from an older
# revision (A/B), e.g.
#   git archive REV | tar -x -C /tmp/old && cp -r bench/cmd/wizardcpu /tmp/old/bench/cmd/ \
#     && (cd /tmp/old && go build -o /tmp/wizardcpu-old ./bench/cmd/wizardcpu)
#   OLD=/tmp/wizardcpu-old bash scripts/testenv.sh bash bench/wizard-cpu.sh
#
#   bash scripts/testenv.sh bash bench/wizard-cpu.sh      # about 2 minutes
set -uo pipefail
cd "$(dirname "$0")/.."

SETTLE=${SETTLE:-4}
IDLE=${IDLE:-15}
prog=wizard-cpu
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 1; }
[ -n "${DISPLAY:-}" ] || die "no DISPLAY; run inside scripts/testenv.sh"

hz=$(getconf CLK_TCK)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wizardcpu" ./bench/cmd/wizardcpu || die "build failed"

# ticks PID prints utime+stime of the whole process (all threads).
ticks() {
	local s
	s=$(<"/proc/$1/stat") || return 1
	s=${s##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $s
	echo $((${12} + ${13}))
}

# measure BIN MODE prints the CPU % of one core the window used.
measure() {
	local bin=$1 mode=$2 pid t0 t1
	"$bin" -mode "$mode" >"$tmp/$mode.log" 2>&1 &
	pid=$!
	sleep "$SETTLE"
	kill -0 "$pid" 2>/dev/null || { say "$mode exited: $(tail -3 "$tmp/$mode.log")"; echo "n/a"; return; }
	t0=$(ticks "$pid")
	sleep "$IDLE"
	t1=$(ticks "$pid")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$IDLE" 'BEGIN { printf "%.1f", 100 * d / hz / s }'
}

declare -A cpu
for m in bare-static bare-bar bare-focus bare-busy wizard-busy bare-e3 wizard-e3; do
	cpu[$m]=$(measure "$tmp/wizardcpu" "$m")
	say "$m: ${cpu[$m]} %"
done
if [ -n "${OLD:-}" ]; then
	for m in wizard-busy wizard-e3; do
		cpu[old-$m]=$(measure "$OLD" "$m")
		say "old $m: ${cpu[old-$m]} %"
	done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }'; }
echo "| window (640×640, Xvfb, software GL) | CPU % of a core | vs bare, same content |"
echo "|---|---:|---:|"
echo "| bare, static (Fyne's floor) | ${cpu[bare-static]} | 1.00× |"
echo "| bare, Fyne infinite progress bar | ${cpu[bare-bar]} | $(ratio "${cpu[bare-bar]}" "${cpu[bare-static]}") |"
echo "| bare, a focused field (blinking cursor) | ${cpu[bare-focus]} | $(ratio "${cpu[bare-focus]}" "${cpu[bare-static]}") |"
echo "| bare, focused field + Fyne infinite progress bar | ${cpu[bare-busy]} | $(ratio "${cpu[bare-busy]}" "${cpu[bare-static]}") |"
echo "| wizard E2, waiting for the portal | ${cpu[wizard-busy]} | $(ratio "${cpu[wizard-busy]}" "${cpu[bare-static]}") |"
[ -n "${OLD:-}" ] && echo "| wizard E2, waiting (old: infinite bar) | ${cpu[old-wizard-busy]} | $(ratio "${cpu[old-wizard-busy]}" "${cpu[bare-static]}") |"
echo "| bare E3, static | ${cpu[bare-e3]} | 1.00× |"
echo "| wizard E3 after a focused field on E2 | ${cpu[wizard-e3]} | $(ratio "${cpu[wizard-e3]}" "${cpu[bare-e3]}") |"
[ -n "${OLD:-}" ] && echo "| wizard E3 (old: field keeps focus) | ${cpu[old-wizard-e3]} | $(ratio "${cpu[old-wizard-e3]}" "${cpu[bare-e3]}") |"
exit 0
