"""Reads a stored email with Python's own `email` package (an independent MIME parser).

Input (a JSON file): {"eml": path}
Output: headers (decoded and raw), the MIME tree, each leaf's type, transfer encoding,
decoded content (text, or base64 of bytes), filename.
"""
import base64
import email
import email.policy
import json
import sys

inp = json.load(open(sys.argv[1], encoding="utf-8"))
raw = open(inp["eml"], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
raw_headers = {}
for line in raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").split("\r\n"):
    if line and not line[0].isspace() and ":" in line:
        name = line.split(":", 1)[0]
        raw_headers.setdefault(name.lower(), line)
    elif line and raw_headers:
        last = list(raw_headers)[-1]
        raw_headers[last] += "\r\n" + line


def tree(part):
    if part.is_multipart():
        return {"type": part.get_content_type(), "parts": [tree(p) for p in part.iter_parts()]}
    leaf = {"type": part.get_content_type(), "cte": str(part.get("Content-Transfer-Encoding", "")),
            "charset": part.get_content_charset(), "filename": part.get_filename(),
            "disposition": part.get_content_disposition()}
    if part.get_content_maintype() == "text":
        leaf["text"] = part.get_content().replace("\r\n", "\n")
    else:
        leaf["base64"] = base64.b64encode(part.get_content()).decode()
    return leaf


def addr(h):
    if h is None:
        return None
    a = h.addresses[0]
    return {"name": a.display_name, "address": a.addr_spec}


out = {
    "all_ascii": all(b < 128 for b in raw),
    "crlf_only": b"\n" not in raw.replace(b"\r\n", b""),
    "from": addr(msg["From"]), "to": addr(msg["To"]), "reply_to": addr(msg["Reply-To"]),
    "subject": str(msg["Subject"]), "message_id": str(msg["Message-ID"]),
    "in_reply_to": msg["In-Reply-To"] and str(msg["In-Reply-To"]),
    "references": msg["References"] and str(msg["References"]),
    "date": msg["Date"] and msg["Date"].datetime.isoformat(),
    "mime_version": msg["MIME-Version"] and str(msg["MIME-Version"]),
    "raw_headers": raw_headers, "defects": [str(d) for d in msg.defects],
    "tree": tree(msg),
}
print(json.dumps(out))
