#!/usr/bin/env bash
# End-to-end check of the installed .deb (issue 16), run by
# scripts/package-check.sh after it installed the package; as root, with
# the helper unit not running. An installed client must reach the office
# for every program, not only through a proxy:
#   - the helper started as its unit's ExecStart says,
#   - the demo portal (`dienstweg-portal demo --dir`, built here: it is
#     not in the package),
#   - the agent started as the autostart entry's Exec says, with the demo
#     profile installed in /etc/dienstweg as IT would (no tunnel mode:
#     the system tunnel or nothing),
#   - the wizard through the local API and `dienstweg up --code`,
#   - then curl reaches the demo intranet by its office name with no proxy,
#     through the TUN device's route and the office DNS in resolv.conf.
# The steps are internal/installtest's TestInstalledPackage. Everything
# runs in a network namespace of its own, so the helper's device, routes
# and resolv.conf edit (ip netns exec bind-mounts /etc/netns/NS/resolv.conf
# over /etc/resolv.conf) never touch this machine's network; the
# namespace's loopback carries the demo portal and gateway. It removes what
# it made: the namespace, /etc/netns/NS and the profile.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'package-e2e: %s\n' "$*"; }
die() { printf 'package-e2e: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: the helper runs as root"
command -v dienstweg >/dev/null || die "dienstweg is not installed"
for t in ip curl go; do
	command -v "$t" >/dev/null || die "$t is missing (go: PATH=\$PATH:/usr/local/go/bin)"
done

work=$(mktemp -d)
ns=dienstweg-e2e-$$
etc_netns_existed=false
[ -d /etc/netns ] && etc_netns_existed=true
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "/etc/netns/$ns"
	$etc_netns_existed || rmdir /etc/netns 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/dienstweg-portal" ./app/portal || die "building dienstweg-portal"
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "/etc/netns/$ns"
# The home network's resolver: unreachable, so only the office DNS the
# helper adds can answer for the office's names.
printf 'nameserver 192.0.2.53\n' >"/etc/netns/$ns/resolv.conf"
start=$SECONDS
if ! ip netns exec "$ns" env PATH="$PATH" DIENSTWEG_INSTALLED_E2E=1 DIENSTWEG_PORTAL_BIN="$work/dienstweg-portal" \
	bash scripts/testenv.sh go test -count=1 -v -run '^TestInstalledPackage$' ./internal/installtest/ >"$work/e2e.log" 2>&1; then
	cat "$work/e2e.log" >&2
	die "internal/installtest failed"
fi
grep -o 'reached http.*' "$work/e2e.log" | sed 's/^/package-e2e: /'
say "ok in $((SECONDS - start)) s"
