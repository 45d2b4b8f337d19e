"""Checks twilio-sim's answers against Twilio's published OpenAPI description.

Input (a JSON file): {"spec": path to twilio_api_v2010.json, "message": a Message answer,
                      "request_fields": names our adapter posts}
Output: {"problems": [...]} — empty when the answer and request fit the description.
"""
import json
import sys

inp = json.load(open(sys.argv[1], encoding="utf-8"))
spec = json.load(open(inp["spec"], encoding="utf-8"))
schemas = spec["components"]["schemas"]
problems = []


def resolve(s):
    while "$ref" in s:
        s = schemas[s["$ref"].split("/")[-1]]
    return s


def check(value, schema, where):
    schema = resolve(schema)
    if value is None:
        if not schema.get("nullable"):
            problems.append(f"{where}: null but not nullable")
        return
    kind = schema.get("type")
    ok = {"string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
          "number": isinstance(value, (int, float)), "boolean": isinstance(value, bool),
          "object": isinstance(value, dict), "array": isinstance(value, list)}.get(kind, True)
    if not ok:
        problems.append(f"{where}: {value!r} is not {kind}")
        return
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if kind == "string" and "pattern" in schema:
        import re
        if not re.match(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")


message_schema = schemas["api.v2010.account.message"]
for name, prop in message_schema["properties"].items():
    if name not in inp["message"]:
        problems.append(f"message: missing {name}")
    else:
        check(inp["message"][name], prop, f"message.{name}")
for name in inp["message"]:
    if name not in message_schema["properties"]:
        problems.append(f"message: {name} is not in the description")

post = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
request = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
for name in inp["request_fields"]:
    if name not in request["properties"]:
        problems.append(f"request: {name} is not a CreateMessageRequest field")
for name in request.get("required", []):
    if name not in inp["request_fields"]:
        problems.append(f"request: required {name} missing")
if "201" not in post["responses"]:
    problems.append("the description no longer answers 201 to a create")
print(json.dumps({"problems": problems}))
