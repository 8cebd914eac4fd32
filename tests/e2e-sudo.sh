#!/usr/bin/env bash
# End to end with Debian's sudo: a temporary user whose sudoers drop-in
# selects a test PAM service (Defaults:USER pam_service=...), authenticating
# with a token through `sudo -S` (typed parts on stdin) and `sudo -A`
# (`kmsjwt askpass`). As root only; leaves no user, file or process behind.
set -u
cd "$(dirname "$0")/.."
. tests/e2e-lib.sh
NAME=e2e-sudo
kj_e2e_need_root "$NAME"
if [ "${SAN:-}" = 1 ]; then
	# sudo is setuid: the loader ignores LD_PRELOAD, so it cannot load a
	# module built with ASan.
	echo "$NAME: SKIPPED under ASan (the plain build runs it)"
	echo "$NAME: 0 passed, 0 failed"
	exit 0
fi
command -v sudo >/dev/null && command -v visudo >/dev/null ||
	{ echo "$NAME: sudo missing (make deps)"; echo "$NAME: 0 passed, 1 failed"; exit 1; }

. tests/lib.sh
SVC=kjsudo$$
KJ_SVC=$SVC
U=kjsu$$
DROPIN=/etc/sudoers.d/$SVC
cleanup() {
	rm -f "$DROPIN" "/etc/pam.d/$SVC"
	if id "$U" >/dev/null 2>&1; then
		for _ in $(seq 50); do pgrep -u "$U" >/dev/null 2>&1 || break; sleep 0.1; done
		userdel -r "$U" >/dev/null 2>&1 || echo "userdel $U failed"
	fi
	rm -f "/run/sudo/ts/$U" "/var/lib/sudo/lectured/$U"
	kj_syslog_stop
	kj_stop_kms
}

kj_e2e_begin

useradd -m -s /bin/sh "$U" || { echo "useradd $U failed"; exit 1; }
HOMEDIR=$(getent passwd "$U" | cut -d: -f6)
kj_write_service "$SVC" "$MOD" \
	"key_id=$KEY issuer=https://idp.example audience=web-1 endpoint=$KJ_ENDPOINT credentials_file=$CRED timeout=3"
printf '%s\n' \
	"# pam_kmsjwt end-to-end test; removed when the test ends" \
	"Defaults:$U pam_service=$SVC, passwd_tries=1, timestamp_timeout=0, !lecture, !mail_badpass" \
	"$U ALL=(root) /usr/bin/id" >"$T/sudoers"
visudo -cqf "$T/sudoers" || { echo "visudo refused the drop-in"; cat "$T/sudoers"; exit 1; }
install -m 0440 "$T/sudoers" "$DROPIN"
visudo -cq || { echo "sudoers invalid with the drop-in"; exit 1; }

# The user runs the helper (sudo runs askpass as the invoking user).
install -d -m 0755 "$T/bin"
chmod 0711 "$T"
install -m 0755 "$O/kmsjwt" "$T/bin/kmsjwt"
ln -s kmsjwt "$T/bin/kmsjwt-askpass"

# sudo_s NAME-OF-INPUT-FILE: run `sudo -S id -un` as the user.
sudo_s() {
	runuser -u "$U" -- sudo -S -k /usr/bin/id -un <"$1" >"$T/out" 2>"$T/err"
}
# sudo_a TOKEN: run `sudo -A id -un` as the user with kmsjwt-askpass.
sudo_a() {
	printf '%s\n' "$1" >"$HOMEDIR/token"
	chown "$U" "$HOMEDIR/token"
	chmod 600 "$HOMEDIR/token"
	runuser -u "$U" -- env -i PATH=/usr/bin:/bin SUDO_ASKPASS="$T/bin/kmsjwt-askpass" \
		KMSJWT_TOKEN_FILE="$HOMEDIR/token" sudo -A -k /usr/bin/id -un </dev/null >"$T/out" 2>"$T/err"
}
expect_root() { # NAME RC
	if [ "$2" = 0 ] && [ "$(cat "$T/out")" = root ]; then
		kj_ok "$1"
	else
		kj_bad "$1: sudo exit $2, stdout: $(cat "$T/out"), stderr:"
		sed 's/^/    /' "$T/err"
	fi
}
expect_denied() { # NAME RC TEXT-IN-STDERR
	if [ "$2" = 1 ] && [ ! -s "$T/out" ] && grep -qF -- "$3" "$T/err"; then
		kj_ok "$1"
	else
		kj_bad "$1: sudo exit $2 (want 1 and \"$3\"), stdout: $(cat "$T/out"), stderr:"
		sed 's/^/    /' "$T/err"
	fi
}
# parts TOKEN: the token cut as kmsjwt askpass cuts it, one part a line.
parts() {
	local tok=$1 n=1 p
	printf '%s\n' "$tok" >"$T/whole"
	while :; do
		p=$("$O/kmsjwt" askpass --file "$T/whole" "Token (part $n): ") || break
		printf '%s\n' "$p"
		[ "${p%\\}" != "$p" ] || break
		n=$((n + 1))
	done
}

TOK=$(kj_mint_tok "$U")
BIG=$(kj_mint_tok "$U" web-1 "$(kj_big_payload)")
echo "# tokens: ${#TOK} bytes (payload {}), ${#BIG} bytes (big payload)"

printf '%s\n' "$TOK" >"$T/in"
sudo_s "$T/in"; expect_root "sudo -S: token logs in" $?
kj_expect_log "sudo -S" "pam_kmsjwt($SVC:auth): accepted; iss=\"https://idp.example\" sub=\"$U\""
if grep -qF "Token: " "$T/err"; then kj_ok "sudo shows the module's prompt"; else kj_bad "sudo prompt: $(cat "$T/err")"; fi

parts "$BIG" >"$T/in"
NPARTS=$(wc -l <"$T/in")
echo "# 2 KB token as $NPARTS parts of at most $(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/in") bytes"
sudo_s "$T/in"; expect_root "sudo -S: 2 KB token typed in $NPARTS parts" $?
kj_expect_log "sudo -S parts" "user=$U mode=direct parts=$NPARTS"
if grep -qF "Token (part $NPARTS): " "$T/err"; then kj_ok "sudo shows the part prompts"; else kj_bad "part prompts: $(cat "$T/err")"; fi

sudo_a "$TOK"; expect_root "sudo -A: kmsjwt-askpass token logs in" $?
sudo_a "$BIG"; expect_root "sudo -A: kmsjwt-askpass feeds a 2 KB token in parts" $?
kj_expect_log "sudo -A parts" "parts=$NPARTS"

# The trap continuation removes: sudo refuses any answer of 512 bytes or more.
printf '%s\n' "$BIG" >"$T/in"
# (sudo's conversation fails, pam_get_authtok answers PAM_AUTHTOK_ERR)
sudo_s "$T/in"; expect_denied "sudo -S: 2 KB token in one answer refused by sudo" $? "Authentication token manipulation error"
head -c 511 /dev/zero | tr '\0' A >"$T/in"; echo >>"$T/in"
sudo_s "$T/in"; expect_denied "sudo -S: a 511-byte answer reaches the module" $? "incorrect password attempt"
kj_expect_log "sudo: a 511-byte answer reaches the verifier" "refused (malformed token)"
head -c 512 /dev/zero | tr '\0' A >"$T/in"; echo >>"$T/in"
sudo_s "$T/in"; expect_denied "sudo -S: a 512-byte answer is refused" $? "Authentication token manipulation error"
kj_expect_log "sudo: a 512-byte answer never reaches the verifier" "cannot read the token"

kj_mint_tok daemon >"$T/in"
sudo_s "$T/in"; expect_denied "sudo: another user's token refused" $? "incorrect password attempt"
kj_expect_log "sudo other user" "token is for user daemon, login is for $U"
kj_forge "$(kj_mint_tok daemon)" "$U" >"$T/in"
sudo_s "$T/in"; expect_denied "sudo: forged claims refused" $? "incorrect password attempt"
kj_expect_log "sudo forged" "InvalidCiphertextException"
kj_mint_tok "$U" db-1 >"$T/in"
sudo_s "$T/in"; expect_denied "sudo: misaddressed token refused" $? "incorrect password attempt"
kj_expect_log "sudo misaddressed" "audience \"db-1\" is not this host's"
printf '\n' >"$T/in"
sudo_s "$T/in"; expect_denied "sudo: empty answer refused" $? "incorrect password attempt"
kj_expect_log "sudo empty" "refused (malformed token): empty token"
{ parts "$BIG" | head -1; printf '\n'; } >"$T/in"
sudo_s "$T/in"; expect_denied "sudo: empty part 2 refused" $? "incorrect password attempt"
kj_expect_log "sudo empty part" "part 2 is empty"
{ parts "$BIG" | head -2; } >"$T/in"
sudo_s "$T/in"; expect_denied "sudo: input ends before the last part" $? ""
kj_expect_log "sudo truncated" "cannot read part 3"

# Envelope mode under sudo: the module runs with euid 0 and the user's real
# uid; the unwrapped data key goes to root's persistent keyring, which the
# user can neither reach nor read, before or after.
"$O/kmsjwt" mint --envelope --key-id "$KEY" --issuer https://idp.example --audience web-1 --subject "$U" \
	--endpoint "$KJ_ENDPOINT" --ttl 300 >"$T/in"
sudo_s "$T/in"; expect_root "sudo -S: envelope token, cold cache" $?
kj_expect_log "sudo envelope cold" "user=$U mode=envelope-kms"
sudo_s "$T/in"; expect_root "sudo -S: envelope token, warm cache" $?
kj_expect_log "sudo envelope warm" "user=$U mode=envelope-cached"
RING=$(keyctl get_persistent @s 0)
DK=
for id in $(keyctl rlist "$RING" 2>/dev/null); do
	case "$(keyctl rdescribe "$id" 2>/dev/null)" in
	*";pam_kmsjwt:dk:"*) DK=$id ;;
	esac
done
if [ -n "$DK" ]; then kj_ok "the data key is in root's persistent keyring"; else kj_bad "no data-key entry in root's persistent keyring"; fi
if runuser -u "$U" -- keyctl get_persistent @s 0 >/dev/null 2>&1; then
	kj_bad "$U can get root's persistent keyring"
else
	kj_ok "$U cannot get root's persistent keyring"
fi
if [ -n "$DK" ] && runuser -u "$U" -- keyctl pipe "$DK" >/dev/null 2>&1; then
	kj_bad "$U can read the cached data key"
else
	kj_ok "$U cannot read the cached data key (key $DK)"
fi
if runuser -u "$U" -- keyctl show @u 2>/dev/null | grep -q pam_kmsjwt; then
	kj_bad "a cache entry is in $U's user keyring"
else
	kj_ok "nothing of the cache in $U's own keyrings"
fi

echo "$NAME: $KJ_PASS passed, $KJ_FAIL failed"
[ "$KJ_FAIL" -eq 0 ]
