//! The automatic layout (a device count and no parallelism), and the KV-cache and workload
//! figures every inference and serving answer gives.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn degrees(body: &Value) -> (u64, u64, u64, u64) {
    let p = &body["parallelism"];
    let d = |k: &str| p[k].as_u64().unwrap_or(0);
    (d("tensor"), d("pipeline"), d("expert"), d("data"))
}

fn said_why(body: &Value) -> bool {
    body["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "parallelism")
}

/// Llama 3.1 70B in Q4_K_M on two RTX 4090 under llama.cpp: the weights alone (about 42 GB) need
/// both cards; llama.cpp splits layers, so the answer is two pipeline stages, the same estimate
/// as asking for them (it used to be refused by an 80%-of-memory rule of thumb).
#[tokio::test]
async fn llama_cpp_splits_layers_over_two_consumer_cards() {
    let app = spawn_app().await;
    let base = json!({"model": "llama-3.1-70b", "hardware": "rtx-4090", "weights": "q4_k_m", "engine": "llama.cpp",
        "devices": 2});
    let (status, auto) = app.post_json("/v1/estimate/inference", &base).await;
    assert_eq!(status, 200, "{auto}");
    assert_eq!(degrees(&auto), (1, 2, 1, 1), "{}", auto["parallelism"]);
    assert_eq!(auto["memory"]["fits"], true, "{}", auto["memory"]);
    assert!(said_why(&auto), "{}", auto["assumptions"]);

    let mut explicit = base.clone();
    explicit["parallelism"] = json!({"pipeline": 2});
    let (status, explicit) = app.post_json("/v1/estimate/inference", &explicit).await;
    assert_eq!(status, 200, "{explicit}");
    assert_eq!(auto["memory"]["per_device"], explicit["memory"]["per_device"]);
    assert_eq!(auto["latency"], explicit["latency"]);
}

/// The same devices, engines that split differently: vLLM puts tensor parallelism inside a node
/// (at most 8) and pipelines across nodes; llama.cpp pipelines layers.
#[tokio::test]
async fn vllm_splits_tensors_within_a_node_and_llama_cpp_layers() {
    let app = spawn_app().await;
    let request = |engine: &str| {
        json!({"model": "llama-3.1-405b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16", "engine": engine,
            "devices": 16})
    };
    let (status, vllm) = app.post_json("/v1/estimate/inference", &request("vllm")).await;
    assert_eq!(status, 200, "{vllm}");
    assert_eq!(degrees(&vllm), (8, 2, 1, 1), "{}", vllm["parallelism"]);
    assert_eq!(vllm["memory"]["fits"], true);
    assert!(said_why(&vllm), "{}", vllm["assumptions"]);

    let (status, llama) = app.post_json("/v1/estimate/inference", &request("llama.cpp")).await;
    assert_eq!(status, 200, "{llama}");
    let (tensor, pipeline, _, data) = degrees(&llama);
    assert_eq!((tensor, pipeline * data), (1, 16), "{}", llama["parallelism"]);
    assert_eq!(llama["memory"]["fits"], true);

    // Serving takes the same layout from the same rule.
    let mut serving = request("vllm");
    serving["workload"] = json!({"input_tokens": 128, "output_tokens": 16, "requests": 4});
    let (status, replay) = app.post_json("/v1/estimate/serving", &serving).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(degrees(&replay), (8, 2, 1, 1), "{}", replay["parallelism"]);
}

/// A workload no split of the devices holds is refused at `/devices`, naming how many devices
/// would hold it; that many do, one fewer do not.
#[tokio::test]
async fn too_few_devices_are_refused_naming_how_many_would_do() {
    let app = spawn_app().await;
    let request = |devices: u64| {
        json!({"model": "llama-3.1-405b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16", "engine": "vllm",
            "devices": devices})
    };
    let (status, refused) = app.post_json("/v1/estimate/inference", &request(2)).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["pointer"], "/devices");
    let detail = refused["errors"][0]["detail"].as_str().unwrap();
    let needed: u64 = detail
        .split("needs at least ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no device count in {detail}"));
    assert!((10..=16).contains(&needed), "{detail}");
    let (status, enough) = app.post_json("/v1/estimate/inference", &request(needed)).await;
    assert_eq!((status, &enough["memory"]["fits"]), (200, &json!(true)), "{enough}");
    let (status, short) = app.post_json("/v1/estimate/inference", &request(needed - 1)).await;
    assert_eq!(status, 422, "{short}");
}

/// KV-cache bytes per token: Llama 3.1 70B keeps 2 x 8 kv heads x 128 x 80 layers x 2 bytes =
/// 327,680 bytes per token for the whole model, an eighth of it on each of 8 tensor ranks;
/// DeepSeek-V2-Lite's MLA latent (512 + 64 values x 27 layers x 2 bytes = 31,104) is whole on
/// every rank. Serving answers give the same figures.
#[tokio::test]
async fn kv_bytes_per_token_for_the_model_and_per_device() {
    let app = spawn_app().await;
    for (model, tensor, whole, per_device) in
        [("llama-3.1-70b", 8, 327_680.0, 40_960.0), ("deepseek-v2-lite", 2, 31_104.0, 31_104.0)]
    {
        let body = json!({"model": model, "hardware": "nvidia-h100-sxm-80gb", "kv_cache": "bf16",
            "devices": tensor, "parallelism": {"tensor": tensor}});
        let (status, answer) = app.post_json("/v1/estimate/inference", &body).await;
        assert_eq!(status, 200, "{answer}");
        let kv = &answer["memory"]["kv_cache"];
        assert_eq!(kv["bytes_per_token"].as_f64(), Some(whole), "{model}: {kv}");
        assert_eq!(kv["bytes_per_token_per_device"].as_f64(), Some(per_device), "{model}: {kv}");

        let mut serving = body.clone();
        serving["workload"] = json!({"input_tokens": 64, "output_tokens": 8, "requests": 2});
        let (status, replay) = app.post_json("/v1/estimate/serving", &serving).await;
        assert_eq!(status, 200, "{replay}");
        assert_eq!(replay["kv_cache"]["bytes_per_token"].as_f64(), Some(whole), "{model}");
        assert_eq!(replay["kv_cache"]["bytes_per_token_per_device"].as_f64(), Some(per_device), "{model}");
    }
}

/// `workload.requests` is every request the replay served, all replicas together; each replica
/// replays its share.
#[tokio::test]
async fn serving_counts_requests_over_all_replicas() {
    let app = spawn_app().await;
    let (status, replay) = app
        .post_json(
            "/v1/estimate/serving",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
                "devices": 8, "workload": {"input_tokens": 64, "output_tokens": 8, "requests": 2000}}),
        )
        .await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(degrees(&replay).3, 8, "{}", replay["parallelism"]);
    assert_eq!(replay["workload"]["requests"], 2000, "{}", replay["workload"]);
    assert_eq!(replay["workload"]["requests_per_replica"], 250, "{}", replay["workload"]);
}

/// "Devices" are the devices available: with no parallelism given, every weight format gets the
/// layout that holds it, and the automatic layout accepts whenever an explicit split of the same
/// devices fits (issue 27: int4 must never be "does not fit" where bf16 fits). For GPT-3 175B
/// and Llama 3.1 70B on 8 H100, each format and each explicit `tensor x pipeline` split of the
/// 8 devices (the rest replicas): if the explicit one fits, so does the automatic one, using at
/// most as many devices per replica; and a narrower format never fits less.
#[tokio::test]
async fn the_automatic_layout_fits_whenever_an_explicit_one_of_the_same_devices_does() {
    let app = spawn_app().await;
    for model in ["gpt-3-175b", "llama-3.1-70b"] {
        let mut fitted = Vec::new();
        for weights in ["bf16", "fp8", "int4"] {
            let base = json!({"model": model, "hardware": "nvidia-h100-sxm-80gb", "devices": 8, "weights": weights,
                "batch_size": 8, "input_tokens": 2048, "output_tokens": 256});
            let (status, auto) = app.post_json("/v1/estimate/inference", &base).await;
            let auto_fits = status == 200 && auto["memory"]["fits"] == true;
            if status == 200 {
                let (t, p, e, d) = degrees(&auto);
                assert_eq!(t * p * e * d, 8, "{model} {weights}: {}", auto["parallelism"]);
                assert!(said_why(&auto), "{}", auto["assumptions"]);
            }
            for (tensor, pipeline) in [(1, 1), (2, 1), (4, 1), (8, 1), (1, 2), (2, 2), (4, 2), (1, 4), (2, 4), (1, 8)] {
                let mut explicit = base.clone();
                explicit["parallelism"] = json!({"tensor": tensor, "pipeline": pipeline});
                let (status, given) = app.post_json("/v1/estimate/inference", &explicit).await;
                if status == 200 && given["memory"]["fits"] == true {
                    assert!(
                        auto_fits,
                        "{model} {weights}: tensor {tensor} x pipeline {pipeline} fits, the automatic layout does not: {auto}"
                    );
                    let (t, p, e, _) = degrees(&auto);
                    assert!(
                        t * p * e <= tensor * pipeline,
                        "{model} {weights}: {} uses more devices per replica than {tensor} x {pipeline}",
                        auto["parallelism"]
                    );
                }
            }
            fitted.push(auto_fits);
        }
        assert_eq!(fitted, [true, true, true], "{model}: bf16, fp8, int4 on 8 H100");
    }
}
