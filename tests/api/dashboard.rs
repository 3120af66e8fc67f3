//! The dashboard at `/`: embedded page and assets, their headers and caching, and the TOML
//! bodies it sends for pasted plans. The page itself is driven in Chromium by `.ci/browser.sh`.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "no inline code on the dashboard: {policy}");
    assert_eq!(headers["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    for (path, media) in [("/assets/app.js", "text/javascript"), ("/assets/style.css", "text/css")] {
        assert!(html.contains(path), "the page loads {path}");
        let asset = app.get(path).await;
        assert_eq!(asset.status(), 200, "{path}");
        assert!(asset.headers()["content-type"].to_str().unwrap().starts_with(media), "{path}");
        assert!(!asset.text().await.unwrap().is_empty(), "{path}");
    }
    // Every view is a tab on the one page.
    for view in ["model", "serving", "plan", "training", "scale", "check", "cost"] {
        assert!(html.contains(&format!("data-view=\"{view}\"")), "no {view} tab");
    }
    // The query string carries the view's state; the server ignores it.
    assert_eq!(app.get("/?view=serving&model=llama-3.1-8b").await.status(), 200);
}

#[tokio::test]
async fn assets_revalidate_by_etag() {
    let app = spawn_app().await;
    let first = app.get("/assets/app.js").await;
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again =
        app.client.get(format!("{}/assets/app.js", app.address)).header("if-none-match", &tag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());
    let stale =
        app.client.get(format!("{}/assets/app.js", app.address)).header("if-none-match", "\"0\"").send().await.unwrap();
    assert_eq!(stale.status(), 200);
    // The page and its two assets carry different tags.
    let page_tag = app.get("/").await.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(page_tag, tag);
}

#[tokio::test]
async fn unknown_assets_and_other_methods_are_problems() {
    let app = spawn_app().await;
    for path in ["/assets/nope.js", "/assets/", "/assets/app.js/x", "/index.html"] {
        let (status, problem) = app.get_json(path).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("route-not-found")), "{path}: {problem}");
    }
    let response = app.post_raw("/", "application/json", "{}").await;
    assert_eq!(response.status(), 405);
    assert!(response.headers()["allow"].to_str().unwrap().contains("GET"));
    let head = app.client.head(format!("{}/", app.address)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_toml_body_is_read_as_its_json_twin() {
    let app = spawn_app().await;
    let toml = r#"
[inference]
model = "llama-3.1-70b"
hardware = "nvidia-h100-sxm-80gb"
devices = 4
weights = "FP8"
batch_size = 32

[inference.parallelism]
tensor = 4

[requirements]
max_ttft_ms = 6000
max_tpot_ms = 50
"#;
    let json = serde_json::json!({
        "inference": {"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "weights": "fp8",
                      "batch_size": 32, "parallelism": {"tensor": 4}},
        "requirements": {"max_ttft_ms": 6000, "max_tpot_ms": 50}
    });
    let from_toml: serde_json::Value = app.post_raw("/v1/check", "application/toml", toml).await.json().await.unwrap();
    let (status, from_json) = app.post_json("/v1/check", &json).await;
    assert_eq!(status, 200, "{from_json}");
    assert_eq!(from_toml["verdict"], from_json["verdict"]);
    assert_eq!(from_toml["rules"], from_json["rules"]);

    // Errors keep their pointers; TOML syntax errors are a 400 in plain words.
    let response = app
        .post_raw(
            "/v1/check",
            "application/toml",
            "[inference]\nmodel = \"llama-3.1-70b\"\nhardware = \"nvidia-h100-sxm-80gb\"\nbatch_size = -1\n",
        )
        .await;
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/inference/batch_size", "{problem}");
    let response = app.post_raw("/v1/check", "application/toml", "[inference\nmodel = 1").await;
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "malformed-json", "{problem}");
    let response = app.post_raw("/v1/check", "text/plain", "x").await;
    assert_eq!(response.status(), 415);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("application/toml"), "{problem}");
}
