#!/usr/bin/env bash
# The unit, PAM-level and hostile-input tests once more under valgrind: any
# invalid read or write, use of uninitialised memory, or definite or indirect
# leak fails the run. (The ASan+UBSan build runs everything, including the
# replay race and allocation-failure injection, which are too slow here.)
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
if ! command -v valgrind >/dev/null; then
	echo "valgrind: not installed (apt-get install valgrind); valgrind run FAILED"
	exit 1
fi
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
kj_start_kms
rc=0
$VG "$O/test_unit" || rc=1
KJ_TEST_ENDPOINT=$KJ_ENDPOINT KJ_TEST_MODULE=$(realpath "$O/pam_kmsjwt.so") $VG "$O/test_pam" || rc=1
KJ_TEST_NO_TIMING=1 $VG "$O/test_hostile" "$O/pam_kmsjwt_fake.so" || rc=1
if [ "$rc" -eq 0 ]; then
	echo "valgrind: 3 passed, 0 failed"
else
	echo "valgrind: FAILED (see the report above)"
fi
exit $rc
