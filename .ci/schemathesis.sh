#!/usr/bin/env bash
# Starts the release binary on a free port, runs schemathesis against /openapi.json with every
# check for a bounded time, stops the server by its pid with SIGTERM (which must shut it down
# gracefully, exit code 0), and fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${HWCOST_CI_VENV:-target/ci-venv}"
if [ ! -x "${venv}/bin/schemathesis" ]; then
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi
[ "${1:-}" = "--install-only" ] && exit 0

. .ci/bin.sh
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
HWCOST_LOG_FORMAT=json RUST_LOG=warn "${bin}" serve --addr "127.0.0.1:${port}" >"${log}" 2>&1 &
pid=$!
stop() { kill -TERM "${pid}" 2>/dev/null || true; }
trap stop EXIT

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

status=0
"${venv}/bin/schemathesis" --config-file .ci/schemathesis.toml run "http://127.0.0.1:${port}/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples 60 \
    --max-time 240 \
    --workers 2 \
    --max-response-time 5 \
    --request-timeout 10 \
    --seed 1 \
    --no-color \
    || status=$?

# Graceful shutdown: SIGTERM must stop the server with exit code 0.
trap - EXIT
shutdown=0
if kill -TERM "${pid}" 2>/dev/null; then
    wait "${pid}" || shutdown=$?
else
    wait "${pid}" || shutdown=$?
    echo "the server was no longer running before shutdown (exit ${shutdown})"
    shutdown=${shutdown:-1}
    [ "${shutdown}" -eq 0 ] && shutdown=1
fi
if [ "${shutdown}" -ne 0 ]; then
    echo "server exited with ${shutdown}; last log lines:"
    tail -40 "${log}"
    status=1
fi
# hwcost's own error events (actix's reports of unparseable requests are the fuzzer's doing).
if grep '"level":"ERROR"' "${log}" | grep -q '"target":"hwcost'; then
    echo "server logged errors during fuzzing:"
    grep '"level":"ERROR"' "${log}" | grep '"target":"hwcost' | head -20
    status=1
fi
exit "${status}"
