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
