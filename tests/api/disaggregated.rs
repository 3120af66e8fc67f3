//! Disaggregated prefill and decode through the API: `disaggregation` in
//! `POST /v1/estimate/serving` and `POST /v1/check`, and its errors.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn serving(disaggregation: Value) -> Value {
    json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
        "workload": {"input_tokens": 2000, "output_tokens": 200, "requests_per_s": 4, "requests": 200},
        "slo": {"ttft_ms": {"max": 2000, "percentile": 90}},
        "disaggregation": disaggregation})
}

#[tokio::test]
async fn a_disaggregated_replay_reports_each_pool_and_the_transfer() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/serving",
            &serving(json!({"prefill": {"devices": 2}, "decode": {"hardware": "nvidia-h200-sxm-141gb", "devices": 1},
                "network": "infiniband-ndr"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let d = &body["disaggregation"];
    assert_eq!(d["prefill"]["devices"], 2);
    assert_eq!(d["prefill"]["hardware"], "nvidia-h100-sxm-80gb");
    assert_eq!(d["decode"]["hardware"], "nvidia-h200-sxm-141gb");
    assert_eq!(d["devices"], 3);
    assert_eq!(body["devices"], 3);
    assert_eq!(d["prefill_devices_per_decode_device"], 2.0);
    assert_eq!(d["kv_transfer"]["network"], "infiniband-ndr");
    assert_eq!(d["kv_transfer"]["on_fabric"], false);
    assert_eq!(d["kv_transfer"]["layerwise_pipelining"], false);
    // fp8 KV: 2,000 tokens x 65,536 B.
    assert_eq!(d["kv_transfer"]["bytes_per_request"], 131_072_000.0);
    let f = |v: &Value| v.as_f64().unwrap();
    // TTFT = prefill + transfer + the wait for a decode slot; tokens/s/GPU over both pools.
    assert!(f(&body["ttft_ms"]["mean"]) >= f(&d["prefill"]["latency_ms"]) + f(&d["kv_transfer"]["ms"]["mean"]) - 1e-9);
    let per_device = f(&body["throughput"]["output_tokens_per_s"]) / 3.0;
    assert!((f(&d["output_tokens_per_s_per_device"]) - per_device).abs() < 1e-6 * per_device);
    assert_eq!(body["throughput"]["output_tokens_per_s_per_device"], d["output_tokens_per_s_per_device"]);
    assert!(f(&body["max_requests_per_s_within_slo"]) > 0.0);
    for pool in ["prefill", "decode"] {
        for field in ["requests_per_s", "utilization", "latency_ms", "tokens_per_s", "tokens_per_s_per_device"] {
            assert!(d[pool][field].is_number(), "{pool}.{field}: {d}");
        }
    }
    let rules: Vec<&str> = body["explain"].as_array().unwrap().iter().filter_map(|e| e["rule"].as_str()).collect();
    for rule in [
        "serving.disaggregated.kv_transfer_s",
        "serving.disaggregated.kv_transfer_bytes_per_request",
        "serving.disaggregated.prefill_latency_s",
        "serving.disaggregated.decode_latency_s",
        "serving.disaggregated.output_tokens_per_s_per_device",
        "serving.max_requests_per_s_within_slo",
    ] {
        assert!(rules.contains(&rule), "{rule} not explained: {rules:?}");
    }
}

#[tokio::test]
async fn a_check_judges_the_disaggregated_pair_by_its_capacity() {
    let app = spawn_app().await;
    let pools = json!({"prefill": {"devices": 1}, "decode": {"devices": 1}});
    let serving_body = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
        "workload": {"input_tokens": 2000, "output_tokens": 200}, "slo": {"ttft_ms": {"max": 1000, "percentile": 90}},
        "disaggregation": pools});
    let (status, estimate) = app.post_json("/v1/estimate/serving", &serving_body).await;
    assert_eq!(status, 200, "{estimate}");
    let capacity = estimate["max_requests_per_s_within_slo"].as_f64().unwrap();
    let check = |rate: f64| {
        json!({"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
            "input_tokens": 2000, "output_tokens": 200},
            "disaggregation": pools, "requirements": {"max_ttft_ms": 1000, "forecast_requests_per_s": rate}})
    };
    let (status, ok) = app.post_json("/v1/check", &check(capacity * 0.8)).await;
    assert_eq!(status, 200, "{ok}");
    // The check and the serving estimate read the one capacity function on the same pair.
    let judged = ok["under_load"]["capacity_requests_per_s"].as_f64().unwrap();
    assert!((judged - capacity).abs() <= 1e-9 * capacity, "check {judged} vs serving {capacity}");
    assert_eq!(ok["under_load"]["holds"], true, "{}", ok["under_load"]);
    // The pools of the replay judged, in the serving answer's shape: the same pair, the same
    // KV bytes per request (the workload's prompt), the rate the check replayed carried.
    let pools_judged = &ok["under_load"]["disaggregation"];
    let served = &estimate["disaggregation"];
    for pool in ["prefill", "decode"] {
        assert_eq!(pools_judged[pool]["devices"], served[pool]["devices"], "{pools_judged}");
        assert_eq!(pools_judged[pool]["hardware"], served[pool]["hardware"], "{pools_judged}");
    }
    assert_eq!(pools_judged["kv_transfer"]["bytes_per_request"], served["kv_transfer"]["bytes_per_request"]);
    assert_eq!(pools_judged["kv_transfer"]["on_fabric"], served["kv_transfer"]["on_fabric"]);
    let carried = pools_judged["decode"]["requests_per_s"].as_f64().unwrap();
    let rate = ok["under_load"]["requests_per_s"].as_f64().unwrap();
    assert!((carried - rate).abs() <= 0.25 * rate, "decode pool carried {carried} req/s of {rate}");
    // `hwcost check` says the same: its JSON is the answer's, its table names the pools.
    let body = check(capacity * 0.8).to_string();
    let (_, stdout, stderr) = crate::decisions::hwcost(&["check", "-", "--json"], &body);
    let cli: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(cli["under_load"]["disaggregation"], ok["under_load"]["disaggregation"]);
    let (_, table, _) = crate::decisions::hwcost(&["check", "-"], &body);
    assert!(table.contains("disaggregated: prefill 1 x nvidia-h100-sxm-80gb ("), "{table}");
    assert!(table.contains("KV transfer "), "{table}");
    let (_, over) = app.post_json("/v1/check", &check(capacity * 1.5)).await;
    assert_eq!(over["under_load"]["holds"], false, "{}", over["under_load"]);
    assert!(over["under_load"]["disaggregation"].is_object(), "{}", over["under_load"]);
    // One pool: no section.
    let mut single = check(capacity * 0.8);
    single.as_object_mut().unwrap().remove("disaggregation");
    let (status, one) = app.post_json("/v1/check", &single).await;
    assert_eq!(status, 200, "{one}");
    assert!(one["under_load"].get("disaggregation").is_none(), "{}", one["under_load"]);
}

#[tokio::test]
async fn bad_pools_are_problems_with_their_pointer() {
    let app = spawn_app().await;
    for (disaggregation, pointer) in [
        (json!({"prefill": {"devices": 0}, "decode": {"devices": 1}}), "/disaggregation/prefill/devices"),
        (
            json!({"prefill": {"devices": 1}, "decode": {"devices": 1}, "network": "smoke-signals"}),
            "/disaggregation/network",
        ),
        (
            json!({"prefill": {"devices": 1}, "decode": {"hardware": "no-such-gpu", "devices": 1}}),
            "/disaggregation/decode/hardware",
        ),
        (json!({"prefill": {"devices": 1}, "decode": {"devices": 1, "replicas": 2}}), "/disaggregation/decode"),
    ] {
        let (status, problem) = app.post_json("/v1/estimate/serving", &serving(disaggregation.clone())).await;
        assert!((400..500).contains(&status), "{disaggregation}: {status} {problem}");
        let got = problem["errors"][0]["pointer"].as_str().unwrap_or_default();
        assert!(got.starts_with(pointer), "{disaggregation}: {got} in {problem}");
    }
    // A pool that cannot hold the model: 70B in 16-bit on one L4.
    let mut body =
        serving(json!({"prefill": {"hardware": "nvidia-h200-sxm-141gb", "devices": 2, "parallelism": {"tensor": 2}},
        "decode": {"hardware": "nvidia-l4", "devices": 1}}));
    body["model"] = json!("llama-3.1-70b");
    body["weights"] = json!("bf16");
    let (status, problem) = app.post_json("/v1/estimate/serving", &body).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/disaggregation/decode/devices", "{problem}");
}

#[tokio::test]
async fn a_decode_only_pool_is_the_decode_pools_own_capacity() {
    let app = spawn_app().await;
    // No `prefill`: the decode pool alone, fed prefilled requests at their arrival plus the KV
    // transfer (1 H100, 2,000 fp8 prompt tokens = 131.072 MB over InfiniBand NDR, 45 GB/s + 2 us).
    let (status, body) = app
        .post_json("/v1/estimate/serving", &serving(json!({"decode": {"devices": 1}, "network": "infiniband-ndr"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let d = &body["disaggregation"];
    assert!(d["prefill"].is_null(), "{d}");
    assert_eq!(d["decode"]["devices"], 1);
    assert_eq!(d["devices"], 1);
    assert_eq!(body["devices"], 1);
    assert_eq!(d["prefill_devices_per_decode_device"], 0.0);
    let f = |v: &Value| v.as_f64().unwrap();
    assert!((f(&d["kv_transfer"]["ms"]["mean"]) - (131.072e6 / 45e9 + 2e-6) * 1e3).abs() < 1e-9, "{d}");
    assert!(f(&body["ttft_ms"]["p50"]) >= f(&d["kv_transfer"]["ms"]["p50"]) - 1e-9);
    let assumed: Vec<&str> =
        body["assumptions"].as_array().unwrap().iter().filter_map(|a| a["field"].as_str()).collect();
    assert!(assumed.contains(&"disaggregation/prefill"), "{assumed:?}");
    // With a real one-device prefill pool the same decode pool can carry no more.
    let (_, paired) = app
        .post_json(
            "/v1/estimate/serving",
            &serving(json!({"prefill": {"devices": 1}, "decode": {"devices": 1}, "network": "infiniband-ndr"})),
        )
        .await;
    let alone = f(&body["max_requests_per_s_within_slo"]);
    assert!(alone > 0.0 && alone >= f(&paired["max_requests_per_s_within_slo"]) * 0.99, "{alone} vs {paired}");
    // The check reads the same capacity on the same decode-only pool.
    let check = json!({"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
        "input_tokens": 2000, "output_tokens": 200},
        "disaggregation": {"decode": {"devices": 1}, "network": "infiniband-ndr"},
        "requirements": {"max_ttft_ms": 2000, "forecast_requests_per_s": 1.0}});
    let (status, checked) = app.post_json("/v1/check", &check).await;
    assert_eq!(status, 200, "{checked}");
    assert!(f(&checked["under_load"]["capacity_requests_per_s"]) > 0.0, "{}", checked["under_load"]);
}
