"""Computes and checks X-Twilio-Signature with Twilio's official SDK (python3-twilio).

Input (a JSON file): [{"token", "url", "params": [[name, value], ...], "ours"}, ...]
Output: [{"signature": <the SDK's>, "validates_ours": <SDK accepts our signature>}, ...]
"""
import json
import sys

from twilio.request_validator import RequestValidator

cases = json.load(open(sys.argv[1], encoding="utf-8"))
out = []
for c in cases:
    v = RequestValidator(c["token"])
    params = dict(c["params"])
    out.append({
        "signature": v.compute_signature(c["url"], params),
        "validates_ours": v.validate(c["url"], params, c["ours"]),
    })
print(json.dumps(out))
