#!/usr/bin/env bash
# Load and abuse against the release binary, bounded to about 2.5 minutes (after the build):
#   mixed-load   wrk, 30 s, 2 threads, 32 connections rotating over /healthz, /v1/hardware,
#                /v1/models, /v1/hardware/{id}, both estimates (README bodies), one invalid
#                body (400/422) and a DELETE on /v1/hardware/{id} (405): zero unexpected statuses,
#                zero socket errors, RSS at the end within 10% of RSS after a warm-up
#   batches-16, batches-32  16 then 32 clients looping 1000-item batches for 10 s: only 200 or
#                429, /healthz p99 < 50 ms, RSS peak < 300 MiB
#   heavy-checks 4 clients looping POST /v1/check with percentile rules (a capacity search and a
#                replay each) for 10 s: only 200 or 503 (admission), /healthz p99 < 50 ms
#   plans        8 copies of the README's plan at once: 8 x 200, one answer (elapsed time aside),
#                every search complete, /healthz p99 < 50 ms
#   stalled-imports  4 clients opening an import every 0.5 s and sending nothing while a 1 KB
#                config.json import loops for 8 s: every import 200, /healthz p99 < 50 ms
#   log-volume   at the end, the server's log (RUST_LOG=warn) holds fewer than 50 WARN lines
#                (every 405 on a parameterised route wrote one)
#   sigterm      a server with 1 worker and no drain gets 12 requests at once, then SIGTERM
#                twice: all 12 answered 200, exit 0
#   methods      5000 made-up HTTP methods (X0 to X4999): no method="X..." series in /metrics,
#                RSS (after a /metrics scrape) at most 1 MiB above its value before them
#   import       3 clients posting a 58 MB GGUF header (1,000,000 tensors) for 10 s: /healthz
#                p99 < 50 ms meanwhile
#   slow-bodies  200 POSTs with Content-Length: 100 and one byte sent, 20 chunked ones: all
#                answered 408 and closed within the body timeout (2 s here) + 2 s, /healthz p99
#                < 50 ms meanwhile
#   drain        a second server with HWCOST_DRAIN_SECONDS=2 and slow bodies open gets SIGTERM:
#                /readyz 503 at once, /healthz 200 during the drain, exit 0 within drain + 4 s
# Each check prints `CHECK <name>: <figures> PASS|FAIL`; the script fails if any fails, printing
# the tail of the server's log. Installs wrk (Debian package) if it is missing. The abuse clients
# are .ci/abuse.py (Python 3 standard library); the wrk script is .ci/load.lua.
# HWCOST_BIN=path (or HWCOST_LOAD_BIN) runs against that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    elif sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        echo "wrk is not installed and this user cannot install it (not root, no sudo)"
        exit 1
    fi
fi

[ "${1:-}" = "--install-only" ] && exit 0
HWCOST_BIN="${HWCOST_BIN:-${HWCOST_LOAD_BIN:-}}"
. .ci/bin.sh

body_timeout=2
tmp="$(mktemp -d)"
log="${tmp}/server.log"
drain_log="${tmp}/drain-server.log"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:${port}"
HWCOST_LOG_FORMAT=json RUST_LOG=warn HWCOST_BODY_TIMEOUT_SECONDS="${body_timeout}" \
    "${bin}" serve --addr "127.0.0.1:${port}" >"${log}" 2>&1 &
pid=$!
stop() { kill -TERM "${pid}" 2>/dev/null || true; }
trap stop EXIT

for _ in $(seq 1 100); do
    curl -fsS "${base}/readyz" >/dev/null 2>&1 && break
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
done
if ! curl -fsS "${base}/readyz" >/dev/null 2>&1; then
    echo "the server did not become ready; last log lines:"
    tail -40 "${log}"
    exit 1
fi

passed=0
failed=0
check() {
    local name="$1"
    shift
    if ! kill -0 "${pid}" 2>/dev/null; then
        echo "CHECK ${name}: the server is no longer running FAIL"
        failed=$((failed + 1))
        return
    fi
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/${pid}/status"; }

mixed_load() {
    local hw out line rss0 rss1
    hw="$(curl -fsS "${base}/v1/hardware" | python3 -c 'import json, sys
ids = [d["id"] for d in json.load(sys.stdin)["items"]]
print("nvidia-h100-sxm-80gb" if "nvidia-h100-sxm-80gb" in ids else ids[0])')"
    # Warm-up: connection pools, allocator arenas and lazily built answers settle first.
    wrk -t2 -c32 -d4s -s .ci/load.lua "${base}" -- "${hw}" >/dev/null
    sleep 0.5
    rss0="$(rss_kib)"
    out="${tmp}/wrk.txt"
    wrk -t2 -c32 -d30s --latency --timeout 5s -s .ci/load.lua "${base}" -- "${hw}" >"${out}" 2>&1 || true
    sleep 0.5
    rss1="$(rss_kib)"
    sed 's/^/  /' "${out}" | grep -v WRK_RESULT
    line="$(grep '^WRK_RESULT' "${out}" || true)"
    if [ -z "${line}" ]; then
        echo "CHECK mixed-load: wrk printed no result FAIL"
        return 1
    fi
    python3 - "${line}" "${rss0}" "${rss1}" <<'EOF'
import sys
r = dict(kv.split("=", 1) for kv in sys.argv[1].split()[1:])
rss0, rss1 = int(sys.argv[2]), int(sys.argv[3])
change = (rss1 - rss0) / rss0 * 100
ok = int(r["unexpected"]) == 0 and int(r["socket_errors"]) == 0 and int(r["requests"]) > 0 and abs(change) <= 10
print(f"CHECK mixed-load: {r['requests']} requests in {r['seconds']}s = {r['rps']} req/s, "
      f"latency p50={r['p50_ms']}ms p99={r['p99_ms']}ms max={r['max_ms']}ms, "
      f"unexpected={r['unexpected']} socket_errors={r['socket_errors']}, "
      f"rss_start={rss0}KiB rss_end={rss1}KiB change={change:+.1f}% (limit 10%) "
      f"{'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
}

echo "load: server ${bin} pid ${pid} on ${base}, body timeout ${body_timeout}s, log ${log}"
check mixed-load mixed_load
check methods python3 .ci/abuse.py methods --port "${port}" --pid "${pid}"
check import python3 .ci/abuse.py import --port "${port}" --clients 3 --seconds 10
check slow-bodies python3 .ci/abuse.py slow --port "${port}" --conns 200 --chunked 20 \
    --body-timeout "${body_timeout}" --margin 2
check batches-16 python3 .ci/abuse.py batches --port "${port}" --pid "${pid}" --clients 16 --seconds 10
check batches-32 python3 .ci/abuse.py batches --port "${port}" --pid "${pid}" --clients 32 --seconds 10
check heavy-checks python3 .ci/abuse.py checks --port "${port}" --clients 4 --seconds 10
check plans python3 .ci/abuse.py plans --port "${port}" --copies 8
check stalled-imports python3 .ci/abuse.py stalled-imports --port "${port}" --stallers 4 --every 0.5 --seconds 8
log_volume() {
    local warns
    warns="$(grep -c '"level":"WARN"' "${log}" || true)"
    if [ "${warns}" -lt 50 ]; then
        echo "CHECK log-volume: ${warns} WARN lines, log $(wc -c <"${log}") bytes (limit 50 WARN lines) PASS"
    else
        echo "CHECK log-volume: ${warns} WARN lines, log $(wc -c <"${log}") bytes (limit 50 WARN lines) FAIL"
        return 1
    fi
}
check log-volume log_volume
check sigterm python3 .ci/abuse.py sigterm --bin "${bin}" --log "${drain_log}" --requests 12
check drain python3 .ci/abuse.py drain --bin "${bin}" --log "${drain_log}" --drain 2 \
    --body-timeout "${body_timeout}" --slow 20 --margin 4

# Stop the main server: it must still be running and stop cleanly on SIGTERM, as in
# schemathesis.sh (drain 0 s by default, so it stops as soon as nothing is in flight).
trap - EXIT
shutdown=0
t0="$(date +%s.%N)"
if kill -TERM "${pid}" 2>/dev/null; then
    for _ in $(seq 1 400); do
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
        echo "  the server did not stop within 40 s of SIGTERM; killing it"
        kill -KILL "${pid}" 2>/dev/null || true
    fi
    wait "${pid}" || shutdown=$?
else
    wait "${pid}" || shutdown=$?
    echo "  the server was no longer running at the end (exit ${shutdown})"
    [ "${shutdown}" -eq 0 ] && shutdown=1
fi
took="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "${t0}" "$(date +%s.%N)")"
if [ "${shutdown}" -eq 0 ]; then
    echo "CHECK shutdown: exit_code=0 after ${took}s PASS"
    passed=$((passed + 1))
else
    echo "CHECK shutdown: exit_code=${shutdown} after ${took}s FAIL"
    failed=$((failed + 1))
fi

# The abuse leaves many identical warnings: show each distinct event once with its count, then
# the last lines as they are.
log_tail() {
    echo "distinct events in $1 (count, without timestamps):"
    sed -E 's/"timestamp":"[^"]*",?//' "$1" | sort | uniq -c | sort -rn | head -15 | cut -c1-400
    echo "last lines of $1:"
    tail -n "$2" "$1" | cut -c1-400
}
if [ "${failed}" -ne 0 ]; then
    log_tail "${log}" 15
    [ -s "${drain_log}" ] && log_tail "${drain_log}" 10
fi
echo "load and abuse: ${passed} of $((passed + failed)) checks passed"
[ "${failed}" -eq 0 ]
