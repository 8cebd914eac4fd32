#!/usr/bin/env bash
# Build binary RPMs from packaging/pam_kmsjwt.spec with rpmbuild (Debian's
# rpm package). Build dependencies are Debian packages here, so rpmbuild is
# told not to look for them in an RPM database (--nodeps).
set -eu
cd "$(dirname "$0")/.."
OUT=${1:?usage: build-rpm.sh OUTDIR}
if ! command -v rpmbuild >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then echo "build-rpm: rpmbuild missing (apt-get install rpm)"; exit 1; fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends rpm >/dev/null
fi
SPEC=packaging/pam_kmsjwt.spec
V=$(rpmspec -q --srpm --qf '%{version}' "$SPEC" 2>/dev/null)
TOP=$(realpath -m "$OUT")
rm -rf "$TOP"
mkdir -p "$TOP"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
tar --transform "s,^,pam_kmsjwt-$V/," -czf "$TOP/SOURCES/pam_kmsjwt-$V.tar.gz" \
	Makefile README.md pam_kmsjwt.c pam_kmsjwt.map kmsjwt.c lib man examples docs tests
cp "$SPEC" "$TOP/SPECS/"
rpmbuild --define "_topdir $TOP" --nodeps -ba "$TOP/SPECS/pam_kmsjwt.spec" >"$TOP/build.log" 2>&1 ||
	{ tail -30 "$TOP/build.log"; exit 1; }
echo "build-rpm: built:"
find "$TOP/RPMS" "$TOP/SRPMS" -name '*.rpm' | sed 's/^/    /'
for r in "$TOP"/RPMS/*/*.rpm; do
	echo "    $(basename "$r"):"
	rpm -qlp "$r" 2>/dev/null | sed 's/^/        /'
done
