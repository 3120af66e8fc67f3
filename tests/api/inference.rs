//! `POST /v1/estimate/inference` end to end: contract fields, fit verdicts, explanations, errors.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn estimate(app: &TestApp, request: Value) -> (u16, Value) {
    let response =
        app.post_raw("/v1/estimate/inference", "application/json", serde_json::to_vec(&request).unwrap()).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Every path the API contract (DESIGN.md section 3) names for an inference response.
const CONTRACT_PATHS: &[&str] = &[
    "/memory/per_device/weights_bytes",
    "/memory/per_device/kv_cache_bytes",
    "/memory/per_device/activations_bytes",
    "/memory/per_device/overhead_bytes",
    "/memory/per_device/total_bytes",
    "/memory/capacity_bytes",
    "/memory/fits",
    "/memory/max_batch_size",
    "/compute/forward_flops_per_token",
    "/latency/ttft_ms",
    "/latency/tpot_ms",
    "/latency/e2e_ms",
    "/throughput/output_tokens_per_s",
    "/throughput/output_tokens_per_s_per_user",
    "/throughput/prefill_tokens_per_s",
    "/cost/usd_per_hour",
    "/cost/usd_per_million_output_tokens",
    "/energy/joules_per_output_token",
    "/warnings",
    "/explain",
    "/error_band",
];

#[tokio::test]
async fn the_design_example_returns_every_contract_field_explained() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "parallelism": {"tensor": 4},
               "weights": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for path in CONTRACT_PATHS {
        assert!(body.pointer(path).is_some(), "missing {path} in {body}");
    }
    assert_eq!(body["memory"]["fits"], true);
    assert_eq!(body["compute"]["compute_type"], "fp8");
    let explain = body["explain"].as_array().unwrap();
    for rule in [
        "memory.weights",
        "memory.kv_cache_per_sequence",
        "compute.forward_flops_per_token",
        "time.prefill",
        "time.decode_step",
    ] {
        let entry = explain.iter().find(|e| e["rule"] == rule).unwrap_or_else(|| panic!("no {rule}"));
        assert!(!entry["formula"].as_str().unwrap().is_empty() && entry["inputs"].is_object());
    }
    // 70.6B parameters in FP8 over 4 devices: about 17.6 GB of weights each.
    let weights = body["memory"]["per_device"]["weights_bytes"].as_f64().unwrap();
    assert!((17.0e9..18.5e9).contains(&weights), "{weights}");
    let tpot = body["latency"]["tpot_ms"].as_f64().unwrap();
    assert!(tpot > 1.0 && tpot < 100.0, "{tpot}");
}

#[tokio::test]
async fn gpt3_175b_in_bf16_does_not_fit_one_gpu_and_fits_eight() {
    let app = spawn_app().await;
    let (_, one) =
        estimate(&app, json!({"model": "gpt-3-175b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16"})).await;
    assert_eq!(one["memory"]["fits"], false);
    let warning = one["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "does-not-fit").unwrap();
    assert!(warning["message"].as_str().unwrap().contains("the weights alone take 349"), "{warning}");
    let (_, eight) = estimate(&app, json!({"model": "gpt-3-175b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16", "parallelism": {"tensor": 8}})).await;
    assert_eq!(eight["memory"]["fits"], true, "{eight}");
}

#[tokio::test]
async fn unsupported_formats_fall_back_with_a_warning() {
    let app = spawn_app().await;
    let (status, body) =
        estimate(&app, json!({"model": "llama-3.1-8b", "hardware": "nvidia-a100-sxm4-80gb", "weights": "fp8"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["compute"]["compute_type"], "bf16");
    assert!(body["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "unsupported-format"));
}

#[tokio::test]
async fn batch_max_and_inline_models_and_devices_work() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-3.1-8b", "hardware": "nvidia-l4", "batch_size": "max", "engine": "vllm"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["batch_size"].as_u64().unwrap() >= 1);
    assert_eq!(body["batch_size"].as_u64().unwrap(), body["memory"]["max_batch_size"].as_u64().unwrap().min(256));

    let (_, device) = app.get_json("/v1/hardware/nvidia-rtx-4090").await;
    let inline_model = json!({"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
        "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000, "max_position_embeddings": 4096});
    let (status, inline) =
        estimate(&app, json!({"model": inline_model, "hardware": device, "weights": "q4_k_m", "engine": "llama.cpp"}))
            .await;
    assert_eq!(status, 200, "{inline}");
    let (_, by_id) = estimate(
        &app,
        json!({"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "weights": "q4_k_m", "engine": "llama.cpp"}),
    )
    .await;
    assert_eq!(inline["throughput"], by_id["throughput"]);
    assert_eq!(inline["model"], "inline");
}

#[tokio::test]
async fn moe_decode_reads_only_the_experts_a_batch_touches() {
    let app = spawn_app().await;
    let (_, one) = estimate(&app, json!({"model": "mixtral-8x7b", "hardware": "nvidia-h100-sxm-80gb", "parallelism": {"tensor": 2}, "batch_size": 1})).await;
    let (_, many) = estimate(&app, json!({"model": "mixtral-8x7b", "hardware": "nvidia-h100-sxm-80gb", "parallelism": {"tensor": 2}, "batch_size": 64})).await;
    let bytes = |v: &Value| v["compute"]["decode"]["bytes"].as_f64().unwrap();
    let weights = one["memory"]["per_device"]["weights_bytes"].as_f64().unwrap();
    assert!(bytes(&one) < 0.5 * weights, "batch 1 touches 2 of 8 experts: {} vs {weights}", bytes(&one));
    assert!(bytes(&many) > 0.9 * weights, "batch 64 touches nearly all experts");
}

#[tokio::test]
async fn impossible_deployments_are_422_with_pointers() {
    let app = spawn_app().await;
    for (request, pointer) in [
        (json!({"model": "llama-3.1-70b", "hardware": "h100", "devices": 3, "parallelism": {"tensor": 2}}), "/devices"),
        (json!({"model": "llama-3.1-70b", "hardware": "h100", "parallelism": {"tensor": 3}}), "/parallelism/tensor"),
        (json!({"model": "llama-3.1-70b", "hardware": "h100", "parallelism": {"expert": 2}}), "/parallelism/expert"),
        (
            json!({"model": "llama-3.1-70b", "hardware": "h100", "input_tokens": 0, "output_tokens": 0}),
            "/output_tokens",
        ),
    ] {
        let (status, body) = estimate(&app, request).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["pointer"], pointer, "{body}");
    }
    for (request, pointer) in [
        (json!({"model": "llama-3.1-70b", "hardware": "h100", "batch_size": 0}), "/batch_size"),
        (json!({"model": "llama-3.1-70b", "hardware": "h100", "weights": "fp7"}), "/weights"),
        (
            json!({"model": "llama-3.1-70b", "hardware": "h100", "overrides": {"memory_efficiency": 1.5}}),
            "/overrides/memory_efficiency",
        ),
        (json!({"model": "llama-3.1-70b"}), "/hardware"),
    ] {
        let (status, body) = estimate(&app, request).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"].as_array().unwrap().iter().any(|e| e["pointer"] == pointer), "{pointer}: {body}");
    }
    let (status, _) = estimate(&app, json!({"model": "no-such-model", "hardware": "h100"})).await;
    assert_eq!(status, 404);
}

#[test]
fn the_cli_prints_a_table_and_exits_2_on_invalid_input() {
    let bin = env!("CARGO_BIN_EXE_hwcost");
    let ok = std::process::Command::new(bin)
        .args(["estimate", "inference", "--model", "gpt3", "--hardware", "h100", "--tensor", "8"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let text = String::from_utf8(ok.stdout).unwrap();
    assert!(text.contains("time per output token") && text.contains("fits"), "{text}");
    let json = std::process::Command::new(bin)
        .args(["estimate", "inference", "--model", "gpt3", "--hardware", "h100", "--tensor", "8", "--json"])
        .output()
        .unwrap();
    let body: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(body["memory"]["fits"], true);
    let bad = std::process::Command::new(bin)
        .args(["estimate", "inference", "--model", "gpt3", "--hardware", "h100", "--tensor", "7"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn int4_group_size_sets_the_bits_per_weight() {
    let app = spawn_app().await;
    let weights = |g: u32| {
        let app = &app;
        async move {
            let (_, body) = estimate(
                app,
                json!({"model": "llama-2-7b", "hardware": "nvidia-l4", "weights": "int4", "weights_group_size": g}),
            )
            .await;
            body["memory"]["per_device"]["weights_bytes"].as_f64().unwrap()
        }
    };
    let (g32, g128) = (weights(32).await, weights(128).await);
    // 4.5 vs 4.125 bits per weight.
    assert!((g32 / g128 - 4.5 / 4.125).abs() < 1e-9, "{g32} {g128}");
    let (status, _) = estimate(
        &app,
        json!({"model": "llama-2-7b", "hardware": "nvidia-l4", "weights": "fp8", "weights_group_size": 64}),
    )
    .await;
    assert_eq!(status, 422);
}

/// The model view's "USD per million output tokens" card opens its own explain entry (issue 27,
/// item 5), whose value is the answer's figure.
#[tokio::test]
async fn usd_per_million_output_tokens_has_its_own_explain_entry() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "devices": 1, "batch_size": 8}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = body["explain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "cost.usd_per_million_output_tokens")
        .expect("an entry");
    let figure = body["cost"]["usd_per_million_output_tokens"].as_f64().unwrap();
    assert!((entry["value"].as_f64().unwrap() - figure).abs() <= 1e-9 * figure.max(1.0), "{entry} vs {figure}");
}
