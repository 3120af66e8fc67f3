#!/usr/bin/env bash
# Generates a Python client from the committed openapi/openapi.json with openapi-python-client
# (failing on any generator warning, and unless every operationId became a module), installs it,
# starts the release binary on a free port, calls the read-only endpoints and both estimates through
# the generated client (.ci/python_client_check.py), and stops the server by its pid with SIGTERM
# (which must shut it down gracefully, exit code 0).
set -euo pipefail
cd "$(dirname "$0")/.."

generator="openapi-python-client==0.29.1"
venv="${HWCOST_CI_CLIENT_VENV:-target/ci-client-venv}"
if [ ! -x "${venv}/bin/openapi-python-client" ] \
    || ! "${venv}/bin/pip" freeze --disable-pip-version-check 2>/dev/null | grep -qx "${generator}"; then
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install --quiet --disable-pip-version-check "${generator}"
fi
[ "${1:-}" = "--install-only" ] && exit 0

work="$(mktemp -d)"
log="${work}/server.log"
pid=""
cleanup() {
    [ -n "${pid}" ] && kill -TERM "${pid}" 2>/dev/null || true
    rm -rf "${work}"
}
trap cleanup EXIT

# Generation. No post hooks (they only format the code, with ruff, which is not installed); with
# --fail-on-warning any warning about the document (a schema it cannot read, an endpoint it skips)
# fails the step, and the output is also checked for one.
printf 'post_hooks: []\n' >"${work}/config.yaml"
generated=0
"${venv}/bin/openapi-python-client" generate --path openapi/openapi.json --meta setup \
    --config "${work}/config.yaml" --output-path "${work}/client" --overwrite --fail-on-warning \
    >"${work}/generate.log" 2>&1 || generated=$?
cat "${work}/generate.log"
if [ "${generated}" -ne 0 ] || grep -Eqi 'warning|error|unable to|skipping' "${work}/generate.log"; then
    echo "openapi-python-client reported problems with openapi/openapi.json (exit ${generated})"
    exit 1
fi

# One module per operationId: the ones this script was written for, and any in the document.
api="${work}/client/hwcost_client/api"
expected="healthz readyz metrics list_hardware get_hardware list_models get_model get_model_parameters
import_model estimate_inference estimate_training get_validation_report calibrate check_plan
plan_deployment plan_training estimate_batch describe_host run_host_benchmarks"
documented="$(python3 -c '
import json, sys
spec = json.load(open("openapi/openapi.json"))
for item in spec["paths"].values():
    for operation in item.values():
        print(operation.get("operationId", "(an operation without operationId)"))
')"
missing=0
for operation in $(printf '%s\n%s\n' "${expected}" "${documented}" | tr ' ' '\n' | sort -u); do
    if [ -z "$(find "${api}" -name "${operation}.py" -print -quit 2>/dev/null)" ]; then
        echo "generated client has no module for operation ${operation}"
        missing=1
    fi
done
[ "${missing}" -eq 0 ] || exit 1
echo "generated $(find "${api}" -name '*.py' ! -name '__init__.py' | wc -l) operation modules"

"${venv}/bin/pip" uninstall --quiet --disable-pip-version-check --yes hwcost-client >/dev/null 2>&1 || true
"${venv}/bin/pip" install --quiet --disable-pip-version-check "${work}/client"

. .ci/bin.sh
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
HWCOST_LOG_FORMAT=json RUST_LOG=warn "${bin}" serve --addr "127.0.0.1:${port}" >"${log}" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

status=0
"${venv}/bin/python" .ci/python_client_check.py "http://127.0.0.1:${port}" || status=$?

# Graceful shutdown: SIGTERM must stop the server with exit code 0.
shutdown=0
if kill -TERM "${pid}" 2>/dev/null; then
    wait "${pid}" || shutdown=$?
else
    wait "${pid}" || shutdown=$?
    echo "the server was no longer running before shutdown (exit ${shutdown})"
    [ "${shutdown}" -eq 0 ] && shutdown=1
fi
pid=""
if [ "${shutdown}" -ne 0 ]; then
    echo "server exited with ${shutdown}; last log lines:"
    tail -40 "${log}"
    status=1
fi
exit "${status}"
