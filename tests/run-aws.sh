#!/usr/bin/env bash
# AWS plumbing tests (tests/test_aws.c): moto (plain), moto with SigV4
# checking on (tests/moto_auth_server.py) and the fault server
# (tests/fault_server.py, plain http and TLS with a throwaway CA), all on
# 127.0.0.1 with free ports, all stopped on exit.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

kj_start_kms
KJ_AWS_PIDS=()
KJ_AWS_FDS=()
kj_aws_stop() {
	local fd pid
	for fd in "${KJ_AWS_FDS[@]}"; do exec {fd}>&-; done
	for pid in "${KJ_AWS_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	kj_stop_kms
}
trap kj_aws_stop EXIT

# kj_start_py NAME OUTFILE SCRIPT ARGS...: start a server that prints one
# JSON line when ready; its stdin is a pipe we hold (EOF stops it).
kj_start_py() {
	local name=$1 out=$2 fifo fd
	shift 2
	fifo=$KJ_TMP/$name.fifo
	mkfifo "$fifo"
	exec {fd}> >(exec "$PYTHON" "$@" >"$fifo" 2>"$KJ_TMP/$name.log")
	KJ_AWS_PIDS+=($!)
	KJ_AWS_FDS+=($fd)
	if ! read -r -t 60 line <"$fifo"; then
		echo "$name did not start:"
		cat "$KJ_TMP/$name.log"
		exit 1
	fi
	printf '%s\n' "$line" >"$out"
}

kj_start_py moto-auth "$KJ_TMP/auth.json" tests/moto_auth_server.py

# A throwaway CA-less self-signed certificate for 127.0.0.1.
CA_ARGS=()
if openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$KJ_TMP/tls.key" -out "$KJ_TMP/tls.crt" >/dev/null 2>&1; then
	CA_ARGS=(--cert "$KJ_TMP/tls.crt" --key "$KJ_TMP/tls.key")
	export KJ_TEST_CA=$KJ_TMP/tls.crt
	mkdir -p "$KJ_TMP/ca.d"
	cp "$KJ_TMP/tls.crt" "$KJ_TMP/ca.d/"
	if openssl rehash "$KJ_TMP/ca.d" >/dev/null 2>&1; then
		export KJ_TEST_CA_PATH=$KJ_TMP/ca.d
	fi
fi
kj_start_py fault "$KJ_TMP/fault.json" tests/fault_server.py --creds "$KJ_TMP/auth.json" "${CA_ARGS[@]}"

KJ_TEST_ENDPOINT=$KJ_ENDPOINT KJ_TEST_MODULE=$(realpath "$O/pam_kmsjwt.so") \
	KJ_TEST_AUTH_INFO=$KJ_TMP/auth.json KJ_TEST_FAULT=$KJ_TMP/fault.json \
	"$O/test_aws"
