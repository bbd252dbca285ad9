#!/usr/bin/env bash
# Runs a command with a private Wine prefix that can start Go programs.
#
#   scripts/wine.sh go test -exec scripts/wine-exec.sh ./internal/cli/
#
# Debian's Wine 8 lacks bcryptprimitives.dll, where Go 1.24+ gets its
# random numbers (ProcessPrng), so every Go program dies at start. This
# script makes a fresh prefix in a temporary directory, builds the shim
# from packaging/windows/wine-shim/ with mingw, puts it into the prefix's
# system32, runs the command with WINEPREFIX set, and removes the prefix.
# What Wine can and cannot host: docs/windows.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

for tool in wine x86_64-w64-mingw32-gcc; do
	command -v "$tool" >/dev/null || {
		echo "wine.sh: $tool is missing; run scripts/deps.sh" >&2
		exit 1
	}
done

prefix=$(mktemp -d "${TMPDIR:-/tmp}/dienstweg-wine.XXXXXX")
export WINEPREFIX=$prefix WINEARCH=win64
# No debug chatter, and no offer to download Mono or Gecko.
export WINEDEBUG=${WINEDEBUG:--all} WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
	wineserver -k 2>/dev/null || true
	rm -rf "$prefix"
}
trap cleanup EXIT

# One wineserver for the whole run rather than one per test binary;
# cleanup ends it.
wineserver -p
# Debian's wine wrapper warns about the missing 32-bit Wine; Go builds
# 64-bit programs only.
wine wineboot --init >/dev/null 2>&1 || {
	echo "wine.sh: wineboot failed in $prefix" >&2
	exit 1
}
shim=$root/packaging/windows/wine-shim
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$prefix/drive_c/windows/system32/bcryptprimitives.dll" \
	"$shim/bcryptprimitives.c" "$shim/bcryptprimitives.def" -ladvapi32
"$@"
