//! `hwcost validate --measurements`: a user's benchmark result files replayed and compared.

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/benchmarks");

fn validate(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hwcost")).arg("validate").args(args).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn each_fixture_is_replayed_and_every_number_compared() {
    let files = [
        "vllm_bench_serve_detailed.json",
        "guidellm_0.2.json",
        "llmd_report_v0.1.yaml",
        "genai_perf_profile_export.json",
    ];
    let paths: Vec<String> = files.iter().map(|f| format!("{FIXTURES}/{f}")).collect();
    let mut args: Vec<&str> = vec!["--measurements"];
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--model", "llama-3.1-8b", "--hardware", "nvidia-h100-sxm-80gb"]);
    let (code, out, err) = validate(&args);
    assert_eq!(code, Some(0), "{out}{err}");
    for f in files {
        assert!(out.contains(f), "{f}: {out}");
    }
    // Both GuideLLM benchmarks, and each of the six metrics somewhere.
    assert!(out.contains("benchmarks/0") && out.contains("benchmarks/1"), "{out}");
    for metric in ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "output_tokens_per_second", "requests_per_second"] {
        assert!(out.contains(metric), "{metric}: {out}");
    }
    assert!(!out.contains("not replayed"), "{out}");
}

#[test]
fn what_cannot_be_replayed_or_read_is_said_with_its_exit_code() {
    // The published run's file names a model the catalog does not know.
    let summary = format!("{FIXTURES}/vllm_bench_serve.json");
    let (code, out, _) = validate(&["--measurements", &summary, "--hardware", "nvidia-h100-sxm-80gb"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("not replayed: unknown model \"example-org/example-model-70b\""), "{out}");
    let readme = format!("{FIXTURES}/README.md");
    let (code, _, err) = validate(&["--measurements", &readme, "--model", "llama-3.1-8b"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("neither JSON nor YAML") || err.contains("not a benchmark result"), "{err}");
}
