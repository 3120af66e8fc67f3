//! Capacity checks, the planner and batch estimates, over HTTP and through the CLI.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_with};

fn rule<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == name)
        .unwrap_or_else(|| panic!("no rule {name} in {body}"))
}

fn plan_70b_on_h100() -> Value {
    json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "parallelism": {"tensor": 4},
           "weights": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"})
}

#[tokio::test]
async fn a_check_passes_fails_or_is_at_risk_by_its_margins() {
    let app = spawn_app().await;
    // First find the estimate, then set limits around it.
    let (status, base) = app.post_json("/v1/check", &json!({"inference": plan_70b_on_h100()})).await;
    assert_eq!(status, 200, "{base}");
    assert_eq!(base["verdict"], "pass", "{base}");
    // TPOT is judged under continuous batching (here one request on an idle server: no
    // forecast rate), not on the static full batch.
    let tpot = base["under_load"]["tpot_ms"]["mean"].as_f64().unwrap();
    let band = rule(&base, "format")["status"].clone();
    assert_eq!(band, "pass");

    let ask = |max_tpot_ms: f64| json!({"inference": plan_70b_on_h100(), "requirements": {"max_tpot_ms": max_tpot_ms}});
    let (_, generous) = app.post_json("/v1/check", &ask(tpot * 3.0)).await;
    assert_eq!(rule(&generous, "tpot")["status"], "pass");
    assert_eq!(generous["verdict"], "pass");

    // Just above the estimate: met, but within the decode family's measured error.
    let (_, tight) = app.post_json("/v1/check", &ask(tpot * 1.02)).await;
    let entry = rule(&tight, "tpot");
    assert_eq!(entry["status"], "at_risk", "{entry}");
    assert!(entry["error_band"].as_f64().unwrap() > 0.02);
    assert!(entry["margin"].as_f64().unwrap() > 0.0);
    assert_eq!(tight["verdict"], "at_risk");

    let (_, missed) = app.post_json("/v1/check", &ask(tpot / 3.0)).await;
    let entry = rule(&missed, "tpot");
    assert_eq!(entry["status"], "fail");
    assert!(entry["margin"].as_f64().unwrap() < -0.5, "{entry}");
    assert_eq!(missed["verdict"], "fail");
    assert_eq!(missed["rules"][0]["rule"], "tpot", "failed rules come first");
}

#[tokio::test]
async fn a_check_reports_memory_headroom_context_and_layout_as_rules() {
    let app = spawn_app().await;
    // 70B in bf16 on one 80 GB card cannot fit.
    let (status, body) = app
        .post_json("/v1/check", &json!({"inference": {"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(rule(&body, "fits")["status"], "fail");

    // A tensor degree that does not divide the heads is a failed rule, not an error.
    let (status, body) = app
        .post_json(
            "/v1/check",
            &json!({"inference": {"model": "llama-3.1-70b", "hardware": "h100", "parallelism": {"tensor": 3}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"], "fail");
    assert!(rule(&body, "parallelism")["message"].as_str().unwrap().contains("divide"));

    // Asking for more context than the model was trained on.
    let (_, body) = app
        .post_json(
            "/v1/check",
            &json!({"inference": {"model": "llama-2-7b", "hardware": "h100"}, "requirements": {"min_context_tokens": 32768}}),
        )
        .await;
    assert_eq!(rule(&body, "context")["status"], "fail", "{body}");

    // A training run against a deadline and a budget.
    let (status, body) = app
        .post_json(
            "/v1/check",
            &json!({"training": {"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 64, "tokens": 2e11,
                                  "sharding": "zero3", "overrides": {"usd_per_device_hour": 1.5}},
                    "requirements": {"max_days": 0.5, "max_usd": 1e9}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(rule(&body, "deadline")["status"], "fail", "{body}");
    assert_eq!(rule(&body, "budget")["status"], "pass");

    // Bad input is still a problem with a pointer.
    let (status, body) = app
        .post_json(
            "/v1/check",
            &json!({"inference": plan_70b_on_h100(), "requirements": {"memory_headroom_fraction": 2}}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/requirements/memory_headroom_fraction");
    let (status, _) = app.post_json("/v1/check", &json!({"requirements": {}})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_planner_finds_the_answer_known_by_hand() {
    let app = spawn_app().await;
    // Llama-2-13B in fp16 is 26 GB of weights: it cannot fit one 24 GB RTX 4090, so the fewest
    // devices is one 80 GB A100, while two 4090s with tensor parallelism also work.
    let request = json!({
        "models": ["llama-2-13b"],
        "workload": {"input_tokens": 512, "output_tokens": 128},
        "search": {"hardware": ["nvidia-rtx-4090", "nvidia-a100-sxm4-80gb"], "tensor": [1, 2], "weights": ["fp16"], "batch_sizes": [1]},
        "objective": "devices"
    });
    let (status, body) = app.post_json("/v1/plan", &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["search_space"], 4);
    assert_eq!(body["evaluated"], 4);
    assert_eq!(body["ranked"][0]["hardware"], "nvidia-a100-sxm4-80gb");
    assert_eq!(body["ranked"][0]["devices"], 1);
    let rejected = body["rejected"].as_array().unwrap();
    assert!(rejected.iter().any(|r| r["reason"] == "fits" && r["count"] == 1), "{body}");
    let per_hardware: Vec<&str> =
        body["best_per_hardware"].as_array().unwrap().iter().map(|c| c["hardware"].as_str().unwrap()).collect();
    assert_eq!(per_hardware, ["nvidia-a100-sxm4-80gb", "nvidia-rtx-4090"]);
    let best = &body["best"];
    assert_eq!(best["verdict"], "pass", "{best}");
    assert_eq!(best["inference"]["devices"], 1);

    // Llama-2-7B in fp16 (13.5 GB) fits either card alone: both are feasible with one device.
    let mut small = request.clone();
    small["models"] = json!(["llama-2-7b"]);
    let (_, body) = app.post_json("/v1/plan", &small).await;
    assert_eq!(body["feasible"], 4, "{body}");
    assert!(body["ranked"].as_array().unwrap().iter().take(2).all(|c| c["devices"] == 1));
}

#[tokio::test]
async fn the_planner_sweeps_the_catalog_scales_replicas_and_compares_with_an_api() {
    let app = spawn_app().await;
    let request = json!({
        "models": ["llama-3.1-70b"],
        "workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 10},
        "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50},
        "limit": 5,
        "api_price": {"usd_per_million_input_tokens": 0.5, "usd_per_million_output_tokens": 1.5}
    });
    let (status, body) = app.post_json("/v1/plan", &request).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["evaluated"].as_u64().unwrap() > 10_000);
    assert_eq!(body["complete"], true);
    let ranked = body["ranked"].as_array().unwrap();
    assert_eq!(ranked.len(), 5);
    // Ranked by cost, every entry meeting the SLOs, scaled to the rate.
    let costs: Vec<f64> = ranked.iter().map(|c| c["cost"]["usd_per_million_output_tokens"].as_f64().unwrap()).collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    for c in ranked {
        assert!(
            c["latency"]["ttft_ms"].as_f64().unwrap() <= 2000.0 && c["latency"]["tpot_ms"].as_f64().unwrap() <= 50.0
        );
        let capacity = c["throughput"]["output_tokens_per_s"].as_f64().unwrap();
        assert!(capacity >= 10.0 * 200.0 * 0.999, "{c}");
        assert!(c["throughput"]["utilization"].as_f64().unwrap() <= 1.0);
        assert!(c["memory"]["per_device"]["total_bytes"].is_u64() && c["parallelism"]["data"].is_u64(), "{c}");
    }
    // The Pareto frontier trades cost for latency: cheaper is never faster.
    let pareto = body["pareto"].as_array().unwrap();
    assert!(!pareto.is_empty());
    for w in pareto.windows(2) {
        assert!(
            w[0]["cost"]["usd_per_million_output_tokens"].as_f64()
                <= w[1]["cost"]["usd_per_million_output_tokens"].as_f64()
        );
        assert!(w[0]["latency"]["e2e_ms"].as_f64().unwrap() > w[1]["latency"]["e2e_ms"].as_f64().unwrap());
    }
    let comparison = &body["api_comparison"][0];
    assert_eq!(comparison["api"], "request");
    // (1000 x 0.5 + 200 x 1.5) / 200 = $4 per million output tokens.
    assert!((comparison["api_usd_per_million_output_tokens"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    assert!(comparison["self_hosted_usd_per_month"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn the_plans_best_is_checked_by_the_latencies_that_ranked_it() {
    // Llama-3.1-70B at 10 requests/s: one batch arriving at once takes seconds to its first
    // token, the replay at the workload well under the limit. The best's check judges the
    // replay (what the ranking used), so the plan does not rank first a configuration its own
    // check fails on latency.
    let app = spawn_app().await;
    let (status, plan) = app
        .post_json(
            "/v1/plan",
            &json!({
                "models": ["llama-3.1-70b"],
                "workload": {"requests_per_s": 10, "input_tokens": 1000, "output_tokens": 200},
                "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50},
                "search": {"hardware": ["nvidia-h100-sxm-80gb"]},
                "limit": 5
            }),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    let first = &plan["ranked"][0];
    let best = &plan["best"];
    for (name, field) in [("ttft", "ttft_ms"), ("tpot", "tpot_ms")] {
        let judged = rule(best, name)["value"].as_f64().unwrap();
        let ranked = first["latency"][field].as_f64().unwrap();
        assert!((judged - ranked).abs() <= 1e-9 * ranked, "{name}: {judged} vs {ranked}");
        assert_ne!(rule(best, name)["status"], "fail", "{best}");
    }
    assert!(best["inference"]["latency"]["ttft_ms"].as_f64().unwrap() > 2000.0, "the static batch is slower: {best}");
    let said = best["assumptions"].as_array().unwrap().iter().any(|a| a["field"] == "requirements");
    assert!(said, "the check says which latencies it judged: {best}");
}

/// The same plan sent 8 times at once gets 8 identical answers: heavy requests wait for a slot
/// instead of sharing the cores until a deadline cuts their searches short (before, of 8 copies
/// on 2 cores, two answered with nothing evaluated and two with another best configuration).
#[tokio::test]
async fn concurrent_copies_of_a_plan_get_the_same_answer() {
    let app = spawn_with(|s| s.workers = Some(2)).await;
    let request = json!({"models": ["llama-3.1-8b"], "workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 5},
                         "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50}, "limit": 3});
    let copies: Vec<_> = (0..8)
        .map(|_| {
            let request = app.client.post(format!("{}/v1/plan", app.address)).json(&request);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                (response.status().as_u16(), response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for copy in copies {
        answers.push(copy.await.unwrap());
    }
    let strip = |mut body: Value| {
        body.as_object_mut().unwrap().remove("elapsed_ms");
        body
    };
    let (status, first) = answers[0].clone();
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["complete"], true, "{first}");
    assert!(first["evaluated"].as_u64().unwrap() > 0 && first["evaluated"] == first["search_space"], "{first}");
    let first = strip(first);
    for (status, body) in answers.into_iter().skip(1) {
        assert_eq!(status, 200, "{body}");
        assert_eq!(strip(body), first);
    }
}

#[tokio::test]
async fn the_planner_bounds_its_work() {
    let app = spawn_with(|s| s.plan_max_configurations = 1000).await;
    let (status, body) = app.post_json("/v1/plan", &json!({"models": ["llama-3.1-8b"]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/search");
    assert!(body["detail"].as_str().unwrap().contains("1000"), "{body}");
    let (status, body) = app.post_json("/v1/plan", &json!({"models": []})).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/models");
    let (status, body) =
        app.post_json("/v1/plan", &json!({"models": ["llama-3.1-8b"], "search": {"tensor": [0]}})).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/search/tensor/0");
}

#[tokio::test]
async fn a_batch_answers_every_item_in_order_and_one_bad_item_fails_alone() {
    let app = spawn_with(|s| s.batch_max_items = 4).await;
    let items = json!([
        {"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "weights": "fp8"}},
        {"inference": {"model": "llama-3.1-8b", "hardware": "no-such-device"}},
        {"training": {"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 64, "tokens": 2e12, "sharding": "zero3"}},
        {"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "batch_size": "lots"}}
    ]);
    let (status, body) = app.post_json("/v1/estimate/batch", &json!({"items": items})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["succeeded"], 2);
    assert_eq!(body["failed"], 2);
    let results = body["results"].as_array().unwrap();
    let indices: Vec<u64> = results.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, [0, 1, 2, 3]);
    assert!(results[0]["inference"]["latency"]["tpot_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(results[1]["status"], 404);
    assert_eq!(results[1]["problem"]["code"], "unknown-id");
    assert!(results[2]["training"]["time"]["gpu_hours"].as_f64().unwrap() > 0.0);
    assert_eq!(results[3]["status"], 400);
    assert_eq!(results[3]["problem"]["errors"][0]["pointer"], "/items/3/inference/batch_size", "{}", results[3]);

    // The same single estimate as the dedicated endpoint.
    let (_, single) = app.post_json("/v1/estimate/inference", &items[0]["inference"]).await;
    assert_eq!(single["latency"], results[0]["inference"]["latency"]);

    let too_many = json!({"items": vec![items[0].clone(); 5]});
    let (status, body) = app.post_json("/v1/estimate/batch", &too_many).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/items");
}

#[tokio::test]
async fn a_batch_is_serialised_item_by_item_into_exactly_the_batch_response() {
    // The answer is written off the worker, one item at a time; it must be the document the
    // single serialisation of `BatchResponse` was, byte for byte.
    let app = spawn_app().await;
    let request = json!({"items": [
        {"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "weights": "fp8"}},
        {"inference": {"model": "llama-3.1-8b", "hardware": "no-such-device"}},
        {"training": {"model": "llama-2-7b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 64, "tokens": 2e12, "sharding": "zero3"}},
        {"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "batch_size": "lots"}}
    ]});
    let response = app.post_raw("/v1/estimate/batch", "application/json", request.to_string()).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let sent = response.bytes().await.unwrap();
    let ctx = hwcost::answer::Context::new(std::sync::Arc::new(hwcost::catalog::Catalog::embedded().unwrap()));
    let parsed: hwcost::answer::batch::BatchRequest = serde_json::from_value(request).unwrap();
    let whole = hwcost::api::decisions::batch_response(hwcost::answer::batch::batch(&ctx, &parsed).unwrap());
    assert_eq!(String::from_utf8_lossy(&sent), serde_json::to_string(&whole).unwrap());
}

#[tokio::test]
async fn a_batch_whose_answers_pass_the_output_limit_is_a_422_at_items() {
    let app = spawn_with(|s| s.batch_max_output_bytes = 40_000).await;
    let item = json!({"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "weights": "fp8"}});
    let (status, body) = app.post_json("/v1/estimate/batch", &json!({"items": [item.clone()]})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post_json("/v1/estimate/batch", &json!({"items": vec![item; 50]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/items", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("split"), "{body}");
}

#[tokio::test]
async fn batches_beyond_the_concurrency_bound_are_refused_with_retry_after() {
    // 16 batches of 1000 items at once took the process from 66 MB to 554 MB: nothing bounded
    // how many were computed, or held in memory while being sent. A slot is held until the
    // answer has been sent, so a client that does not read its 16 MB answer keeps it.
    let app = spawn_with(|s| s.batch_concurrency = 1).await;
    let item = json!({"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "weights": "fp8"}});
    let big = json!({"items": vec![item.clone(); 1000]}).to_string();
    let address = app.address.trim_start_matches("http://").to_owned();
    // A blocking client on its own thread (the server shares this test's runtime): it sends the
    // batch, reads the status line, then stops reading until told to go.
    let (begun_tx, begun) = tokio::sync::oneshot::channel::<Vec<u8>>();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let mut reader = std::net::TcpStream::connect(&address).unwrap();
        write!(
            reader,
            "POST /v1/estimate/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        )
        .unwrap();
        let mut first = [0u8; 12];
        reader.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
        std::io::Read::read_exact(&mut reader, &mut first).unwrap();
        let _ = begun_tx.send(first.to_vec());
        let _ = go_rx.recv();
    });
    // The answer has begun to arrive: the batch is computed and being sent.
    assert_eq!(begun.await.unwrap(), b"HTTP/1.1 200");
    let response =
        app.post_raw("/v1/estimate/batch", "application/json", json!({"items": [item.clone()]}).to_string()).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "busy", "{problem}");
    // The client goes away: its slot is free again.
    go.send(()).unwrap();
    client.join().unwrap();
    let mut status = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (s, _) = app.post_json("/v1/estimate/batch", &json!({"items": [item.clone()]})).await;
        status = s;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200);
}

pub fn hwcost(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hwcost"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hwcost runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn hwcost_check_exits_0_on_pass_1_on_fail_and_2_on_an_invalid_plan() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/llama-70b-h100.toml");
    let (code, stdout, _) = hwcost(&["check", example], "");
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    assert!(stdout.contains("tpot"));

    let (code, stdout, _) = hwcost(&["check", example, "--json"], "");
    assert_eq!(code, 0);
    let body: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(body["verdict"], "pass");

    let failing =
        std::fs::read_to_string(example).unwrap().replace("min_requests_per_s = 2 ", "min_requests_per_s = 200 ");
    let (code, stdout, _) = hwcost(&["check", "-"], &failing);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("fail [request_rate]"), "{stdout}");

    let (code, _, stderr) = hwcost(
        &["check", "-"],
        r#"{"inference": {"model": "llama-3.1-70b", "hardware": "h100"}, "requirements": {"max_tpot_ms": "fast"}}"#,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("/requirements/max_tpot_ms"), "{stderr}");
    let (code, _, stderr) = hwcost(&["check", "-"], "this is [not a plan");
    assert_eq!(code, 2);
    assert!(stderr.contains("not valid"), "{stderr}");
}

#[test]
fn hwcost_plan_prints_a_ranked_table() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/plan-llama-70b.toml");
    let (code, stdout, stderr) = hwcost(&["plan", example], "");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("configurations evaluated"), "{stdout}");
    assert!(stdout.contains("  1  "), "{stdout}");
}

#[tokio::test]
async fn the_training_planner_finds_the_fewest_devices_for_a_deadline_and_the_cheapest_in_a_budget() {
    let app = spawn_app().await;
    let run = json!({"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "tokens": 1e12, "sequence_length": 4096,
                     "sharding": "zero1", "activation_checkpointing": "selective", "engine": "megatron",
                     "overrides": {"usd_per_device_hour": 2.5}});
    let devices: [u64; 6] = [16, 32, 64, 128, 256, 512];
    let request = json!({"training": run, "search": {"hardware": ["nvidia-h100-sxm-80gb"], "devices": devices, "tensor": [1, 2], "pipeline": [1]},
                         "requirements": {"max_days": 20}, "objective": "devices", "limit": 3});
    let (status, body) = app.post_json("/v1/plan/training", &request).await;
    assert_eq!(status, 200, "{body}");
    let best = &body["ranked"][0];
    let fewest = best["devices"].as_u64().unwrap();
    assert!(best["time"]["wall_clock_days"].as_f64().unwrap() <= 20.0);
    // By hand: every smaller count in the list misses the deadline on its own.
    for smaller in devices.iter().filter(|&&d| d < fewest) {
        let single = json!({"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "tokens": 1e12, "sequence_length": 4096,
                            "sharding": "zero1", "activation_checkpointing": "selective", "engine": "megatron", "devices": smaller,
                            "parallelism": {"tensor": 1, "pipeline": 1, "data": smaller}});
        let (_, estimate) = app.post_json("/v1/estimate/training", &single).await;
        assert!(estimate["time"]["wall_clock_days"].as_f64().unwrap() > 20.0, "{smaller} devices would do: {estimate}");
    }
    assert_eq!(body["best"]["verdict"], "pass", "{}", body["best"]);

    // Cheapest within a budget: the ranking is by cost and every entry is within it.
    let mut cheapest = request.clone();
    cheapest["objective"] = json!("usd");
    cheapest["requirements"] = json!({"max_usd": 400000});
    let (status, body) = app.post_json("/v1/plan/training", &cheapest).await;
    assert_eq!(status, 200, "{body}");
    let costs: Vec<f64> =
        body["ranked"].as_array().unwrap().iter().map(|c| c["cost"]["usd"].as_f64().unwrap()).collect();
    assert!(!costs.is_empty());
    assert!(costs.windows(2).all(|w| w[0] <= w[1]) && costs.iter().all(|&c| c <= 400000.0), "{costs:?}");
}

#[tokio::test]
async fn inline_configs_keep_the_schema_ranges_even_for_fields_their_type_ignores() {
    let app = spawn_app().await;
    let config = json!({"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 64, "num_attention_heads": 1,
                        "num_key_value_heads": 0, "intermediate_size": 0, "vocab_size": 10, "max_position_embeddings": 16});
    let (status, body) =
        app.post_json("/v1/plan", &json!({"models": [config], "search": {"hardware": ["h100"]}})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/models/0/num_key_value_heads");
    let (status, body) = app.post_json("/v1/estimate/inference", &json!({"model": config, "hardware": "h100"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/model/num_key_value_heads");
    // Items of a batch must at least be objects.
    let (status, body) = app.post_json("/v1/estimate/batch", &json!({"items": [42]})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/items/0");
}

#[test]
fn cli_input_is_read_no_further_than_the_body_limit() {
    // 100 MB of newlines on standard input peaked at 4.8 GB and 1 GB of spaces aborted (exit
    // 134): the CLI read and parsed whatever it was given. Now it stops after the server's body
    // limit and says so (exit 2). The writer ignores the broken pipe the early exit leaves.
    for filler in [b'\n', b' '] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hwcost"))
            .args(["estimate", "inference", "--request", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hwcost runs");
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let chunk = vec![filler; 1 << 20];
            for _ in 0..100 {
                if stdin.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains("larger than 262144 bytes"), "{text}");
    }
    let dir = std::env::temp_dir().join(format!("hwcost-cli-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.toml");
    std::fs::write(&file, vec![b' '; 300 * 1024]).unwrap();
    let (code, out, err) = hwcost(&["check", file.to_str().unwrap()], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(format!("{out}{err}").contains("larger than"), "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
