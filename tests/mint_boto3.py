#!/usr/bin/env python3
"""An independent issuer of token format v1 (docs/token-format.md) in a few
lines of boto3, as a Lambda issuer would write it. Used by the tests to prove
that tokens not minted by kmsjwt log in.

usage: mint_boto3.py [--envelope] ENDPOINT KEY_ARN ISS AUD SUB [TTL] [PAYLOAD_JSON]
--envelope: alg KMS+A256GCM with a data key from GenerateDataKey (reused for
the whole run of a Lambda in practice; here one per call)."""
import base64, hashlib, json, secrets, sys, time

import boto3


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(kms, key_id, iss, aud, sub, ttl=300, payload=b"{}", envelope=False):
    now = int(time.time())
    header = b64u(b'{"alg":"KMS+A256GCM"}' if envelope else b'{"alg":"KMS"}')
    claims = b64u(json.dumps({"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + ttl,
                              "jti": secrets.token_urlsafe(16)}, separators=(",", ":")).encode())
    s = f"{header}.{claims}"
    if envelope:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256",
                                   EncryptionContext={"kmsjwt": "data-key", "aud": aud})
        iv = secrets.token_bytes(12)
        ct = AESGCM(dk["Plaintext"]).encrypt(iv, payload, s.encode())  # C || T
        edk = dk["CiphertextBlob"]
        return f"{s}.{b64u(len(edk).to_bytes(2, 'big') + edk + iv + ct)}"
    d = b64u(hashlib.sha256(s.encode()).digest())
    blob = kms.encrypt(KeyId=key_id, Plaintext=payload,
                       EncryptionContext={"kmsjwt": d, "aud": aud, "sub": sub})["CiphertextBlob"]
    return f"{s}.{b64u(blob)}"


if __name__ == "__main__":
    args = sys.argv[1:]
    envelope = args[:1] == ["--envelope"]
    if envelope:
        args = args[1:]
    endpoint, key, iss, aud, sub = args[0:5]
    ttl = int(args[5]) if len(args) > 5 else 300
    payload = args[6].encode() if len(args) > 6 else b"{}"
    kms = boto3.client("kms", region_name=key.split(":")[3], endpoint_url=endpoint,
                       aws_access_key_id="AKIDTEST", aws_secret_access_key="s3cr3t")
    print(mint(kms, key, iss, aud, sub, ttl, payload, envelope))
