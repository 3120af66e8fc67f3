//! `POST /v1/calibrate` lowers the error on a user's own points.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn calibration_lowers_the_error_and_its_overrides_work() {
    let app = spawn_app().await;
    // A user's measurements: an engine 40% slower at decode and 2x slower at prefill than the
    // catalog profile predicts (made from hwcost's own predictions, so the fit has a known answer).
    let request = |input: u64, output: u64| json!({"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "weights": "q4_0", "engine": "llama.cpp", "input_tokens": input, "output_tokens": output});
    let estimate = |body: Value| {
        let app = &app;
        async move {
            let r =
                app.post_raw("/v1/estimate/inference", "application/json", serde_json::to_vec(&body).unwrap()).await;
            r.json::<Value>().await.unwrap()
        }
    };
    let decode = estimate(request(0, 128)).await["latency"]["tpot_ms"].as_f64().unwrap();
    let prefill = estimate(request(512, 0)).await["throughput"]["prefill_tokens_per_s"].as_f64().unwrap();
    let body = json!({"points": [
        {"kind": "inference", "request": request(0, 128), "measured": {"tpot_ms": decode * 1.4}},
        {"kind": "inference", "request": request(0, 256), "measured": {"tpot_ms": decode * 1.4}},
        {"kind": "inference", "request": request(512, 0), "measured": {"prefill_tokens_per_s": prefill / 2.0}},
    ]});
    let response = app.post_raw("/v1/calibrate", "application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(response.status(), 200);
    let fit: Value = response.json().await.unwrap();
    let (before, after) = (fit["before"]["median_ape"].as_f64().unwrap(), fit["after"]["median_ape"].as_f64().unwrap());
    assert!(before > 0.25 && after < before / 2.0, "{fit}");

    let mut calibrated = request(0, 128);
    calibrated["overrides"] = fit["overrides"].clone();
    let tpot = estimate(calibrated).await["latency"]["tpot_ms"].as_f64().unwrap();
    assert!((tpot / (decode * 1.4) - 1.0).abs() < 0.15, "{tpot} vs {}", decode * 1.4);
}

#[tokio::test]
async fn calibration_rejects_mixed_or_empty_points() {
    let app = spawn_app().await;
    let empty = app.post_raw("/v1/calibrate", "application/json", r#"{"points": []}"#).await;
    assert_eq!(empty.status(), 400);
    let mixed = json!({"points": [
        {"kind": "inference", "request": {"model": "gpt2", "hardware": "h100"}, "measured": {"tpot_ms": 1.0}},
        {"kind": "training", "request": {"model": "gpt2", "hardware": "h100"}, "measured": {"tokens_per_s_per_device": 1000.0}},
    ]});
    let response = app.post_raw("/v1/calibrate", "application/json", serde_json::to_vec(&mixed).unwrap()).await;
    assert_eq!(response.status(), 422);
}
