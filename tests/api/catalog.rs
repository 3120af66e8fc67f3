//! Catalog endpoints: lists with filters, records with sources, anatomy, aliases.

use crate::helpers::spawn_app;

#[tokio::test]
async fn hardware_list_filters_and_sorts() {
    let app = spawn_app().await;
    let (status, all) = app.get_json("/v1/hardware").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = all["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);

    let (_, big) = app.get_json("/v1/hardware?vendor=NVIDIA&min_memory_gib=100").await;
    for device in big["items"].as_array().unwrap() {
        assert_eq!(device["vendor"], "nvidia");
        assert!(device["memory_bytes"].as_u64().unwrap() >= 100 << 30);
    }
    assert!(big["count"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn hardware_records_carry_sources_and_resolve_aliases() {
    let app = spawn_app().await;
    let (status, h100) = app.get_json("/v1/hardware/nvidia-h100-sxm-80gb").await;
    assert_eq!(status, 200);
    assert!(!h100["sources"].as_array().unwrap().is_empty());
    assert!(h100["dense_tflops"]["bf16"].as_f64().unwrap() > 900.0);
    let (status, again) = app.get_json("/v1/hardware/NVIDIA-H100-SXM-80GB").await;
    assert_eq!((status, &again["id"]), (200, &h100["id"]));
}

#[tokio::test]
async fn gpt3_175b_anatomy_explains_the_175_billion() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/v1/models/gpt3/parameters").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "gpt-3-175b");
    let total = body["total_parameters"].as_u64().unwrap();
    // The paper's 175.0B, rounded to one decimal of a billion.
    assert!((174_500_000_000..175_500_000_000).contains(&total), "{total}");
    let parts =
        ["weights", "biases", "norms", "other"].iter().map(|k| body["by_kind"][k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(parts, total);
    assert!(body["by_kind"]["biases"].as_u64().unwrap() > 0, "GPT-3 has biases");
    let bf16 = body["bytes_by_format"].as_array().unwrap().iter().find(|f| f["format"] == "bf16").unwrap();
    assert!((bf16["total_bytes"].as_u64().unwrap() as f64 / 1e9 - 350.0).abs() < 1.0);
    let components = body["components"].as_array().unwrap();
    assert!(components.iter().any(|c| c["name"] == "attention.q" && c["repeats"] == 96));
}

#[tokio::test]
async fn model_list_filters_by_family_and_size() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/v1/models?family=llama-2").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"llama-2-7b") && ids.contains(&"llama-2-70b"), "{ids:?}");
    let (_, small) = app.get_json("/v1/models?max_parameters_b=1").await;
    for model in small["items"].as_array().unwrap() {
        assert!(model["total_parameters"].as_u64().unwrap() <= 1_000_000_000);
    }
    let (_, moe) = app.get_json("/v1/models?moe=true").await;
    assert!(moe["items"].as_array().unwrap().iter().all(|m| m["moe"] == true));
    assert!(moe["count"].as_u64().unwrap() >= 3);
}

#[tokio::test]
async fn model_details_give_published_training_tokens_per_parameter() {
    let app = spawn_app().await;
    // (id, published tokens, tokens per parameter: tokens / the anatomy's total)
    for (id, tokens, ratio) in [
        ("gpt-3-175b", 300e9, 1.71),      // 300B / 175.0B
        ("llama-2-7b", 2.0e12, 296.8),    // 2T / 6.74B
        ("chinchilla-70b", 1.4e12, 20.0), // 1.4T / 70.0B: the compute-optimal ratio
        ("gopher-280b", 300e9, 1.07),     // 300B / 279.7B
        ("deepseek-v3", 14.8e12, 22.0),   // every expert counted: 14.8T / 671B
    ] {
        let (status, body) = app.get_json(&format!("/v1/models/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["training_tokens"].as_f64(), Some(tokens), "{id}");
        assert!(body["training_tokens_source"].as_str().unwrap().contains("https://"), "{id}");
        let got = body["tokens_per_parameter"].as_f64().unwrap();
        let total = body["total_parameters"].as_f64().unwrap();
        assert!((got - tokens / total).abs() < 1e-9 * got, "{id}: {got}");
        assert!((got / ratio - 1.0).abs() < 0.01, "{id}: {got} tokens per parameter, expected about {ratio}");
    }
    // No published figure: no tokens, no ratio, no source.
    let (_, mistral) = app.get_json("/v1/models/mistral-7b-v0.1").await;
    for field in ["training_tokens", "training_tokens_source", "tokens_per_parameter"] {
        assert!(mistral.get(field).is_none(), "{field}: {mistral}");
    }
    // Gopher and Chinchilla never had a Hugging Face repo; the papers are their sources.
    let (_, chinchilla) = app.get_json("/v1/models/chinchilla").await;
    assert_eq!(chinchilla["id"], "chinchilla-70b");
    assert!(chinchilla.get("hf_repo").is_none());
    assert!(chinchilla["sources"].as_array().unwrap().iter().any(|s| s == "https://arxiv.org/abs/2203.15556"));
}

#[tokio::test]
async fn model_list_shows_and_filters_training_tokens() {
    let app = spawn_app().await;
    let (status, with) = app.get_json("/v1/models?has_training_tokens=true").await;
    assert_eq!(status, 200, "{with}");
    let items = with["items"].as_array().unwrap();
    assert!(items.len() >= 60, "{}", items.len());
    for m in items {
        let tokens = m["training_tokens"].as_f64().unwrap();
        let ratio = m["tokens_per_parameter"].as_f64().unwrap();
        assert!((ratio - tokens / m["total_parameters"].as_f64().unwrap()).abs() < 1e-9 * ratio, "{m}");
    }
    assert!(items.iter().any(|m| m["id"] == "llama-2-7b"));
    let (_, without) = app.get_json("/v1/models?has_training_tokens=false").await;
    let without = without["items"].as_array().unwrap();
    assert!(without.iter().all(|m| m.get("training_tokens").is_none() && m.get("tokens_per_parameter").is_none()));
    assert!(without.iter().any(|m| m["id"] == "mistral-7b-v0.1"));
    let (_, all) = app.get_json("/v1/models").await;
    assert_eq!(all["total"].as_u64().unwrap(), (items.len() + without.len()) as u64);
    let (status, _) = app.get_json("/v1/models?has_training_tokens=maybe").await;
    assert_eq!(status, 400);
}
