#!/usr/bin/env bash
# Checks Kustomize overlays offline (see check.mjs): `k8s/check/run.sh k8s/overlays/dev ...`.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$DIR/../../tools/npm-install" "$DIR"
args=()
for a in "$@"; do
  case "$a" in --*) args+=("$a") ;; *) args+=("$(cd "$a" && pwd)") ;; esac
done
cd "$DIR" && exec node check.mjs "${args[@]}"
