//! Liveness, readiness, metrics, request ids, CORS and the documentation routes.

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200);
    assert!(body["catalog"]["hardware"].as_u64().unwrap() >= 1);
    assert!(body["catalog"]["models"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_status_with_fine_buckets() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/v1/models/no-such-model").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"hwcost_build_info{version=""#), "{text}");
    assert!(text.contains(r#"hwcost_http_requests_total{endpoint="/healthz",method="GET",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"endpoint="/v1/models/{id}",method="GET",status="404""#), "{text}");
    assert!(text.contains(r#"le="0.0001""#), "latency buckets start below the 5 ms default: {text}");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let response =
        app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");

    let response = app.get("/healthz").await;
    let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let response =
        app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "has space").send().await.unwrap();
    assert_ne!(response.headers()["x-request-id"], "has space");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app().await;
    let allowed = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("origin", "https://dashboard.example")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://dashboard.example");
    let other = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no CDN links: {html}");
    let script = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.bytes().await.unwrap().len() > 100_000);
    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = redirect.get(format!("{}/docs", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 308);
    let (status, spec) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(spec["openapi"], "3.1.0");
}

#[tokio::test]
async fn validation_report_and_error_bands_are_served() {
    let app = spawn_app().await;
    let (status, report) = app.get_json("/v1/validation").await;
    assert_eq!(status, 200);
    assert!(report["points"].as_array().unwrap().len() > 700);
    let decode = report["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == "decode_tokens_per_s_per_user" && f["device_class"] == "all")
        .unwrap();
    assert!(decode["median_ape"].as_f64().unwrap() > 0.0);

    let body = serde_json::json!({"model": "llama-2-7b", "hardware": "apple-m2-ultra", "weights": "q4_0", "engine": "llama.cpp"});
    let response = app.post_raw("/v1/estimate/inference", "application/json", serde_json::to_vec(&body).unwrap()).await;
    let estimate: serde_json::Value = response.json().await.unwrap();
    let band = &estimate["error_band"];
    assert_eq!(band["status"], "measured", "{band}");
    let tpot = band["metrics"].as_array().unwrap().iter().find(|m| m["output"] == "latency.tpot_ms").unwrap();
    assert_eq!(tpot["device_class"], "apple-soc", "Apple silicon has enough decode points for its own band");
    assert_eq!(tpot["median_ape"], decode_for(&report, "apple-soc"));
}

fn decode_for(report: &serde_json::Value, class: &str) -> serde_json::Value {
    report["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == "decode_tokens_per_s_per_user" && f["device_class"] == class)
        .unwrap()["median_ape"]
        .clone()
}

#[tokio::test]
async fn the_host_is_described() {
    let app = spawn_app().await;
    let (status, host) = app.get_json("/v1/host").await;
    assert_eq!(status, 200);
    assert!(host["logical_cpus"].as_u64().unwrap() >= 1);
    assert!(host["total_memory_bytes"].as_u64().unwrap() > 0);
    assert!(host["cpu_features"].is_array());
}
