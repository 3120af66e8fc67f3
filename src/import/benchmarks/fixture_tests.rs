//! The readers against the result files under `tests/fixtures/benchmarks/` (see its README for
//! where each format and each value comes from).

use super::guidellm::tpot_from;
use super::*;
use proptest::prelude::*;

const VLLM: &[u8] = include_bytes!("../../../tests/fixtures/benchmarks/vllm_bench_serve.json");
const VLLM_DETAILED: &[u8] = include_bytes!("../../../tests/fixtures/benchmarks/vllm_bench_serve_detailed.json");
const GUIDELLM_02: &[u8] = include_bytes!("../../../tests/fixtures/benchmarks/guidellm_0.2.json");
const GUIDELLM_V1: &[u8] = include_bytes!("../../../tests/fixtures/benchmarks/guidellm_v1.json");
const LLMD: &[u8] = include_bytes!("../../../tests/fixtures/benchmarks/llmd_report_v0.1.yaml");
const GENAI_PERF: &[u8] = include_bytes!("../../../tests/fixtures/benchmarks/genai_perf_profile_export.json");

const ALL: [(&str, &[u8], Tool); 6] = [
    ("vllm", VLLM, Tool::VllmBench),
    ("vllm detailed", VLLM_DETAILED, Tool::VllmBench),
    ("guidellm 0.2", GUIDELLM_02, Tool::GuideLlm),
    ("guidellm v1", GUIDELLM_V1, Tool::GuideLlm),
    ("llm-d", LLMD, Tool::LlmD),
    ("genai-perf", GENAI_PERF, Tool::GenaiPerf),
];

fn one(bytes: &[u8]) -> MeasuredRun {
    let mut runs = read(bytes).unwrap();
    assert_eq!(runs.len(), 1);
    runs.remove(0)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-6 * b.abs().max(1.0))
}

fn value(run: &MeasuredRun, kind: MetricKind) -> Summary {
    run.metric(kind).unwrap_or_else(|| panic!("{} has no {}", run.tool.as_str(), kind.as_str())).summary
}

#[test]
fn the_sniffer_tells_each_fixture_apart() {
    for (name, bytes, tool) in ALL {
        assert_eq!(sniff_bytes(bytes).unwrap(), tool, "{name}");
    }
}

#[test]
fn a_vllm_summary_reads_its_published_numbers() {
    let run = one(VLLM);
    assert_eq!(run.tool, Tool::VllmBench);
    let c = &run.conditions;
    assert_eq!(c.model.as_deref(), Some("example-org/example-model-70b"));
    assert_eq!(c.arrival, Some(Arrival::Unbounded { max_concurrency: Some(32) }));
    assert_eq!((c.completed, c.input_tokens_mean, c.output_tokens_mean), (Some(32), Some(2048.0), Some(2048.0)));
    assert_eq!(
        (c.device.as_deref(), c.devices, c.layout, c.engine.as_deref()),
        (None, None, None, None),
        "not stated, not guessed"
    );
    let ttft = value(&run, MetricKind::TtftMs);
    assert_eq!((ttft.mean, ttft.median, ttft.p90, ttft.p99), (Some(7279.56), Some(7099.88), None, Some(10999.46)));
    assert_eq!(value(&run, MetricKind::TpotMs).mean, Some(70.14));
    assert_eq!(value(&run, MetricKind::ItlMs).median, Some(68.15));
    assert!(run.metric(MetricKind::E2eMs).is_none(), "the run did not ask for e2el percentiles");
    assert_eq!(value(&run, MetricKind::OutputTokensPerSecond).mean, Some(434.40));
    assert_eq!(value(&run, MetricKind::RequestsPerSecond).mean, Some(0.21));
    assert!(run.metric(MetricKind::TpotMs).unwrap().definition.contains("excluding the first token"));
    assert!(run.requests.is_empty());
}

#[test]
fn vllm_detailed_arrays_become_requests_whose_tpot_is_the_files_own() {
    let run = one(VLLM_DETAILED);
    assert_eq!(
        run.conditions.arrival,
        Some(Arrival::Rate { per_second: 2.0, burstiness: Some(1.0), max_concurrency: None })
    );
    assert_eq!(run.conditions.failed, Some(1));
    // The failed third request is dropped; by hand the first: ttft 50 ms, e2e 50 + 20 + 21 + 19 = 110 ms.
    assert_eq!(run.requests.len(), 3);
    let r = run.requests[0];
    assert_eq!((r.input_tokens, r.output_tokens, r.arrival_s), (512, 4, None));
    assert!(close(r.ttft_ms, 50.0) && close(r.e2e_ms, 110.0), "{r:?}");
    // hwcost's TPOT from the requests is the number vLLM wrote: (110 - 50) / 3 = 20, 42 / 2 = 21, 80 / 4 = 20.
    let mine = tpot_from(&run.requests);
    let theirs = value(&run, MetricKind::TpotMs);
    assert!(close(mine.mean, theirs.mean.unwrap()) && close(mine.mean, 61.0 / 3.0), "{mine:?} vs {theirs:?}");
    assert!(close(mine.p99, theirs.p99.unwrap()));
    assert!(close(value(&run, MetricKind::E2eMs).mean, 332.0 / 3.0));
}

#[test]
fn guidellm_0_2_reads_every_benchmark_with_its_strategy_and_requests() {
    let runs = read(GUIDELLM_02).unwrap();
    assert_eq!(runs.len(), 2);
    let (sync, poisson) = (&runs[0], &runs[1]);
    assert_eq!((sync.label.as_str(), poisson.label.as_str()), ("benchmarks/0", "benchmarks/1"));
    assert_eq!(sync.conditions.arrival, Some(Arrival::Concurrency(1)));
    assert_eq!(
        poisson.conditions.arrival,
        Some(Arrival::Rate { per_second: 2.5, burstiness: Some(1.0), max_concurrency: None })
    );
    assert_eq!(sync.conditions.model.as_deref(), Some("Qwen/Qwen2.5-7B-Instruct"));
    assert_eq!(sync.tool_version, None);
    // request_latency is in seconds: (1.310 + 1.312 + 0.670) / 3 s = 1097.33 ms.
    assert!(close(value(sync, MetricKind::E2eMs).mean, 3292.0 / 3.0));
    assert!(close(value(sync, MetricKind::TtftMs).mean, 41.0));
    // TPOT by hand from the requests: 1270 / 127, 1270 / 127, 629 / 63.
    assert!(close(value(sync, MetricKind::TpotMs).mean, (10.0 + 10.0 + 629.0 / 63.0) / 3.0));
    // ITL is the token-weighted mean, the pooled gap: (1270 + 1270 + 629) / (127 + 127 + 63).
    assert!(close(value(sync, MetricKind::ItlMs).mean, 3169.0 / 317.0));
    let arrivals: Vec<f64> = sync.requests.iter().map(|r| r.arrival_s.unwrap()).collect();
    assert!(arrivals.iter().zip([0.0, 1.31, 2.62]).all(|(a, b)| (a - b).abs() < 1e-6), "{arrivals:?}");
    assert!(sync.notes.iter().any(|n| n.contains("time_per_output_token_ms not mapped")));
    assert_eq!(sync.conditions.completed, Some(3));
    assert!(close(sync.conditions.output_tokens_mean, 320.0 / 3.0));
}

#[test]
fn guidellm_v1_takes_its_version_and_model_and_computes_tpot() {
    let run = one(GUIDELLM_V1);
    assert_eq!(run.tool_version.as_deref(), Some("0.4.0"));
    assert_eq!(run.conditions.model.as_deref(), Some("Qwen/Qwen3-8B"));
    assert_eq!(run.conditions.arrival, Some(Arrival::Concurrency(4)));
    assert!(run.metric(MetricKind::ItlMs).is_none(), "its weighting changed between releases");
    let tpot = (2540.0 / 127.0 + 2565.0 / 127.0 + 2610.0 / 127.0 + 1255.0 / 63.0) / 4.0;
    assert!(close(value(&run, MetricKind::TpotMs).mean, tpot));
    assert!(close(value(&run, MetricKind::TtftMs).mean, 87.5));
    assert_eq!(run.requests.len(), 4);
    assert!(close(run.requests[3].arrival_s, 0.03));
}

#[test]
fn an_llmd_report_states_device_layout_and_engine() {
    let run = one(LLMD);
    let c = &run.conditions;
    assert_eq!(run.tool_version.as_deref(), Some("0.1"));
    assert_eq!(c.model.as_deref(), Some("meta-llama/Llama-3.1-8B-Instruct"));
    assert_eq!((c.device.as_deref(), c.devices), (Some("NVIDIA-H100-80GB-HBM3"), Some(2)));
    assert_eq!(c.layout, Some(Layout { tensor: 2, pipeline: 1, data: 1, expert: 1 }));
    assert_eq!((c.engine.as_deref(), c.engine_version.as_deref()), (Some("vllm"), Some("0.10.1")));
    assert_eq!(c.arrival, Some(Arrival::Rate { per_second: 4.0, burstiness: None, max_concurrency: None }));
    assert_eq!((c.completed, c.failed, c.duration_s), (Some(400), Some(0), Some(101.3)));
    // request_latency is in s: 1.8075 s = 1807.5 ms.
    let e2e = value(&run, MetricKind::E2eMs);
    assert!(close(e2e.mean, 1807.5) && close(e2e.p99, 2011.0));
    assert_eq!(value(&run, MetricKind::TpotMs).median, Some(8.85));
    assert_eq!(value(&run, MetricKind::RequestsPerSecond).mean, Some(3.949));
    assert!(run.metric(MetricKind::TtftMs).unwrap().definition.contains("vllm-benchmark"));
}

#[test]
fn genai_perf_inter_token_latency_is_read_as_tpot() {
    let run = one(GENAI_PERF);
    assert_eq!(run.conditions.model.as_deref(), Some("meta-llama/Meta-Llama-3-8B-Instruct"));
    assert_eq!(run.conditions.arrival, Some(Arrival::Concurrency(8)));
    assert_eq!((run.conditions.input_tokens_mean, run.conditions.output_tokens_mean), (Some(550.0), Some(128.0)));
    let tpot = value(&run, MetricKind::TpotMs);
    assert_eq!((tpot.mean, tpot.median, tpot.p90, tpot.p99), (Some(9.16), Some(9.14), Some(9.55), Some(9.93)));
    assert!(run.metric(MetricKind::ItlMs).is_none());
    assert_eq!(value(&run, MetricKind::E2eMs).p99, Some(1330.6));
    assert_eq!(value(&run, MetricKind::OutputTokensPerSecond).mean, Some(834.6));
}

fn edited(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1).into_bytes()
}

/// The JSON fixture with the value at `pointer` replaced (`None`: removed).
fn with(bytes: &[u8], pointer: &str, new: Option<serde_json::Value>) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match doc.pointer_mut(parent).unwrap() {
        serde_json::Value::Array(items) => items[key.parse::<usize>().unwrap()] = new.unwrap(),
        parent => {
            let parent = parent.as_object_mut().unwrap();
            assert!(parent.contains_key(key), "{pointer}");
            match new {
                Some(v) => parent.insert(key.to_owned(), v),
                None => parent.remove(key),
            };
        }
    }
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn bad_units_versions_and_values_name_their_field() {
    use serde_json::json;
    let llmd_unit = read(&edited(LLMD, "units: ms\n", "units: min\n")).unwrap_err();
    assert_eq!(llmd_unit.field, "/metrics/latency/time_to_first_token/units");
    assert!(llmd_unit.problem.contains("`min`"), "{llmd_unit}");
    assert_eq!(read(&edited(LLMD, "version: '0.1'", "version: '0.2'")).unwrap_err().field, "/version");
    let cases: [(&[u8], &str, Option<serde_json::Value>, &str); 6] = [
        (
            GENAI_PERF,
            "/output_token_throughput/unit",
            Some(json!("tok/min")),
            "unit `tok/min` not read here; expected tokens/sec",
        ),
        (
            GUIDELLM_V1,
            "/metadata/version",
            Some(json!(7)),
            "GuideLLM report schema version 7 is not read; read are the unversioned layout of guidellm 0.2-0.3 and version 1",
        ),
        (VLLM, "/mean_ttft_ms", Some(json!(-1.0)), "expected a finite number >= 0, found -1"),
        (VLLM, "/completed", Some(json!("32")), "expected a number, found a string"),
        (GUIDELLM_02, "/benchmarks/1/args/strategy/rate", None, "missing"),
        (VLLM_DETAILED, "/itls/1", Some(json!([0.1, "x"])), "expected a number, found a string"),
    ];
    for (bytes, pointer, new, problem) in cases {
        let e = read(&with(bytes, pointer, new)).unwrap_err();
        let field = if pointer == "/itls/1" { "/itls/1/1" } else { pointer };
        assert_eq!((e.field.as_str(), e.problem.as_str()), (field, problem));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_truncated_file_is_an_error_never_a_panic(which in 0usize..6, cut in 0.0f64..1.0) {
        let (name, bytes, _) = ALL[which];
        let at = ((bytes.len() as f64) * cut) as usize;
        let prefix = &bytes[..at];
        let result = read(prefix);
        // A JSON prefix never parses; a YAML prefix may, and then lacks a required field or reads fewer numbers.
        if name != "llm-d" && at < bytes.trim_ascii_end().len() {
            prop_assert!(result.is_err(), "{name} cut at {at} read");
        }
    }

    #[test]
    fn a_corrupted_byte_is_an_error_or_a_read_never_a_panic(which in 0usize..6, at in 0.0f64..1.0, byte in any::<u8>()) {
        let (_, bytes, _) = ALL[which];
        let mut copy = bytes.to_vec();
        let i = ((copy.len() as f64) * at) as usize % copy.len();
        copy[i] = byte;
        let _ = read(&copy);
    }
}
