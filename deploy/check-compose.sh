#!/usr/bin/env bash
# Checks a compose file for one host (default deploy/compose.yaml) offline, with Debian's
# docker-compose (its own copy of the Compose schema; no container engine needed):
#  - with every setting of deploy/env.example filled in, the file validates and renders;
#  - the secrets are required, and left empty each stops it, named in the message;
#  - every ${VAR} the file reads is documented in deploy/env.example;
#  - the stack keeps its hardening: read-only root, no capabilities, no new privileges,
#    a /readyz health check, a stop grace period longer than the drain, and PostgreSQL
#    and Redis published on 127.0.0.1 only.
# Prints each problem and exits 1 if there is any.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
file="$(realpath "${1:-$DIR/compose.yaml}")"
example="$DIR/env.example"
command -v docker-compose >/dev/null || { echo "check-compose: docker-compose is not installed" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
problems=0
problem() { echo "compose: $*"; problems=$((problems + 1)); }

# Every setting filled in: VAR=check-VAR (an id:secret pair where one is asked for).
grep -E '^[A-Z_]+=' "$example" | while IFS='=' read -r var value; do
  case "$var" in
    COMPOSE_PROJECT_NAME) echo "$var=$value" ;;
    VETLINE_PAYMENTS_SECRET_KEYS) echo "$var=k1:0123456789abcdef0123456789abcdef" ;;
    *) echo "$var=check-$var" ;;
  esac
done > "$work/full.env"

compose() { docker-compose --project-directory "$work" -f "$file" --env-file "$1" config 2>&1; }
if ! compose "$work/full.env" > "$work/rendered.yaml"; then
  problem "does not validate with every setting given:"
  sed 's/^/  /' "$work/rendered.yaml"
  exit 1
fi

# The secrets the stack cannot run without must be required (${VAR:?why}), not empty.
for var in VETLINE_PG_PASSWORD VETLINE_INTERNAL_SECRET VETLINE_PAYMENTS_SECRET_KEYS; do
  grep -qE "\\\$\{$var:\?" "$file" || problem "does not require $var (\${$var:?...})"
done
for var in $(grep -oE '\$\{[A-Z_]+:\?' "$file" | sed 's/[${:?]//g' | sort -u); do
  grep -v "^$var=" "$work/full.env" > "$work/missing.env"
  echo "$var=" >> "$work/missing.env"
  if out="$(compose "$work/missing.env")"; then
    problem "starts without $var"
  elif ! grep -q "$var" <<<"$out"; then
    problem "refuses to start without $var but does not name it: $out"
  fi
done

for var in $(grep -oE '\$\{[A-Z_]+' "$file" | sed 's/[${]//g' | sort -u); do
  grep -q "^$var=" "$example" || problem "reads \${$var}, which deploy/env.example does not document"
done

python3 - "$work/rendered.yaml" <<'PY' || problems=$((problems + 1))
import sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
bad = []
def seconds(d):
    units = {"h": 3600, "m": 60, "s": 1}
    total, num = 0, ""
    for ch in str(d):
        if ch.isdigit() or ch == ".": num += ch
        elif ch in units: total += float(num) * units[ch]; num = ""
    return total + (float(num) if num else 0)
stack = services.get("vetline")
if stack is None:
    bad.append("no service named vetline (the stack)")
else:
    if stack.get("read_only") is not True: bad.append("vetline: read_only is not true")
    if "ALL" not in (stack.get("cap_drop") or []): bad.append("vetline: cap_drop lacks ALL")
    if not any("no-new-privileges" in o for o in stack.get("security_opt") or []):
        bad.append("vetline: security_opt lacks no-new-privileges")
    if "/readyz" not in " ".join(map(str, (stack.get("healthcheck") or {}).get("test") or [])):
        bad.append("vetline: the health check does not ask /readyz")
    # The gateway drains for 10 s, then each service for up to 10 s.
    if seconds(stack.get("stop_grace_period", "10s")) < 30:
        bad.append("vetline: stop_grace_period under 30s cuts the drain short")
for name in ("postgres", "redis"):
    for port in (services.get(name) or {}).get("ports") or []:
        host = port.get("host_ip", "") if isinstance(port, dict) else str(port).split(":")[0]
        published = port.get("published") if isinstance(port, dict) else str(port).split(":")[-2]
        if host != "127.0.0.1": bad.append(f"{name}: port {published} is published beyond 127.0.0.1")
for b in bad: print("compose: " + b)
sys.exit(1 if bad else 0)
PY

if [ "$problems" -gt 0 ]; then exit 1; fi
echo "compose: $(basename "$file") validates; required secrets, documented settings and hardening hold"
