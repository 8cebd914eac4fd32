#!/usr/bin/env bash
# `kmsjwt check` against moto: each finding class with its exit code.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

kj_start_kms
KEY=$(kj_create_key) || { echo "cannot create a key"; exit 1; }
T=$KJ_TMP
CLI=$O/kmsjwt
OUT=$T/out
printf '[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t\n' >"$T/cred"
chmod 600 "$T/cred"
printf 'key_id = %s\nissuer = idp\naudience = web-1\nendpoint = %s\ncredentials_file = %s\n' \
	"$KEY" "$KJ_ENDPOINT" "$T/cred" >"$T/conf"
chmod 600 "$T/conf"
mkdir -m 700 "$T/replay"
mkdir "$T/pam.d"
printf '# test service\naccount required pam_permit.so\nauth [success=done authinfo_unavail=ignore default=die] /lib/security/pam_kmsjwt.so config=%s [replay_cache=%s]\n' \
	"$T/conf" "$T/replay" >"$T/pam.d/kjsvc"
printf 'auth required pam_unix.so\n' >"$T/pam.d/other-svc"

run() { "$CLI" check "$@" >"$OUT" 2>&1; }

run --config "$T/conf"; kj_expect "check: good config" 0 "0 errors" "$OUT" $?
kj_expect "check: probe reached KMS (moto ignores DryRun)" 0 "ignored DryRun" "$OUT" 0
kj_expect "check: clock measured" 0 "off KMS's (Date header" "$OUT" 0
kj_expect "check: replay off is a warning with a fix" 0 "fix: install -d -m 700" "$OUT" 0
if grep -q s3cr3t "$OUT"; then kj_bad "check prints the secret key"; else kj_ok "check prints no secret"; fi
run --config "$T/conf" replay_cache="$T/replay"; kj_expect "check: replay cache" 0 "replay cache $T/replay: 0 live entries" "$OUT" $?
run --pam-service kjsvc --pam-dir "$T/pam.d"; kj_expect "check: from the pam.d line" 0 "with 2 arguments" "$OUT" $?
kj_expect "check: pam.d bracketed argument" 0 "replay cache $T/replay" "$OUT" 0
run --pam-service other-svc --pam-dir "$T/pam.d"; kj_expect "check: service without the module" 1 "has no auth line for pam_kmsjwt.so" "$OUT" $?
run --config "$T/conf" colour=blue; kj_expect "check: unknown option" 1 "unknown option 'colour'" "$OUT" $?
chmod 666 "$T/conf"
run --config "$T/conf"; kj_expect "check: writable config" 1 "writable by group or others" "$OUT" $?
chmod 600 "$T/conf"
chmod 777 "$T/replay"
run --config "$T/conf" replay_cache="$T/replay"; kj_expect "check: writable replay cache" 1 "replay_cache: $T/replay is writable by group or others" "$OUT" $?
chmod 700 "$T/replay"
run --config "$T/conf" key_id="${KEY%/*}/00000000-1111-4222-8333-444444444444"; kj_expect "check: missing key" 1 "KMS has no key" "$OUT" $?
run --config "$T/conf" endpoint=http://127.0.0.1:9; kj_expect "check: KMS unreachable" 1 "error   KMS at http://127.0.0.1:9/" "$OUT" $?
run --config "$T/conf" profile=nosuch; kj_expect "check: no credentials" 1 "credentials: " "$OUT" $?
NOW=$(date +%s)
run --config "$T/conf" --now $((NOW + 40)); kj_expect "check: skew over half the leeway" 0 "over half the leeway" "$OUT" $?
run --config "$T/conf" --now $((NOW + 200)); kj_expect "check: skew beyond leeway" 1 "more than leeway" "$OUT" $?
run --config "$T/conf" --now $((NOW - 1000)); kj_expect "check: skew beyond SigV4" 1 "AWS refuses signatures beyond 300 s" "$OUT" $?
run; kj_expect "check: usage" 2 "give --config FILE" "$OUT" $?

echo "check-cli: $KJ_PASS passed, $KJ_FAIL failed"
[ "$KJ_FAIL" -eq 0 ]
