#!/usr/bin/env bash
# Build the Debian packages: copy the sources and packaging/debian into
# OUTDIR/pam-kmsjwt-VERSION, dpkg-buildpackage -us -uc, lintian (fails on
# errors). With --check (root): install the .debs, log in through pamtester
# with the installed module and CLI, render the installed manuals, purge.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:?usage: build-deb.sh OUTDIR [--check]}
CHECK=${2:-}
steps=0
step() { steps=$((steps + 1)); echo "ok - $*"; }
trap 'rc=$?; [ $rc -eq 0 ] || echo "deb: $steps passed, 1 failed"; exit $rc' EXIT
need="dpkg-dev debhelper lintian fakeroot"
missing=
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then echo "build-deb: missing:$missing (apt-get install$missing)"; exit 1; fi
	echo "build-deb: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
VERSION=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
SRC=$OUT/pam-kmsjwt-$VERSION
rm -rf "$OUT"
mkdir -p "$SRC"
# The sources as they are in this tree (not only what is committed).
cp -a Makefile README.md pam_kmsjwt.c pam_kmsjwt.map kmsjwt.c lib man examples docs tests "$SRC"/
cp -a packaging/debian "$SRC/debian"
t0=$SECONDS
(cd "$SRC" && dpkg-buildpackage -us -uc >../build.log 2>&1) || { tail -40 "$OUT/build.log"; exit 1; }
step "dpkg-buildpackage -us -uc in $((SECONDS - t0)) s"
ls -l "$OUT"/*.deb | sed 's/^/    /'
CHANGES=$(ls "$OUT"/pam-kmsjwt_"$VERSION"_*.changes)
# lintian exits non-zero on errors (its default --fail-on error).
lintian --info "$CHANGES" >"$OUT/lintian.log" 2>&1 || { cat "$OUT/lintian.log"; echo "build-deb: lintian reports errors"; exit 1; }
step "lintian: $(grep -c '^E:' "$OUT/lintian.log") errors, $(grep -c '^W:' "$OUT/lintian.log") warnings, $(grep -c '^I:' "$OUT/lintian.log") info"
grep -v 'running with root privileges' "$OUT/lintian.log" | sed 's/^/    /'
if [ "$CHECK" != --check ]; then
	echo "deb: $steps passed, 0 failed"
	exit 0
fi

# ---- install, log in, purge --------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	echo "deb-check: SKIPPED install test: needs root"
	echo "deb: $steps passed, 0 failed"
	exit 0
fi
# One install test at a time on this machine (lock on this script, so no
# lock file is left behind), and wait for other users of dpkg.
exec 9<"$0"
flock -w 600 9 || { echo "deb-check: another install test holds the lock"; exit 1; }
for p in libpam-kmsjwt kmsjwt; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		echo "deb-check: SKIPPED install test: $p is installed on this machine (it would be replaced)"
		echo "deb: $steps passed, 0 failed"
		exit 0
	fi
done
APT="apt-get -qq -y -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive
# (once purged, apt no longer knows the names and would fail: dpkg -P then)
trap 'rc=$?; dpkg -P libpam-kmsjwt kmsjwt >/dev/null 2>&1 || true; [ $rc -eq 0 ] || echo "deb: $steps passed, 1 failed"; exit $rc' EXIT
$APT install --no-install-recommends "$(realpath "$OUT"/libpam-kmsjwt_"$VERSION"_*.deb)" \
	"$(realpath "$OUT"/kmsjwt_"$VERSION"_*.deb)" >"$OUT/apt.log" 2>&1 || { cat "$OUT/apt.log"; exit 1; }
MOD=$(dpkg -L libpam-kmsjwt | grep '/security/pam_kmsjwt.so$')
step "installed: $MOD, $(command -v kmsjwt), $(command -v kmsjwt-askpass)"
# libpam finds it by name: its module directory is /lib/TRIPLET/security.
TRIPLET=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
[ "/lib/$TRIPLET/security/pam_kmsjwt.so" -ef "$MOD" ] || { echo "deb-check: not in libpam's module directory"; exit 1; }
step "the module is in libpam's module directory /lib/$TRIPLET/security"
for m in pam_kmsjwt kmsjwt kmsjwt-askpass; do
	man -w "$m" >/dev/null && man "$m" 2>&1 | grep -q "NAME" || { echo "deb-check: man $m does not render"; exit 1; }
done
step "installed manuals render: man pam_kmsjwt, kmsjwt, kmsjwt-askpass"
KJ_E2E_NAME=deb-pamtester KJ_MODULE=$MOD KJ_KMSJWT=/usr/bin/kmsjwt bash tests/e2e-pamtester.sh
step "the installed module and CLI log in through pamtester"
$APT purge libpam-kmsjwt kmsjwt >/dev/null
if [ -e "$MOD" ] || [ -e /usr/bin/kmsjwt ]; then echo "deb-check: files left after purge"; exit 1; fi
step "purged: nothing left"
echo "deb: $steps passed, 0 failed"
