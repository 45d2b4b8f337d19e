#!/usr/bin/env bash
# Builds the web front end into web/dist, doing only what changed:
#   npm ci      when package-lock.json differs from the installed one (tools/npm-install)
#   vite build  when a source, the config or the lockfile differs from the last build
# Used by `tools/vetline up|build|test` and by ctest's `web_build` fixture, so every way
# of running the console builds it the same way.
set -euo pipefail
WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WEB"

command -v node >/dev/null || { echo "web: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 18 ] || { echo "web: Node $major is too old; Vite 5 needs Node 18 or newer" >&2; exit 1; }

# One builder at a time (ctest's fixture and tools/vetline may overlap).
exec 9>"$WEB/.build.lock"
flock 9

bash "$WEB/../tools/npm-install" "$WEB"

src_sum="$( (find src portal public -type f -print0 | sort -z | xargs -0 sha256sum;
             sha256sum index.html vite.config.ts tsconfig.json package-lock.json) | sha256sum | cut -d' ' -f1)"
if [ -f dist/.vetline-sources ] && [ "$(cat dist/.vetline-sources)" = "$src_sum" ] && [ -f dist/index.html ]; then
  echo "web: dist is up to date" >&2
  exit 0
fi
echo "web: building (tsc + vite)" >&2
npx --no-install tsc --noEmit
npx --no-install vite build --logLevel warn
echo "$src_sum" > dist/.vetline-sources
echo "web: built $WEB/dist" >&2
