#!/usr/bin/env bash
# The binaries carry the hardening the Makefile asks for: full RELRO
# (GNU_RELRO + BIND_NOW), stack protector, FORTIFY_SOURCE (checked libc
# entry points), a PIE CLI, and a module that exports only pam_sm_*.
# Not for sanitizer builds (they turn FORTIFY off).
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
for f in "$O/pam_kmsjwt.so" "$O/kmsjwt"; do
	readelf -lW "$f" | grep -q GNU_RELRO && ok "$f: GNU_RELRO" || bad "$f: no GNU_RELRO"
	readelf -d "$f" | grep -qE 'FLAGS.*(BIND_NOW|NOW)' && ok "$f: BIND_NOW" || bad "$f: no BIND_NOW"
	nm -D --undefined-only "$f" | grep -q __stack_chk_fail && ok "$f: stack protector" || bad "$f: no stack protector"
	nm -D --undefined-only "$f" | grep -qE '__[a-z_]+_chk@' && ok "$f: FORTIFY_SOURCE" || bad "$f: no FORTIFY_SOURCE"
done
readelf -h "$O/kmsjwt" | grep -q 'DYN (Position-Independent' && ok "kmsjwt: PIE" || bad "kmsjwt: not PIE"
exports=$(nm -D --defined-only "$O/pam_kmsjwt.so" | awk '{print $3}' | sort | tr '\n' ' ')
[ "$exports" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_setcred " ] && ok "module exports only pam_sm_*" ||
	bad "module exports: $exports"
echo "hardening: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
