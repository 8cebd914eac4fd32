# Shared shell helpers for the integration tests and the demo.
# Starts moto (the local KMS) on 127.0.0.1 with a free port; stopped on exit.

PYTHON=${PYTHON:-python3}
# moto may live in another interpreter than the first python3 on PATH (pyenv
# on the developers' machines, Debian's python3-moto on a fresh one).
if ! "$PYTHON" -c 'import moto.server, boto3' 2>/dev/null && [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
fi
# A sanitizer build of the module can only be loaded by a program that has
# the ASan runtime first: preload it into pamtester.
KJ_PRELOAD=
if [ "${SAN:-}" = 1 ]; then
	KJ_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so):"
fi
O=${O:-build}
KJ_PASS=0
KJ_FAIL=0

kj_start_kms() {
	local fifo
	KJ_TMP=$(mktemp -d /tmp/kjit.XXXXXX)
	fifo=$KJ_TMP/port
	mkfifo "$fifo"
	# stdin is a pipe we hold open: if this shell dies, the server sees EOF.
	exec {KJ_KMS_IN}> >(exec "$PYTHON" tests/kms_server.py >"$fifo" 2>"$KJ_TMP/moto.log")
	KJ_KMS_PID=$!
	read -r -t 30 KJ_KMS_PORT <"$fifo" || { echo "moto did not start:"; cat "$KJ_TMP/moto.log"; exit 1; }
	KJ_ENDPOINT=http://127.0.0.1:$KJ_KMS_PORT
	trap kj_stop_kms EXIT
}

kj_stop_kms() {
	if [ -n "${KJ_KMS_IN:-}" ]; then
		exec {KJ_KMS_IN}>&-
		KJ_KMS_IN=
	fi
	if [ -n "${KJ_KMS_PID:-}" ]; then
		kill "$KJ_KMS_PID" 2>/dev/null
		wait "$KJ_KMS_PID" 2>/dev/null
		KJ_KMS_PID=
	fi
	[ -n "${KJ_TMP:-}" ] && rm -rf "$KJ_TMP"
	return 0
}

# kj_create_key: prints a new key ARN (through the AWS SDK, not our client)
kj_create_key() {
	"$PYTHON" - "$KJ_ENDPOINT" <<'PY'
import sys, boto3
kms = boto3.client("kms", region_name="us-east-1", endpoint_url=sys.argv[1],
                   aws_access_key_id="AKIDTEST", aws_secret_access_key="s3cr3t")
print(kms.create_key(Description="pam_kmsjwt test")["KeyMetadata"]["Arn"])
PY
}

# kj_setup_creds: $CRED, a credentials file for the local KMS (mode 600),
# and the same keys in the environment for kmsjwt mint and boto3
kj_setup_creds() {
	CRED=$KJ_TMP/credentials
	printf '[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t\n' >"$CRED"
	chmod 600 "$CRED"
	export AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=s3cr3t
}

kj_ok() { KJ_PASS=$((KJ_PASS + 1)); echo "ok - $*"; }
kj_bad() { KJ_FAIL=$((KJ_FAIL + 1)); echo "FAIL - $*"; }

# kj_expect NAME WANT_RC WANT_TEXT OUTPUT_FILE RC
kj_expect() {
	if [ "$5" = "$2" ] && grep -qF -- "$3" "$4"; then
		kj_ok "$1"
	else
		kj_bad "$1: exit $5 (want $2), output:"
		sed 's/^/    /' "$4"
	fi
}
