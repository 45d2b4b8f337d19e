"""Stripe's own Python library (Debian's python3-stripe) as the independent check of our
wire format.

Input (a JSON file): {"op": "encode", "params": {...}}
                  or {"op": "signature", "payload", "header" (ours), "secret"}
                  or {"op": "verify", "cases": [{"payload", "header", "secret"}, ...]}
Output: encode → [[name, value], ...] as the library would send them;
        signature → {"verifies_ours": bool, "header": a header the library signed now};
        verify → [bool, ...]: whether stripe.Webhook.construct_event accepts each case
                 (5-minute tolerance) and reads it as an event.
"""
import json
import sys
import time

import stripe
from stripe import api_requestor

inp = json.load(open(sys.argv[1], encoding="utf-8"))

if inp["op"] == "encode":
    pairs = []
    for key, value in api_requestor._api_encode(inp["params"]):
        if isinstance(value, bool):  # the library writes Python's True/False; Stripe reads true/false
            value = "true" if value else "false"
        pairs.append([key, value if isinstance(value, str) else str(value)])
    print(json.dumps(pairs))
elif inp["op"] == "verify":
    verdicts = []
    for case in inp["cases"]:
        try:
            event = stripe.Webhook.construct_event(case["payload"], case["header"], case["secret"], tolerance=300)
            verdicts.append(event.get("id") is not None)
        except (stripe.error.SignatureVerificationError, ValueError):
            verdicts.append(False)
    print(json.dumps(verdicts))
else:
    payload, secret = inp["payload"], inp["secret"]
    try:
        stripe.WebhookSignature.verify_header(payload, inp["header"], secret, tolerance=300)
        ok = True
    except stripe.error.SignatureVerificationError:
        ok = False
    t = int(time.time())
    sig = stripe.WebhookSignature._compute_signature("%d.%s" % (t, payload), secret)
    print(json.dumps({"verifies_ours": ok, "header": "t=%d,v1=%s" % (t, sig)}))
