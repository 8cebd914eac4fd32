#!/usr/bin/env bash
# The main job: a local KMS, a key, a token from `kmsjwt mint`, a login with
# pamtester, and a forged token refused. Nothing is written under /etc.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
kj_start_kms
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "local KMS (moto) on $KJ_ENDPOINT"
KEY=$(kj_create_key)
echo "key: $KEY"
kj_setup_creds
MOD=$(realpath "$O/pam_kmsjwt.so")
mkdir -p "$KJ_TMP/pam.d"
ARGS="key_id=$KEY issuer=https://idp.example audience=web-1 endpoint=$KJ_ENDPOINT credentials_file=$CRED"
printf 'auth required %s %s\naccount required %s\n' "$MOD" "$ARGS" "$MOD" >"$KJ_TMP/pam.d/kmsjwt-demo"
printf 'auth required pam_deny.so\n' >"$KJ_TMP/pam.d/other"
echo "pam.d line: auth required pam_kmsjwt.so $ARGS"
PAMWRAP=$(ls /usr/lib/*/libpam_wrapper.so | head -1)
login() {
	printf '%s\n' "$2" | LD_PRELOAD=$PAMWRAP PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$KJ_TMP/pam.d" \
		pamtester -v kmsjwt-demo "$1" authenticate acct_mgmt
}

say "mint a token for user 'daemon' (kmsjwt mint, KMS Encrypt)"
TOK=$(AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=s3cr3t "$O/kmsjwt" mint --key-id "$KEY" \
	--issuer https://idp.example --audience web-1 --subject daemon --ttl 300 \
	--endpoint "$KJ_ENDPOINT" --payload '{"ticket":"OPS-1234"}')
echo "$TOK"
echo "(${#TOK} bytes)"
"$O/kmsjwt" inspect "$TOK"

say "log in with it (pamtester through libpam, one KMS Decrypt)"
login daemon "$TOK"
rc1=$?

say "a forged token: the same token with sub changed to root"
FORGED=$("$PYTHON" - "$TOK" <<'PY'
import base64, json, sys
h, c, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
claims["sub"] = "root"
print(h + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + s)
PY
)
login root "$FORGED"
rc2=$?
echo "why (the module's log line, via kmsjwt verify):"
echo "$FORGED" | "$O/kmsjwt" verify $ARGS allow_root

echo
if [ "$rc1" -eq 0 ] && [ "$rc2" -ne 0 ]; then
	echo "demo: the real token logged in, the forged one was refused"
else
	echo "demo: FAILED"
	exit 1
fi
