# TURN REST API credentials computed independently (Python's hmac and base64), for
# libs/webrtc/turn_test.cc: input [{"secret", "username"}], output [credential].
import base64
import hashlib
import hmac
import json
import sys

cases = json.load(open(sys.argv[1]))
print(json.dumps([
    base64.b64encode(hmac.new(c["secret"].encode(), c["username"].encode(), hashlib.sha1).digest()).decode()
    for c in cases
]))
