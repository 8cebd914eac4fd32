#!/usr/bin/env bash
# The replay race with the real module, real HTTP and a local KMS: 50
# pamtester processes log in with one token at once (as root through a
# temporary /etc/pam.d file, removed on exit, because pam_wrapper itself
# fails now and then under that much concurrency; else through pam_wrapper); exactly one may succeed, the other 49 are refused as
# replays. Then a replay of the winner and a token without jti are refused.
# (Plain build only: 50 ASan processes at once are too heavy.)
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
MOD=$(realpath "$O/pam_kmsjwt.so")
PAMWRAP=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -1)
if [ -z "$PAMWRAP" ] || ! command -v pamtester >/dev/null; then
	echo "replay-pamtester: pamtester or pam_wrapper missing (make deps)"
	echo "replay-pamtester: 0 passed, 1 failed"
	exit 1
fi
kj_start_kms
T=$KJ_TMP
KEY=$(kj_create_key) || { echo "cannot create a key"; exit 1; }
printf '[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t\n' >"$T/cred"
chmod 600 "$T/cred"
mkdir -m 700 "$T/replay" "$T/out"
mkdir "$T/pam.d"
printf 'auth required %s key_id=%s issuer=idp audience=web-1 endpoint=%s credentials_file=%s replay_cache=%s timeout=20\n' \
	"$MOD" "$KEY" "$KJ_ENDPOINT" "$T/cred" "$T/replay" >"$T/pam.d/kjrace"
SVC=kjrace
if [ "$(id -u)" -eq 0 ]; then
	SVC=kjrace-$$
	cp "$T/pam.d/kjrace" "/etc/pam.d/$SVC"
	trap 'rm -f "/etc/pam.d/$SVC"; kj_stop_kms' EXIT
fi
mint() {
	AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=s3cr3t "$O/kmsjwt" mint --key-id "$KEY" --issuer idp \
		--audience web-1 --subject daemon --endpoint "$KJ_ENDPOINT" --ttl 300 "$@"
}
pt() { # pt OUT TOKEN
	if [ "$SVC" != kjrace ]; then
		printf '%s\n' "$2" | pamtester -v "$SVC" daemon authenticate >"$1" 2>&1
	else
		printf '%s\n' "$2" | ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=$KJ_PRELOAD$PAMWRAP PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$T/pam.d" pamtester -v kjrace daemon authenticate >"$1" 2>&1
	fi
}

TOK=$(mint)
pids=
for i in $(seq 1 50); do
	pt "$T/out/$i" "$TOK" &
	pids="$pids $!"
done
wait $pids # not a bare wait: the KMS server is a child too
won=$(grep -l "successfully authenticated" "$T"/out/* | wc -l)
lost=$(grep -l "Authentication failure" "$T"/out/* | wc -l)
if [ "$won" -eq 1 ] && [ "$lost" -eq 49 ]; then
	kj_ok "50 parallel pamtester logins with one token: $won succeeded, $lost refused"
else
	kj_bad "50 parallel pamtester logins with one token: $won succeeded, $lost refused (want 1 and 49)"
	tail -n 3 "$T"/out/* | head -40
fi
n=$(ls "$T/replay" | wc -l)
[ "$n" -eq 1 ] && kj_ok "one replay-cache entry" || kj_bad "$n replay-cache entries"
pt "$T/again" "$TOK"; kj_expect "replay of the winner refused" 1 "Authentication failure" "$T/again" $?
NOJTI=$(mint --no-jti)
pt "$T/nojti" "$NOJTI"; kj_expect "token without jti refused" 1 "Authentication failure" "$T/nojti" $?
echo "replay-pamtester: $KJ_PASS passed, $KJ_FAIL failed"
[ "$KJ_FAIL" -eq 0 ]
