# Sourced by the CI scripts that need the release binary: sets `bin`. .ci/run builds it once
# (with every feature CI exercises) and passes it as HWCOST_BIN, so no step builds the crate
# again; a script run on its own builds it here.
if [ -n "${HWCOST_BIN:-}" ]; then
    bin="${HWCOST_BIN}"
else
    cargo build --locked --release
    bin="${CARGO_TARGET_DIR:-target}/release/hwcost"
fi
