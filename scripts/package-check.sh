#!/usr/bin/env bash
# CI check of what `make package` built into dist/ (docs/packaging.md). As
# root, on Debian 12:
#   1. lintian: no errors on the .deb;
#   2. installs the .deb with apt, then checks the binaries, desktop file,
#      autostart entry, metainfo, icons, group, /etc/dienstweg and, when
#      packaged, the helper unit (systemd-analyze verify, enabled);
#   3. removes and purges it and compares the file system's file list with
#      the one from before the install: nothing may be left behind;
#   2b. home office through the installed package (issue 16): in a network
#      namespace of its own, the helper as its unit's ExecStart, the demo
#      portal, the agent as the autostart entry's Exec, the wizard and
#      `dienstweg up --code`; then curl reaches the demo intranet by name
#      with no proxy, through the TUN device and the office DNS
#      (scripts/package-e2e.sh, internal/installtest);
#   4. once more with an administrator's profile.json in /etc/dienstweg:
#      purge must keep it;
#   5. osslsigncode verify of the Windows .exe files and the .msi, and the
#      .msi's service, autostart, shortcut and profile entries.
# Changes the system it runs on (installs and purges the package); it
# refuses to run when dienstweg is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'package-check: %s\n' "$*"; }
die() { printf 'package-check: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'package-check: ok: %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || die "run as root: it installs and purges the package"

# tool:apt-package; missing ones are installed (CI) and named.
tools=(
	lintian:lintian systemd-analyze:systemd osslsigncode:osslsigncode
	desktop-file-validate:desktop-file-utils appstreamcli:appstream msiinfo:msitools file:file
	ip:iproute2 curl:curl
)
missing=()
for tp in "${tools[@]}"; do
	if ! command -v "${tp%%:*}" >/dev/null 2>&1; then
		say "missing ${tp%%:*} (apt package ${tp#*:})"
		missing+=("${tp#*:}")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

VERSION=$(cat VERSION)
shopt -s nullglob
debs=(dist/dienstweg_"$VERSION"_*.deb)
msis=(dist/dienstweg-"$VERSION"-x64.msi)
exes=(dist/windows/dienstweg.exe dist/windows/dienstwegw.exe dist/windows/dienstweg-ui.exe)
shopt -u nullglob
[ ${#debs[@]} -eq 1 ] || die "want one dist/dienstweg_${VERSION}_*.deb, found ${#debs[@]}: run make package"
deb=${debs[0]}
start=$SECONDS

# ---------------------------------------------------------------- lintian
# Errors fail; warnings are shown. Root is fine for a throw-away CI box.
lintian_out=$(lintian --allow-root --fail-on error "$deb" 2>&1) || {
	printf '%s\n' "$lintian_out" >&2
	die "lintian reports errors on $deb"
}
[ -n "$lintian_out" ] && printf '%s\n' "$lintian_out"
ok "lintian: no errors on $deb"

if dpkg-query -W -f='${Status}' dienstweg 2>/dev/null | grep -qv "not-installed"; then
	die "dienstweg is already installed (or its configuration is left): purge it first (apt-get purge dienstweg)"
fi

# ------------------------------------------------------- file list snapshot
# Everything a package can touch, without what changes by itself or with
# every apt run (caches, logs, dpkg's and apt's own databases) and without
# home directories and the checkout.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp \
		-o -path /var/cache -o -path /var/log -o -path /var/lib/dpkg -o -path /var/lib/apt \
		-o -path /root -o -path /home -o -path "$PWD" \) -prune -o -print 2>/dev/null |
		# Backups adduser's tools write beside /etc/group and /etc/gshadow,
		# and the caches the icon and desktop-file triggers rebuild.
		grep -Ev '^/etc/(group|gshadow|passwd|shadow|subgid|subuid)-$|^/usr/share/icons/hicolor/icon-theme\.cache$|^/usr/share/applications/mimeinfo\.cache$' |
		LC_ALL=C sort
}

# The package's dependencies first, so the comparison sees only what the
# package itself adds (apt would leave the libraries behind on purge).
deps=$(dpkg-deb -f "$deb" Depends)
export DEBIAN_FRONTEND=noninteractive
if ! apt-get satisfy -y -qq --no-install-recommends "$deps" >/dev/null 2>&1; then
	apt-get update -qq
	apt-get satisfy -y -qq --no-install-recommends "$deps" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
snapshot >"$work/before"
say "file list before install: $(wc -l <"$work/before") entries"

# ---------------------------------------------------------------- install
apt-get install -y -qq --no-install-recommends "./$deb" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; die "apt-get install ./$deb failed"; }
dpkg-query -W -f='${Status}' dienstweg | grep -q "install ok installed" || die "dienstweg is not installed after apt-get install"
ok "installed $deb with apt"

for b in dienstweg dienstweg-ui; do
	got=$(LC_ALL=en_US.UTF-8 "$b" --version 2>/dev/null) || die "$b --version failed"
	[ "$got" = "$VERSION" ] || die "$b --version says $got, want $VERSION"
	ok "/usr/bin/$b --version is $VERSION"
done
# The agent, helper and command line load no shared library (no GL, no X).
file -L /usr/bin/dienstweg | grep -q "statically linked" ||
	die "/usr/bin/dienstweg is not statically linked: $(file -L /usr/bin/dienstweg)"
ok "/usr/bin/dienstweg is statically linked"

desktop=/usr/share/applications/de.dienstweg.client.desktop
autostart=/etc/xdg/autostart/de.dienstweg.client.desktop
for f in "$desktop" "$autostart"; do
	[ -f "$f" ] || die "$f is missing"
	desktop-file-validate "$f" || die "$f does not validate"
done
grep -qx 'Exec=dienstweg' "$autostart" || die "$autostart does not start the agent (Exec=dienstweg)"
grep -qx 'Icon=de.dienstweg.client' "$desktop" || die "$desktop names another icon"
ok "desktop file and XDG autostart entry in place and valid"

appstreamcli validate --no-net /usr/share/metainfo/de.dienstweg.client.metainfo.xml >/dev/null ||
	die "installed metainfo does not validate"
for icon in 256x256/apps/de.dienstweg.client.png 512x512/apps/de.dienstweg.client.png scalable/apps/de.dienstweg.client.svg; do
	[ -f "/usr/share/icons/hicolor/$icon" ] || die "icon $icon is missing"
done
ok "metainfo valid, hicolor icons 256, 512 and scalable in place"

getent group dienstweg >/dev/null || die "postinst did not create the group dienstweg"
[ -d /etc/dienstweg ] || die "postinst did not create /etc/dienstweg"
ok "group dienstweg and /etc/dienstweg exist"

unit=/lib/systemd/system/dienstweg-helper.service
systemd_runs=false
[ -d /run/systemd/system ] && systemd_runs=true
if [ -f "$unit" ]; then
	systemd-analyze verify "$unit" || die "systemd-analyze verify $unit failed"
	ok "systemd-analyze verify $unit"
	[ -L /etc/systemd/system/multi-user.target.wants/dienstweg-helper.service ] ||
		die "postinst did not enable dienstweg-helper.service"
	ok "dienstweg-helper.service enabled"
	if $systemd_runs; then
		systemctl is-active --quiet dienstweg-helper.service ||
			die "systemd runs but dienstweg-helper.service is not active: $(systemctl status dienstweg-helper.service 2>&1 | tail -5)"
		ok "dienstweg-helper.service is running"
	else
		say "systemd is not running here (container?): start and stop are not exercised"
	fi
else
	say "WARNING: the package has no helper unit ($unit); it was built without packaging/systemd/dienstweg-helper.service"
fi

# ------------------------------------- home office through the system tunnel
if [ -f "$unit" ]; then
	# A running unit would own the socket the check's helper listens on.
	$systemd_runs && systemctl stop dienstweg-helper.service
	bash scripts/package-e2e.sh || die "the installed package does not reach the demo intranet through the system tunnel"
	$systemd_runs && systemctl start dienstweg-helper.service
	ok "installed helper and autostarted agent reach the demo intranet by name through the system tunnel, with no proxy"
fi

# ------------------------------------------------------- remove and purge
apt-get remove -y -qq dienstweg >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; die "apt-get remove failed"; }
for b in dienstweg dienstweg-ui; do
	[ ! -e "/usr/bin/$b" ] || die "/usr/bin/$b is still there after remove"
done
if [ -f "$unit.dpkg-new" ] || [ -f "$unit" ]; then die "$unit is still there after remove"; fi
if $systemd_runs && systemctl is-active --quiet dienstweg-helper.service; then
	die "dienstweg-helper.service still runs after remove (prerm should stop it)"
fi
ok "removed: binaries and unit gone$($systemd_runs && echo ', helper stopped')"

apt-get purge -y -qq dienstweg >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; die "apt-get purge failed"; }
if dpkg-query -W -f='${Status}' dienstweg 2>/dev/null | grep -qv "not-installed"; then
	die "dienstweg still known to dpkg after purge: $(dpkg-query -W -f='${Status}' dienstweg)"
fi
ok "purged"

snapshot >"$work/after"
LC_ALL=C comm -13 "$work/before" "$work/after" >"$work/left"
LC_ALL=C comm -23 "$work/before" "$work/after" >"$work/lost"
if [ -s "$work/left" ] || [ -s "$work/lost" ]; then
	[ -s "$work/left" ] && { say "left behind after purge:"; sed 's/^/  + /' "$work/left"; }
	[ -s "$work/lost" ] && { say "gone after purge that existed before install:"; sed 's/^/  - /' "$work/lost"; }
	die "the file list after purge differs from the one before install"
fi
ok "file list after purge equals the one before install ($(wc -l <"$work/after") entries)"

# --------------------------------------- purge keeps the administrator's file
apt-get install -y -qq --no-install-recommends "./$deb" >"$work/install2.log" 2>&1 ||
	{ cat "$work/install2.log" >&2; die "second install failed"; }
printf '{"organisation":"check"}\n' >/etc/dienstweg/profile.json
apt-get purge -y -qq dienstweg >"$work/purge2.log" 2>&1 || { cat "$work/purge2.log" >&2; die "second purge failed"; }
[ -f /etc/dienstweg/profile.json ] || die "purge deleted the administrator's /etc/dienstweg/profile.json"
grep -q "keeping /etc/dienstweg" "$work/purge2.log" || die "purge kept /etc/dienstweg without saying so"
rm -rf /etc/dienstweg
ok "purge keeps an administrator's /etc/dienstweg/profile.json and says so"

# ---------------------------------------------------------------- Windows
verify=()
[ -f dist/signing/test-ca.pem ] && verify=(-CAfile dist/signing/test-ca.pem)
[ ${#msis[@]} -eq 1 ] || die "want one dist/dienstweg-$VERSION-x64.msi, found ${#msis[@]}: run make package"
for f in "${exes[@]}" "${msis[0]}"; do
	[ -f "$f" ] || die "$f is missing: run make package"
	osslsigncode verify "${verify[@]}" -in "$f" >"$work/verify.log" 2>&1 ||
		{ cat "$work/verify.log" >&2; die "osslsigncode verify failed for $f"; }
	ok "osslsigncode verify $f"
done

msi=${msis[0]}
msi_has() { # table, pattern, what
	msiinfo export "$msi" "$1" | tr -d '\r' | grep -qE "$2" || die "the MSI lacks $3 (table $1)"
}
msi_has ServiceInstall $'^HelperService\tDienstwegHelper\t.*\thelper\tAgentExe\t' "the helper service (dienstwegw.exe helper)"
msi_has Registry $'\tSOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\tDienstweg\t"\\[INSTALLDIR\\]dienstwegw.exe"' "the HKLM Run autostart"
msi_has Shortcut $'^DienstwegShortcut\tProgramMenuFolder\t' "the start-menu shortcut"
msi_has File $'^dienstweg_ui.exe\tUiExe\t[^\t]*dienstweg-ui.exe\t' "dienstweg-ui.exe beside the agent"
msi_has Property $'^ALLUSERS\t1$' "a per-machine install (ALLUSERS=1)"
msi_has Property $'^SecureCustomProperties\tPROFILE;PROFILEFILE' "PROFILE and PROFILEFILE as secure properties"
msi_has CustomAction $'^InstallProfile\t' "the profile custom action"
ok "MSI: per machine, three programs, helper service, HKLM Run autostart, start-menu shortcut, PROFILE/PROFILEFILE"
# wintun.dll is a build input (scripts/package.sh): present unless the
# build said DIENSTWEG_WINTUN_ZIP=none.
if msiinfo export "$msi" File | tr -d '\r' | grep -qE $'^wintun.dll\tWintunDll\t'; then
	msi_has File $'^wintun_LICENSE.txt\tWintunDll\t' "wintun's licence beside wintun.dll"
	ok "MSI: wintun.dll beside the helper, with its licence"
elif [ "${DIENSTWEG_WINTUN_ZIP:-}" = none ]; then
	printf 'package-check: WARNING: the MSI has no wintun.dll (DIENSTWEG_WINTUN_ZIP=none): a test build\n' >&2
else
	die "the MSI lacks wintun.dll (table File); build it with DIENSTWEG_WINTUN_ZIP (docs/windows.md)"
fi

say "all checks passed in $((SECONDS - start)) s"
