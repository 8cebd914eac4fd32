#!/usr/bin/env bash
# make bench: cost per login, side by side (pam_permit, pam_unix, the module
# in direct and envelope modes), one process and a process per login, 1 and
# 8 concurrent. KMS requests are counted at the local KMS. Writes the table
# to $O/bench.md and a chart to docs/bench.svg. Not part of make check.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
N=${N:-400}
kj_start_kms
KEY=$(kj_create_key)
kj_setup_creds
MOD=$(realpath "$O/pam_kmsjwt.so")
D=$KJ_TMP/pam.d
mkdir -p "$D"
AUD=bench-$$-$(date +%s)
ARGS="key_id=$KEY issuer=idp audience=$AUD endpoint=$KJ_ENDPOINT credentials_file=$CRED"
echo "auth required pam_permit.so" >"$D/b-permit"
echo "auth required pam_unix.so" >"$D/b-unix"
echo "auth required $MOD $ARGS" >"$D/b-direct"
echo "auth required $MOD $ARGS cache_ttl=0" >"$D/b-cold"
echo "auth required $MOD $ARGS cache_ttl=600" >"$D/b-warm"
echo "auth required pam_deny.so" >"$D/other"
DTOK=$("$O/kmsjwt" mint --key-id "$KEY" --issuer idp --audience "$AUD" --subject daemon --endpoint "$KJ_ENDPOINT" --ttl 3600)
ETOK=$("$O/kmsjwt" mint --envelope --key-id "$KEY" --issuer idp --audience "$AUD" --subject daemon --endpoint "$KJ_ENDPOINT" --ttl 3600)
"$O/kmsjwt" verify $ARGS <<<"$ETOK" >/dev/null 2>&1   # warm the data-key cache
PAMWRAP=$(ls /usr/lib/*/libpam_wrapper.so | head -1)
# pamtester rows: as root, real /etc/pam.d service files (removed on exit),
# the path sshd and sudo take; otherwise pam_wrapper, which adds its own
# cost and fails under concurrency.
PT_DIR=$D PT_PRE=$PAMWRAP PT_PFX=
if [ "$(id -u)" -eq 0 ]; then
	PT_DIR=- PT_PRE= PT_PFX=kjbench-$$-
	for f in "$D"/b-*; do cp "$f" "/etc/pam.d/$PT_PFX$(basename "$f")"; done
	trap 'rm -f /etc/pam.d/$PT_PFX*; kj_stop_kms' EXIT
fi

# pam_unix needs a real account with a yescrypt hash: a temporary one (root only)
UNIX_USER=
if [ "$(id -u)" -eq 0 ]; then
	UNIX_USER=kjbench$$
	UNIX_PW=bench-$RANDOM-$RANDOM
	useradd -M -s /usr/sbin/nologin "$UNIX_USER" && echo "$UNIX_USER:$UNIX_PW" | chpasswd
	trap 'userdel "$UNIX_USER" 2>/dev/null; rm -f /etc/pam.d/$PT_PFX*; kj_stop_kms' EXIT
	echo "# pam_unix user $UNIX_USER: $(getent shadow "$UNIX_USER" | cut -d: -f2 | cut -c1-4)... hash"
fi

count() { curl -s "$KJ_ENDPOINT/__kj/count" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin).get("Decrypt",0))'; }
OUT=$O/bench.md
{
echo "N=$N logins per row; $(nproc) cores, Linux $(uname -r), $(date -u +%Y-%m-%d); local KMS: moto over plain HTTP on 127.0.0.1"
echo
echo "| configuration | path | concurrent | logins | median ms | p99 ms | CPU ms/login | peak RSS KB | failures | KMS Decrypt per 1000 logins |"
echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$OUT"
row() { # row MODE CONC SERVICE USER TOKEN LABEL
	local before after line
	before=$(count)
	if [ "$1" = pamtester ]; then
		line=$(LD_PRELOAD=$PT_PRE "$O/bench" pamtester "$PT_DIR" "$PT_PFX$3" "$4" "$5" "$N" "$2" "$6")
	else
		line=$("$O/bench" inproc "$D" "$3" "$4" "$5" "$N" "$2" "$6")
	fi
	after=$(count)
	echo "$line $(( (after - before) * 1000 / N )) |" | tee -a "$OUT"
}
cat "$OUT"
for mode in inproc pamtester; do
	for c in 1 8; do
		row $mode $c b-permit daemon x "pam_permit.so (floor)"
		[ -n "$UNIX_USER" ] && row $mode $c b-unix "$UNIX_USER" "$UNIX_PW" "pam_unix.so, yescrypt"
		row $mode $c b-direct daemon "$DTOK" "direct mode"
		row $mode $c b-cold daemon "$ETOK" "envelope, cold cache"
		row $mode $c b-warm daemon "$ETOK" "envelope, warm cache"
	done
done

# The same direct-mode login over HTTPS: a second moto with a self-signed
# certificate for 127.0.0.1, trusted through ca_file=.
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$KJ_TMP/tls.key" -out "$KJ_TMP/tls.crt" >/dev/null 2>&1
	exec {TLS_IN}> >(KJ_KMS_TLS_CERT=$KJ_TMP/tls.crt KJ_KMS_TLS_KEY=$KJ_TMP/tls.key exec "$PYTHON" tests/kms_server.py >"$KJ_TMP/tlsport" 2>/dev/null)
	TLS_PID=$!
	for _ in $(seq 50); do [ -s "$KJ_TMP/tlsport" ] && break; sleep 0.1; done
	TLS_EP=https://127.0.0.1:$(cat "$KJ_TMP/tlsport")
	TKEY=$("$PYTHON" - "$TLS_EP" "$KJ_TMP/tls.crt" <<'PY'
import sys, boto3
kms = boto3.client("kms", region_name="us-east-1", endpoint_url=sys.argv[1], verify=sys.argv[2],
                   aws_access_key_id="AKIDTEST", aws_secret_access_key="s3cr3t")
print(kms.create_key()["KeyMetadata"]["Arn"])
PY
)
	TARGS="key_id=$TKEY issuer=idp audience=$AUD endpoint=$TLS_EP ca_file=$KJ_TMP/tls.crt credentials_file=$CRED"
	echo "auth required $MOD $TARGS" >"$D/b-https"
	[ -n "$PT_PFX" ] && cp "$D/b-https" "/etc/pam.d/${PT_PFX}b-https"
	TTOK=$(AWS_CA_BUNDLE=$KJ_TMP/tls.crt "$PYTHON" tests/mint_boto3.py "$TLS_EP" "$TKEY" idp "$AUD" daemon 3600)
	for mode in inproc pamtester; do
		if [ $mode = pamtester ]; then
			line=$(LD_PRELOAD=$PT_PRE "$O/bench" pamtester "$PT_DIR" "${PT_PFX}b-https" daemon "$TTOK" "$N" 1 "direct mode over HTTPS")
		else
			line=$("$O/bench" inproc "$D" b-https daemon "$TTOK" "$N" 1 "direct mode over HTTPS")
		fi
		echo "$line n/a |" | tee -a "$OUT"
	done
	exec {TLS_IN}>&-
	kill "$TLS_PID" 2>/dev/null
fi

# Where a direct-mode login's time goes: the module's process is idle while
# it waits for KMS, so its CPU is its own work and wall - CPU is the wait.
if command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1; then
	echo
	echo "CPU profile of $N in-process direct-mode logins, by shared object (perf):"
	perf record -q -F 5000 -o "$KJ_TMP/perf.data" "$O/bench" inproc "$D" b-direct daemon "$DTOK" "$N" 1 direct >/dev/null 2>&1
	perf report -i "$KJ_TMP/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -12
fi | tee -a "$OUT"
"$PYTHON" tests/bench_chart.py "$OUT" docs/bench.svg && echo "chart: docs/bench.svg"
