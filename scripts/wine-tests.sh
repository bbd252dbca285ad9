#!/usr/bin/env bash
# The Windows test lane on Linux: cross-compiled tests run under Wine 8
# (scripts/wine.sh). Only what Wine can host is listed, each package
# with the tests it cannot host and why; docs/windows.md has the whole
# table, including the packages left to the Windows runner.
#
# CI=true makes a test that misses a tool fail instead of skipping, so a
# test that stops being hostable shows up here rather than vanishing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin" CI=true GOOS=windows GOARCH=amd64 CGO_ENABLED=0

# package                      tests it cannot host (go test -skip), why
lane=(
	"./app"                        ""
	"./internal/announce"          "^(TestNotificationFiresOnce|TestNotifierWithoutServerCarriesOn)$" # D-Bus notifications, Linux only
	"./internal/authcode/..."      ""
	"./internal/backoff"           ""
	"./internal/cli"               ""
	"./internal/diag"              ""
	"./internal/enroll"            "^(TestProgressFile|TestEndToEnd|TestKeyringUnavailable)$" # Unix file modes; Secret Service
	"./internal/health"            ""
	"./internal/helper"            "^(TestAllowList|TestEditResolvConfInPlace|TestResolvConfEditUndoesItself)$" # Unix groups; resolv.conf, Linux only
	"./internal/i18n"              ""
	"./internal/keyring"           "^TestSystem" # Secret Service over D-Bus, Linux only; TestCredentialManagerContract runs
	"./internal/localapi/wire"     ""
	"./internal/portal/..."        ""
	"./internal/problem"           ""
	"./internal/profile"           ""
	"./internal/redact"            ""
	"./internal/situation"         ""
	"./internal/state"             ""
	"./internal/support"           "^TestReportPathPrefersTheDesktop$" # XDG user-dirs, Linux only
	"./internal/tunnel/wgconf"     ""
)

exe=$PWD/scripts/wine-exec.sh
run_lane() {
	local status=0 i pkg skip
	for ((i = 0; i < ${#lane[@]}; i += 2)); do
		pkg=${lane[i]} skip=${lane[i + 1]}
		go test -count=1 -timeout 5m -exec "$exe" ${skip:+-skip "$skip"} "$pkg" || status=1
	done
	return $status
}

if [ -z "${WINEPREFIX:-}" ]; then
	exec bash scripts/wine.sh bash "$0" "$@"
fi
run_lane
