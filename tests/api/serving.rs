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

/// The dashboard's serving request at a rate, with `requests` replayed.
fn dashboard_body(rate: f64, requests: u64) -> serde_json::Value {
    json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "devices": 1, "weights": "bf16", "engine": "vllm",
        "workload": {"arrival": "poisson", "requests_per_s": rate, "requests": requests, "input_tokens": 1000, "output_tokens": 200},
        "slo": {"ttft_ms": 2000, "tpot_ms": 50}})
}

/// Issue 27, item 2: the dashboard replays 0.1 to 1.5 times the capacity the answer reports,
/// with the same workload and request count. A short replay's throughput counts its final
/// drain, so rates well below the capacity read as overloaded (300 requests: from 0.9 x; 50
/// requests: from 0.25 x). Overload is judged as the capacity judges it: never at or below it.
#[tokio::test]
async fn no_rate_at_or_below_the_capacity_is_overloaded() {
    let app = spawn_app().await;
    for requests in [300, 50] {
        let (status, probe) = app.post_json("/v1/estimate/serving", &dashboard_body(1.0, requests)).await;
        assert_eq!(status, 200, "{probe}");
        let capacity = probe["max_requests_per_s_within_slo"].as_f64().unwrap();
        assert!(capacity > 1.0, "{probe}");
        for share in [0.1, 0.25, 0.5, 0.75, 0.9, 1.0] {
            let rate = share * capacity;
            let (_, at) = app.post_json("/v1/estimate/serving", &dashboard_body(rate, requests)).await;
            assert_ne!(at["regime"], "overloaded", "{requests} requests at {share} x capacity {capacity}: {at}");
            assert!(
                at["warnings"].as_array().unwrap().iter().all(|w| w["code"] != "overloaded"),
                "{requests} requests at {share} x capacity: {}",
                at["warnings"]
            );
            // Asked at that rate, the capacity is the same one answer, and the SLO holds.
            assert_eq!(at["max_requests_per_s_within_slo"].as_f64(), Some(capacity));
            assert_eq!(at["slo_verdict"]["met"], true, "{requests} requests at {share} x: {}", at["slo_verdict"]);
        }
        // Well above the stable share of the saturated throughput, the queue grows: overloaded.
        let (_, above) = app.post_json("/v1/estimate/serving", &dashboard_body(2.0 * capacity, requests)).await;
        assert_eq!(above["regime"], "overloaded", "{above}");
        assert!(above["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "overloaded"));
        assert_eq!(above["slo_verdict"]["overloaded"], true);
        assert_eq!(above["slo_verdict"]["met"], false);
    }
}

/// `detail` asks for the replay over time and the latency histograms; without it neither is
/// sent. The timeline's peaks are the answer's own, and the histograms count every request.
#[tokio::test]
async fn the_replay_detail_is_returned_when_asked() {
    let app = spawn_app().await;
    let mut body = dashboard_body(12.0, 400);
    let (status, plain) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain.get("timeline").is_none() && plain.get("histograms").is_none(), "{plain}");
    body["detail"] = json!({"timeline": true, "histograms": true});
    let (status, detailed) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(status, 200, "{detailed}");
    let t = &detailed["timeline"];
    let column = |name: &str| -> Vec<f64> { t[name].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    let (times, kv, running, waiting) =
        (column("t_s"), column("kv_cache_used_tokens"), column("running"), column("waiting"));
    assert!(!times.is_empty() && times.len() <= 200, "{} points", times.len());
    for series in [&kv, &running, &waiting] {
        assert_eq!(series.len(), times.len());
    }
    assert!(times.windows(2).all(|w| w[1] > w[0]));
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    assert_eq!(max(&kv), detailed["kv_cache"]["peak_used_tokens"].as_f64().unwrap());
    assert!(max(&kv) <= detailed["kv_cache"]["capacity_tokens"].as_f64().unwrap());
    assert_eq!(max(&running), detailed["concurrency"]["running_max"].as_f64().unwrap());
    let completed = detailed["completed"].as_u64().unwrap();
    for (name, expected) in [("ttft_ms", completed), ("tpot_ms", completed), ("e2e_ms", completed)] {
        let h = &detailed["histograms"][name];
        let counts: Vec<u64> = h["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
        let edges: Vec<f64> = h["edges_ms"].as_array().unwrap().iter().map(|e| e.as_f64().unwrap()).collect();
        assert_eq!(counts.iter().sum::<u64>(), expected, "{name}");
        assert!((24..=32).contains(&counts.len()), "{name}");
        assert_eq!(edges.len(), counts.len() + 1);
        assert!(edges.windows(2).all(|w| w[1] > w[0]) && edges[0] > 0.0, "{name}: {edges:?}");
        // The percentiles lie inside the histogram's range.
        let p99 = detailed[name]["p99"].as_f64().unwrap();
        assert!(edges[0] <= p99 * (1.0 + 1e-9) && p99 <= edges[edges.len() - 1] * (1.0 + 1e-9), "{name}");
    }
    // Asking for detail changes no other number.
    for path in
        ["/throughput/output_tokens_per_s", "/ttft_ms/p90", "/tpot_ms/p99", "/max_requests_per_s_within_slo", "/regime"]
    {
        assert_eq!(plain.pointer(path), detailed.pointer(path), "{path}");
    }
    // The SLO judged target by target on this replay, in the answer's own percentiles.
    let verdict = &detailed["slo_verdict"];
    assert_eq!(verdict["met"], true, "{verdict}");
    assert_eq!(verdict["targets"][0]["metric"], "ttft_ms");
    assert_eq!(verdict["targets"][0]["percentile"], 90);
    assert_eq!(verdict["targets"][0]["value_ms"], detailed["ttft_ms"]["p90"]);
    assert_eq!(verdict["targets"][1]["limit_ms"], 50.0);
    // The capacity has its own explain entry, with its value.
    let entry = detailed["explain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "serving.max_requests_per_s_within_slo")
        .unwrap_or_else(|| panic!("no capacity rule: {}", detailed["explain"]));
    assert_eq!(entry["value"], detailed["max_requests_per_s_within_slo"]);
    // A detail field it does not know is refused at its pointer.
    body["detail"] = json!({"timelines": true});
    let (status, problem) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem["errors"][0]["pointer"].as_str().unwrap().starts_with("/detail"), "{problem}");
}

/// Issue 27, item 3: what an SLO leaves out (a target, a percentile) is listed among the
/// assumptions, as every other default is.
#[tokio::test]
async fn an_slo_says_what_it_assumed() {
    let app = spawn_app().await;
    let mut body = dashboard_body(2.0, 100);
    body["slo"] = json!({"tpot_ms": 50});
    let (status, answer) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(status, 200, "{answer}");
    let assumed = |answer: &serde_json::Value, field: &str| {
        answer["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == field).cloned()
    };
    let ttft = assumed(&answer, "slo/ttft_ms").unwrap_or_else(|| panic!("{}", answer["assumptions"]));
    assert_eq!(ttft["value"], "none");
    assert!(ttft["reason"].as_str().unwrap().contains("does not limit the capacity"));
    assert_eq!(assumed(&answer, "slo/tpot_ms/percentile").unwrap()["value"], "90");
    assert!(assumed(&answer, "slo/tpot_ms").is_none());
    body["slo"] = json!({"ttft_ms": {"max": 2000, "percentile": 99}});
    let (_, answer) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(assumed(&answer, "slo/tpot_ms").unwrap()["value"], "none");
    assert!(assumed(&answer, "slo/ttft_ms/percentile").is_none() && assumed(&answer, "slo/ttft_ms").is_none());
    // No SLO at all: nothing assumed about one.
    body.as_object_mut().unwrap().remove("slo");
    let (_, answer) = app.post_json("/v1/estimate/serving", &body).await;
    assert!(answer["assumptions"].as_array().unwrap().iter().all(|a| !a["field"].as_str().unwrap().starts_with("slo")));
}

/// Issue 27, item 3: an inference request without `devices` says how many it assumed.
#[tokio::test]
async fn omitted_devices_are_an_assumption() {
    let app = spawn_app().await;
    let body = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16", "batch_size": 8,
        "input_tokens": 1000, "output_tokens": 200});
    let (status, answer) = app.post_json("/v1/estimate/inference", &body).await;
    assert_eq!(status, 200, "{answer}");
    let devices = answer["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == "devices").cloned();
    let devices = devices.unwrap_or_else(|| panic!("{}", answer["assumptions"]));
    assert_eq!(devices["value"], "1");
    assert_eq!(answer["devices"], 1);
    let mut tensor = body.clone();
    tensor["parallelism"] = json!({"tensor": 2});
    let (_, answer) = app.post_json("/v1/estimate/inference", &tensor).await;
    assert_eq!(
        answer["assumptions"].as_array().unwrap().iter().find(|a| a["field"] == "devices").unwrap()["value"],
        "2"
    );
    let mut given = body;
    given["devices"] = json!(1);
    let (_, answer) = app.post_json("/v1/estimate/inference", &given).await;
    assert!(answer["assumptions"].as_array().unwrap().iter().all(|a| a["field"] != "devices"), "{answer}");
}
