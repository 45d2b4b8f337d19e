#!/usr/bin/env bash
# Installs the check's npm packages (package-lock.json, committed) into k8s/check/node_modules,
# only when the lockfile differs from the installed one (as tests/support/s3/install.sh does).
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
command -v npm >/dev/null || { echo "k8s check: npm is not installed (apt-get install nodejs npm)" >&2; exit 1; }
exec 9>"$DIR/.install.lock"
flock 9
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.vetline-lock ] || [ "$(cat node_modules/.vetline-lock)" != "$lock_sum" ]; then
  echo "k8s check: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" > node_modules/.vetline-lock
fi
