//! KV-cache tiers beyond device memory and prefix reuse through every door: the serving
//! replay, the inference estimate, the check and the planner (only when asked), and errors at
//! the field.

use serde_json::json;

use crate::helpers::spawn_app;

/// Llama-3.1-8B in bf16 on one device: 2 x 8 kv heads x 128 x 32 layers x 2 bytes.
const KV_BYTES_PER_TOKEN: f64 = 131_072.0;

fn serving(offload: Option<serde_json::Value>) -> serde_json::Value {
    let mut body = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm",
        "workload": {"input_tokens": 8000, "output_tokens": 64, "requests_per_s": 3, "requests": 200,
                     "prefix": {"tokens": 7000, "distinct": 200}}});
    if let Some(o) = offload {
        body["kv_offload"] = o;
    }
    body
}

#[tokio::test]
async fn a_host_tier_serves_the_prefixes_device_memory_cannot_hold() {
    let app = spawn_app().await;
    let (status, with) =
        app.post_json("/v1/estimate/serving", &serving(Some(json!({"host_gb": 500, "disk_gb": 1000})))).await;
    assert_eq!(status, 200, "{with}");
    // 500 GB / 131,072 bytes per token = 3,814,697 tokens; 1,000 GB of disk 7,629,394.
    assert_eq!(with["kv_cache"]["host_capacity_tokens"], (500e9 / KV_BYTES_PER_TOKEN).floor() as u64);
    assert_eq!(with["kv_cache"]["disk_capacity_tokens"], (1000e9 / KV_BYTES_PER_TOKEN).floor() as u64);
    assert_eq!(with["kv_offload"]["host_capacity_tokens"], with["kv_cache"]["host_capacity_tokens"]);
    let p = &with["prefix_cache"];
    assert_eq!(p["working_set_tokens"], 1_400_000.0);
    // Device memory holds the share its KV pool covers of the 1.4 M-token working set; the host
    // tier the rest; nothing is left to the disk or recomputed.
    let device = with["kv_cache"]["capacity_tokens"].as_f64().unwrap() / 1.4e6;
    assert!((p["hit_share"]["device"].as_f64().unwrap() - device).abs() < 1e-9, "{p}");
    assert!((p["hit_share"]["host"].as_f64().unwrap() - (1.0 - device)).abs() < 1e-9, "{p}");
    assert_eq!(p["hit_share"]["miss"], 0.0);
    // 7,000 tokens x 131,072 bytes over PCIe 5.0 x16 (63 GB/s) x 0.85 = 17.13 ms per hit.
    let copy_ms = 7000.0 * KV_BYTES_PER_TOKEN / (63e9 * 0.85) * 1e3;
    assert!((p["host_transfer_ms_per_hit"].as_f64().unwrap() - copy_ms).abs() < 1e-9, "{p}");
    assert_eq!(p["compared_with"], "kv_offload");
    let saved = p["ttft_saved_ms"].as_f64().unwrap();
    let without = with["kv_offload"]["without"]["ttft_mean_ms"].as_f64().unwrap();
    assert!((without - with["ttft_ms"]["mean"].as_f64().unwrap() - saved).abs() < 1e-6);
    assert!(saved > 0.3 * without, "TTFT saved {saved} of {without} ms");
    // The same replay without the tier, from its own request.
    let (_, alone) = app.post_json("/v1/estimate/serving", &serving(None)).await;
    assert!((alone["ttft_ms"]["mean"].as_f64().unwrap() - without).abs() < 1e-6, "{alone}");
    assert!(alone.get("kv_offload").is_none() && alone["kv_cache"].get("host_capacity_tokens").is_none());
    assert_eq!(alone["prefix_cache"]["compared_with"], "prefix_reuse");
    let rules: Vec<&str> = with["explain"].as_array().unwrap().iter().map(|e| e["rule"].as_str().unwrap()).collect();
    for rule in [
        "serving.kv_host_capacity_tokens",
        "serving.kv_disk_capacity_tokens",
        "serving.prefix_hit_share_host",
        "serving.prefix_host_transfer_s",
        "serving.prefix_ttft_saved",
        "serving.largest_concurrency_with_host",
    ] {
        assert!(rules.contains(&rule), "{rule}: {rules:?}");
    }
    assert!(
        with["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "kv_offload/host_gb_per_s"),
        "{}",
        with["assumptions"]
    );
}

#[tokio::test]
async fn the_inference_estimate_and_the_check_report_the_tiers() {
    let app = spawn_app().await;
    let deployment = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm",
        "input_tokens": 2000, "output_tokens": 2000, "batch_size": 64, "kv_offload": {"host_gb": 100}});
    let (status, e) = app.post_json("/v1/estimate/inference", &deployment).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["memory"]["kv_cache"]["host_capacity_tokens"], 762_939);
    assert!(e["memory"]["kv_cache"].get("disk_capacity_tokens").is_none());
    let (status, check) = app
        .post_json(
            "/v1/check",
            &json!({"inference": deployment, "requirements": {"max_ttft_p90_ms": 5000, "forecast_requests_per_s": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["inference"]["memory"]["kv_cache"]["host_capacity_tokens"], 762_939);
}

#[tokio::test]
async fn the_planner_evaluates_the_host_tier_only_when_asked() {
    let app = spawn_app().await;
    let plan = |offload: Option<serde_json::Value>| {
        let mut body = json!({"models": ["llama-3.1-8b"], "workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 2},
            "search": {"hardware": ["nvidia-h100-sxm-80gb", "nvidia-gh200-144gb"], "weights": ["bf16"], "tensor": [1], "batch_sizes": [32]}, "limit": 3});
        if let Some(o) = offload {
            body["search"]["kv_offload"] = o;
        }
        body
    };
    let (status, plain) = app.post_json("/v1/plan", &plan(None)).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain["best"]["inference"]["memory"]["kv_cache"].get("host_capacity_tokens").is_none());
    let (status, tiered) = app.post_json("/v1/plan", &plan(Some(json!({"host_gb": 100})))).await;
    assert_eq!(status, 200, "{tiered}");
    assert_eq!(tiered["best"]["inference"]["memory"]["kv_cache"]["host_capacity_tokens"], 762_939, "{tiered}");
    assert!(tiered["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "search/kv_offload/host_gb_per_s"));
    let (status, bad) = app.post_json("/v1/plan", &plan(Some(json!({"host_gb": -1})))).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["errors"][0]["pointer"], "/search/kv_offload/host_gb");
}

#[tokio::test]
async fn bad_tier_and_prefix_fields_point_at_the_field() {
    let app = spawn_app().await;
    let with = |field: &str, value: serde_json::Value| {
        let mut body = serving(Some(json!({"host_gb": 100})));
        let (object, key) = field.rsplit_once('/').unwrap();
        body.pointer_mut(object).unwrap()[key] = value;
        body
    };
    for (body, pointer) in [
        (with("/kv_offload/host_gb", json!(-5)), "/kv_offload/host_gb"),
        (with("/kv_offload/host_gb_per_s", json!(0)), "/kv_offload/host_gb_per_s"),
        (with("/kv_offload/disk_gb_per_s", json!(5)), "/kv_offload/disk_gb_per_s"),
        (with("/workload/prefix/tokens", json!(0)), "/workload/prefix/tokens"),
        (with("/workload/prefix/distinct", json!(-1)), "/workload/prefix/distinct"),
        (with("/workload/prefix_cache_hit_rate", json!(0.5)), "/workload/prefix_cache_hit_rate"),
        (json!({"model": "llama-3.1-8b", "hardware": "h100", "kv_offload": {"disk_gb": 10}}), "/kv_offload/host_gb"),
    ] {
        let (status, problem) = app.post_json("/v1/estimate/serving", &body).await;
        assert!(status == 400 || status == 422, "{status} {body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}: {problem}");
    }
    // NaN reaches the server only in TOML; it is refused at its field too.
    let toml = "model = \"llama-3.1-8b\"\nhardware = \"h100\"\n[kv_offload]\nhost_gb = nan\n";
    let response = app.post_raw("/v1/estimate/serving", "application/toml", toml).await;
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/kv_offload/host_gb", "{problem}");
}
