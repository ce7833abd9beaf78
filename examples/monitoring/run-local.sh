#!/usr/bin/env bash
# One-command local monitoring stack: Debian's prometheus scraping the example server.
#
#   ./run-local.sh            # expects the server on localhost:8080 (npm start in another shell)
#   ./run-local.sh --server   # also starts the example server (demo fleet) and stops it on exit
#
# Prometheus UI: http://localhost:${PROMETHEUS_PORT:-9090} (alerts under /alerts, rules under /rules).
# Needs promtool/prometheus: apt-get install -y prometheus (the Debian package).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PROMETHEUS_PORT:-9090}"
data="${PROMETHEUS_DATA:-$(mktemp -d /tmp/spotfleet-prometheus.XXXXXX)}"

command -v prometheus >/dev/null || { echo "prometheus not found: apt-get install -y prometheus" >&2; exit 1; }
promtool check config "$here/prometheus.yml" >/dev/null
promtool test rules "$here"/rules/tests/*.yml >/dev/null

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [[ "${1:-}" == "--server" ]]; then
  (cd "$root" && PORT=8080 SPOTFLEET_DEMO=1 node scripts/start.mjs) &
  pids+=($!)
  for _ in $(seq 1 60); do curl -fs http://localhost:8080/health >/dev/null && break; sleep 1; done
fi

echo "prometheus on http://localhost:$port (data in $data), scraping http://localhost:8080/metrics"
prometheus \
  --config.file="$here/prometheus.yml" \
  --storage.tsdb.path="$data" \
  --web.listen-address="127.0.0.1:$port" &
pids+=($!)
wait "${pids[-1]}"
