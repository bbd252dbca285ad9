#!/usr/bin/env bash
# The -exec program for `go test` under scripts/wine.sh: runs a
# cross-compiled test binary in Wine, passing its exit code through.
set -euo pipefail
[ -n "${WINEPREFIX:-}" ] || {
	echo "wine-exec.sh: WINEPREFIX is not set; run the command under scripts/wine.sh" >&2
	exit 1
}
bin=$1
shift
# Debian's wine wrapper prints a hint about wine32 on every start.
exec wine "$bin" "$@" 2> >(grep -v -e 'wine32 is missing' -e 'multiarch needs' -e 'dpkg --add-architecture' -e 'apt-get install wine32' >&2)
