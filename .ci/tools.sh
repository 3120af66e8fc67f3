#!/usr/bin/env bash
# Installs what the CI steps need beyond the Rust toolchain, each script's own way (`--install-only`
# runs a script's install part and stops): Debian's wrk and Chromium one after the other (apt
# takes a lock), the Python venvs and playwright-core side by side. .ci/run starts it in the
# background while the first builds run; each script still installs what is missing when run alone.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
run() {
    local started=${SECONDS}
    if "$@" --install-only; then
        echo "tools: $* ($((SECONDS - started)) s)"
    else
        echo "tools: $* FAILED"
        return 1
    fi
}
(run bash .ci/load.sh && run bash .ci/browser.sh) &
apt=$!
run bash .ci/fleet.sh & fleet=$!
run bash .ci/schemathesis.sh & schemathesis=$!
run bash .ci/python-client.sh & client=$!
for pid in "${apt}" "${fleet}" "${schemathesis}" "${client}"; do
    wait "${pid}" || status=1
done
exit "${status}"
