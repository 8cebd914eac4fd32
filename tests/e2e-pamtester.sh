#!/usr/bin/env bash
# pamtester (libpam_misc's conversation, one line of stdin per prompt) with
# plain and continued tokens, through pam_wrapper: no root, nothing under
# /etc. KJ_MODULE and KJ_KMSJWT override the module and CLI under test (the
# packaging check points them at the files extracted from the .deb).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/e2e-lib.sh
NAME=${KJ_E2E_NAME:-e2e-pamtester}
MOD=$(realpath "${KJ_MODULE:-$O/pam_kmsjwt.so}")
KMSJWT=$(realpath "${KJ_KMSJWT:-$O/kmsjwt}")
PAMWRAP=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -1)
if [ -z "$PAMWRAP" ] || ! command -v pamtester >/dev/null; then
	echo "$NAME: pamtester or pam_wrapper missing (make deps)"
	echo "$NAME: 0 passed, 1 failed"
	exit 1
fi

kj_start_kms
T=$KJ_TMP
KEY=$(kj_create_key) || { echo "cannot create a key"; exit 1; }
kj_setup_creds
mkdir -p "$T/pam.d"
printf 'auth [success=done authinfo_unavail=ignore default=die] %s %s\nauth requisite pam_deny.so\naccount required %s\n' \
	"$MOD" "key_id=$KEY issuer=https://idp.example audience=web-1 endpoint=$KJ_ENDPOINT credentials_file=$CRED timeout=3" \
	"$MOD" >"$T/pam.d/kjcont"

mint() { # mint SUB [PAYLOAD]
	"$KMSJWT" mint --key-id "$KEY" --issuer https://idp.example --audience web-1 --subject "$1" \
		--endpoint "$KJ_ENDPOINT" --ttl 300 --payload "${2:-"{}"}"
}
# pt USER INPUT-FILE: pamtester authenticate + acct_mgmt, stdin from the file
pt() {
	ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=$KJ_PRELOAD$PAMWRAP PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		pamtester -v kjcont "$1" authenticate acct_mgmt <"$2" >"$T/out" 2>&1
}
# parts TOKEN-FILE: one part a line, as kmsjwt askpass cuts them
parts() {
	local n=1 p
	while p=$("$KMSJWT" askpass --file "$1" "Token (part $n): "); do
		printf '%s\n' "$p"
		[ "${p%\\}" != "$p" ] || break
		n=$((n + 1))
	done
}

mint daemon >"$T/tok"
pt daemon "$T/tok"; kj_expect "pamtester: token logs in ($(($(wc -c <"$T/tok") - 1)) bytes)" 0 "successfully authenticated" "$T/out" $?
mint daemon "$(kj_big_payload)" >"$T/big"
chmod 600 "$T/tok" "$T/big"
parts "$T/big" >"$T/in"
pt daemon "$T/in"
kj_expect "pamtester: 2 KB token ($(($(wc -c <"$T/big") - 1)) bytes) in $(wc -l <"$T/in") parts" 0 "successfully authenticated" "$T/out" $?
if grep -qF "Token (part $(wc -l <"$T/in")): " "$T/out"; then kj_ok "pamtester shows the part prompts"; else kj_bad "no part prompts"; sed 's/^/    /' "$T/out"; fi
pt daemon "$T/big"; kj_expect "pamtester: the same token in one line" 0 "successfully authenticated" "$T/out" $?
head -1 "$T/in" >"$T/in1"
printf '\n' >>"$T/in1"
pt daemon "$T/in1"; kj_expect "pamtester: empty part refused" 1 "Authentication failure" "$T/out" $?
pt nobody "$T/in"; kj_expect "pamtester: continued token for another user refused" 1 "Authentication failure" "$T/out" $?

# kmsjwt askpass: sources, prompts, errors (exit 0 part printed, 1 failed, 2 usage)
ak() { # ak WANT_RC WANT_TEXT NAME ARGS... (env from the caller)
	local rc want=$1 text=$2 name=$3
	shift 3
	"$@" >"$T/out" 2>&1
	rc=$?
	kj_expect "askpass: $name" "$want" "$text" "$T/out" "$rc"
}
TOK=$(head -1 "$T/tok")
ak 0 "$TOK" "--file, \"Token: \" gives a short token whole" "$KMSJWT" askpass --file "$T/tok" "Token: "
ak 0 "$(head -c 500 "$T/big")\\" "--env, part 1 of a long one ends in a backslash" env BIG="$(cat "$T/big")" "$KMSJWT" askpass --env BIG "Token: "
ak 0 "$(sed -n 3p "$T/in")" "ssh's \"(user@host) Token (part 3): \" gives part 3" env KMSJWT_TOKEN_FILE="$T/big" "$KMSJWT" askpass "(alice@web-1) Token (part 3): "
ak 0 "$(head -1 "$T/big")" "a password prompt gives the whole token" env KMSJWT_TOKEN="$(cat "$T/big")" "$KMSJWT" askpass "alice@web-1's password: "
ak 0 "$TOK" "--command" "$KMSJWT" askpass --command "cat '$T/tok'" "Token: "
ln -sf "$KMSJWT" "$T/kmsjwt-askpass"
ak 0 "$TOK" "invoked as kmsjwt-askpass" env KMSJWT_TOKEN_COMMAND="cat '$T/tok'" "$T/kmsjwt-askpass" "Token: "
ak 1 "part 9 asked, the token has 5" "a part past the end" "$KMSJWT" askpass --file "$T/big" "Token (part 9): "
ak 1 "the token command failed" "a failing command" "$KMSJWT" askpass --command "exit 3" "Token: "
ak 1 "empty token" "an empty token" env KMSJWT_TOKEN= "$KMSJWT" askpass "Token: "
chmod 666 "$T/tok"
ak 1 "writable by group or others" "a token file others can write" "$KMSJWT" askpass --file "$T/tok" "Token: "
chmod 600 "$T/tok"
ak 2 "set only one of" "two sources" env KMSJWT_TOKEN=x KMSJWT_TOKEN_FILE="$T/tok" "$KMSJWT" askpass "Token: "
ak 2 "no token source" "no source" env -u KMSJWT_TOKEN -u KMSJWT_TOKEN_FILE -u KMSJWT_TOKEN_COMMAND "$KMSJWT" askpass "Token: "
ak 0 "usage: kmsjwt askpass" "--help" "$KMSJWT" askpass --help

echo "$NAME: $KJ_PASS passed, $KJ_FAIL failed"
[ "$KJ_FAIL" -eq 0 ]
