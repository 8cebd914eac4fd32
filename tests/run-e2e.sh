#!/usr/bin/env bash
# End-to-end and packaging-level tests: continuation (unit + PAM level),
# exported symbols, pamtester with continued tokens, then the real sshd and
# sudo (root only; they skip with a message otherwise).
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
export O SAN=${SAN:-}
pass=0
fail=0
run() {
	local t0=$SECONDS
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $*"; fi
	echo "# $* took $((SECONDS - t0)) s"
}
run env KJ_TEST_MODULE="$O/pam_kmsjwt.so" "$O/test_authtok"
run "$O/test_symbols" "$O/pam_kmsjwt.so"
run bash tests/e2e-pamtester.sh
run bash tests/e2e-sshd.sh
run bash tests/e2e-sudo.sh
# The Debian packages: build, lintian, and as root install, log in through
# pamtester with the installed module, purge. Once, in the plain build.
if [ -n "$SAN" ]; then
	echo "# packaging: checked in the plain build"
elif [ "$(id -u)" -ne 0 ] && ! command -v dh >/dev/null; then
	echo "# packaging: SKIPPED: debhelper and lintian missing and not root"
else
	run bash packaging/build-deb.sh "$O/deb" --check
fi
echo "run-e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
