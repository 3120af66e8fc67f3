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

#[test]
fn a_file_that_names_its_device_as_the_driver_writes_it_needs_no_hardware() {
    // The llm-d report names the device by its Kubernetes GPU label and the model by its Hugging
    // Face id: both resolve, and the output says to what.
    let report = format!("{FIXTURES}/llmd_report_v0.1.yaml");
    let (code, out, err) = validate(&["--measurements", &report]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("ttft_ms") && !out.contains("not replayed"), "{out}");
    assert!(out.contains(r#"device: the file's "NVIDIA-H100-80GB-HBM3" is nvidia-h100-sxm-80gb"#), "{out}");
    assert!(out.contains(r#"model: the file's "meta-llama/Llama-3.1-8B-Instruct" is llama-3.1-8b"#), "{out}");
    assert!(out.contains("replay: 400 requests of the file's mean lengths"), "{out}");

    // A device the catalog does not have is an error that names the field to give.
    let text = std::fs::read_to_string(&report).unwrap().replace("NVIDIA-H100-80GB-HBM3", "NVIDIA-H20");
    let path = std::env::temp_dir().join(format!("hwcost-h20-{}.yaml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let (code, out, _) = validate(&["--measurements", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not replayed") && out.contains("NVIDIA-H20") && out.contains("give hardware"), "{out}");
}

#[test]
fn detailed_vllm_records_are_replayed_at_drawn_arrivals_and_said_so() {
    let detailed = format!("{FIXTURES}/vllm_bench_serve_detailed.json");
    let (code, out, err) = validate(&["--measurements", &detailed, "--hardware", "NVIDIA H100 80GB HBM3"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("replay: the file's 3 per-request lengths in the file's order")
            && out.contains("Poisson process at 2 requests/s (seed 0)"),
        "{out}"
    );
}
