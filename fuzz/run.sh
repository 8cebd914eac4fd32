#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time on a scratch copy of its seed
# corpus; prints executions and coverage; fails on any crash, leak or
# sanitizer report (the reproducer is kept in the output directory).
# usage: fuzz/run.sh FUZZ_O SECONDS
set -u
cd "$(dirname "$0")/.."
out=$1
secs=$2
rc=0
for name in token pam; do
	bin=$out/fuzz_$name
	work=$out/work-$name
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	# -close_fd_mask=1: the targets print nothing worth keeping on stdout
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=9000 \
		-print_final_stats=1 -close_fd_mask=1 -artifact_prefix="$work/artifacts/" \
		"$work/corpus" "fuzz/corpus/$name" >"$work/log" 2>&1
	st=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/log" | tail -1)
	units=$(ls "$work/corpus" | wc -l)
	echo "fuzz_$name: ${execs:-?} executions in ${secs} s, ${cov:-cov: ?}, corpus +$units units, exit $st"
	if [ "$st" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$work/log"; then
		echo "fuzz_$name FAILED; log and reproducer in $work:"
		grep -A30 -E 'ERROR|runtime error' "$work/log" | head -60
		rc=1
	fi
done
exit $rc
