//! `POST /v1/calibrate` lowers the error on a user's own points.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn calibration_lowers_the_error_and_its_overrides_work() {
    let app = spawn_app().await;
    // A user's measurements: an engine 40% slower at decode and 2x slower at prefill than the
    // catalog profile predicts (made from hwcost's own predictions, so the fit has a known answer).
    let request = |input: u64, output: u64| json!({"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "weights": "q4_0", "engine": "llama.cpp", "input_tokens": input, "output_tokens": output});
    let estimate = |body: Value| {
        let app = &app;
        async move {
            let r =
                app.post_raw("/v1/estimate/inference", "application/json", serde_json::to_vec(&body).unwrap()).await;
            r.json::<Value>().await.unwrap()
        }
    };
    let decode = estimate(request(0, 128)).await["latency"]["tpot_ms"].as_f64().unwrap();
    let prefill = estimate(request(512, 0)).await["throughput"]["prefill_tokens_per_s"].as_f64().unwrap();
    let body = json!({"points": [
        {"kind": "inference", "request": request(0, 128), "measured": {"tpot_ms": decode * 1.4}},
        {"kind": "inference", "request": request(0, 256), "measured": {"tpot_ms": decode * 1.4}},
        {"kind": "inference", "request": request(512, 0), "measured": {"prefill_tokens_per_s": prefill / 2.0}},
    ]});
    let response = app.post_raw("/v1/calibrate", "application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(response.status(), 200);
    let fit: Value = response.json().await.unwrap();
    let (before, after) = (fit["before"]["median_ape"].as_f64().unwrap(), fit["after"]["median_ape"].as_f64().unwrap());
    assert!(before > 0.25 && after < before / 2.0, "{fit}");

    let mut calibrated = request(0, 128);
    calibrated["overrides"] = fit["overrides"].clone();
    let tpot = estimate(calibrated).await["latency"]["tpot_ms"].as_f64().unwrap();
    assert!((tpot / (decode * 1.4) - 1.0).abs() < 0.15, "{tpot} vs {}", decode * 1.4);
}

#[tokio::test]
async fn calibration_rejects_mixed_or_empty_points() {
    let app = spawn_app().await;
    let empty = app.post_raw("/v1/calibrate", "application/json", r#"{"points": []}"#).await;
    assert_eq!(empty.status(), 400);
    let mixed = json!({"points": [
        {"kind": "inference", "request": {"model": "gpt2", "hardware": "h100"}, "measured": {"tpot_ms": 1.0}},
        {"kind": "training", "request": {"model": "gpt2", "hardware": "h100"}, "measured": {"tokens_per_s_per_device": 1000.0}},
    ]});
    let response = app.post_raw("/v1/calibrate", "application/json", serde_json::to_vec(&mixed).unwrap()).await;
    assert_eq!(response.status(), 422);
}

/// A `vllm bench serve --save-result` file of what `truth` (a fitted-profile document) makes
/// hwcost predict for Llama 3.1 8B on one H100 at `rate` requests/s: a user's measurements with
/// a known answer.
async fn measured_file(app: &crate::helpers::TestApp, truth: &Value, rate: f64) -> Value {
    let body = json!({
        "model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine_profile": truth,
        "workload": {"arrival": "poisson", "requests_per_s": rate, "requests": 300, "input_tokens": 1024, "output_tokens": 256}
    });
    let (status, s) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(status, 200, "{s}");
    let ms = |metric: &str, stat: &str| s[metric][stat].as_f64().unwrap();
    json!({
        "date": "20261207-120000", "endpoint_type": "vllm", "backend": "vllm",
        "model_id": "meta-llama/Llama-3.1-8B-Instruct", "num_prompts": 300,
        "request_rate": rate, "burstiness": 1.0, "max_concurrency": null,
        "duration": 300.0 / rate, "completed": 300,
        "total_input_tokens": 300 * 1024, "total_output_tokens": 300 * 256,
        "request_throughput": s["throughput"]["requests_per_s"], "output_throughput": s["throughput"]["output_tokens_per_s"],
        "mean_ttft_ms": ms("ttft_ms", "mean"), "median_ttft_ms": ms("ttft_ms", "p50"), "p99_ttft_ms": ms("ttft_ms", "p99"),
        "mean_tpot_ms": ms("tpot_ms", "mean"), "median_tpot_ms": ms("tpot_ms", "p50"), "p99_tpot_ms": ms("tpot_ms", "p99"),
        "mean_itl_ms": ms("itl_ms", "mean"), "median_itl_ms": ms("itl_ms", "p50"), "p99_itl_ms": ms("itl_ms", "p99"),
    })
}

/// The issue's round trip: result files in, a profile out, and requests carrying that profile
/// reproduce a run the fit never saw better than the catalog profile does.
#[tokio::test]
async fn result_files_round_trip_through_a_fitted_profile() {
    let app = spawn_app().await;
    // The user's engine: slower GEMMs, slower weight streaming and a heavier step than the
    // catalog's vLLM profile.
    let truth =
        json!({"base": "vllm", "compute_efficiency": 0.3, "memory_efficiency": 0.45, "step_overhead_us": 900.0});
    let rates = [1.0, 3.0, 6.0, 9.0, 12.0];
    let mut files = Vec::new();
    for rate in rates {
        files.push(measured_file(&app, &truth, rate).await);
    }
    let deployment = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm"});
    // Fit on four runs; the fifth (6 req/s) is the user's next question.
    let seen: Vec<Value> = files
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(i, f)| json!({"name": format!("rate{}.json", rates[i]), "content": f}))
        .collect();
    let (status, fit) =
        app.post_json("/v1/calibrate", &json!({"results": seen, "deployment": deployment, "folds": 4})).await;
    assert_eq!(status, 200, "{fit}");
    assert_eq!(fit["kind"], "serving");
    assert_eq!(fit["engine"], "vllm");
    let held = &fit["held_out"];
    assert_eq!(held["folds"], 4);
    let (before, after) =
        (held["before"]["median_ape"].as_f64().unwrap(), held["after"]["median_ape"].as_f64().unwrap());
    assert!(before > 0.2 && after < before / 3.0, "held out: {held}");
    // Each measured number is reported with its three predictions.
    let points = fit["points"].as_array().unwrap();
    assert_eq!(points.len(), 4 * 11, "4 runs x (3 statistics x 3 latencies + 2 rates)");
    assert!(points.iter().all(|p| p["held_out"].is_f64() && p["file"].as_str().unwrap().starts_with("rate")));
    // The constants moved towards the engine that made the files.
    let constant =
        |name: &str| fit["constants"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
    let memory = constant("memory_efficiency");
    assert!((memory["after"].as_f64().unwrap() / 0.45 - 1.0).abs() < 0.1, "{memory}");
    assert!(memory["before"].as_f64().unwrap() > 0.6 && memory["change"].as_f64().unwrap() < -0.2, "{memory}");

    // The unseen run, asked with the fitted profile and with the catalog's.
    let unseen = &files[2];
    let ask = |profile: Option<&Value>| {
        let mut body = json!({
            "model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm",
            "workload": {"arrival": "poisson", "requests_per_s": 6.0, "requests": 300, "input_tokens": 1024, "output_tokens": 256}
        });
        if let Some(p) = profile {
            body["engine_profile"] = p.clone();
        }
        let app = &app;
        async move { app.post_json("/v1/estimate/serving", &body).await.1 }
    };
    let error = |s: &Value| -> f64 {
        [("ttft_ms", "mean_ttft_ms"), ("tpot_ms", "mean_tpot_ms"), ("itl_ms", "mean_itl_ms")]
            .iter()
            .map(|(m, k)| (s[m]["mean"].as_f64().unwrap() / unseen[k].as_f64().unwrap() - 1.0).abs())
            .sum::<f64>()
            / 3.0
    };
    let (with, without) = (error(&ask(Some(&fit["profile"])).await), error(&ask(None).await));
    assert!(with < 0.05 && with < without / 4.0, "unseen run: {with} with the profile, {without} without");
}

#[tokio::test]
async fn result_files_that_cannot_be_read_name_the_field() {
    let app = spawn_app().await;
    let deployment = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb"});
    // A vLLM file whose TTFT is text.
    let bad = json!({"completed": 10, "request_rate": 1.0, "mean_ttft_ms": "fast", "total_input_tokens": 10, "total_output_tokens": 10});
    let (status, problem) = app
        .post_json("/v1/calibrate", &json!({"results": [{"name": "x.json", "content": bad}], "deployment": deployment}))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/results/0/content/mean_ttft_ms", "{problem}");
    // Not a result file at all, sent as text.
    let (status, problem) =
        app.post_json("/v1/calibrate", &json!({"results": [{"content": "name: x\n"}], "deployment": deployment})).await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["errors"][0]["pointer"].as_str().unwrap().starts_with("/results/0/content"), "{problem}");
    // Both forms at once, folds out of range, and a profile for another engine.
    let file = json!({"content": include_str!("../fixtures/benchmarks/vllm_bench_serve.json")});
    let point = json!({"kind": "inference", "request": {"model": "llama-2-7b", "hardware": "nvidia-rtx-4090"}, "measured": {"tpot_ms": 7.4}});
    let (status, _) = app.post_json("/v1/calibrate", &json!({"results": [file], "points": [point]})).await;
    assert_eq!(status, 422);
    let (status, problem) =
        app.post_json("/v1/calibrate", &json!({"results": [file], "deployment": deployment, "folds": 1})).await;
    assert_eq!((status, problem["errors"][0]["pointer"].as_str()), (400, Some("/folds")), "{problem}");
    let (status, problem) = app
        .post_json(
            "/v1/estimate/serving",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "sglang",
                    "engine_profile": {"base": "vllm", "memory_efficiency": 0.5}}),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["pointer"].as_str()), (422, Some("/engine_profile/base")), "{problem}");
}

/// The CLI answers what the API answers, and writes the profile `--engine-profile` reads.
#[tokio::test]
async fn the_cli_calibrates_like_the_api_and_its_profile_goes_back_in() {
    let app = spawn_app().await;
    let truth = json!({"base": "vllm", "memory_efficiency": 0.5, "step_overhead_us": 700.0});
    let dir = std::env::temp_dir().join(format!("hwcost-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    let mut results = Vec::new();
    for rate in [2.0, 8.0] {
        let file = measured_file(&app, &truth, rate).await;
        let path = dir.join(format!("rate{rate}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
        results.push(json!({"name": format!("rate{rate}.json"), "content": std::fs::read_to_string(&path).unwrap()}));
        paths.push(path);
    }
    let profile_path = dir.join("profile.json");
    let hwcost = env!("CARGO_BIN_EXE_hwcost");
    let output = std::process::Command::new(hwcost)
        .arg("calibrate")
        .args(&paths)
        .args(["--model", "llama-3.1-8b", "--hardware", "nvidia-h100-sxm-80gb", "--engine", "vllm", "--json", "--out"])
        .arg(&profile_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
    let deployment = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm"});
    let (status, api) = app.post_json("/v1/calibrate", &json!({"results": results, "deployment": deployment})).await;
    assert_eq!(status, 200, "{api}");
    assert_eq!(cli, api);
    let written: Value = serde_json::from_slice(&std::fs::read(&profile_path).unwrap()).unwrap();
    assert_eq!(written, api["profile"]);
    // `hwcost validate --measurements ... --engine-profile` uses it: lower error than without.
    let validate = |profile: bool| {
        let mut c = std::process::Command::new(hwcost);
        c.arg("validate").arg("--measurements").arg(&paths[1]);
        c.args(["--model", "llama-3.1-8b", "--hardware", "nvidia-h100-sxm-80gb", "--engine", "vllm"]);
        if profile {
            c.arg("--engine-profile").arg(&profile_path);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // The mean TTFT row's error, the last column.
        let text = String::from_utf8(out.stdout).unwrap();
        let row = text.lines().find(|l| l.contains("ttft_ms") && l.contains("mean")).unwrap().to_owned();
        row.split_whitespace().last().unwrap().trim_end_matches('%').parse::<f64>().unwrap().abs()
    };
    let (with, without) = (validate(true), validate(false));
    assert!(with < without, "TTFT error {with}% with the profile, {without}% without");
    std::fs::remove_dir_all(&dir).ok();
}

/// A result file may be sent as itself, without the `{"name", "content"}` wrapper.
#[tokio::test]
async fn a_bare_result_file_is_read_like_a_wrapped_one() {
    let app = spawn_app().await;
    let file: Value =
        serde_json::from_str(include_str!("../../data/examples/benchmarks/vllm-llama-3.1-8b-h100-rate5.json")).unwrap();
    let deployment = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm"});
    let (status, bare) = app.post_json("/v1/calibrate", &json!({"results": [file], "deployment": deployment})).await;
    assert_eq!(status, 200, "{bare}");
    let (status, wrapped) = app
        .post_json(
            "/v1/calibrate",
            &json!({"results": [{"name": "results/0", "content": file}], "deployment": deployment}),
        )
        .await;
    assert_eq!(status, 200, "{wrapped}");
    assert_eq!(bare, wrapped);
    assert_eq!(bare["points"][0]["file"], "results/0");
    assert!(bare["held_out"].is_null() && bare["held_out_note"].as_str().unwrap().contains("one run"), "{bare}");
}
