//! `POST /v1/estimate/serving`: the pinned response paths, the SLO capacity, errors.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_serving_replay_answers_every_pinned_path() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/serving",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm@v1",
                "workload": {"input_tokens": 500, "output_tokens": 100, "arrival": "poisson", "requests_per_s": 5, "requests": 200},
                "slo": {"ttft_ms": {"max": 500, "percentile": 99}, "tpot_ms": 50}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for path in [
        "/throughput/output_tokens_per_s",
        "/throughput/output_tokens_per_s_per_device",
        "/throughput/requests_per_s",
        "/throughput/total_tokens_per_s",
        "/concurrency/mean",
        "/concurrency/max",
        "/kv_cache/capacity_tokens",
        "/kv_cache/peak_used_tokens",
        "/preemptions",
        "/max_requests_per_s_within_slo",
    ] {
        assert!(body.pointer(path).is_some_and(|v| v.is_number()), "{path} missing: {body}");
    }
    for latency in ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "queue_ms"] {
        for stat in ["mean", "p50", "p90", "p99"] {
            assert!(body[latency][stat].is_number(), "{latency}.{stat}");
        }
        assert!(body[latency]["p50"].as_f64() <= body[latency]["p99"].as_f64());
    }
    assert_eq!(body["regime"], "stable");
    assert_eq!(body["engine"], "vllm@v1");
    // The mean latencies are explained: their rules carry the same value, in seconds.
    let explain = body["explain"].as_array().unwrap();
    for (rule, field) in [("serving.ttft", "ttft_ms"), ("serving.tpot", "tpot_ms")] {
        let entry = explain.iter().find(|e| e["rule"] == rule).unwrap_or_else(|| panic!("no {rule}: {body}"));
        let ms = body[field]["mean"].as_f64().unwrap();
        assert!((entry["value"].as_f64().unwrap() * 1e3 - ms).abs() <= 1e-9 * ms.max(1.0), "{rule}: {entry}");
        assert!(!entry["inputs"].as_object().unwrap().is_empty(), "{rule}");
    }
    assert!(body["error_band"].is_object());
    let rate = body["max_requests_per_s_within_slo"].as_f64().unwrap();
    assert!(
        rate > 5.0,
        "an idle-ish 8B model on an H100 carries more than 5 requests/s within 500 ms p99 TTFT: {rate}"
    );
}

#[tokio::test]
async fn serving_errors_point_at_the_field() {
    let app = spawn_app().await;
    for (body, pointer, status) in [
        (json!({"model": "llama-3.1-8b", "hardware": "h100", "engine": "tensorrt-llm@0.1"}), "/engine", 422),
        (
            json!({"model": "llama-3.1-8b", "hardware": "h100", "workload": {"arrival": "poisson"}}),
            "/workload/requests_per_s",
            400,
        ),
        (
            json!({"model": "llama-3.1-8b", "hardware": "h100", "workload": {"requests": 100000, "output_tokens": 1000}}),
            "/workload/requests",
            422,
        ),
    ] {
        let (got, problem) = app.post_json("/v1/estimate/serving", &body).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
}

/// Issue 13's case: Qwen2.5-32B for 4 concurrent requests. The ranking must pick a batch the
/// load fills, priced at the rate 4 clients produce, not at a full batch of 256.
#[tokio::test]
async fn a_plan_prices_the_load_it_must_carry() {
    let app = spawn_app().await;
    let plan = |batches: serde_json::Value| {
        json!({"models": ["qwen2.5-32b"], "workload": {"input_tokens": 1000, "output_tokens": 300, "concurrency": 4},
               "search": {"hardware": ["nvidia-h100-sxm-80gb"], "weights": ["fp8"], "batch_sizes": batches}, "limit": 3})
    };
    let (status, body) = app.post_json("/v1/plan", &plan(json!([4, 8, 64, 256]))).await;
    assert_eq!(status, 200, "{body}");
    let best = &body["ranked"][0];
    assert!(best["batch_size"].as_u64().unwrap() <= 8, "{best}");
    let loaded = best["cost"]["usd_per_million_output_tokens"].as_f64().unwrap();
    // A full batch (the largest that fits) on the same device is far cheaper per token; 4 clients
    // cannot fill it.
    let (_, full) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "qwen2.5-32b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "batch_size": "max",
                    "input_tokens": 1000, "output_tokens": 300}),
        )
        .await;
    assert_eq!(full["verdict"], "fits", "{full}");
    assert!(full["batch_size"].as_u64().unwrap() > 64, "{full}");
    let full_batch = full["cost"]["usd_per_million_output_tokens"].as_f64().unwrap();
    assert!(loaded > 5.0 * full_batch, "loaded {loaded} vs full batch {full_batch}");
    assert!(body["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("replayed")), "{body}");
}

#[tokio::test]
async fn a_check_judges_percentiles_at_the_forecast_rate() {
    let app = spawn_app().await;
    let check = |rate: f64| {
        json!({"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
                             "batch_size": 64, "input_tokens": 1000, "output_tokens": 200},
               "requirements": {"max_ttft_p99_ms": 1000, "max_tpot_p90_ms": 100, "forecast_requests_per_s": rate}})
    };
    let rule = |body: &serde_json::Value, name: &str| {
        body["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {body}"))
    };
    let (status, light) = app.post_json("/v1/check", &check(2.0)).await;
    assert_eq!(status, 200, "{light}");
    assert_eq!(rule(&light, "ttft_p99")["status"], "pass", "{light}");
    assert_eq!(rule(&light, "tpot_p90")["status"], "pass");
    let (_, heavy) = app.post_json("/v1/check", &check(500.0)).await;
    assert_eq!(rule(&heavy, "ttft_p99")["status"], "fail", "{heavy}");
    let (status, missing) = app
        .post_json("/v1/check", &json!({"inference": {"model": "llama-3.1-8b", "hardware": "h100"}, "requirements": {"max_ttft_p90_ms": 100}}))
        .await;
    assert_eq!(status, 400, "{missing}");
    assert_eq!(missing["errors"][0]["pointer"], "/requirements/forecast_requests_per_s");
}

#[tokio::test]
async fn arrival_rates_too_small_to_replay_are_refused_and_the_offered_rate_is_always_reported() {
    // 5e-324 requests/s replayed to 1e16 tokens/s on one H100 and 1e-200 to latencies of 0 ms:
    // arrivals that far apart leave a double no room for milliseconds.
    let app = spawn_app().await;
    let serving = |rate: f64| {
        json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb",
            "workload": {"input_tokens": 500, "output_tokens": 100, "requests_per_s": rate, "requests": 50}})
    };
    for rate in [5e-324, 1e-200, 1e-4] {
        let (status, problem) = app.post_json("/v1/estimate/serving", &serving(rate)).await;
        assert_eq!(status, 400, "{rate}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], "/workload/requests_per_s", "{problem}");
    }
    let (status, body) = app.post_json("/v1/estimate/serving", &serving(1e-3)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["ttft_ms"]["p50"].as_f64().unwrap() > 0.0, "{body}");
    assert!(body["throughput"]["output_tokens_per_s"].as_f64().unwrap() < 1.0, "{body}");
    assert_eq!(body["workload"]["offered_requests_per_s"], 1e-3, "{body}");

    let check = json!({"inference": {"model": "llama-3.1-8b", "hardware": "h100"},
        "requirements": {"max_ttft_p90_ms": 100, "min_requests_per_s": 1e-200}});
    let (status, problem) = app.post_json("/v1/check", &check).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/requirements/min_requests_per_s", "{problem}");
    let plan = json!({"models": ["llama-3.1-8b"], "workload": {"requests_per_s": 5e-324}});
    let (status, problem) = app.post_json("/v1/plan", &plan).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/workload/requests_per_s", "{problem}");

    // Nothing fits (70B in BF16 on one L4): the offered rate is still the one asked for.
    let (status, body) = app
        .post_json(
            "/v1/estimate/serving",
            &json!({"model": "llama-3.1-70b", "hardware": "nvidia-l4", "weights": "bf16",
                "workload": {"requests_per_s": 3, "requests": 50}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"], "does_not_fit", "{body}");
    assert_eq!(body["workload"]["offered_requests_per_s"], 3.0, "{body}");
}

#[tokio::test]
async fn toml_infinity_and_nan_are_refused_with_their_pointer() {
    // TOML's inf and nan became JSON null on the way in, which reads as absent: `input_tokens
    // = inf` silently took the default 1024.
    let app = spawn_app().await;
    for (toml, pointer) in [
        ("model = \"llama-3.1-8b\"\nhardware = \"h100\"\ninput_tokens = inf\n", "/input_tokens"),
        (
            "model = \"llama-3.1-8b\"\nhardware = \"h100\"\n[overrides]\ncompute_efficiency = nan\n",
            "/overrides/compute_efficiency",
        ),
        ("model = \"llama-3.1-8b\"\nhardware = \"h100\"\nbatch_size = -inf\n", "/batch_size"),
    ] {
        let response = app.post_raw("/v1/estimate/inference", "application/toml", toml).await;
        let status = response.status().as_u16();
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{toml}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    let (status, problem) = {
        let r = app
            .post_raw(
                "/v1/estimate/serving",
                "application/toml",
                "model = \"llama-3.1-8b\"\nhardware = \"h100\"\n[workload]\nrequests_per_s = nan\n",
            )
            .await;
        (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/workload/requests_per_s", "{problem}");
}
