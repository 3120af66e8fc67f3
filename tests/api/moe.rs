//! Mixture-of-experts at scale: expert ranks with attention data parallelism, the all-to-all
//! across nodes, the hottest rank's load, MLA's absorbed decode, bad input.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn serving(parallelism: Value, extra: Value) -> Value {
    let mut body = json!({"model": "qwen3-235b-a22b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8",
        "engine": "tensorrt-llm@1.0", "parallelism": parallelism,
        "workload": {"arrival": "offline", "input_tokens": 1000, "output_tokens": 200, "requests": 300}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn replay(app: &TestApp, body: &Value) -> Value {
    let (status, answer) = app.post_json("/v1/estimate/serving", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn an_imbalance_of_one_is_the_uniform_answer_and_more_is_slower() {
    let app = spawn_app().await;
    let par = json!({"expert": 8});
    let rate = |a: &Value| a["throughput"]["output_tokens_per_s"].as_f64().unwrap();
    let plain = replay(&app, &serving(par.clone(), json!({}))).await;
    let one = replay(&app, &serving(par.clone(), json!({"moe": {"hottest_expert_load": 1.0}}))).await;
    let hot = replay(&app, &serving(par.clone(), json!({"moe": {"hottest_expert_load": 1.5}}))).await;
    // The default is the load measured under EPLB (data/serving/moe.toml: 1.109).
    let eplb = replay(&app, &serving(par.clone(), json!({"moe": {"hottest_expert_load": 1.109}}))).await;
    assert_eq!(plain["throughput"], eplb["throughput"]);
    assert_eq!(plain["time_by_component"], eplb["time_by_component"]);
    assert_eq!(plain["expert_parallel"]["hottest_expert_load"], 1.109);
    assert!(rate(&one) > rate(&plain));
    assert!(rate(&hot) < rate(&one), "{} vs {}", rate(&hot), rate(&one));
    let ep = &hot["expert_parallel"];
    assert_eq!(ep["hottest_expert_load"], 1.5);
    assert_eq!(ep["expert_ranks"], 8);
    assert_eq!(ep["attention_data_parallel_ranks"], 8);
    assert_eq!(ep["experts_per_rank"], 16.0);
    assert!(
        ep["dispatch_combine_ms_per_step"].as_f64().unwrap()
            > one["expert_parallel"]["dispatch_combine_ms_per_step"].as_f64().unwrap()
    );
    // The uniform default is listed as an assumption; a given load is not.
    let assumed =
        |a: &Value| a["assumptions"].as_array().unwrap().iter().any(|x| x["field"] == "moe/hottest_expert_load");
    assert!(assumed(&plain));
    assert!(!assumed(&one));
    assert!(plain["explain"].as_array().unwrap().iter().any(|e| e["rule"] == "moe.dispatch_combine"));
}

#[tokio::test]
async fn kv_capacity_scales_with_the_attention_data_parallel_ranks() {
    let app = spawn_app().await;
    // Same device, weights held per rank differ with the rank count, so compare per-rank
    // capacity x ranks with the replica's capacity, and 16 ranks against 8.
    let eight = replay(&app, &serving(json!({"expert": 8}), json!({}))).await;
    let sixteen = replay(&app, &serving(json!({"expert": 16}), json!({"network": "infiniband-ndr"}))).await;
    for (a, ranks) in [(&eight, 8), (&sixteen, 16)] {
        let total = a["kv_cache"]["capacity_tokens"].as_u64().unwrap();
        let per_rank = a["expert_parallel"]["kv_capacity_tokens_per_rank"].as_u64().unwrap();
        assert_eq!(per_rank, total / ranks);
        assert!(a["expert_parallel"]["max_batch_per_rank"].as_u64().unwrap() > 0);
    }
    // 16 ranks hold half the experts each: more memory per device for KV, and twice the ranks.
    let cap = |a: &Value| a["kv_cache"]["capacity_tokens"].as_f64().unwrap();
    assert!(cap(&sixteen) > 2.0 * cap(&eight), "{} vs {}", cap(&sixteen), cap(&eight));
    // 16 H100 ranks span two 8-GPU nodes: the all-to-all crosses the network.
    assert_eq!(sixteen["expert_parallel"]["crosses_network"], true);
    assert_eq!(sixteen["expert_parallel"]["network"], "infiniband-ndr");
    assert_eq!(sixteen["expert_parallel"]["ranks_per_node"], 8);
    assert_eq!(eight["expert_parallel"]["crosses_network"], false);
}

/// DeepSeek-V3 decodes on MLA's absorbed path: 128 heads x (512 + 64) = 73,728 elements, so
/// 4 x 73,728 = 294,912 FLOPs per token-layer of context, against 2 x 128 x (192 + 128) =
/// 81,920 on the expanded path. One sequence at 1000 + 0 tokens (mean decode context 1000,
/// no sliding window, 61 layers): attention 294,912 x 61 x 1000 on top of 2 x the matmul
/// parameters.
#[tokio::test]
async fn mla_decodes_on_the_absorbed_path_by_hand() {
    let app = spawn_app().await;
    let (status, a) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "deepseek-v3", "hardware": "nvidia-h200-sxm-141gb", "devices": 8, "parallelism": {"tensor": 8},
                "weights": "fp8", "batch_size": 1, "input_tokens": 1000, "output_tokens": 0}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let explain = a["explain"].as_array().unwrap();
    let rule = |id: &str| explain.iter().find(|e| e["rule"] == id).unwrap_or_else(|| panic!("{id} missing"));
    assert_eq!(rule("compute.mla_absorbed_width")["value"], 73_728.0);
    let forward = rule("compute.forward_flops_per_token");
    let p_mm = forward["inputs"]["matmul_parameters"].as_f64().unwrap();
    let decode = a["compute"]["decode_flops_per_step"].as_f64().unwrap();
    let by_hand = 2.0 * p_mm + 294_912.0 * 61.0 * 1000.0;
    assert!((decode - by_hand).abs() / by_hand < 1e-9, "{decode} vs {by_hand}");
    // Prefill keeps the expanded path: forward FLOPs per token use 4 x 20,480.
    let forward_by_hand = 2.0 * p_mm + 4.0 * 20_480.0 * 61.0 * 1000.0;
    assert!((forward["value"].as_f64().unwrap() - forward_by_hand).abs() / forward_by_hand < 1e-9);
}

#[tokio::test]
async fn bad_moe_input_is_refused_at_its_pointer() {
    let app = spawn_app().await;
    for (body, pointer, status) in [
        (serving(json!({"expert": 8}), json!({"moe": {"hottest_expert_load": 0.5}})), "/moe/hottest_expert_load", 400),
        (serving(json!({"expert": 8}), json!({"moe": {"hottest_expert_load": 1000}})), "/moe/hottest_expert_load", 400),
        (serving(json!({"expert": 8}), json!({"moe": {"hottest": 1.2}})), "/moe/hottest", 400),
        (json!({"model": "llama-3.1-8b", "hardware": "h100", "moe": {"hottest_expert_load": 1.2}}), "/moe", 422),
    ] {
        let (got, problem) = app.post_json("/v1/estimate/serving", &body).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    let (got, problem) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "qwen3-235b-a22b", "hardware": "h100", "devices": 8, "parallelism": {"expert": 8},
                "moe": {"hottest_expert_load": -1}}),
        )
        .await;
    assert_eq!(got, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/moe/hottest_expert_load");
}

#[tokio::test]
async fn two_batch_overlap_hides_the_all_to_all_under_the_other_micro_batchs_compute() {
    let app = spawn_app().await;
    // 16 ranks over two nodes: the all-to-all crosses InfiniBand.
    let par = json!({"expert": 16});
    let base = json!({"network": "infiniband-ndr", "moe": {"hottest_expert_load": 1.0}});
    let mut tbo = base.clone();
    tbo["moe"]["two_batch_overlap"] = json!(true);
    let off = replay(&app, &serving(par.clone(), base)).await;
    let on = replay(&app, &serving(par.clone(), tbo)).await;
    let ms = |a: &Value, k: &str| a["time_by_component"][k].as_f64().unwrap();
    let a2a = |a: &Value| a["expert_parallel"]["dispatch_combine_ms_per_step"].as_f64().unwrap();
    // Less all-to-all shows; the halves' smaller GEMMs cost at least as much as the whole's.
    assert!(a2a(&on) < a2a(&off), "{} vs {}", a2a(&on), a2a(&off));
    assert!(ms(&on, "gemm_ms") >= ms(&off, "gemm_ms") * 0.999, "{on} {off}");
    let assumed =
        |a: &Value| a["assumptions"].as_array().unwrap().iter().any(|x| x["field"] == "moe/two_batch_overlap");
    assert!(assumed(&off));
    assert!(!assumed(&on));
}
