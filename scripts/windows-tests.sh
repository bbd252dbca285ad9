#!/usr/bin/env bash
# The Windows tests, one list for both places they run:
#
#   scripts/windows-tests.sh          on Linux: cross-compiled, under Wine 8
#                                     (scripts/wine.sh), the `wine` table only
#   scripts/windows-tests.sh native   on Windows (the runner, a VM; Git Bash):
#                                     the `wine` and the `runner` tables
#
# Each package comes with the tests it cannot run there and why;
# docs/windows.md has the whole picture. CI=true makes a test that misses
# a tool fail instead of skipping, so a test that stops being hostable
# shows up here rather than vanishing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-wine}
export CI=true

# What Wine 8 hosts: package, then the tests it cannot host (go test -skip).
wine=(
	"./app"                        ""
	"./internal/announce"          "^(TestNotificationFiresOnce|TestNotifierWithoutServerCarriesOn)$" # D-Bus notifications, Linux only
	"./internal/authcode/..."      ""
	"./internal/backoff"           ""
	"./internal/cli"               ""
	"./internal/diag"              ""
	"./internal/enroll"            "^(TestProgressFile|TestEndToEnd|TestKeyringUnavailable)$" # Unix file modes; Secret Service
	"./internal/health"            ""
	# Unix groups and resolv.conf are Linux only; Wine's named-pipe server
	# accepts no client on a pipe with a security descriptor (measured on
	# the Windows helper's branch), so the pipe-caller tests need Windows.
	"./internal/helper/..."        "^(TestAllowList|TestEditResolvConfInPlace|TestPipeCallerIsTheClient|TestPipeAnonymousCallerRefused)$"
	"./internal/i18n"              ""
	"./internal/keyring"           "^TestSystem" # Secret Service over D-Bus, Linux only; TestCredentialManagerContract runs
	"./internal/localapi/wire"     ""
	"./internal/portal/..."        ""
	"./internal/policy"            "^(TestTemplateValidates|TestValidatorRejects)$" # xmllint (libxml2-utils) runs in the Linux lane
	"./internal/problem"           ""
	"./internal/profile"           ""
	"./internal/redact"            ""
	"./internal/situation"         ""
	"./internal/state"             ""
	"./internal/support"           "^TestReportPathPrefersTheDesktop$" # XDG user-dirs, Linux only
	"./internal/tunnel/wgconf"     ""
)

# What only a real Windows runs: AF_UNIX sockets (the agent's local API),
# UDP (every WireGuard test), the elevated helper (the privileged job of
# .github/workflows/windows.yml). Not yet run anywhere: the first runner
# run tells (docs/windows.md). The organisation side runs on Linux only.
runner=(
	"./internal/localapi"          "^(TestSocketIsPrivate|TestOtherUIDIsRefused)$" # Unix socket modes and peer uids
	"./internal/session"           "^(TestResumeFromLogindRenewsHandshake|TestAfterResumeNoVerbundenBeforeAHandshake)$" # logind, Linux only
	"./internal/tunnel/..."        ""
	"./internal/agent"             ""
	"./internal/atomicfile"        "^TestWriteFileReplacesWithMode$" # Unix file modes; on Windows the profile's ACL keeps files private
	"./internal/logging"           "^TestRotatingFileRotatesAndBoundsSize$" # the same
	"./internal/update"            "^(TestMinisignToolSignatures|TestPatchUpdate)$" # minisign and bsdiff tools, Debian packages
)

# run_table NAME EXEC: go test for each package of table NAME.
run_table() {
	local -n table=$1
	local exec=$2 status=0 i pkg skip
	for ((i = 0; i < ${#table[@]}; i += 2)); do
		pkg=${table[i]} skip=${table[i + 1]}
		go test -count=1 -timeout 10m ${exec:+-exec "$exec"} ${skip:+-skip "$skip"} "$pkg" || status=1
	done
	return $status
}

case $mode in
wine)
	export PATH="$PATH:/usr/local/go/bin" GOOS=windows GOARCH=amd64 CGO_ENABLED=0
	if [ -z "${WINEPREFIX:-}" ]; then
		exec bash scripts/wine.sh bash "$0" wine
	fi
	run_table wine "$PWD/scripts/wine-exec.sh"
	;;
native)
	status=0
	run_table wine "" || status=1
	run_table runner "" || status=1
	exit $status
	;;
*)
	echo "usage: windows-tests.sh [wine|native]" >&2
	exit 2
	;;
esac
