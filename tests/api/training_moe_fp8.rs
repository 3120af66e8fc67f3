//! Expert parallelism and FP8 recipes in `POST /v1/estimate/training`: the all-to-all and the
//! load imbalance in the step, which tensors an FP8 run keeps in which precision, and the
//! client errors.

use serde_json::{Value, json};

use crate::helpers::{TestApp, explain_rule, spawn_app};

async fn estimate(app: &TestApp, request: Value) -> (u16, Value) {
    let response =
        app.post_raw("/v1/estimate/training", "application/json", serde_json::to_vec(&request).unwrap()).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn lite() -> Value {
    json!({"model": "deepseek-v2-lite", "hardware": "h100", "devices": 32, "tokens": 1e11, "sequence_length": 4096,
           "global_batch_tokens": 4194304, "sharding": "zero1", "parallelism": {"expert": 16},
           "activation_checkpointing": "full"})
}

/// EP16 over two 8-GPU nodes: the exchange crosses the default network, its time is in the
/// step's trace and in `time`, and the defaults are listed.
#[tokio::test]
async fn expert_parallel_all_to_all_and_imbalance_are_answered_and_traced() {
    let app = spawn_app().await;
    let (status, body) = estimate(&app, lite()).await;
    assert_eq!(status, 200, "{body}");
    let ep = &body["expert_parallel"];
    assert_eq!(ep["ranks"], 16);
    assert_eq!(ep["ranks_per_node"], 8);
    assert_eq!(ep["crosses_network"], true);
    assert_eq!(ep["network"], "infiniband-ndr");
    assert_eq!(ep["dispatch_precision"], "bf16");
    assert_eq!(ep["hottest_expert_load"], 1.109);
    // Uniform routing over 16 ranks, 8 per node: 7/16 of the bytes stay in the node, 8/16 leave.
    let (intra, inter) = (ep["intra_node_bytes"].as_f64().unwrap(), ep["inter_node_bytes"].as_f64().unwrap());
    assert!((intra / inter - 7.0 / 8.0).abs() < 1e-9, "{intra} {inter}");
    let time = &body["time"];
    assert_eq!(time["expert_all_to_all_s"], ep["exposed_s"]);
    assert_eq!(time["expert_imbalance_s"], ep["imbalance_s"]);
    assert!(time["expert_all_to_all_s"].as_f64().unwrap() > 0.0 && time["expert_imbalance_s"].as_f64().unwrap() > 0.0);
    let step = explain_rule(&body, "time.step");
    assert_eq!(step["inputs"]["expert_all_to_all_exposed_s"], time["expert_all_to_all_s"]);
    assert_eq!(step["inputs"]["expert_imbalance_s"], time["expert_imbalance_s"]);
    assert_eq!(explain_rule(&body, "time.expert_all_to_all")["value"], ep["all_to_all_s"]);
    let assumed: Vec<&str> =
        body["assumptions"].as_array().unwrap().iter().filter_map(|a| a["field"].as_str()).collect();
    for field in ["moe.hottest_expert_load", "moe.all_to_all_overlap", "moe.dispatch_precision", "network"] {
        assert!(assumed.contains(&field), "{field} not listed: {assumed:?}");
    }

    // Full overlap, an FP8 dispatch and uniform routing each make the step no slower.
    let mut r = lite();
    r["moe"] = json!({"all_to_all_overlap": 1.0, "dispatch_precision": "fp8", "hottest_expert_load": 1.0});
    let (status, faster) = estimate(&app, r).await;
    assert_eq!(status, 200, "{faster}");
    assert!(faster["time"]["step_s"].as_f64().unwrap() < time["step_s"].as_f64().unwrap());
    assert_eq!(faster["time"]["expert_imbalance_s"], 0.0);
    assert_eq!(faster["expert_parallel"]["dispatch_precision"], "fp8");

    // A dense model has no exchange.
    let (_, dense) = estimate(&app, json!({"model": "llama-3.1-8b", "hardware": "h100", "devices": 8})).await;
    assert!(dense["expert_parallel"].is_null());
    assert_eq!(dense["time"]["expert_all_to_all_s"], 0.0);
    assert!(dense["fp8"].is_null());
}

/// FP8: the recipe and the precision of each tensor are stated; block scaling stores FP32
/// gradients and BF16 moments and runs its GEMMs at its factor.
#[tokio::test]
async fn fp8_recipes_state_their_precisions() {
    let app = spawn_app().await;
    let mut r = lite();
    r["precision"] = "fp8".into();
    let (status, tensor) = estimate(&app, r.clone()).await;
    assert_eq!(status, 200, "{tensor}");
    assert_eq!(tensor["fp8"]["recipe"], "per_tensor");
    assert_eq!(tensor["fp8"]["gradients"], "BF16");
    assert_eq!(tensor["fp8"]["optimizer_states"], "FP32");
    assert_eq!(tensor["fp8"]["master_weights"], "FP32");
    assert!(tensor["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "fp8_recipe"));
    r["fp8_recipe"] = "block".into();
    let (status, block) = estimate(&app, r).await;
    assert_eq!(status, 200, "{block}");
    assert_eq!(block["fp8"]["recipe"], "block");
    assert_eq!(block["fp8"]["gradients"], "FP32");
    assert_eq!(block["fp8"]["optimizer_states"], "BF16");
    assert!(block["memory"]["per_device"]["fp8_weight_copy_bytes"].as_f64().unwrap() > 0.0);
    let factor =
        |b: &Value| explain_rule(b, "time.compute_efficiency")["inputs"]["fp8_recipe_factor"].as_f64().unwrap();
    assert_eq!(factor(&tensor), 1.0);
    assert!(factor(&block) < 1.0);
    // FP32 gradients (4 bytes) against BF16 (2): twice the gradient memory, ZeRO-1 leaves them whole.
    let grads = |b: &Value| b["memory"]["per_device"]["gradients_bytes"].as_f64().unwrap();
    assert!((grads(&block) / grads(&tensor) - 2.0).abs() < 1e-6);
}

#[tokio::test]
async fn fp8_where_the_device_has_none_and_bad_moe_fields_are_client_errors() {
    let app = spawn_app().await;
    let (status, body) = estimate(
        &app,
        json!({"model": "llama-3.1-8b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 8, "precision": "fp8"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/precision");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("FP8"), "{body}");
    for (patch, pointer, code) in [
        (json!({"fp8_recipe": "block"}), "/fp8_recipe", 422),
        (json!({"network": "carrier-pigeon"}), "/network", 422),
        (json!({"moe": {"all_to_all_overlap": 1.5}}), "/moe/all_to_all_overlap", 400),
        (json!({"moe": {"hottest_expert_load": 0.5}}), "/moe/hottest_expert_load", 400),
    ] {
        let mut r = lite();
        for (k, v) in patch.as_object().unwrap() {
            r[k] = v.clone();
        }
        let (status, body) = estimate(&app, r).await;
        assert_eq!(status, code, "{body}");
        assert_eq!(body["errors"][0]["pointer"], pointer, "{body}");
    }
}
