#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that building, running and testing
# Dienstweg need. Idempotent: it installs only what is missing and says what.
set -euo pipefail

packages=(
	# build (cgo for the Fyne windows)
	gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
	libxinerama-dev libxi-dev libxxf86vm-dev
	# run and test: a display, a session bus and a Secret Service
	xvfb xauth dbus dbus-x11 gnome-keyring libsecret-tools
	# test tools: HTTP over unix sockets, screenshots, X inspection
	curl imagemagick x11-utils procps
	# keyboard-only tests: real key events for real windows
	xdotool
	# tunnel tests: an independent WireGuard peer in a network namespace
	wireguard-go wireguard-tools iproute2
	# letter tests: read the printed activation letters back (pdftotext)
	poppler-utils
	# update tests: signatures and patches made by the standard tools
	minisign bsdiff
	# tray tests: the real settings portal (colour scheme) and its GTK backend
	xdg-desktop-portal xdg-desktop-portal-gtk
	# the Windows lane (docs/windows.md): cgo for the Windows build of the
	# windows, the Wine shim, and Wine to run the cross-compiled tests
	gcc-mingw-w64-x86-64 wine wine64
	# workflow check: actionlint (scripts/check-workflows.sh) runs shellcheck
	# on the bash steps of the Windows runner's workflow
	shellcheck
	# organisation side: systemd-analyze checks the portal and gateway units
	systemd
	# PostgreSQL store tests: internal/org/store/pgtest runs initdb and
	# postgres from /usr/lib/postgresql/*/bin in a temp dir (no service)
	postgresql
	# web console tests: a real headless browser driven through chromedp
	chromium
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if ! command -v go >/dev/null 2>&1; then
	echo "deps: Go is not installed or not on PATH. Install Go 1.26 from go.dev/dl into /usr/local/go and add /usr/local/go/bin to PATH." >&2
	exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "deps: installing missing packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: these packages are missing and you are not root, and sudo is not installed:" >&2
		echo "  apt-get install ${missing[*]}" >&2
		echo "Run that as root, then try again." >&2
		exit 1
	fi
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
