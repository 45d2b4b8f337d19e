#!/usr/bin/env bash
# Installs s3rver (package-lock.json, committed) into tests/support/s3/node_modules, only
# when the lockfile differs from the installed one. Run by tests/support/s3_server_process.h
# before it starts the server, so every way of running the tests installs it the same way.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
command -v npm >/dev/null || { echo "s3: npm is not installed (apt-get install nodejs npm)" >&2; exit 1; }
# One installer at a time (tests run in parallel).
exec 9>"$DIR/.install.lock"
flock 9
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.vetline-lock ] || [ "$(cat node_modules/.vetline-lock)" != "$lock_sum" ]; then
  echo "s3: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" > node_modules/.vetline-lock
fi
