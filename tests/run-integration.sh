#!/usr/bin/env bash
# Tests that need a local KMS: the PAM-level C tests, pamtester through
# pam_wrapper (no file under /etc), the CLI, and tokens minted by boto3.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

kj_start_kms
MOD=$(realpath "$O/pam_kmsjwt.so")
KJ_TEST_ENDPOINT=$KJ_ENDPOINT KJ_TEST_MODULE=$MOD "$O/test_pam"
pam_rc=$?
KJ_TEST_ENDPOINT=$KJ_ENDPOINT KJ_TEST_MODULE=$MOD KJ_TEST_BOTO3_TOKEN_CMD="$PYTHON tests/mint_boto3.py --envelope" \
	"$O/test_envelope" || pam_rc=1

# ---- pamtester and the CLI ------------------------------------------------
KEY=$(kj_create_key) || { echo "cannot create a key"; exit 1; }
OTHER=$(kj_create_key)
kj_setup_creds
mkdir -p "$KJ_TMP/pam.d"
ARGS="key_id=$KEY issuer=https://idp.example audience=web-1 endpoint=$KJ_ENDPOINT credentials_file=$CRED timeout=3"
printf 'auth [success=done authinfo_unavail=ignore default=die] %s %s\nauth requisite pam_deny.so\naccount required %s\n' \
	"$MOD" "$ARGS" "$MOD" >"$KJ_TMP/pam.d/kjtest"
printf 'auth required pam_deny.so\n' >"$KJ_TMP/pam.d/other"
PAMWRAP=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -1)

# pamtester under pam_wrapper reads $KJ_TMP/pam.d/kjtest instead of /etc/pam.d
pt() { # pt USER TOKEN OPS...
	local user=$1 tok=$2
	shift 2
	# pamtester's own allocations are not ours to leak-check
	printf '%s\n' "$tok" | ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=$KJ_PRELOAD$PAMWRAP PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$KJ_TMP/pam.d" \
		pamtester -v kjtest "$user" "$@" >"$KJ_TMP/out" 2>&1
}

TOK=$("$O/kmsjwt" mint --key-id "$KEY" --issuer https://idp.example --audience web-1 --subject daemon \
	--endpoint "$KJ_ENDPOINT" --ttl 300 --payload '{"groups":["ops"]}')
echo "# kmsjwt token: ${#TOK} bytes"
pt daemon "$TOK" authenticate acct_mgmt; kj_expect "pamtester: kmsjwt token logs in" 0 "successfully authenticated" "$KJ_TMP/out" $?

BTOK=$("$PYTHON" tests/mint_boto3.py "$KJ_ENDPOINT" "$KEY" https://idp.example web-1 daemon 300 '{"team":"sre"}')
echo "# boto3 token: ${#BTOK} bytes"
pt daemon "$BTOK" authenticate; kj_expect "pamtester: boto3 token logs in" 0 "successfully authenticated" "$KJ_TMP/out" $?

# forged: claims re-encoded with another sub, sealed part kept
FORGED=$("$PYTHON" - "$TOK" <<'PY'
import base64, json, sys
h, c, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
claims["sub"] = "nobody"
c2 = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(f"{h}.{c2}.{s}")
PY
)
pt nobody "$FORGED" authenticate; kj_expect "pamtester: forged claims refused" 1 "Authentication failure" "$KJ_TMP/out" $?
pt nobody "$TOK" authenticate; kj_expect "pamtester: token for another user refused" 1 "Authentication failure" "$KJ_TMP/out" $?
WRONGKEY=$("$PYTHON" tests/mint_boto3.py "$KJ_ENDPOINT" "$OTHER" https://idp.example web-1 daemon)
pt daemon "$WRONGKEY" authenticate; kj_expect "pamtester: token under another key refused" 1 "Authentication failure" "$KJ_TMP/out" $?
pt daemon "" authenticate; kj_expect "pamtester: empty token refused" 1 "Authentication failure" "$KJ_TMP/out" $?
GHOST=$("$PYTHON" tests/mint_boto3.py "$KJ_ENDPOINT" "$KEY" https://idp.example web-1 kj-no-such-user)
pt kj-no-such-user "$GHOST" authenticate; kj_expect "pamtester: unknown account" 1 "User not known" "$KJ_TMP/out" $?

# envelope: a warm-cache login in a fresh process makes no KMS call and never
# loads libcurl (ld.so reports every library it loads with LD_DEBUG=files)
ETOK=$("$O/kmsjwt" mint --envelope --key-id "$KEY" --issuer https://idp.example --audience web-1 --subject daemon \
	--endpoint "$KJ_ENDPOINT")
pt daemon "$ETOK" authenticate; kj_expect "pamtester: envelope token, cold cache" 0 "successfully authenticated" "$KJ_TMP/out" $?
before=$(curl -s "$KJ_ENDPOINT/__kj/count")
printf '%s\n' "$ETOK" | LD_DEBUG=files LD_PRELOAD=$KJ_PRELOAD$PAMWRAP PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$KJ_TMP/pam.d" \
	ASAN_OPTIONS=detect_leaks=0 pamtester -v kjtest daemon authenticate >"$KJ_TMP/out" 2>&1
rc=$?
after=$(curl -s "$KJ_ENDPOINT/__kj/count")
kj_expect "pamtester: envelope token, warm cache" 0 "successfully authenticated" "$KJ_TMP/out" $rc
if grep -q "file=libcurl" "$KJ_TMP/out"; then kj_bad "warm login loaded libcurl"; else kj_ok "warm login did not load libcurl"; fi
if [ "$before" = "$after" ]; then kj_ok "warm login made no KMS request"; else kj_bad "warm login: KMS counts $before -> $after"; fi
printf '%s\n' "$TOK" | LD_DEBUG=files LD_PRELOAD=$KJ_PRELOAD$PAMWRAP PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$KJ_TMP/pam.d" \
	ASAN_OPTIONS=detect_leaks=0 pamtester -v kjtest daemon authenticate >"$KJ_TMP/out" 2>&1
if grep -q "file=libcurl" "$KJ_TMP/out"; then kj_ok "direct login loads libcurl (the check can fail)"; else kj_bad "LD_DEBUG saw no libcurl load on a KMS call"; fi

# CLI verify: same checks, reason on stderr, exit code per class
echo "$BTOK" | "$O/kmsjwt" verify --user daemon $ARGS >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt verify: boto3 token" 0 "accepted" "$KJ_TMP/out" $?
echo "$FORGED" | "$O/kmsjwt" verify $ARGS >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt verify: forged" 1 "InvalidCiphertextException" "$KJ_TMP/out" $?
echo "$TOK" | "$O/kmsjwt" verify $ARGS audience=db-1 >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt verify: misaddressed" 1 "is not this host's" "$KJ_TMP/out" $?
echo "$TOK" | "$O/kmsjwt" verify $ARGS bogus=1 >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt verify: bad option" 2 "unknown option 'bogus'" "$KJ_TMP/out" $?
echo "$TOK" | "$O/kmsjwt" verify $ARGS endpoint=http://127.0.0.1:9 >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt verify: KMS down" 3 "KMS request failed" "$KJ_TMP/out" $?
"$O/kmsjwt" inspect "$TOK" >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt inspect" 0 '"sub": "daemon"' "$KJ_TMP/out" $?
if grep -q groups "$KJ_TMP/out"; then kj_bad "inspect shows the sealed payload"; else kj_ok "inspect does not show the payload"; fi

# envelope with the local KMS stopped: the warm data key still logs in,
# a direct-mode token cannot
kj_stop_kms_only() { exec {KJ_KMS_IN}>&-; KJ_KMS_IN=; kill "$KJ_KMS_PID" 2>/dev/null; wait "$KJ_KMS_PID" 2>/dev/null; KJ_KMS_PID=; }
kj_stop_kms_only
pt daemon "$ETOK" authenticate; kj_expect "pamtester: envelope, warm cache, KMS stopped" 0 "successfully authenticated" "$KJ_TMP/out" $?
echo "$TOK" | "$O/kmsjwt" verify $ARGS >"$KJ_TMP/out" 2>&1; kj_expect "kmsjwt verify: direct, KMS stopped" 3 "KMS request failed" "$KJ_TMP/out" $?

echo "integration: $KJ_PASS passed, $KJ_FAIL failed"
[ "$pam_rc" -eq 0 ] && [ "$KJ_FAIL" -eq 0 ]
