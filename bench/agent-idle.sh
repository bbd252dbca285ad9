#!/usr/bin/env bash
# agent-idle.sh measures what the tray costs: the dienstweg agent next to the
# smallest Fyne app that shows a tray (bench/cmd/fynetray), both built in this
# run. For each it measures
#   - cold start: process start until its item registers with the tray host
#     (bench/cmd/sniwait), median of RUNS fresh processes;
#   - idle RSS: VmRSS from /proc/PID/status after SETTLE+IDLE seconds, with
#     any window the app opened at start (the agent's setup wizard on a
#     device not set up yet) closed first;
#   - idle CPU: utime+stime ticks from /proc/PID/stat over IDLE seconds, as
#     % of one core, and the context switches (wake-ups) of all threads.
# Each app runs in its own scripts/testenv.sh (Xvfb, private session bus,
# keyring, temp HOME), so nothing touches the real desktop. Loopback only.
# Prints a markdown table; the numbers go into docs/performance.md by hand.
# APPS="agent fynetray" limits the run to some of agent, agent-wizard,
# agent-session, agent-demo and fynetray (default: all but agent-demo).
# AGENT=path measures that dienstweg binary instead of building ./app (A/B);
# the windows' dienstweg-ui is built beside it either way.
#
#   bash bench/agent-idle.sh            # about 5 minutes
#   RUNS=3 IDLE=20 bash bench/agent-idle.sh   # quick look
#
# The agent runs in three situations (issue 14), each beside the same
# fynetray, with the ratio to it in the table:
#   agent          a profile whose portal nobody answers (what employees
#                  run, offline), window closed;
#   agent-wizard   a fresh device on the demo organisation with the setup
#                  wizard left open; the wizard's dienstweg-ui process is
#                  reported on a row of its own;
#   agent-session  the demo organisation, device set up and home office
#                  connected through the local API (bench/cmd/benchsession);
#   agent-demo     (only on request) the demo organisation, window closed.
# The demo organisation runs in its own process (dienstweg-portal demo,
# fresh for each app, not measured). smaps_rollup of each app ends up on
# stderr, to tell anonymous from file-backed memory.
set -uo pipefail

RUNS=${RUNS:-5}
SETTLE=${SETTLE:-10}
IDLE=${IDLE:-60}
prog=agent-idle
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 1; }

# now_us prints wall-clock microseconds without forking (bash 5).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

# ticks PID prints utime+stime of the whole process (all threads). Fields
# are counted after the last ')', since the command name may hold spaces.
ticks() {
	local s
	s=$(<"/proc/$1/stat") || return 1
	s=${s##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $s
	echo $((${12} + ${13}))
}

# status_kb PID FIELD prints a kB field of /proc/PID/status.
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# ctxsw PID sums voluntary and involuntary context switches over all
# threads: each is a wake-up of some thread of the process.
ctxsw() {
	cat "/proc/$1"/task/*/status 2>/dev/null |
		awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# ---------------------------------------------------------------------------
# inner NAME DIR CMD...: runs inside testenv.sh. Starts the tray host, then
# CMD RUNS times (each until its item registers), keeps the last one running
# for the idle measurement and writes DIR/NAME.result as key=value lines.
# "@RUN@" in CMD is replaced by the run number (for unique sockets).
inner() {
	local name=$1 dir=$2
	shift 2
	local sni_log="$dir/$name.sni" app_log="$dir/$name.log" out="$dir/$name.result"
	# Global, not local: the EXIT trap runs after inner has returned.
	sni_pid="" app_pid=""
	# shellcheck disable=SC2317 # called by the trap
	finish() {
		local p
		for p in $app_pid $sni_pid; do
			kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
		done
	}
	trap finish EXIT

	# sniwait's lines come through a FIFO, so the script blocks in read
	# instead of polling: a poll loop would steal CPU from the app starting.
	mkfifo "$dir/$name.fifo" || die "$name: mkfifo failed"
	exec 3<>"$dir/$name.fifo"
	"$dir/sniwait" >&3 2>>"$app_log" &
	sni_pid=$!
	local line
	read -r -t 10 -u 3 line || die "$name: sniwait not ready within 10 s: $(cat "$app_log")"
	echo "$line" >>"$sni_log"
	[ "${line%% *}" = ready ] || die "$name: sniwait said $line"

	# German, as the agent runs with --lang de; and a locale Fyne can parse.
	export LANG=de_DE.UTF-8
	local cmd=("$@") starts=() run t0 t1 args when pid
	for run in $(seq "$RUNS"); do
		args=("${cmd[@]//@RUN@/$run}")
		t0=$(now_us)
		"${args[@]}" 3>&- >>"$app_log" 2>&1 &
		app_pid=$!
		line=""
		# 30 s covers a first Fyne start on a loaded 2-core box.
		for _ in $(seq 30); do
			if read -r -t 1 -u 3 line; then
				echo "$line" >>"$sni_log"
				break
			fi
			kill -0 "$app_pid" 2>/dev/null || die "$name: exited before its tray item registered; log: $(tail -n 20 "$app_log")"
		done
		[ -n "$line" ] || die "$name: no tray item within 30 s; log: $(tail -n 20 "$app_log")"
		read -r _ when pid _ <<<"$line"
		[ "$pid" = "$app_pid" ] || say "$name: item registered by pid $pid, started $app_pid"
		t1=$((when / 1000))
		starts+=($(((t1 - t0 + 500) / 1000)))
		say "$name: run $run: tray registered after ${starts[-1]} ms"
		if [ "$run" -lt "$RUNS" ]; then
			kill -TERM "$app_pid" && wait "$app_pid" 2>/dev/null
			app_pid=""
		fi
	done

	# Idle means no window open. On a device that is not set up yet the
	# agent opens the setup wizard at start, a ui process of its own; close
	# it as the employee would, so only the tray is left. agent-wizard
	# keeps it open instead and measures the window's process beside the
	# agent's.
	pid=$app_pid
	local windows=0 c ui_pid=""
	if [ "$name" = agent-wizard ]; then
		for _ in $(seq 100); do
			ui_pid=$(pgrep -P "$pid" | head -n1)
			[ -n "$ui_pid" ] && break
			sleep 0.1
		done
		[ -n "$ui_pid" ] || die "$name: the agent opened no setup wizard within 10 s"
		say "$name: keeping window open: $(tr '\0' ' ' <"/proc/$ui_pid/cmdline" 2>/dev/null)"
		windows=1
	else
		sleep 2
		for c in $(pgrep -P "$pid"); do
			say "$name: closing window: $(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)"
			kill -TERM "$c" 2>/dev/null && windows=$((windows + 1))
		done
		for _ in $(seq 50); do
			[ -z "$(pgrep -P "$pid")" ] && break
			sleep 0.1
		done
	fi
	# agent-session sets the device up and starts home office through the
	# agent's socket (the argument after --socket), then idles connected.
	if [ "$name" = agent-session ]; then
		local i sock=""
		for ((i = 0; i < ${#args[@]}; i++)); do
			[ "${args[i]}" = --socket ] && sock=${args[i + 1]}
		done
		"$dir/benchsession" -socket "$sock" >>"$app_log" 2>&1 ||
			die "$name: no session: $(tail -n 5 "$app_log")"
		say "$name: connected"
	fi
	sleep "$SETTLE"
	local rss_settled k0 c0 w0 k1 c1 w1 rss rss_anon rss_file threads load
	rss_settled=$(status_kb "$pid" VmRSS)
	load=$(cut -d' ' -f1 /proc/loadavg) # others' builds slow the starts down
	k0=$(ticks "$pid") c0=$(ctxsw "$pid") w0=$(now_us)
	sleep "$IDLE"
	k1=$(ticks "$pid") c1=$(ctxsw "$pid") w1=$(now_us)
	kill -0 "$pid" 2>/dev/null || die "$name: exited during the idle window"
	rss=$(status_kb "$pid" VmRSS)
	rss_anon=$(status_kb "$pid" RssAnon)
	rss_file=$(status_kb "$pid" RssFile)
	threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status")
	# What the RSS consists of, for the report (anon vs file, shared, PSS).
	cat "/proc/$pid/smaps_rollup" >"$dir/$name.smaps" 2>/dev/null
	if [ -n "$ui_pid" ]; then
		kill -0 "$ui_pid" 2>/dev/null || die "$name: the window closed during the idle window"
		{
			echo "ui_rss_kb=$(status_kb "$ui_pid" VmRSS)"
			echo "ui_rss_anon_kb=$(status_kb "$ui_pid" RssAnon)"
			echo "ui_rss_file_kb=$(status_kb "$ui_pid" RssFile)"
		} >"$dir/$name.ui"
		cat "/proc/$ui_pid/smaps_rollup" >"$dir/$name-ui.smaps" 2>/dev/null
	fi
	{
		echo "starts=${starts[*]}"
		echo "rss_settled_kb=$rss_settled"
		echo "rss_kb=$rss"
		echo "rss_anon_kb=$rss_anon"
		echo "rss_file_kb=$rss_file"
		echo "threads=$threads"
		echo "load=$load"
		echo "windows=$windows"
		echo "ticks=$((k1 - k0))"
		echo "ctxsw=$((c1 - c0))"
		echo "elapsed_us=$((w1 - w0))"
		[ -z "$ui_pid" ] || cat "$dir/$name.ui"
	} >"$out"
}

if [ "${1:-}" = "--inner" ]; then
	shift
	inner "$@"
	exit
fi

# ---------------------------------------------------------------------------
# outer: build, run each app in its own test environment, print the table.
cd "$(dirname "$0")/.." || die "cannot find the repository"
# shellcheck source=scripts/demo.sh
. scripts/demo.sh
command -v go >/dev/null || die "go not found"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "needs bash 5 for EPOCHREALTIME"

began=$(now_us)
dir=$(mktemp -d "${TMPDIR:-/tmp}/dienstweg-bench.XXXXXX") || die "cannot create temp dir"
# shellcheck disable=SC2317
cleanup() {
	demo_stop
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building dienstweg, dienstweg-ui, fynetray and sniwait into $dir"
if [ -n "${AGENT:-}" ]; then
	cp "$AGENT" "$dir/dienstweg" || die "cannot copy AGENT=$AGENT"
else
	CGO_ENABLED=0 go build -o "$dir/dienstweg" ./app || die "building ./app failed"
fi
# The agent opens the setup wizard at start with the program beside it.
go build -o "$dir/dienstweg-ui" ./app/ui || die "building ./app/ui failed"
apps=${APPS:-agent agent-wizard agent-session fynetray}
if [[ " $apps " == *" agent-demo "* || " $apps " == *" agent-wizard "* || " $apps " == *" agent-session "* ]]; then
	CGO_ENABLED=0 go build -o "$dir/dienstweg-portal" ./app/portal || die "building ./app/portal failed"
fi
if [[ " $apps " == *" agent-session "* ]]; then
	go build -o "$dir/benchsession" ./bench/cmd/benchsession || die "building bench/cmd/benchsession failed"
fi
go build -o "$dir/fynetray" ./bench/cmd/fynetray || die "building bench/cmd/fynetray failed"
go build -o "$dir/sniwait" ./bench/cmd/sniwait || die "building bench/cmd/sniwait failed"
# Measure the binaries as installed ones, written back to disk: pages of a
# file still being written are dirty, and the kernel cannot hand dirty
# code pages back, which skews the agent's file-backed RSS upwards.
sync

# The demo profile with a throwaway CA and a portal nobody answers: the
# agent at idle does not call its portal.
bench_profile=$(go run ./bench/cmd/benchprofile) || die "making the benchmark profile failed"
printf '%s\n' "$bench_profile" >"$dir/profile.json"

read -ra names <<<"$apps"
declare -A label=(
	[agent]="agent (\`--profile\`)"
	[agent-demo]="agent (demo profile, demo organisation in its own process)"
	[agent-wizard]="agent, fresh device, setup wizard open"
	[agent-session]="agent, home office connected (demo organisation)"
	[fynetray]="Fyne tray app"
)
self=$(pwd)/bench/agent-idle.sh
for n in "${names[@]}"; do
	case $n in
	agent) cmd=("$dir/dienstweg" agent --profile "$dir/profile.json" --socket "$dir/a@RUN@.sock" --lang de) ;;
	agent-demo | agent-wizard | agent-session)
		# On loopback, outside the test environment: its RSS is not the
		# agent's. A fresh organisation (and a fresh HOME in testenv.sh)
		# for each, so each starts on a device that is not set up.
		demo_start "$dir" "$dir/$n-org" >"$dir/$n-org.log" 2>&1 || die "the demo organisation did not start: $(tail -n 20 "$dir/$n-org.log")"
		cmd=("$dir/dienstweg" agent --profile "$dir/$n-org/profile.json" --socket "$dir/$n@RUN@.sock" --lang de)
		;;
	fynetray) cmd=("$dir/fynetray") ;;
	esac
	say "measuring $n: $RUNS starts, ${SETTLE}s settle, ${IDLE}s idle"
	bash scripts/testenv.sh bash "$self" --inner "$n" "$dir" "${cmd[@]}" ||
		die "$n: measurement failed; app log: $(tail -n 30 "$dir/$n.log" 2>/dev/null)"
	demo_stop
done

hz=$(getconf CLK_TCK)
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# ratio KB: against the Fyne tray app of this run, or "–" without one.
ratio() {
	if [ -z "${fyne_kb:-}" ]; then
		echo "–"
		return
	fi
	awk -v a="$1" -v f="$fyne_kb" 'BEGIN { printf "%.2f×", a / f }'
}
fyne_kb=""
if [ -r "$dir/fynetray.result" ]; then
	fyne_kb=$(awk -F= '$1 == "rss_kb" { print $2 }' "$dir/fynetray.result")
fi
declare -A rss cpu
echo
echo "| app | start to tray, median of $RUNS (min–max) | idle RSS | vs Fyne tray app | anon / file | CPU over ${IDLE} s idle | wake-ups in ${IDLE} s | threads | load avg |"
echo "|---|---|---|---|---|---|---|---|---|"
declare -A r
for n in "${names[@]}"; do
	r=()
	while IFS='=' read -r k v; do r[$k]=$v; done <"$dir/$n.result"
	read -ra s <<<"${r[starts]}"
	med=$(median "${s[@]}")
	lo=$(printf '%s\n' "${s[@]}" | sort -n | head -n1)
	hi=$(printf '%s\n' "${s[@]}" | sort -n | tail -n1)
	rss[$n]=${r[rss_kb]}
	cpu[$n]=$(awk -v t="${r[ticks]}" -v hz="$hz" -v us="${r[elapsed_us]}" 'BEGIN { printf "%.3f", 100 * t / hz / (us / 1e6) }')
	printf '| %s | %d ms (%d–%d) | %s MiB | %s | %s / %s MiB | %s %% (%d ticks) | %d | %d | %s |\n' \
		"${label[$n]}" "$med" "$lo" "$hi" "$(mib "${r[rss_kb]}")" "$(ratio "${r[rss_kb]}")" \
		"$(mib "${r[rss_anon_kb]}")" "$(mib "${r[rss_file_kb]}")" \
		"${cpu[$n]}" "${r[ticks]}" "${r[ctxsw]}" "${r[threads]}" "${r[load]}"
	if [ -n "${r[ui_rss_kb]:-}" ]; then
		printf '| … its wizard window (`dienstweg-ui`, not the agent) | – | %s MiB | %s | %s / %s MiB | – | – | – | – |\n' \
			"$(mib "${r[ui_rss_kb]}")" "$(ratio "${r[ui_rss_kb]}")" "$(mib "${r[ui_rss_anon_kb]}")" "$(mib "${r[ui_rss_file_kb]}")"
	fi
done
echo
echo "Built from $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- 2>/dev/null || echo ' plus uncommitted changes')${AGENT:+ (agent: $AGENT)}, $(nproc) cores, $(date -u '+%F %H:%M UTC'), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "RSS in MiB (VmRSS after ${SETTLE}+${IDLE} s); wake-ups are context switches of all threads; CPU is % of one core at CLK_TCK=$hz (1 tick = $(awk -v hz="$hz" -v s="$IDLE" 'BEGIN { printf "%.4f", 100 / hz / s }') %)."
for n in agent agent-demo agent-wizard agent-session; do
	if [ -z "${rss[$n]:-}" ] || [ -z "$fyne_kb" ]; then
		continue
	fi
	ratio=$(awk -v a="${rss[$n]}" -v f="$fyne_kb" 'BEGIN { printf "%.2f", a / f }')
	verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.15) ? "met" : "MISSED" }')
	echo "Goal for ${label[$n]}: RSS ≤ 0.15× Fyne tray app (is ${ratio}×, $(mib "${rss[$n]}") of at most $(awk -v f="$fyne_kb" 'BEGIN { printf "%.1f", 0.15 * f / 1024 }') MiB); CPU ${cpu[$n]} %: **$verdict**"
done
# What the agent's RSS consists of: /proc/PID/smaps_rollup at the end.
for f in "$dir"/*.smaps; do
	[ -r "$f" ] || continue
	say "smaps_rollup of $(basename "$f" .smaps): $(awk '$1 ~ /^(Rss|Pss|Pss_Anon|Pss_File|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):$/ { printf "%s %d ", $1, $2 }' "$f")kB"
done
say "done in $((($(now_us) - began) / 1000000)) s"
