//! Speculative decoding through every door: the estimate, the replay, the check, and bad input.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn llama70b(speculative: Option<Value>) -> Value {
    let mut body = json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "parallelism": {"tensor": 4},
                          "weights": "fp8", "engine": "tensorrt-llm", "batch_size": 1,
                          "input_tokens": 1024, "output_tokens": 256});
    if let Some(s) = speculative {
        body["speculative"] = s;
    }
    body
}

/// The estimate's per-user rate rises by the speedup it reports; the section says what was
/// assumed and where speculation stops paying; the defaults are listed.
#[tokio::test]
async fn an_estimate_reports_what_speculation_buys() {
    let app = spawn_app().await;
    let (status, plain) = app.post_json("/v1/estimate/inference", &llama70b(None)).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain.get("speculation").is_none(), "no section unless asked");
    let draft = json!({"method": "draft", "draft_model": "llama-3.2-1b"});
    let (status, spec) = app.post_json("/v1/estimate/inference", &llama70b(Some(draft))).await;
    assert_eq!(status, 200, "{spec}");
    let s = &spec["speculation"];
    assert_eq!(s["method"], "draft");
    assert_eq!(s["tokens"], 4, "the method's default k");
    assert_eq!(s["acceptance_rate"], 0.75);
    // (1 - 0.75^5) / 0.25 = 3.05078125
    assert!((s["tokens_per_step"].as_f64().unwrap() - 3.050_781_25).abs() < 1e-9, "{s}");
    let speedup = s["speedup"].as_f64().unwrap();
    assert!(speedup > 1.5, "{s}");
    let by_parts = s["tokens_per_step"].as_f64().unwrap() * s["plain_step_ms"].as_f64().unwrap()
        / (s["verify_step_ms"].as_f64().unwrap() + s["draft_ms"].as_f64().unwrap());
    assert!((speedup - by_parts).abs() < 1e-9 * speedup);
    let user = |b: &Value| b["throughput"]["output_tokens_per_s_per_user"].as_f64().unwrap();
    assert!((user(&spec) / user(&plain) - speedup).abs() < 1e-6 * speedup, "{} {}", user(&spec), user(&plain));
    assert!(s["stops_paying_at_batch"].as_u64().is_some_and(|b| b > 1), "{s}");
    let assumed: Vec<&str> =
        spec["assumptions"].as_array().unwrap().iter().filter_map(|a| a["field"].as_str()).collect();
    assert!(assumed.contains(&"speculative/tokens") && assumed.contains(&"speculative/acceptance_rate"), "{assumed:?}");
    for rule in
        ["speculation.tokens_per_step", "speculation.speedup", "speculation.verify_step", "latency.tpot_speculative"]
    {
        assert!(spec["explain"].as_array().unwrap().iter().any(|e| e["rule"] == rule), "{rule}");
    }
    // The drafter's weights are held beside the model's.
    let weights = |b: &Value| b["memory"]["per_device"]["weights_bytes"].as_f64().unwrap();
    assert!(weights(&spec) > weights(&plain));
    // A higher acceptance rate pays to a larger batch.
    let stop = |a: f64| {
        let app = &app;
        async move {
            let body = llama70b(Some(json!({"method": "draft", "draft_model": "llama-3.2-1b", "acceptance_rate": a})));
            let (_, r) = app.post_json("/v1/estimate/inference", &body).await;
            r["speculation"]["stops_paying_at_batch"].as_u64().unwrap_or(u64::MAX)
        }
    };
    assert!(stop(0.6).await < stop(0.9).await);
}

/// The replay advances each sequence by the tokens per step: at a light load the TPOT falls by
/// about the speedup, and the section is judged at the replay's batch.
#[tokio::test]
async fn a_replay_with_speculation_has_a_shorter_tpot() {
    let app = spawn_app().await;
    let serving = |speculative: Option<Value>| {
        let mut body = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "sglang",
                              "workload": {"requests": 40, "arrival": "concurrency", "concurrency": 1,
                                           "input_tokens": 512, "output_tokens": 256}});
        if let Some(s) = speculative {
            body["speculative"] = s;
        }
        body
    };
    let (status, plain) = app.post_json("/v1/estimate/serving", &serving(None)).await;
    assert_eq!(status, 200, "{plain}");
    let (status, spec) = app.post_json("/v1/estimate/serving", &serving(Some(json!({"method": "eagle3"})))).await;
    assert_eq!(status, 200, "{spec}");
    let s = &spec["speculation"];
    assert_eq!(s["batch_size"], 1, "{s}");
    let speedup = s["speedup"].as_f64().unwrap();
    let tpot = |b: &Value| b["tpot_ms"]["mean"].as_f64().unwrap();
    let ratio = tpot(&plain) / tpot(&spec);
    assert!(speedup > 1.5 && (ratio / speedup - 1.0).abs() < 0.1, "tpot ratio {ratio}, speedup {speedup}");
    // Every output token is counted once.
    assert_eq!(spec["completed"], 40);
    let out =
        |b: &Value| b["throughput"]["output_tokens_per_s"].as_f64().unwrap() * b["makespan_ms"].as_f64().unwrap() / 1e3;
    assert!((out(&spec) - 40.0 * 256.0).abs() < 1.0, "{}", out(&spec));
}

/// A check runs the same estimate: its inference section carries the speculation.
#[tokio::test]
async fn a_check_carries_the_speculation() {
    let app = spawn_app().await;
    let body = json!({"inference": llama70b(Some(json!({"method": "eagle", "tokens": 4, "acceptance_rate": 0.7})))});
    let (status, check) = app.post_json("/v1/check", &body).await;
    assert_eq!(status, 200, "{check}");
    let s = &check["inference"]["speculation"];
    assert_eq!(s["method"], "eagle");
    assert_eq!(s["tokens"], 4);
    assert_eq!(s["acceptance_rate"], 0.7);
}

/// Bad input is a 4xx at the field's pointer, for every door.
#[tokio::test]
async fn bad_speculation_is_refused_at_its_pointer() {
    let app = spawn_app().await;
    for (speculative, pointer, status) in [
        (json!({"method": "eagle3", "acceptance_rate": 1.0}), "/speculative/acceptance_rate", 400),
        (json!({"method": "eagle3", "acceptance_rate": 0.0}), "/speculative/acceptance_rate", 400),
        (json!({"method": "eagle3", "tokens": 0}), "/speculative/tokens", 400),
        (json!({"method": "medusa"}), "/speculative/method", 400),
        (json!({"method": "draft"}), "/speculative/draft_model", 422),
        (json!({"method": "draft", "draft_model": "no-such-model"}), "/speculative/draft_model", 404),
        (json!({"method": "draft", "draft_model": "llama-3.1-405b"}), "/speculative/draft_model", 422),
        (json!({"method": "eagle", "draft_model": "llama-3.2-1b"}), "/speculative/draft_model", 422),
        (json!({"method": "eagle", "extra": 1}), "/speculative/extra", 400),
    ] {
        for path in ["/v1/estimate/inference", "/v1/estimate/serving"] {
            let mut body = llama70b(Some(speculative.clone()));
            if path.ends_with("serving") {
                body.as_object_mut().unwrap().remove("batch_size");
                body.as_object_mut().unwrap().remove("input_tokens");
                body.as_object_mut().unwrap().remove("output_tokens");
            }
            let (got, problem) = app.post_json(path, &body).await;
            assert_eq!(got, status, "{path} {speculative}: {problem}");
            assert_eq!(problem["errors"][0]["pointer"], pointer, "{path} {speculative}: {problem}");
        }
    }
}

/// A plan tries speculation only when asked: then it searches twice the space and each row says
/// which it used; today's plans keep their space and rows.
#[tokio::test]
async fn a_plan_tries_speculation_only_when_asked() {
    let app = spawn_app().await;
    let plan = |speculative: Option<Value>| {
        let mut search = json!({"hardware": ["nvidia-h100-sxm-80gb"], "tensor": [1], "weights": ["bf16"],
                                "batch_sizes": [1, 8], "engines": ["sglang"]});
        if let Some(s) = speculative {
            search["speculative"] = s;
        }
        json!({"models": ["llama-3.1-8b"], "workload": {"input_tokens": 512, "output_tokens": 256, "concurrency": 1},
               "search": search})
    };
    let (status, plain) = app.post_json("/v1/plan", &plan(None)).await;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(plain["search_space"], 2);
    assert!(plain["ranked"].as_array().unwrap().iter().all(|r| r.get("speculative").is_none()), "{plain}");
    let (status, spec) = app.post_json("/v1/plan", &plan(Some(json!(true)))).await;
    assert_eq!(status, 200, "{spec}");
    assert_eq!(spec["search_space"], 4);
    let used: Vec<&str> = spec["ranked"].as_array().unwrap().iter().filter_map(|r| r["speculative"].as_str()).collect();
    assert!(used.contains(&"eagle3") && used.contains(&"none"), "{used:?}");
    // One user: speculation answers faster, so the fastest row uses it.
    let tpot = |r: &Value| r["latency"]["tpot_ms"].as_f64().unwrap();
    let rows = spec["ranked"].as_array().unwrap();
    let fastest = rows.iter().min_by(|a, b| tpot(a).total_cmp(&tpot(b))).unwrap();
    assert_eq!(fastest["speculative"], "eagle3", "{fastest}");
    let (status, refused) = app.post_json("/v1/plan", &plan(Some(json!(["eagle", "draft"])))).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["pointer"], "/search/speculative/1");
}
