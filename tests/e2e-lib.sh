# Helpers for the end-to-end tests with real programs (sshd, sudo).
# Sourced after tests/lib.sh. Everything created here is removed by
# kj_e2e_cleanup, which the tests call from their EXIT trap.

# kj_e2e_need_root NAME: skip (exit 0, with the closing line) unless root.
kj_e2e_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1: SKIPPED: needs root (creates a user and files under /etc; CI runs it as root)"
		echo "$1: 0 passed, 0 failed"
		exit 0
	fi
}

# A free TCP port on 127.0.0.1 (the kernel picks it; sshd binds it right after).
# kj_e2e_begin: local KMS, the script's cleanup() on exit, the syslog
# listener, and T, MOD, KEY, CRED for the test.
kj_e2e_begin() {
	kj_start_kms
	trap cleanup EXIT
	kj_syslog_start
	T=$KJ_TMP
	MOD=$(realpath "$O/pam_kmsjwt.so")
	KEY=$(kj_create_key) || { echo "cannot create a key"; exit 1; }
	kj_setup_creds
}

kj_free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The module logs with syslog(3). When no system logger owns /dev/log (as
# in a container), listen there ourselves so each decision line can be
# asserted; with a real logger the reasons are not asserted (KJ_SYSLOG="").
KJ_SYSLOG=
KJ_SYSLOG_PID=
kj_syslog_start() {
	local ready=$KJ_TMP/syslog.ready
	if [ -S /dev/log ] && "$PYTHON" -c 'import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/dev/log")' 2>/dev/null; then
		echo "# /dev/log belongs to the system logger: decision lines not asserted"
		return 0
	fi
	rm -f /dev/log # a stale socket nobody listens on
	KJ_SYSLOG=$KJ_TMP/syslog
	: >"$KJ_SYSLOG"
	"$PYTHON" - "$KJ_SYSLOG" "$ready" <<'PY' &
import os, signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
signal.signal(signal.SIGTERM, lambda *a: (os.unlink("/dev/log"), os._exit(0)))
open(sys.argv[2], "w").close()
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b" ") + b"\n")
PY
	KJ_SYSLOG_PID=$!
	for _ in $(seq 50); do [ -e "$ready" ] && return 0; sleep 0.1; done
	echo "cannot listen on /dev/log"
	KJ_SYSLOG=
}

kj_syslog_stop() {
	if [ -n "$KJ_SYSLOG_PID" ]; then
		kill "$KJ_SYSLOG_PID" 2>/dev/null
		wait "$KJ_SYSLOG_PID" 2>/dev/null
		KJ_SYSLOG_PID=
		[ -S /dev/log ] && rm -f /dev/log
	fi
	return 0
}

# kj_expect_log NAME TEXT: the last line the module logged for this test's
# PAM service ($KJ_SVC) contains TEXT (only when the lines are captured).
kj_expect_log() {
	local last
	[ -n "$KJ_SYSLOG" ] || return 0
	sleep 0.1 # the datagram may still be in flight
	last=$(grep -F "pam_kmsjwt($KJ_SVC:" "$KJ_SYSLOG" | tail -1)
	if [[ "$last" == *"$2"* ]]; then
		kj_ok "$1: logged \"$2\""
	else
		kj_bad "$1: last module log line does not contain \"$2\": ${last:-none}"
	fi
}

# kj_mint_tok SUB [AUD] [PAYLOAD]: a token for SUB from build/kmsjwt.
kj_mint_tok() {
	local payload=${3:-}
	[ -n "$payload" ] || payload='{}'
	"$O/kmsjwt" mint --key-id "$KEY" --issuer https://idp.example --audience "${2:-web-1}" --subject "$1" \
		--endpoint "$KJ_ENDPOINT" --ttl 300 --payload "$payload"
}

# kj_forge TOKEN SUB: the token's claims re-encoded with another sub.
kj_forge() {
	"$PYTHON" - "$1" "$2" <<'PY'
import base64, json, sys
h, c, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
claims["sub"] = sys.argv[2]
c2 = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(f"{h}.{c2}.{s}")
PY
}

# A payload that makes a token of about 2 KB.
kj_big_payload() {
	"$PYTHON" -c 'import json; print(json.dumps({"groups": ["g%04d" % i for i in range(170)]}, separators=(",", ":")))'
}

# A PAM service file under /etc/pam.d for NAME with the module; removed by
# the caller's trap (kj_e2e_cleanup).
kj_write_service() {
	local name=$1 mod=$2 args=$3
	KJ_PAM_SERVICE=/etc/pam.d/$name
	printf '%s\n' \
		"# pam_kmsjwt end-to-end test service; removed when the test ends" \
		"auth [success=done authinfo_unavail=ignore default=die] $mod $args" \
		"auth requisite pam_deny.so" \
		"account required $mod" \
		"session required pam_permit.so" >"$KJ_PAM_SERVICE"
}
