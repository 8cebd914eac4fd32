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
need_moto=0
if ! "$PY" -c 'import moto.server, boto3, cryptography' 2>/dev/null &&
	! /usr/bin/python3 -c 'import moto.server, boto3, cryptography' 2>/dev/null; then
	need_moto=1
fi
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages:$missing (run as root, or: apt-get install$missing)" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
fi
# moto (the local KMS) is not packaged in Debian 12: it comes from PyPI.
if [ "$need_moto" = 1 ]; then
	command -v pip3 >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq python3-pip python3-venv >/dev/null; }
	echo "installing moto[server], boto3 and cryptography with pip"
	"$PY" -m pip install --quiet 'moto[server]' boto3 cryptography 2>/dev/null ||
		"$PY" -m pip install --quiet --break-system-packages 'moto[server]' boto3 cryptography || {
		echo "cannot install moto: the tests and the demo need the Python package moto[server] (PyPI)" >&2
		exit 1
	}
fi
exit 0
