//! `POST /v1/host/benchmarks`: off by default, token-gated, one at a time.

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn benchmarks_are_disabled_without_a_token() {
    let app = spawn_app().await;
    // No credentials: the operation needs them.
    let response = app.post_raw("/v1/host/benchmarks", "application/json", "").await;
    assert_eq!(response.status().as_u16(), 401);
    // Credentials, but no token could work on this server.
    let response = app
        .client
        .post(format!("{}/v1/host/benchmarks", app.address))
        .header("authorization", "Bearer anything")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "disabled");
    assert!(body["detail"].as_str().unwrap().contains("--benchmark-token"), "{body}");
}

#[tokio::test]
async fn benchmarks_need_the_right_bearer_token() {
    let app = spawn_with(|s| s.benchmark_token = Some("s3cret".into())).await;
    let url = format!("{}/v1/host/benchmarks", app.address);
    for auth in [None, Some("Bearer wrong"), Some("s3cret")] {
        let mut request = app.client.post(&url);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{auth:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
}

/// Runs the real kernels (faer's GEMM, a STREAM-like read): unoptimised they take minutes, so
/// debug builds skip it and .ci/calibration.sh makes the same calls to the release binary.
#[tokio::test]
#[cfg_attr(debug_assertions, ignore = "runs the real kernels: cargo test --release, or .ci/calibration.sh")]
async fn benchmarks_run_one_at_a_time() {
    let app = spawn_with(|s| {
        s.benchmark_token = Some("s3cret".into());
        s.workers = Some(2);
    })
    .await;
    let url = format!("{}/v1/host/benchmarks", app.address);
    let first = tokio::spawn({
        let request = app.client.post(&url).header("authorization", "Bearer s3cret");
        async move { request.send().await.unwrap() }
    });
    // The first run takes seconds; a second call meanwhile is turned away.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = app.client.post(&url).header("authorization", "Bearer s3cret").send().await.unwrap();
    assert_eq!(second.status().as_u16(), 429);
    assert!(second.headers().contains_key("retry-after"));

    let first = first.await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let report: serde_json::Value = first.json().await.unwrap();
    assert_eq!(report["size"], "quick");
    assert!(report["gemm"].as_array().unwrap().iter().all(|g| g["gflops"]["median"].as_f64().unwrap() > 0.0));
    assert!(report["read_gb_per_s"]["median"].as_f64().unwrap() > 0.0);

    // The slot is free again.
    let again = app.client.post(&url).header("authorization", "Bearer s3cret").send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
}
