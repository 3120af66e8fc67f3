//! An answer that does not fit says so first (inference, serving, batch items, the CLI table):
//! `verdict`, `not_run` {reason, left_out} naming the GB needed and usable per device, the
//! running sections null, memory present, the does-not-fit warning first.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

const INFERENCE_LEFT_OUT: [&str; 4] = ["latency", "throughput", "cost", "energy"];
const SERVING_LEFT_OUT: [&str; 8] =
    ["throughput", "ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "queue_ms", "cost", "joules_per_output_token"];

fn gb(bytes: &Value) -> String {
    format!("{:.1} GB", bytes.as_f64().unwrap() / 1e9)
}

/// A fitting answer: the verdict, no `not_run`, every running section present, no misfit warning.
fn assert_fits(body: &Value, running: &[&str]) {
    assert_eq!(body["verdict"], "fits", "{body}");
    assert!(body["not_run"].is_null(), "{body}");
    for section in running {
        assert!(body[*section].is_object() || body[*section].is_number(), "{section} missing: {body}");
    }
    assert!(body["warnings"].as_array().unwrap().iter().all(|w| w["code"] != "does-not-fit"), "{body}");
}

/// A misfit: the verdict, the reason naming the memory's own GB figures and `expect`, the left-out
/// sections present as null, memory present, the reason as the first warning.
fn assert_does_not_fit(body: &Value, left_out: &[&str], expect: &str) {
    assert_eq!(body["verdict"], "does_not_fit", "{body}");
    let reason = body["not_run"]["reason"].as_str().unwrap_or_else(|| panic!("no reason: {body}"));
    let memory = &body["memory"];
    assert_eq!(memory["fits"], false, "{body}");
    let (total, capacity) = (&memory["per_device"]["total_bytes"], &memory["capacity_bytes"]);
    assert!(total.as_f64() > capacity.as_f64(), "{body}");
    assert!(
        reason.starts_with(&format!("needs {} per device, {} usable", gb(total), gb(capacity))),
        "the reason names the GB needed and usable: {reason}"
    );
    assert!(reason.contains(expect), "{reason} should say {expect:?}");
    let listed: Vec<&str> =
        body["not_run"]["left_out"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(listed, left_out);
    for section in left_out {
        let value = body.get(*section).unwrap_or_else(|| panic!("{section} absent, not null: {body}"));
        assert!(value.is_null(), "{section} should be null: {value}");
    }
    assert_eq!(body["warnings"][0]["code"], "does-not-fit", "{body}");
    assert_eq!(body["warnings"][0]["message"], reason);
    assert_eq!(body["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == "does-not-fit").count(), 1);
}

#[tokio::test]
async fn an_inference_answer_that_does_not_fit_says_why_first_and_leaves_the_run_out() {
    let app = spawn_app().await;
    let (status, fits) = app
        .post_json("/v1/estimate/inference", &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb"}))
        .await;
    assert_eq!(status, 200, "{fits}");
    assert_fits(&fits, &INFERENCE_LEFT_OUT);
    assert!(fits["latency"]["tpot_ms"].as_f64().unwrap() > 0.0);

    // (request, what the reason must name: the limit and its fix)
    let cases = [
        // The weights alone: more devices (the API names how many).
        (json!({"model": "llama-3.1-405b", "hardware": "nvidia-rtx-4090"}), "the weights alone take"),
        (json!({"model": "llama-3.1-405b", "hardware": "nvidia-rtx-4090"}), "devices (tensor or pipeline parallelism)"),
        // The batch: the largest that fits.
        (
            json!({"model": "llama-3.1-8b", "hardware": "nvidia-rtx-4090", "batch_size": 64, "input_tokens": 8000}),
            "the KV cache of 64 sequences",
        ),
        // One sequence's context: the longest that fits.
        (
            json!({"model": "llama-3.1-8b", "hardware": "nvidia-rtx-4090", "weights": "int4", "input_tokens": 200000}),
            "tokens (input + output)",
        ),
        // 70B in bf16 on one H100: a narrower weight format from the catalog would fit.
        (json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "weights": "bf16"}), " weights ("),
    ];
    for (request, expect) in cases {
        let (status, body) = app.post_json("/v1/estimate/inference", &request).await;
        assert_eq!(status, 200, "{body}");
        assert_does_not_fit(&body, &INFERENCE_LEFT_OUT, expect);
        // The numbers the fix names come from the memory the answer carries.
        if expect.starts_with("the KV cache of") {
            let max = body["memory"]["max_batch_size"].as_u64().unwrap();
            let reason = body["not_run"]["reason"].as_str().unwrap();
            assert!(max >= 1 && reason.contains(&format!("batch_size {max}")), "{reason}");
        }
    }
    // A model-context overrun that still fits memory runs, and says so in a warning.
    let (_, long) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "input_tokens": 140000}),
        )
        .await;
    assert_fits(&long, &INFERENCE_LEFT_OUT);
    assert!(long["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "context-above-maximum"), "{long}");
}

#[tokio::test]
async fn a_serving_answer_that_does_not_fit_says_why_first_and_leaves_the_replay_out() {
    let app = spawn_app().await;
    let workload = json!({"input_tokens": 500, "output_tokens": 100, "requests": 50});
    let (status, fits) = app
        .post_json(
            "/v1/estimate/serving",
            &json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "workload": workload}),
        )
        .await;
    assert_eq!(status, 200, "{fits}");
    assert_fits(&fits, &SERVING_LEFT_OUT[..7]);
    assert_eq!(fits["memory"]["fits"], true);
    assert!(fits["memory"]["per_device"]["total_bytes"].as_f64() <= fits["memory"]["capacity_bytes"].as_f64());

    let (status, body) = app
        .post_json(
            "/v1/estimate/serving",
            &json!({"model": "llama-3.1-405b", "hardware": "nvidia-rtx-4090", "workload": workload}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_does_not_fit(&body, &SERVING_LEFT_OUT, "the weights alone take");
    assert_eq!(body["fits"], false);
    // The memory is that of the workload's request alone.
    assert_eq!(body["memory"]["max_batch_size"], 0);
}

#[tokio::test]
async fn a_batch_item_that_does_not_fit_is_answered_as_the_single_estimate_is() {
    let app = spawn_app().await;
    let fitting = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb"});
    let misfit = json!({"model": "llama-3.1-405b", "hardware": "nvidia-rtx-4090"});
    let (status, body) =
        app.post_json("/v1/estimate/batch", &json!({"items": [{"inference": fitting}, {"inference": misfit}]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["succeeded"], 2, "a misfit is an answer, not a failure: {body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[1]["status"], 200);
    assert_fits(&results[0]["inference"], &INFERENCE_LEFT_OUT);
    assert_does_not_fit(&results[1]["inference"], &INFERENCE_LEFT_OUT, "the weights alone take");
    let (_, single) = app.post_json("/v1/estimate/inference", &misfit).await;
    assert_eq!(single["not_run"], results[1]["inference"]["not_run"]);
}

#[test]
fn the_cli_table_of_a_misfit_opens_with_the_reason_and_prints_no_run() {
    let bin = env!("CARGO_BIN_EXE_hwcost");
    let args = ["estimate", "inference", "--model", "llama-3.1-405b", "--hardware", "nvidia-rtx-4090"];
    let out = std::process::Command::new(bin).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "a misfit is reported, not failed, without --strict");
    let text = String::from_utf8(out.stdout).unwrap();
    let json = std::process::Command::new(bin).args(args).arg("--json").output().unwrap();
    let body: Value = serde_json::from_slice(&json.stdout).unwrap();
    let reason = body["not_run"]["reason"].as_str().unwrap();
    assert_eq!(text.lines().next(), Some(format!("DOES NOT FIT: {reason}").as_str()), "{text}");
    assert!(text.contains("layout "), "the layout is shown: {text}");
    for absent in ["time to first token", "time per output token", "end to end", "throughput", "cost", "energy"] {
        assert!(!text.lines().any(|l| l.starts_with(absent)), "{absent} printed for a run that cannot happen: {text}");
    }
    assert!(text.contains("warning [does-not-fit]"), "{text}");
    let strict = std::process::Command::new(bin).args(args).arg("--strict").output().unwrap();
    assert_eq!(strict.status.code(), Some(1));

    // A fitting one prints its run.
    let fits = std::process::Command::new(bin)
        .args(["estimate", "inference", "--model", "llama-3.1-8b", "--hardware", "nvidia-h100-sxm-80gb", "--strict"])
        .output()
        .unwrap();
    assert_eq!(fits.status.code(), Some(0));
    let text = String::from_utf8(fits.stdout).unwrap();
    assert!(!text.starts_with("DOES NOT FIT") && text.contains("time per output token"), "{text}");

    // Serving: the same opening, no percentiles.
    let serving = std::process::Command::new(bin)
        .args(["estimate", "serving", "--model", "llama-3.1-405b", "--hardware", "nvidia-rtx-4090"])
        .output()
        .unwrap();
    let text = String::from_utf8(serving.stdout).unwrap();
    assert!(text.starts_with("DOES NOT FIT: needs "), "{text}");
    assert!(!text.contains("time to first token") && !text.contains("mean 0.0"), "{text}");
}
