//! `POST /v1/models/import`: configs, safetensors and GGUF headers, and hostile files.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

const TINY_SAFETENSORS: &[u8] = include_bytes!("../fixtures/tiny_llama.safetensors");
const TINY_GGUF: &[u8] = include_bytes!("../fixtures/tiny_llama.gguf");
const MINILM_HEADER: &[u8] = include_bytes!("../fixtures/all-minilm-l6-v2.header.safetensors");
const INDEX: &[u8] = include_bytes!("../fixtures/model.safetensors.index.json");
const DEEPSEEK_V2: &[u8] = include_bytes!("../fixtures/deepseek-v2.config.json");
const DEEPSEEK_V2_LITE: &[u8] = include_bytes!("../fixtures/deepseek-v2-lite.config.json");
const ERNIE_300B: &[u8] = include_bytes!("../fixtures/ernie-4.5-300b-a47b-pt.config.json");
const ERNIE_21B: &[u8] = include_bytes!("../fixtures/ernie-4.5-21b-a3b-pt.config.json");
const ERNIE_03B: &[u8] = include_bytes!("../fixtures/ernie-4.5-0.3b-pt.config.json");

/// The tiny fixture model: 2 layers, width 64, 4 heads (2 kv), MLP 128, vocabulary 256, untied.
const TINY_PARAMETERS: u64 = 106_816;

async fn import(body: Vec<u8>, content_type: &str) -> (u16, Value) {
    let app = spawn_app().await;
    let response = app.post_raw("/v1/models/import", content_type, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_config_json_becomes_an_architecture_and_its_anatomy() {
    // Meta-Llama-3-8B's config.json (the fields that matter, plus some that do not).
    let config = json!({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": 32,
        "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        "vocab_size": 128256, "max_position_embeddings": 8192, "rope_theta": 500000.0, "torch_dtype": "bfloat16",
        "tie_word_embeddings": false, "hidden_act": "silu", "rms_norm_eps": 1e-5
    });
    let (status, body) = import(serde_json::to_vec(&config).unwrap(), "application/json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "hf-config");
    assert_eq!(body["architecture"]["num_key_value_heads"], 8);
    assert_eq!(body["parameters"]["total_parameters"], 8_030_261_248u64);
}

#[tokio::test]
async fn a_config_import_agrees_with_the_catalog() {
    // GPT-2's config.json uses its own names; the import must land on the catalog's anatomy.
    let app = spawn_app().await;
    let config = json!({"model_type": "gpt2", "n_layer": 48, "n_embd": 1600, "n_head": 25, "n_positions": 1024, "n_ctx": 1024, "vocab_size": 50257});
    let response = app.post_raw("/v1/models/import", "application/json", serde_json::to_vec(&config).unwrap()).await;
    let imported: Value = response.json().await.unwrap();
    let (_, catalog) = app.get_json("/v1/models/gpt2-xl/parameters").await;
    assert_eq!(imported["parameters"]["total_parameters"], catalog["total_parameters"]);
    assert_eq!(imported["parameters"]["by_kind"], catalog["by_kind"]);
}

#[tokio::test]
async fn deepseek_v2_configs_import_as_their_catalog_models() {
    // The published config.json files, whole (model_type `deepseek_v2`; V2-Lite's q_lora_rank
    // is null). Their counts against the model cards are checked in `import::hf_config`.
    let app = spawn_app().await;
    for (config, id) in [(DEEPSEEK_V2, "deepseek-v2"), (DEEPSEEK_V2_LITE, "deepseek-v2-lite")] {
        let response = app.post_raw("/v1/models/import", "application/json", config.to_vec()).await;
        let status = response.status().as_u16();
        let imported: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{id}: {imported}");
        let (_, catalog) = app.get_json(&format!("/v1/models/{id}/parameters")).await;
        for key in ["total_parameters", "active_parameters_per_token", "by_group"] {
            assert_eq!(imported["parameters"][key], catalog[key], "{id}: {key}");
        }
    }
}

#[tokio::test]
async fn ernie_4_5_configs_import_as_their_catalog_models_with_the_published_sizes() {
    // The published config.json files, whole (model types `ernie4_5_moe` and `ernie4_5`).
    let app = spawn_app().await;
    #[rustfmt::skip]
    let cases = [
        // (config, catalog id, alias, card total and active in billions)
        (ERNIE_300B, "ernie-4.5-300b-a47b-pt", "ERNIE-4.5-300B-A47B", 300.0, 47.0),
        (ERNIE_21B, "ernie-4.5-21b-a3b-pt", "ernie-4.5-21b-a3b", 21.0, 3.0),
        (ERNIE_03B, "ernie-4.5-0.3b-pt", "ernie-4.5-0.3b", 0.3, 0.3),
    ];
    for (config, id, alias, total, active) in cases {
        let response = app.post_raw("/v1/models/import", "application/json", config.to_vec()).await;
        let status = response.status().as_u16();
        let imported: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{id}: {imported}");
        let (_, catalog) = app.get_json(&format!("/v1/models/{id}/parameters")).await;
        for key in ["total_parameters", "active_parameters_per_token", "by_group"] {
            assert_eq!(imported["parameters"][key], catalog[key], "{id}: {key}");
        }
        // The model detail answers by alias, with counts near the published totals (within a
        // billion for the MoE models; the card's 0.3B is 0.36B).
        let (status, detail) = app.get_json(&format!("/v1/models/{alias}")).await;
        assert_eq!(status, 200, "{alias}: {detail}");
        assert_eq!(detail["id"], id);
        let billions = |key: &str| detail[key].as_u64().unwrap() as f64 / 1e9;
        let slack = if total < 1.0 { 0.1 } else { 1.0 };
        assert!((billions("total_parameters") - total).abs() <= slack, "{id}: {}", billions("total_parameters"));
        assert!(
            (billions("active_parameters_per_token") - active).abs() <= slack,
            "{id}: {}",
            billions("active_parameters_per_token")
        );
    }
}

#[tokio::test]
async fn safetensors_headers_give_exact_counts_by_dtype_and_group() {
    let (status, body) = import(TINY_SAFETENSORS.to_vec(), "application/octet-stream").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "safetensors");
    assert_eq!(body["weights"]["total_parameters"], TINY_PARAMETERS);
    let dtypes: Vec<&str> =
        body["weights"]["by_dtype"].as_array().unwrap().iter().map(|d| d["dtype"].as_str().unwrap()).collect();
    assert_eq!(dtypes, ["BF16", "F32"]);
    let groups = body["weights"]["by_group"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["group"] == "attention") && groups.iter().any(|g| g["group"] == "mlp"));
}

#[tokio::test]
async fn the_real_minilm_header_matches_the_catalog_count() {
    let app = spawn_app().await;
    let response = app.post_raw("/v1/models/import", "application/octet-stream", MINILM_HEADER.to_vec()).await;
    let body: Value = response.json().await.unwrap();
    // 22,713,216 float parameters plus the 512-element int64 `position_ids` buffer.
    assert_eq!(body["weights"]["floating_point_parameters"], 22_713_216u64);
    assert_eq!(body["weights"]["total_parameters"], 22_713_728u64);
    let (_, catalog) = app.get_json("/v1/models/all-minilm-l6-v2/parameters").await;
    assert_eq!(catalog["total_parameters"], body["weights"]["floating_point_parameters"]);
}

#[tokio::test]
async fn gguf_headers_give_types_bits_and_architecture() {
    let (status, body) = import(TINY_GGUF.to_vec(), "application/octet-stream").await;
    assert_eq!(status, 200, "{body}");
    let weights = &body["weights"];
    assert_eq!(body["source"], "gguf");
    assert_eq!(weights["architecture"], "llama");
    assert_eq!(weights["total_parameters"], TINY_PARAMETERS);
    assert_eq!(weights["architecture_hints"]["num_hidden_layers"], 2);
    assert_eq!(weights["architecture_hints"]["vocab_size"], 256);
    let q8 = weights["by_dtype"].as_array().unwrap().iter().find(|t| t["dtype"] == "Q8_0").unwrap();
    assert_eq!(q8["bits_per_weight"], 8.5);
    let bits = weights["bits_per_weight"].as_f64().unwrap();
    assert!(bits > 8.5 && bits < 16.0, "{bits}");
}

#[tokio::test]
async fn a_safetensors_index_lists_shards_and_groups() {
    let (status, body) = import(INDEX.to_vec(), "application/json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "safetensors-index");
    assert_eq!(body["weights"]["files"].as_array().unwrap().len(), 2);
    assert!(body["weights"]["total_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn hostile_and_truncated_files_are_client_errors() {
    let app = spawn_app().await;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("random", (0..255u8).cycle().take(4096).map(|b| b.wrapping_mul(97)).collect()),
        ("huge safetensors header length", u64::MAX.to_le_bytes().to_vec()),
        ("gguf magic only", b"GGUF".to_vec()),
        ("gguf version 1", [b"GGUF".as_slice(), &1u32.to_le_bytes()].concat()),
        (
            "gguf huge tensor count",
            [b"GGUF".as_slice(), &3u32.to_le_bytes(), &u64::MAX.to_le_bytes(), &0u64.to_le_bytes()].concat(),
        ),
    ];
    for cut in [9, 100, TINY_SAFETENSORS.len() - 1] {
        cases.push(("truncated safetensors", TINY_SAFETENSORS[..cut].to_vec()));
    }
    for cut in [8, 24, 200, 2000] {
        cases.push(("truncated gguf", TINY_GGUF[..cut].to_vec()));
    }
    for (name, body) in cases {
        let response = app.post_raw("/v1/models/import", "application/octet-stream", body).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{name}: {status}");
        let problem: Value = response.json().await.unwrap();
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {problem}");
    }
    assert_eq!(app.get("/healthz").await.status(), 200, "the server survived");
}
