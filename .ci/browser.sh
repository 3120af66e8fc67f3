#!/usr/bin/env bash
# The dashboard in a real browser: installs Debian's Chromium (when missing) and playwright-core
# (from .ci/browser/package-lock.json; it drives the system Chromium and downloads no browser),
# starts the release binary on a free port, and runs .ci/browser/dashboard.test.mjs against it.
# Screenshots of every view land in target/screenshots/. WEB=web serves the working tree's web/ files
# to the browser instead of the binary's embedded copy (to try a page change without rebuilding).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    ${sudo} apt-get install -y -q chromium >/dev/null 2>&1 \
        || { ${sudo} apt-get update -q >/dev/null && ${sudo} apt-get install -y -q chromium >/dev/null; }
fi
chromium --version
npm ci --prefix .ci/browser --no-audit --no-fund --loglevel=error
[ "${1:-}" = "--install-only" ] && exit 0

. .ci/bin.sh
shots="target/screenshots"
rm -rf "${shots}"
mkdir -p "${shots}"
log="${shots}/server.log"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
RUST_LOG=warn "${bin}" serve --addr "127.0.0.1:${port}" >"${log}" 2>&1 &
pid=$!
trap 'kill -TERM "${pid}" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "dashboard assets: $(find web -type f -exec cat {} + | wc -c) bytes uncompressed"
SHOTS="${shots}" node .ci/browser/dashboard.test.mjs "http://127.0.0.1:${port}"
