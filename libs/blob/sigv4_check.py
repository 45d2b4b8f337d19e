"""Signs S3 requests with botocore (python3-botocore, the AWS SDK's own signer) at a fixed
time, for sigv4_test to compare with ours byte for byte.

Input (a JSON file): [{"kind": "header" | "presign", "method", "url", "headers": [[n, v]],
  "body", "access_key", "secret_key", "region", "time": "YYYYMMDDTHHMMSSZ", "expires"}, ...]
Output: [{"authorization", "x-amz-date", "x-amz-content-sha256"} | {"url"}, ...]
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

cases = json.load(open(sys.argv[1], encoding="utf-8"))
out = []
for c in cases:
    creds = Credentials(c["access_key"], c["secret_key"])
    request = AWSRequest(method=c["method"], url=c["url"], headers=dict(c.get("headers", [])),
                         data=c.get("body", "").encode("utf-8"))
    when = datetime.datetime.strptime(c["time"], "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.datetime") as clock:
        clock.datetime.utcnow.return_value = when
        if c["kind"] == "presign":
            S3SigV4QueryAuth(creds, "s3", c["region"], expires=c["expires"]).add_auth(request)
            out.append({"url": request.url})
        else:
            S3SigV4Auth(creds, "s3", c["region"]).add_auth(request)
            out.append({
                "authorization": request.headers["Authorization"],
                "x-amz-date": request.headers["X-Amz-Date"],
                "x-amz-content-sha256": request.headers["X-Amz-Content-SHA256"],
            })
print(json.dumps(out))
