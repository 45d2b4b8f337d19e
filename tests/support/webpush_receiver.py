"""A Web Push receiver for tests: an independent implementation (python3-cryptography)
of the user agent's and push service's side of RFC 8291 / RFC 8292 on a free loopback
port. Prints `port=N`.

POST /_subscribe  {"status": 201|410|...}  → {"endpoint", "keys": {"p256dh", "auth"}}: a fresh
                  P-256 key pair and auth secret; the endpoint answers `status` (201 default).
POST /push/<id>   checks Content-Encoding: aes128gcm, TTL, and the VAPID JWT (ES256
                  signature with k, aud = this origin, exp within 24 h, sub mailto:/https:),
                  decrypts the aes128gcm body and records it; 201 + Location.
                  403 for a bad VAPID token, 400 for a body that does not decrypt.
GET /_received    [{"id", "payload_b64", "ttl", "sub", "aud", "k"}...]
GET /_rejected    [{"id", "status", "reason"}...]
"""
import base64
import json
import os
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

LOCK = threading.Lock()
SUBSCRIPTIONS = {}
RECEIVED = []
REJECTED = []


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def check_vapid(header, origin):
    if not header.startswith("vapid "):
        return None, "Authorization is not a vapid scheme"
    fields = {}
    for part in header[len("vapid "):].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    token, k = fields.get("t"), fields.get("k")
    if not token or not k:
        return None, "vapid needs t= and k="
    head_b64, claims_b64, sig_b64 = token.split(".")
    head = json.loads(unb64url(head_b64))
    claims = json.loads(unb64url(claims_b64))
    if head.get("alg") != "ES256" or head.get("typ") != "JWT":
        return None, "JWT header must be typ JWT, alg ES256"
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(k))
    sig = unb64url(sig_b64)
    if len(sig) != 64:
        return None, "ES256 signature must be 64 bytes"
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, (head_b64 + "." + claims_b64).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return None, "VAPID signature does not verify"
    now = time.time()
    if claims.get("aud") != origin:
        return None, "aud %r is not %r" % (claims.get("aud"), origin)
    if not (now < claims.get("exp", 0) <= now + 24 * 3600):
        return None, "exp must be in the next 24 hours"
    sub = claims.get("sub", "")
    if not (sub.startswith("mailto:") or sub.startswith("https:")):
        return None, "sub must be mailto: or https:"
    return {"sub": sub, "aud": claims["aud"], "k": k}, None


def decrypt(sub, body):
    salt, rs, idlen = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    as_public = body[21:21 + idlen]
    ciphertext = body[21 + idlen:]
    if rs < 18 or len(ciphertext) > rs or idlen != 65:
        raise ValueError("bad aes128gcm header")
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    ecdh = sub["private"].exchange(ec.ECDH(), sender)
    ua_public = sub["private"].public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    ikm = hkdf(sub["auth"], ecdh, b"WebPush: info\x00" + ua_public + as_public, 32)
    cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    plain = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
    if not plain or plain[-1] != 2:
        raise ValueError("the last record must end with delimiter 0x02")
    return plain[:-1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def json(self, status, value):
        self.answer(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def do_GET(self):
        with LOCK:
            if self.path == "/_received":
                return self.json(200, RECEIVED)
            if self.path == "/_rejected":
                return self.json(200, REJECTED)
        self.answer(404)

    def reject(self, sid, status, reason):
        with LOCK:
            REJECTED.append({"id": sid, "status": status, "reason": reason})
        self.answer(status, reason.encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        origin = "http://127.0.0.1:%d" % self.server.server_address[1]
        if self.path == "/_subscribe":
            options = json.loads(body or b"{}")
            private = ec.generate_private_key(ec.SECP256R1())
            auth = os.urandom(16)
            sid = b64url(os.urandom(9))
            with LOCK:
                SUBSCRIPTIONS[sid] = {"private": private, "auth": auth, "status": options.get("status", 201)}
            public = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            return self.json(200, {"endpoint": origin + "/push/" + sid,
                                   "keys": {"p256dh": b64url(public), "auth": b64url(auth)}})
        if not self.path.startswith("/push/"):
            return self.answer(404)
        sid = self.path[len("/push/"):]
        with LOCK:
            sub = SUBSCRIPTIONS.get(sid)
        if sub is None:
            return self.reject(sid, 404, "no such subscription")
        if self.headers.get("Content-Encoding") != "aes128gcm":
            return self.reject(sid, 400, "Content-Encoding must be aes128gcm")
        ttl = self.headers.get("TTL")
        if ttl is None or not ttl.isdigit():
            return self.reject(sid, 400, "TTL header required")
        try:
            vapid, problem = check_vapid(self.headers.get("Authorization", ""), origin)
        except Exception as e:  # malformed token
            vapid, problem = None, "malformed VAPID token: %s" % e
        if problem:
            return self.reject(sid, 403, problem)
        if sub["status"] != 201:
            return self.reject(sid, sub["status"], "configured answer")
        try:
            payload = decrypt(sub, body)
        except (ValueError, InvalidTag) as e:
            return self.reject(sid, 400, "does not decrypt: %s" % (e or "bad tag"))
        with LOCK:
            RECEIVED.append({"id": sid, "payload_b64": base64.b64encode(payload).decode(), "ttl": int(ttl),
                             **vapid})
            n = len(RECEIVED)
        self.answer(201, b"", {"Location": origin + "/messages/%d" % n})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("port=%d" % server.server_address[1], flush=True)
server.serve_forever()
