#!/usr/bin/env python3
"""moto with SigV4 checking on (INITIAL_NO_AUTH_ACTION_COUNT=0): every
request must be signed by an access key moto holds, and a session token must
match its assumed role. Sets up, with checking briefly off, an IAM user with
an access key, a role the user may assume, and a KMS key; assumes the role
(signed, checked) for session credentials. Prints one JSON line:
  {"port", "key", "user": {AccessKeyId, SecretAccessKey},
   "session": {AccessKeyId, SecretAccessKey, Token}}
then serves until stdin closes or SIGTERM."""
import json
import os
import signal
import sys
import threading

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # read by moto.settings on import

import boto3  # noqa: E402
from moto import settings  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

ALLOW = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:*", "sts:AssumeRole"], "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})


def main():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    ep = "http://127.0.0.1:%d" % port
    assert settings.INITIAL_NO_AUTH_ACTION_COUNT == 0
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")  # setup only
    anon = dict(region_name="us-east-1", endpoint_url=ep, aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **anon)
    iam.create_user(UserName="kj-verifier")
    iam.put_user_policy(UserName="kj-verifier", PolicyName="kms", PolicyDocument=ALLOW)
    ak = iam.create_access_key(UserName="kj-verifier")["AccessKey"]
    role = iam.create_role(RoleName="kj-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="kj-role", PolicyName="kms", PolicyDocument=ALLOW)
    key = boto3.client("kms", **anon).create_key(Description="sigv4-checked")["KeyMetadata"]["Arn"]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    user = dict(region_name="us-east-1", endpoint_url=ep, aws_access_key_id=ak["AccessKeyId"],
                aws_secret_access_key=ak["SecretAccessKey"])
    c = boto3.client("sts", **user).assume_role(RoleArn=role, RoleSessionName="kj-session")["Credentials"]
    print(json.dumps({
        "port": port, "key": key, "role": role,
        "user": {"AccessKeyId": ak["AccessKeyId"], "SecretAccessKey": ak["SecretAccessKey"]},
        "session": {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                    "Token": c["SessionToken"]},
    }), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
