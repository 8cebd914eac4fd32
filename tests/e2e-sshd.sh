#!/usr/bin/env bash
# End to end with Debian's OpenSSH: sshd on 127.0.0.1 (free port, own host
# key and config, UsePAM yes, keyboard-interactive and password), started
# under a test name so that it uses the PAM service /etc/pam.d/<that name>.
# The client is ssh with `kmsjwt askpass` as SSH_ASKPASS. As root only;
# leaves no user, file or process behind. Runs under ASan too (SAN=1).
set -u
cd "$(dirname "$0")/.."
. tests/e2e-lib.sh
NAME=e2e-sshd
kj_e2e_need_root "$NAME"
SSHD_BIN=/usr/sbin/sshd
[ -x "$SSHD_BIN" ] || { echo "$NAME: $SSHD_BIN missing (make deps)"; echo "$NAME: 0 passed, 1 failed"; exit 1; }

. tests/lib.sh
SVC=kjsshd$$
KJ_SVC=$SVC
UA=kjs$$a
UB=kjs$$b
SSHD_PID=
MADE_RUN_SSHD=
cleanup() {
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	rm -f "/etc/pam.d/$SVC"
	for u in "$UA" "$UB"; do
		# a session may still be closing; userdel refuses a user with processes
		for _ in $(seq 50); do pgrep -u "$u" >/dev/null 2>&1 || break; sleep 0.1; done
		id "$u" >/dev/null 2>&1 && { userdel -r "$u" >/dev/null 2>&1 || echo "userdel $u failed"; }
	done
	# sshd's privilege separation directory, if we made it and no other run
	# of this test still needs it
	if [ -n "$MADE_RUN_SSHD" ] && ! pgrep -f 'kjsshd[0-9]+ -D -e' >/dev/null 2>&1; then
		rmdir /run/sshd 2>/dev/null
	fi
	kj_syslog_stop
	kj_stop_kms
}

kj_e2e_begin

for u in "$UA" "$UB"; do
	useradd -m -s /bin/sh "$u" || { echo "useradd $u failed"; exit 1; }
done
kj_write_service "$SVC" "$MOD" \
	"key_id=$KEY issuer=https://idp.example audience=web-1 endpoint=$KJ_ENDPOINT credentials_file=$CRED timeout=3"

# sshd takes its PAM service name from the name it runs under, and insists
# on being started with an absolute path (it re-executes itself).
ln -s "$SSHD_BIN" "$T/$SVC"
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || exit 1
PORT=$(kj_free_port)
cat >"$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile none
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication yes
PubkeyAuthentication no
PermitRootLogin no
AllowUsers $UA $UB
AuthenticationMethods any
MaxAuthTries 3
UseDNS no
StrictModes no
PrintMotd no
LogLevel VERBOSE
EOF
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && MADE_RUN_SSHD=1
fi
"$T/$SVC" -t -f "$T/sshd_config" || { echo "sshd -t refused the test config"; exit 1; }
# Under SAN=1 the module is built with ASan+UBSan: sshd gets the runtime
# preloaded (sshd's own allocations are not ours to leak-check).
ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=${KJ_PRELOAD%:} "$T/$SVC" -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
SSHD_PID=$!
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.1
done

ln -s "$(realpath "$O/kmsjwt")" "$T/kmsjwt-askpass"
# ssh_login USER METHOD TOKEN [ASKPASS]: log in and run `id -un`; the token
# is fed by the askpass helper (one part per prompt).
ssh_login() {
	local user=$1 method=$2 askpass=${4:-$T/kmsjwt-askpass}
	printf '%s\n' "$3" >"$T/token"
	chmod 600 "$T/token"
	KJ_LOG_FROM=$(($(wc -l <"$T/sshd.log") + 1))
	setsid -w env -i PATH=/usr/bin:/bin HOME="$T" SSH_ASKPASS="$askpass" SSH_ASKPASS_REQUIRE=force \
		KMSJWT_TOKEN_FILE="$T/token" \
		ssh -F /dev/null -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o PreferredAuthentications="$method" -o PubkeyAuthentication=no \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=5 -o LogLevel=ERROR \
		"$user@127.0.0.1" 'id -un' </dev/null >"$T/out" 2>&1
}

# expect_login NAME USER METHOD TOKEN [ASKPASS]
expect_login() {
	local t0=$SECONDS
	ssh_login "$2" "$3" "$4" "${5:-}"
	local rc=$?
	if [ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$2" ] && tail -n +"$KJ_LOG_FROM" "$T/sshd.log" | grep -q "Accepted $3.* for $2 from 127.0.0.1"; then
		kj_ok "$1 (${#4}-byte token, $((SECONDS - t0)) s)"
	else
		kj_bad "$1: ssh exit $rc, output:"
		sed 's/^/    /' "$T/out"
		tail -n +"$KJ_LOG_FROM" "$T/sshd.log" | tail -8 | sed 's/^/    sshd: /'
	fi
}

# expect_refused NAME USER METHOD TOKEN [ASKPASS]
expect_refused() {
	ssh_login "$2" "$3" "$4" "${5:-}"
	local rc=$?
	if [ "$rc" = 255 ] && grep -q "Permission denied" "$T/out" && ! grep -qx "$2" "$T/out"; then
		kj_ok "$1"
	else
		kj_bad "$1: ssh exit $rc (want 255, Permission denied), output:"
		sed 's/^/    /' "$T/out"
	fi
}

TOK=$(kj_mint_tok "$UA")
TOKB=$(kj_mint_tok "$UB")
BIG=$(kj_mint_tok "$UA" web-1 "$(kj_big_payload)")
echo "# tokens: ${#TOK} bytes (payload {}), ${#BIG} bytes (big payload, $(( (${#BIG} + 499) / 500 )) parts of 500)"

expect_login "sshd keyboard-interactive: token logs in as the mapped user" "$UA" keyboard-interactive "$TOK"
kj_expect_log "sshd keyboard-interactive" "pam_kmsjwt($SVC:auth): accepted; iss=\"https://idp.example\" sub=\"$UA\""
expect_login "sshd password: token logs in" "$UA" password "$TOK"
kj_expect_log "sshd password" "user=$UA mode=direct"
expect_login "sshd keyboard-interactive: 2 KB token via continuation" "$UA" keyboard-interactive "$BIG"
kj_expect_log "sshd continuation" "user=$UA mode=direct parts=$(( (${#BIG} + 499) / 500 ))"

expect_refused "sshd: forged claims refused" "$UA" keyboard-interactive "$(kj_forge "$TOKB" "$UA")"
kj_expect_log "sshd forged" "InvalidCiphertextException"
expect_refused "sshd: misaddressed token refused" "$UA" keyboard-interactive "$(kj_mint_tok "$UA" db-1)"
kj_expect_log "sshd misaddressed" "audience \"db-1\" is not this host's"
expect_refused "sshd: another user's token cannot log in as this one" "$UA" keyboard-interactive "$TOKB"
kj_expect_log "sshd other user" "token is for user $UB, login is for $UA"
expect_refused "sshd password: another user's token refused" "$UA" password "$TOKB"
expect_refused "sshd keyboard-interactive: empty answer refused" "$UA" keyboard-interactive "$TOK" /bin/true
kj_expect_log "sshd empty" "refused (malformed token): empty token"
# The password method answers every prompt with the same text and sshd
# refuses passwords over 1024 bytes: a 2 KB token cannot log in that way.
expect_refused "sshd password: 2 KB token refused (no continuation there)" "$UA" password "$BIG"
if grep -q "Accepted .* for $UB" "$T/sshd.log"; then kj_bad "$UB was never meant to log in"; else kj_ok "no login as $UB"; fi
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/sshd.log"; then
	kj_bad "sanitizer report in sshd's log:"
	grep -E -A20 "AddressSanitizer|runtime error:" "$T/sshd.log" | head -40 | sed 's/^/    /'
else
	kj_ok "no sanitizer report in sshd's log"
fi

echo "$NAME: $KJ_PASS passed, $KJ_FAIL failed"
[ "$KJ_FAIL" -eq 0 ]
