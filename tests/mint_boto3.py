#!/usr/bin/env python3
"""An independent issuer of token format v1 (docs/token-format.md) in a few
lines of boto3, as a Lambda issuer would write it. Used by the tests to prove
that tokens not minted by kmsjwt log in.

usage: mint_boto3.py ENDPOINT KEY_ARN ISS AUD SUB [TTL] [PAYLOAD_JSON]"""
import base64, hashlib, json, secrets, sys, time

import boto3


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(kms, key_id, iss, aud, sub, ttl=300, payload=b"{}"):
    now = int(time.time())
    header = b64u(b'{"alg":"KMS"}')
    claims = b64u(json.dumps({"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + ttl,
                              "jti": secrets.token_urlsafe(16)}, separators=(",", ":")).encode())
    s = f"{header}.{claims}"
    d = b64u(hashlib.sha256(s.encode()).digest())
    blob = kms.encrypt(KeyId=key_id, Plaintext=payload,
                       EncryptionContext={"kmsjwt": d, "aud": aud, "sub": sub})["CiphertextBlob"]
    return f"{s}.{b64u(blob)}"


if __name__ == "__main__":
    endpoint, key, iss, aud, sub = sys.argv[1:6]
    ttl = int(sys.argv[6]) if len(sys.argv) > 6 else 300
    payload = sys.argv[7].encode() if len(sys.argv) > 7 else b"{}"
    kms = boto3.client("kms", region_name=key.split(":")[3], endpoint_url=endpoint,
                       aws_access_key_id="AKIDTEST", aws_secret_access_key="s3cr3t")
    print(mint(kms, key, iss, aud, sub, ttl, payload))
