"""Checks the Stripe stand-in's objects against Stripe's published fixtures
(../shared/providers/stripe/fixtures3.json): every field the stand-in sends must be a
field of that object at Stripe, with the same JSON type (or null where Stripe has null).

Input (a JSON file): {"fixtures": path, "objects": [objects, each with its "object"]}
Output: {"problems": [...]}
"""
import json
import sys

inp = json.load(open(sys.argv[1], encoding="utf-8"))
resources = json.load(open(inp["fixtures"], encoding="utf-8"))["resources"]
problems = []


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


for obj in inp["objects"]:
    name = obj.get("object")
    fixture = resources.get(name)
    if fixture is None:
        problems.append("no Stripe object named %r" % name)
        continue
    for key, value in obj.items():
        if key not in fixture:
            problems.append("%s.%s: not a field of Stripe's %s" % (name, key, name))
            continue
        ours, theirs = kind(value), kind(fixture[key])
        if ours != theirs and "null" not in (ours, theirs):
            problems.append("%s.%s: %s here, %s at Stripe" % (name, key, ours, theirs))
print(json.dumps({"problems": problems}))
