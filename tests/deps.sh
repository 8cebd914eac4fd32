#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on Debian 12 (as root),
# or says what is missing (as another user). Idempotent and quiet when done.
set -u
PKGS="build-essential pkg-config libpam0g-dev libcurl4-openssl-dev libjansson-dev libssl-dev
libkeyutils-dev nettle-dev pamtester libpam-wrapper libpamtest0-dev libnss-wrapper openssh-server
openssh-client sudo man-db keyutils clang libclang-rt-14-dev valgrind openssl curl"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
PY=${PYTHON:-python3}
if ! "$PY" -c 'import moto.server, boto3' 2>/dev/null &&
	! /usr/bin/python3 -c 'import moto.server, boto3' 2>/dev/null; then
	missing="$missing python3-moto python3-boto3 python3-flask python3-flask-cors python3-cryptography"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing (run as root, or: apt-get install$missing)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
