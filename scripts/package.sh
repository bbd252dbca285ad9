#!/usr/bin/env bash
# Builds every package this Linux machine can build into dist/ (see
# docs/packaging.md):
#   dist/dienstweg_VERSION_amd64.deb        Debian 12 package
#   dist/windows/dienstweg.exe              Windows CLI (console subsystem), signed
#   dist/windows/dienstwegw.exe             Windows agent and helper (GUI subsystem), signed
#   dist/windows/dienstweg-ui.exe           Windows windows (GUI subsystem), signed
#   dist/dienstweg-VERSION-x64.msi          Windows installer, signed
#   dist/signing/                           the test code-signing CA and certificate
# Run by `make package` after `make build` (which makes bin/dienstweg and
# bin/dienstweg-ui).
#
# Signing: without DIENSTWEG_SIGN_PKCS12 it makes a throw-away test CA and
# code-signing certificate in dist/signing/ (never committed: dist/ is
# ignored). For a release, set DIENSTWEG_SIGN_PKCS12=cert.p12,
# DIENSTWEG_SIGN_PASSFILE=file with its password and, optionally,
# DIENSTWEG_SIGN_TIMESTAMP=RFC 3161 URL.
#
# wintun.dll: the MSI carries WireGuard LLC's signed wintun.dll, which no
# package registry ships and this build never downloads. Set
# DIENSTWEG_WINTUN_ZIP=path/to/wintun-0.14.1.zip (from wintun.net; checked
# against the SHA-256 below), or DIENSTWEG_WINTUN_ZIP=none for a test MSI
# without it, whose system tunnel cannot start. Unset is an error.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(cat VERSION)
ARCH=amd64
DIST=dist
WORK=$DIST/build
MODULE=github.com/dienstweg/dienstweg
LDFLAGS="-X $MODULE/internal/version.Version=$VERSION"
HELPER_UNIT_SRC=packaging/systemd/dienstweg-helper.service
# Where `make build` put the Linux binaries.
BIN=${BIN:-bin}
# Reproducible timestamps: the last commit, not the build time.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
umask 022

say() { printf 'package: %s\n' "$*"; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }
step_start=$SECONDS
step() {
	say "$1 ($((SECONDS - step_start)) s so far)"
}

# tool:apt-package. Installs what is missing, like scripts/deps.sh.
tools=(
	dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev strip:binutils
	desktop-file-validate:desktop-file-utils appstreamcli:appstream
	x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 x86_64-w64-mingw32-windres:binutils-mingw-w64-x86-64
	wixl:wixl msibuild:msitools msiinfo:msitools
	osslsigncode:osslsigncode openssl:openssl convert:imagemagick identify:imagemagick
	unzip:unzip sha256sum:coreutils
)
ensure_tools() {
	local missing=() t p
	for tp in "${tools[@]}"; do
		t=${tp%%:*} p=${tp#*:}
		if ! command -v "$t" >/dev/null 2>&1; then
			say "missing $t (apt package $p)"
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "as root, run: apt-get install ${missing[*]}"
		sudo=(sudo)
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

check_version() {
	local toml
	toml=$(sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' FyneApp.toml)
	[ "$toml" = "$VERSION" ] || die "FyneApp.toml says version $toml, VERSION says $VERSION"
	local b
	for b in dienstweg dienstweg-ui; do
		[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run make build (or make package)"
	done
}

# ---------------------------------------------------------------- Debian

# The helper unit is another part of the project; without it the package is
# still useful (userspace tunnel), so build without and say so.
helper_unit=""
if [ -f "$HELPER_UNIT_SRC" ]; then
	helper_unit=dienstweg-helper.service
fi

# Directories systemd makes for the helper (StateDirectory= and friends), so
# postrm purge can remove them. Relative names; DynamicUser puts state under
# /var/lib/private.
helper_dirs() {
	[ -n "$helper_unit" ] || return 0
	local key base d
	# Not ConfigurationDirectory=: /etc holds the administrator's files.
	for key in StateDirectory:/var/lib CacheDirectory:/var/cache LogsDirectory:/var/log; do
		base=${key#*:}
		for d in $(sed -n "s/^[[:space:]]*${key%%:*}[[:space:]]*=[[:space:]]*//p" "$HELPER_UNIT_SRC"); do
			d=${d%%:*} # StateDirectory=name:mode (systemd 254+)
			case "$d" in /* | *..* | "") continue ;; esac
			printf '%s ' "$base/$d"
			if [ "$base" = /var/lib ]; then
				printf '%s ' "/var/lib/private/$d"
			fi
		done
	done
	return 0
}

build_deb() {
	local root=$WORK/deb/root doc
	rm -rf "$WORK/deb"
	mkdir -p "$root/DEBIAN"

	# The agent finds dienstweg-ui beside itself.
	local b got
	for b in dienstweg dienstweg-ui; do
		install -D -m 0755 "$BIN/$b" "$root/usr/bin/$b"
		# As dh_strip does for Debian's own Go packages.
		strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/$b"
		got=$(LC_ALL=en_US.UTF-8 "$root/usr/bin/$b" --version 2>/dev/null)
		[ "$got" = "$VERSION" ] || die "$BIN/$b reports version '$got', want $VERSION: build it with make build"
	done

	install -D -m 0644 packaging/linux/de.dienstweg.client.desktop "$root/usr/share/applications/de.dienstweg.client.desktop"
	install -D -m 0644 packaging/linux/de.dienstweg.client-autostart.desktop "$root/etc/xdg/autostart/de.dienstweg.client.desktop"
	desktop-file-validate "$root/usr/share/applications/de.dienstweg.client.desktop"
	desktop-file-validate "$root/etc/xdg/autostart/de.dienstweg.client.desktop"

	local date
	date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
	mkdir -p "$root/usr/share/metainfo"
	sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$date/g" packaging/linux/de.dienstweg.client.metainfo.xml.in \
		>"$root/usr/share/metainfo/de.dienstweg.client.metainfo.xml"
	appstreamcli validate --no-net --pedantic "$root/usr/share/metainfo/de.dienstweg.client.metainfo.xml"

	local size
	for size in 256 512; do
		[ "$(identify -format '%wx%h' "assets/icons/app-$size.png")" = "${size}x$size" ] ||
			die "assets/icons/app-$size.png is not ${size}x$size"
		install -D -m 0644 "assets/icons/app-$size.png" "$root/usr/share/icons/hicolor/${size}x$size/apps/de.dienstweg.client.png"
	done
	install -D -m 0644 assets/icons/app.svg "$root/usr/share/icons/hicolor/scalable/apps/de.dienstweg.client.svg"

	if [ -n "$helper_unit" ]; then
		# /lib, not /usr/lib: Debian 12 has not moved units yet (DEP 17).
		install -D -m 0644 "$HELPER_UNIT_SRC" "$root/lib/systemd/system/$helper_unit"
	else
		say "WARNING: $HELPER_UNIT_SRC is missing; building the .deb without the helper service"
	fi

	mkdir -p "$root/usr/share/man/man1"
	gzip -9n <packaging/linux/dienstweg.1 >"$root/usr/share/man/man1/dienstweg.1.gz"
	gzip -9n <packaging/linux/dienstweg-ui.1 >"$root/usr/share/man/man1/dienstweg-ui.1.gz"

	doc=$root/usr/share/doc/dienstweg
	install -D -m 0644 packaging/deb/copyright "$doc/copyright"
	# The helper unit's Documentation= points here.
	if [ -f docs/helper.md ]; then
		install -D -m 0644 docs/helper.md "$doc/helper.md"
	fi
	{
		printf 'dienstweg (%s) unstable; urgency=medium\n\n' "$VERSION"
		printf '  * Release %s. The history is in the project'"'"'s git log.\n\n' "$VERSION"
		printf ' -- Dienstweg maintainers <dienstweg@example.org>  %s\n' "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
	} | gzip -9n >"$doc/changelog.gz"
	install -D -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/dienstweg"

	local dirs
	dirs=$(helper_dirs)
	for s in postinst prerm postrm; do
		sed -e "s|@HELPER_UNIT@|$helper_unit|g" -e "s|@HELPER_DIRS@|${dirs% }|g" "packaging/deb/$s" >"$root/DEBIAN/$s"
		chmod 0755 "$root/DEBIAN/$s"
	done
	echo /etc/xdg/autostart/de.dienstweg.client.desktop >"$root/DEBIAN/conffiles"

	# Library dependencies as dpkg-shlibdeps finds them (it wants a
	# debian/control to run in). Only the windows have any: dienstweg is
	# static.
	local shl deps installed
	shl=$WORK/deb/shlibs
	mkdir -p "$shl/debian"
	printf 'Source: dienstweg\n\nPackage: dienstweg\nArchitecture: any\n' >"$shl/debian/control"
	deps=$(cd "$shl" && dpkg-shlibdeps -O -e "$OLDPWD/$root/usr/bin/dienstweg-ui" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
	[ -n "$deps" ] || die "dpkg-shlibdeps found no dependencies for dienstweg-ui"
	installed=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$installed/" \
		-e "s/@DEPENDS@/adduser, $deps/" packaging/deb/control.in >"$root/DEBIAN/control"

	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
	find "$root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0 touch -h -d "@$SOURCE_DATE_EPOCH"

	mkdir -p "$DIST"
	rm -f "$DIST"/dienstweg_*_"$ARCH".deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$DIST/dienstweg_${VERSION}_$ARCH.deb" >/dev/null
	say "built $DIST/dienstweg_${VERSION}_$ARCH.deb (Depends: adduser, $deps)"
}

# ---------------------------------------------------------------- Windows

# Windows decides at start whether a program gets a console: a
# GUI-subsystem (-H windowsgui) program started from a terminal writes
# nowhere and returns at once, so `dienstweg status` would print nothing and
# lose its exit code; a console-subsystem program started at login opens a
# black console window. So ./app is linked twice, dienstwegw.exe for the
# agent and the helper service and dienstweg.exe for the command line; only
# the link differs. Both are pure Go. The windows are dienstweg-ui.exe, the
# only cgo (mingw) build, for Fyne's OpenGL.
build_windows() {
	local out=$DIST/windows
	rm -rf "$out"
	mkdir -p "$out" "$WORK/windows"
	convert assets/icons/app-256.png -define icon:auto-resize=256,64,48,32,16 "$WORK/dienstweg.ico"
	local spec name pkg sub cgo ldflags
	# name:package:subsystem:cgo
	for spec in dienstwegw:app:gui:0 dienstweg:app:console:0 dienstweg-ui:app/ui:gui:1; do
		IFS=: read -r name pkg sub cgo <<<"$spec"
		ldflags="$LDFLAGS -s -w"
		[ "$sub" = gui ] && ldflags="$ldflags -H windowsgui"
		# The icon and version resource: Go links a .syso object found in
		# the package's directory into the program, with or without cgo.
		windows_resource "$name"
		cp "$WORK/windows/$name.syso" "$pkg/$RESOURCE_SYSO"
		env CGO_ENABLED="$cgo" GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
			go build -ldflags "$ldflags" -o "$out/$name.exe" "./$pkg"
		rm -f "$pkg/$RESOURCE_SYSO"
		step "linked $name.exe"
	done
}

# The resource object only ever lives in a package directory during its
# build; the trap removes it when a build fails.
RESOURCE_SYSO=zz_resource_windows_amd64.syso
trap 'rm -f app/$RESOURCE_SYSO app/ui/$RESOURCE_SYSO' EXIT

# A resource object with the icon Explorer shows and the version Windows
# shows under Properties → Details.
windows_resource() {
	local name=$1 v=${VERSION%%[-+]*} desc=Dienstweg
	local maj min pat
	IFS=. read -r maj min pat <<<"$v"
	[ "$name" = dienstweg ] && desc="Dienstweg (command line)"
	[ "$name" = dienstweg-ui ] && desc="Dienstweg (status and setup windows)"
	cat >"$WORK/windows/$name.rc" <<-EOF
		1 ICON "$PWD/$WORK/dienstweg.ico"
		1 VERSIONINFO
		FILEVERSION ${maj:-0},${min:-0},${pat:-0},0
		PRODUCTVERSION ${maj:-0},${min:-0},${pat:-0},0
		BEGIN
		  BLOCK "StringFileInfo"
		  BEGIN
		    BLOCK "040904b0"
		    BEGIN
		      VALUE "CompanyName", "Dienstweg"
		      VALUE "FileDescription", "$desc"
		      VALUE "FileVersion", "$VERSION"
		      VALUE "InternalName", "$name"
		      VALUE "OriginalFilename", "$name.exe"
		      VALUE "ProductName", "Dienstweg"
		      VALUE "ProductVersion", "$VERSION"
		    END
		  END
		  BLOCK "VarFileInfo"
		  BEGIN
		    VALUE "Translation", 0x409, 1200
		  END
		END
	EOF
	x86_64-w64-mingw32-windres -O coff "$WORK/windows/$name.rc" -o "$WORK/windows/$name.syso"
}

# The signing identity: a release certificate from the environment, or a
# test CA and code-signing certificate made here (reused while valid).
SIGN_ARGS=()
VERIFY_ARGS=()
signing_identity() {
	if [ -n "${DIENSTWEG_SIGN_PKCS12:-}" ]; then
		SIGN_ARGS=(-pkcs12 "$DIENSTWEG_SIGN_PKCS12")
		[ -n "${DIENSTWEG_SIGN_PASSFILE:-}" ] && SIGN_ARGS+=(-readpass "$DIENSTWEG_SIGN_PASSFILE")
		[ -n "${DIENSTWEG_SIGN_TIMESTAMP:-}" ] && SIGN_ARGS+=(-ts "$DIENSTWEG_SIGN_TIMESTAMP")
		return
	fi
	local d=$DIST/signing
	mkdir -p "$d"
	if ! openssl x509 -checkend 86400 -noout -in "$d/test-codesign.pem" >/dev/null 2>&1; then
		say "making a test code-signing certificate in $d (test only, never commit it)"
		openssl req -x509 -newkey rsa:3072 -nodes -keyout "$d/test-ca.key" -out "$d/test-ca.pem" -days 30 \
			-subj "/CN=Dienstweg Test CA/O=Dienstweg (test only)" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -newkey rsa:3072 -nodes -keyout "$d/test-codesign.key" -out "$d/test-codesign.csr" \
			-subj "/CN=Dienstweg Test Code Signing/O=Dienstweg (test only)" 2>/dev/null
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$d/codesign.ext"
		openssl x509 -req -in "$d/test-codesign.csr" -CA "$d/test-ca.pem" -CAkey "$d/test-ca.key" -CAcreateserial \
			-days 30 -extfile "$d/codesign.ext" -out "$d/test-codesign.pem" 2>/dev/null
		chmod 0600 "$d"/*.key
		rm -f "$d/test-codesign.csr" "$d/codesign.ext"
	fi
	# The chain goes into the signature, so Windows finds the CA.
	cat "$d/test-codesign.pem" "$d/test-ca.pem" >"$d/test-codesign-chain.pem"
	SIGN_ARGS=(-certs "$d/test-codesign-chain.pem" -key "$d/test-codesign.key")
	VERIFY_ARGS=(-CAfile "$d/test-ca.pem")
}

sign() {
	local f=$1 desc=$2
	osslsigncode sign "${SIGN_ARGS[@]}" -h sha256 -n "$desc" -i https://github.com/dienstweg/dienstweg \
		-in "$f" -out "$f.signed" >/dev/null
	mv "$f.signed" "$f"
	osslsigncode verify "${VERIFY_ARGS[@]}" -in "$f" >"$f.verify.log" 2>&1 ||
		{ cat "$f.verify.log" >&2; die "osslsigncode verify failed for $f"; }
	rm -f "$f.verify.log"
	say "signed and verified $f"
}

# The wintun release the MSI carries: wintun.net's zip and its SHA-256
# (the same pin as .github/workflows/windows.yml).
WINTUN_VERSION=0.14.1
# DIENSTWEG_WINTUN_SHA256 moves to a newer release before this pin does.
WINTUN_SHA256=${DIENSTWEG_WINTUN_SHA256:-07c256185d6ee3652e09fa55c0b673e2624b565e02c4b9091c79ca7d2f24ef51}

# check_wintun: fails early, before the long build, when the wintun
# input is missing or is not the pinned release.
check_wintun() {
	local zip=${DIENSTWEG_WINTUN_ZIP:-} sum
	case $zip in
	"")
		die "wintun.dll is missing. The MSI must carry it and this build does not download it.
  Get wintun-$WINTUN_VERSION.zip from https://www.wintun.net/ (SHA-256 $WINTUN_SHA256)
  and set DIENSTWEG_WINTUN_ZIP=/path/to/wintun-$WINTUN_VERSION.zip,
  or set DIENSTWEG_WINTUN_ZIP=none for a test MSI without the system tunnel."
		;;
	none)
		printf 'package: WARNING: DIENSTWEG_WINTUN_ZIP=none: the MSI will have no wintun.dll; a test build, its system tunnel cannot start\n' >&2
		return
		;;
	esac
	[ -f "$zip" ] || die "DIENSTWEG_WINTUN_ZIP=$zip: no such file"
	sum=$(sha256sum "$zip" | cut -d' ' -f1)
	[ "$sum" = "$WINTUN_SHA256" ] ||
		die "DIENSTWEG_WINTUN_ZIP=$zip has SHA-256 $sum, not that of wintun-$WINTUN_VERSION.zip ($WINTUN_SHA256)"
}

# stage_wintun DIR: puts wintun.dll and its licence into DIR and prints
# yes, or prints no for DIENSTWEG_WINTUN_ZIP=none (check_wintun ran).
stage_wintun() {
	local dir=$1 zip=$DIENSTWEG_WINTUN_ZIP
	if [ "$zip" = none ]; then
		printf 'package: WARNING: the MSI has no wintun.dll (DIENSTWEG_WINTUN_ZIP=none)\n' >&2
		echo no
		return
	fi
	unzip -p "$zip" wintun/bin/amd64/wintun.dll >"$dir/wintun.dll" || die "$zip lacks wintun/bin/amd64/wintun.dll"
	unzip -p "$zip" wintun/LICENSE.txt >"$dir/wintun-LICENSE.txt" || die "$zip lacks wintun/LICENSE.txt"
	echo yes
}

build_msi() {
	local st=$WORK/msi msi=$DIST/dienstweg-$VERSION-x64.msi wintun
	rm -rf "$st"
	mkdir -p "$st"
	# wixl resolves sources relative to the working directory and rejects
	# absolute paths, so everything is gathered in one staging directory.
	cp "$DIST/windows/dienstweg.exe" "$DIST/windows/dienstwegw.exe" "$DIST/windows/dienstweg-ui.exe" "$WORK/dienstweg.ico" \
		packaging/windows/dienstweg.wxs packaging/windows/install-profile.ps1 "$st/"
	wintun=$(stage_wintun "$st")
	(cd "$st" && wixl -a x64 -D Version="$VERSION" -D BinDir=. -D SrcDir=. -D Wintun="$wintun" -o dienstweg.msi dienstweg.wxs)
	if [ "$wintun" = yes ]; then
		msiinfo export "$st/dienstweg.msi" File | grep -q $'^wintun.dll\tWintunDll\t' || die "wintun.dll did not make it into the MSI"
	fi
	# wixl writes SecureCustomProperties itself (for MajorUpgrade) and has no
	# Secure attribute: add the profile properties so an elevated install
	# passes them on.
	local secure
	secure=$(msiinfo export "$st/dienstweg.msi" Property | sed -n 's/^SecureCustomProperties\t//p' | tr -d '\r')
	msibuild "$st/dienstweg.msi" -q "UPDATE Property SET Value='PROFILE;PROFILEFILE${secure:+;$secure}' WHERE Property='SecureCustomProperties'"
	msiinfo export "$st/dienstweg.msi" Property | grep -q $'^SecureCustomProperties\tPROFILE;PROFILEFILE' ||
		die "could not mark PROFILE and PROFILEFILE secure in the MSI"
	rm -f "$DIST"/dienstweg-*-x64.msi
	mv "$st/dienstweg.msi" "$msi"
	sign "$msi" "Dienstweg $VERSION"
}

# `package.sh deb` or `package.sh windows` builds one half, for quicker
# rounds while working on it; no argument builds both.
main() {
	local what=${1:-all}
	case "$what" in all | deb | windows) ;; *) die "usage: package.sh [deb|windows]" ;; esac
	ensure_tools
	check_version
	[ "$what" = deb ] || check_wintun
	mkdir -p "$WORK"
	if [ "$what" != windows ]; then
		build_deb
		step "Debian package done"
	fi
	if [ "$what" != deb ]; then
		build_windows
		step "Windows build done"
		signing_identity
		sign "$DIST/windows/dienstwegw.exe" "Dienstweg"
		sign "$DIST/windows/dienstweg.exe" "Dienstweg (command line)"
		sign "$DIST/windows/dienstweg-ui.exe" "Dienstweg (status and setup windows)"
		build_msi
		step "MSI done"
	fi
	say "done in $((SECONDS - step_start)) s:"
	(cd "$DIST" && shopt -s nullglob && ls -l ./*.deb ./*.msi windows/*.exe | awk '{printf "  %s  %s\n", $5, $9}')
}

main "$@"
