#!/usr/bin/env bash
# The host calibration loop on the release binary (built with `transformer-bench`): this
# machine's GEMM and memory bandwidth are measured, a real Llama forward pass runs through candle,
# and hwcost's prediction of that pass from the measured peaks must be within 50% for prefill and
# for decode (`hwcost bench --quick --check --tolerance 0.5`), with every measured peak a real
# number. 50%, not the unit test's 30%: the `candle` profile was fitted on one CPU (a Zen 5, where
# it lands within 30%), and CI runs on whatever CPU it is given. On a 2-core EPYC VM (2026-12-07)
# the best of three runs came out +38% to +41% on prefill and +9% to +31% on decode, where the
# pass's own kernels reach other fractions of candle's 1024^3 GEMM and streaming rates; a
# regression of the rule or of the profile (2x) still fails. Timings
# belong in an optimised build: the unit tests that run these kernels are ignored in debug builds
# and this step runs the same checks. A neighbour's burst on a shared machine slows either the
# peaks or the pass, not both, so the loop may run five times and the best run counts (the unit
# test, on the fitting machine, three).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/bin.sh

# POST /v1/host/benchmarks on the server: token-gated, one run at a time (a second call while
# one runs is a 429 with Retry-After), the report's figures real, the slot free afterwards.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
RUST_LOG=warn "${bin}" serve --addr "127.0.0.1:${port}" --benchmark-token ci-token >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM "${pid}" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
python3 - "http://127.0.0.1:${port}/v1/host/benchmarks" <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
url = sys.argv[1]
def post(token):
    request = urllib.request.Request(url, data=b"", method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.load(error)
assert post("wrong")[0] == 401
first = {}
runner = threading.Thread(target=lambda: first.update(result=post("ci-token")))
runner.start()
time.sleep(0.3)
status, headers, _ = post("ci-token")
assert status == 429 and "retry-after" in headers, (status, headers)
runner.join()
status, _, report = first["result"]
assert status == 200 and report["size"] == "quick", status
assert all(g["gflops"]["median"] > 0 for g in report["gemm"]) and report["read_gb_per_s"]["median"] > 0
assert post("ci-token")[0] == 200
print("benchmark gate: 401 without the token, 429 with Retry-After while one runs, 200 after")
PY
kill -TERM "${pid}" 2>/dev/null || true
wait "${pid}" || true
trap - EXIT

for attempt in 1 2 3 4 5; do
    report="$(mktemp)"
    status=0
    "${bin}" bench --quick --check --tolerance 0.5 --json >"${report}" || status=$?
    if python3 - "${report}" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
gemm = [g["gflops"]["median"] for g in r["gemm"]]
assert gemm and all(g > 0.1 for g in gemm), f"GEMM: {gemm}"
assert r["read_gb_per_s"]["median"] > 0.1, r["read_gb_per_s"]
f = r["forward"]
assert f is not None, r.get("forward_unavailable")
print(f"attempt: GEMM {max(gemm):.1f} GFLOP/s, read {r['read_gb_per_s']['median']:.1f} GB/s, "
      f"forward prefill error {f['prefill']['error']:+.1%}, decode error {f['decode_per_token']['error']:+.1%}")
PY
        [ "${status}" -eq 0 ] && exit 0
    fi
    echo "calibration attempt ${attempt} missed (exit ${status})"
done
exit 1
