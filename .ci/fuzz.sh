#!/usr/bin/env bash
# A bounded, coverage-guided fuzzing campaign over hwcost's parsers (tests/fuzz): builds the
# libFuzzer targets on the stable toolchain (LLVM's SanitizerCoverage passes through RUSTFLAGS,
# no sanitizer), runs each on a temporary copy of its committed seed corpus for
# HWCOST_FUZZ_SECONDS seconds (default 15), prints executions, exec/s, coverage and findings per
# target, and fails on any finding (panic, failed invariant, timeout, out of memory), keeping
# the input under target/fuzz-artifacts/. The committed corpora are never written to.
#
#   HWCOST_FUZZ_SECONDS=120 bash .ci/fuzz.sh            # a longer campaign
#   bash .ci/fuzz.sh gguf safetensors                   # only these targets
#   target/fuzz-artifacts/<target>-bin <crash file>     # replay a finding (prints its panic)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${HWCOST_FUZZ_SECONDS:-20}"
all_targets=(safetensors safetensors_index gguf hf_config inference_request training_request check_toml plan_toml catalog_toml)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

dictionary() {
    case "$1" in
        safetensors | safetensors_index) echo safetensors.dict ;;
        gguf) echo gguf.dict ;;
        hf_config | inference_request | training_request) echo request.dict ;;
        *) echo toml.dict ;;
    esac
}

# The fuzz package is its own workspace with its own lock file and target directory (cached
# between runs like target/). Instrumentation goes through --target so that build scripts and
# proc macros, which run on the build machine, are built without it.
fuzz_dir=tests/fuzz
export CARGO_TARGET_DIR="${HWCOST_FUZZ_TARGET_DIR:-${PWD}/${fuzz_dir}/target}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# The fuzz lock holds the main crate's dependencies at Cargo.lock's versions, plus libFuzzer.
# When the main crate's dependencies change, it is refreshed from Cargo.lock (cargo only adds
# what is missing) rather than failing the build; commit the refreshed file.
if ! cargo metadata --locked --format-version 1 --manifest-path "${fuzz_dir}/Cargo.toml" >/dev/null 2>&1; then
    echo "tests/fuzz/Cargo.lock is stale against Cargo.toml; refreshing it from Cargo.lock (commit the result)"
    cp Cargo.lock "${fuzz_dir}/Cargo.lock"
    cargo metadata --format-version 1 --manifest-path "${fuzz_dir}/Cargo.toml" >/dev/null
fi
build_started=$(date +%s)
cargo build --locked --manifest-path "${fuzz_dir}/Cargo.toml" --profile fuzz --target "${triple}" --bins
echo "fuzz targets built in $(($(date +%s) - build_started)) s"
bin_dir="${CARGO_TARGET_DIR}/${triple}/fuzz"

artifacts=target/fuzz-artifacts
mkdir -p "${artifacts}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# One libFuzzer process is one thread: targets run side by side, one per core, each for the
# full time (the campaign is the same as one after the other, in a fraction of the wall time).
fuzz_one() {
    local t="$1"
    cp -r "${fuzz_dir}/corpus/${t}" "${work}/${t}"
    local seeds
    seeds=$(find "${work}/${t}" -type f | wc -l)
    local log="${work}/${t}.log"
    local status=0
    # -timeout: one input taking 10 s is a finding (work per request is bounded);
    # -rss_limit_mb: so is a process above 2 GiB.
    "${bin_dir}/${t}" "${work}/${t}" \
        -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 \
        -dict="${fuzz_dir}/dict/$(dictionary "${t}")" \
        -artifact_prefix="${artifacts}/${t}-" -print_final_stats=1 >"${log}" 2>&1 || status=$?
    final_stat() { sed -n "s/^stat::$1: *//p" "${log}" | tail -1; }
    local execs rate cov corp findings=0
    execs=$(final_stat number_of_executed_units)
    rate=$(final_stat average_exec_per_sec)
    # The last status line: "#N  ... cov: C ft: F corp: K/S ...".
    # `|| true`: a target that dies before its first status line has none, and under
    # `set -e -o pipefail` a failed grep here used to end the script without saying why.
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "${log}" | tail -1 | awk '{print $2 "/" $4}' || true)
    corp=$(grep -o 'corp: [0-9]*' "${log}" | tail -1 | awk '{print $2}' || true)
    if [ "${status}" -ne 0 ]; then
        findings=1
        cp "${bin_dir}/${t}" "${artifacts}/${t}-bin"
        {
            echo "=== ${t}: finding (exit ${status}); log tail:"
            grep -v '^#[0-9]' "${log}" | tail -40
        } >"${work}/${t}.finding"
    fi
    printf '%-18s %10s %8s %12s %6s -> %-6s %s\n' "${t}" "${execs:-0}" "${rate:-0}" "${cov:-?}" \
        "${seeds}" "${corp:-?}" "${findings}" >"${work}/${t}.summary"
}

parallel="${HWCOST_FUZZ_JOBS:-$(nproc)}"
running=0
for t in "${targets[@]}"; do
    fuzz_one "${t}" &
    running=$((running + 1))
    if [ "${running}" -ge "${parallel}" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

summary=()
failed=0
for t in "${targets[@]}"; do
    if [ -f "${work}/${t}.finding" ]; then
        cat "${work}/${t}.finding"
        failed=1
    fi
    summary+=("$(cat "${work}/${t}.summary" 2>/dev/null || echo "${t}: no result")")
    [ -f "${work}/${t}.summary" ] || failed=1
done

echo
echo "fuzzing: ${seconds} s per target, ${parallel} at a time (libFuzzer, stable rustc with SanitizerCoverage)"
printf '%-18s %10s %8s %12s %6s    %-6s %s\n' target executions exec/s cov/features seeds corpus findings
printf '%s\n' "${summary[@]}"
if [ "${failed}" -ne 0 ]; then
    echo "findings saved under ${artifacts}/ (replay: ${artifacts}/<target>-bin <file>)"
    exit 1
fi
