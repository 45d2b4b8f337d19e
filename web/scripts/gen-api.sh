#!/usr/bin/env bash
# Regenerates src/api/schema.d.ts from the gateway's OpenAPI document, which the
# `vetline-openapi` binary prints from the same route table the gateway serves.
#
#   web/scripts/gen-api.sh [path/to/vetline-openapi]          write src/api/schema.d.ts
#   web/scripts/gen-api.sh --check [path/to/vetline-openapi]  fail if it is out of date,
#                                                             then type-check the apps
# The types are committed so the front end builds without the C++ build; the ctest
# `web_api_types` runs --check, so a proto change that the committed types do not match
# fails the tests until they are regenerated, and then tsc names every screen it breaks.
set -euo pipefail
WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
bin="${1:-$WEB/../build/services/gateway/vetline-openapi}"
[ -x "$bin" ] || { echo "gen-api: $bin not found (ninja -C build vetline-openapi)" >&2; exit 1; }
cd "$WEB"
mkdir -p build
"$bin" > build/openapi.json
npx --no-install openapi-typescript build/openapi.json -o build/schema.d.ts --silent >/dev/null
if [ "$check" = 1 ]; then
  if ! diff -q src/api/schema.d.ts build/schema.d.ts >/dev/null; then
    diff -u src/api/schema.d.ts build/schema.d.ts | head -40 >&2 || true
    echo "gen-api: src/api/schema.d.ts is out of date with the protos: run web/scripts/gen-api.sh" >&2
    exit 1
  fi
  npx --no-install tsc --noEmit
  echo "gen-api: API types match the gateway and the apps type-check" >&2
else
  cp build/schema.d.ts src/api/schema.d.ts
  echo "gen-api: wrote src/api/schema.d.ts" >&2
fi
