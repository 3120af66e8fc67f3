//! The planner's disaggregated rows (`search.disaggregated`): pool sizes searched only when
//! asked, each row judged as `POST /v1/check` and `POST /v1/estimate/serving` judge the same
//! pools.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

const RATE: f64 = 12.0;

fn plan(disaggregated: Option<Value>) -> Value {
    let mut search = json!({"hardware": ["nvidia-h100-sxm-80gb"], "tensor": [1], "weights": ["fp8"],
                            "batch_sizes": [64], "engines": ["vllm"]});
    if let Some(d) = disaggregated {
        search["disaggregated"] = d;
    }
    json!({"models": ["llama-3.1-8b"], "workload": {"input_tokens": 2000, "output_tokens": 200, "requests_per_s": RATE},
           "requirements": {"max_ttft_p90_ms": 1500, "max_tpot_p90_ms": 40, "forecast_requests_per_s": RATE},
           "search": search, "limit": 4})
}

/// A pool of a row as a request's pool: its device, devices and layout.
fn pool(p: &Value) -> Value {
    json!({"hardware": p["hardware"], "devices": p["devices"], "parallelism": p["parallelism"]})
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// Asked, the plan lists pool pairs; its best row's capacity, latencies and pools are what
/// the check and the serving estimate answer for the same pools at the plan's rate.
#[tokio::test]
async fn a_disaggregated_row_is_what_the_check_and_the_serving_estimate_say() {
    let app = spawn_app().await;
    let (status, plain) = app.post_json("/v1/plan", &plan(None)).await;
    assert_eq!(status, 200, "{plain}");
    assert!(plain.get("disaggregated").is_none(), "not asked, not searched");

    let search = json!({"prefill_replicas": [1, 2], "decode_replicas": [1, 2], "decode_hardware": ["nvidia-h200-sxm-141gb"],
                        "configurations": 1});
    let (status, answer) = app.post_json("/v1/plan", &plan(Some(search))).await;
    assert_eq!(status, 200, "{answer}");
    let rows = answer["disaggregated"].as_array().expect("disaggregated rows");
    assert!(!rows.is_empty(), "{answer}");
    // Ratios 1:1, 1:2 and 2:1 (2:2 is 1:1 again), each scaled to the rate.
    for r in rows {
        let d = &r["disaggregation"];
        let (p, q) = (d["prefill"]["replicas"].as_u64().unwrap(), d["decode"]["replicas"].as_u64().unwrap());
        assert_eq!(r["xpyd"], format!("{p}P{q}D"), "{r}");
        let units = r["units"].as_u64().unwrap();
        assert!([(1, 1), (1, 2), (2, 1)].iter().any(|&(a, b)| (a * units, b * units) == (p, q)), "{r}");
        assert_eq!(d["prefill"]["hardware"], "nvidia-h100-sxm-80gb");
        assert_eq!(d["decode"]["hardware"], "nvidia-h200-sxm-141gb");
        assert_eq!(r["devices"], d["devices"]);
        assert!(f(&r["max_requests_per_s_within_slo"]) >= RATE * 0.999, "a row reaches the target: {r}");
        assert_ne!(r["verdict"], "fail");
        let per_device = f(&r["throughput"]["output_tokens_per_s"]) / f(&r["devices"]);
        assert!(close(per_device, f(&r["throughput"]["output_tokens_per_s_per_device"])), "{r}");
    }
    // Best first by cost per million output tokens.
    let costs: Vec<f64> = rows.iter().map(|r| f(&r["cost"]["usd_per_million_output_tokens"])).collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");

    let best = &rows[0];
    let d = &best["disaggregation"];
    let pools = json!({"prefill": pool(&d["prefill"]), "decode": pool(&d["decode"]), "network": "infiniband-ndr"});
    let deployment = json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": best["weights"],
        "kv_cache": best["kv_cache"], "engine": best["engine"]});

    // The check of the same pools at the plan's rate: the row's verdict and capacity.
    let mut inference = deployment.clone();
    inference["input_tokens"] = json!(2000);
    inference["output_tokens"] = json!(200);
    let check = json!({"inference": inference, "disaggregation": pools,
        "requirements": {"max_ttft_p90_ms": 1500, "max_tpot_p90_ms": 40, "forecast_requests_per_s": RATE}});
    let (status, checked) = app.post_json("/v1/check", &check).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["verdict"], best["verdict"], "{checked}");
    let under = &checked["under_load"];
    assert!(close(f(&under["capacity_requests_per_s"]), f(&best["max_requests_per_s_within_slo"])), "{under}");
    assert!(close(f(&under["ttft_ms"]["mean"]), f(&best["latency"]["ttft_ms"])), "{under} vs {best}");
    assert!(close(f(&under["tpot_ms"]["mean"]), f(&best["latency"]["tpot_ms"])));
    assert!(close(f(&under["usd_per_million_output_tokens"]), f(&best["cost"]["usd_per_million_output_tokens"])));

    // The serving estimate of the same pools at the same rate, replaying what the check replayed.
    let mut serving = deployment;
    serving["workload"] = json!({"input_tokens": 2000, "output_tokens": 200, "requests_per_s": RATE,
        "requests": under["requests"]});
    serving["slo"] = json!({"ttft_ms": {"max": 1500, "percentile": 90}, "tpot_ms": {"max": 40, "percentile": 90}});
    serving["disaggregation"] = pools;
    let (status, estimate) = app.post_json("/v1/estimate/serving", &serving).await;
    assert_eq!(status, 200, "{estimate}");
    assert!(close(f(&estimate["max_requests_per_s_within_slo"]), f(&best["max_requests_per_s_within_slo"])));
    assert!(close(f(&estimate["ttft_ms"]["mean"]), f(&best["latency"]["ttft_ms"])), "{}", estimate["ttft_ms"]);
    let e = &estimate["disaggregation"];
    for pool in ["prefill", "decode"] {
        for field in ["devices", "replicas", "requests_per_s", "tokens_per_s_per_device", "utilization"] {
            assert!(
                e[pool][field] == d[pool][field] || close(f(&e[pool][field]), f(&d[pool][field])),
                "{pool}.{field}: serving {} vs plan {}",
                e[pool][field],
                d[pool][field]
            );
        }
    }
    assert!(close(f(&e["output_tokens_per_s_per_device"]), f(&d["output_tokens_per_s_per_device"])));
}

/// By hand: 1 to 4 replicas each way are 16 pairs, 11 ratios (1:1, 1:2, 1:3, 1:4, 2:1, 2:3,
/// 3:1, 3:2, 3:4, 4:1, 4:3); one configuration on its own device tries 11.
#[tokio::test]
async fn true_tries_one_pair_per_ratio() {
    let app = spawn_app().await;
    let (status, answer) = app.post_json("/v1/plan", &plan(Some(json!({"configurations": 1})))).await;
    assert_eq!(status, 200, "{answer}");
    let note = answer["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|n| n.starts_with("disaggregated pools"));
    assert!(note.is_some_and(|n| n.contains("11 pool pairs tried")), "{:?}", answer["notes"]);
    let rows = answer["disaggregated"].as_array().unwrap();
    assert!(rows.len() <= 4, "at most `limit` rows");
}

#[tokio::test]
async fn bad_pool_searches_are_refused_at_their_field() {
    let app = spawn_app().await;
    for (value, pointer) in [
        (json!({"prefill_replicas": [0]}), "/search/disaggregated/prefill_replicas/0"),
        (json!({"decode_replicas": [1, 65]}), "/search/disaggregated/decode_replicas/1"),
        (json!({"decode_replicas": []}), "/search/disaggregated/decode_replicas"),
        (json!({"configurations": 11}), "/search/disaggregated/configurations"),
        (json!({"prefill_hardware": ["no-such-gpu"]}), "/search/disaggregated/prefill_hardware/0"),
        (json!({"network": "carrier-pigeon"}), "/search/disaggregated/network"),
        (
            json!({"prefill_replicas": [1, 2, 3, 4, 5, 6, 7, 8], "decode_replicas": [1, 2, 3, 4, 5, 6, 7, 9], "configurations": 10}),
            "/search/disaggregated",
        ),
    ] {
        let (status, problem) = app.post_json("/v1/plan", &plan(Some(value.clone()))).await;
        assert!([400, 404, 422].contains(&status), "{value}: {status} {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{value}: {problem}");
    }
}

/// The CLI's plan prints the pools and, as JSON, the API's rows.
#[tokio::test]
async fn the_cli_plan_prints_the_pools_the_api_answers() {
    let app = spawn_app().await;
    let request = plan(Some(json!({"configurations": 1, "prefill_replicas": [1], "decode_replicas": [1, 2]})));
    let (status, api) = app.post_json("/v1/plan", &request).await;
    assert_eq!(status, 200, "{api}");
    let (code, stdout, stderr) = crate::decisions::hwcost(&["plan", "-", "--json"], &request.to_string());
    assert_eq!(code, 0, "{stderr}");
    let cli: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(cli["disaggregated"], api["disaggregated"]);
    let (code, table, stderr) = crate::decisions::hwcost(&["plan", "-"], &request.to_string());
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("disaggregated prefill and decode pools"), "{table}");
    let first = api["disaggregated"][0]["xpyd"].as_str().unwrap();
    assert!(table.contains(&format!("  1  {first}")), "{table}");
}

/// A check of a disaggregated deployment counts both pools: by hand, 2 prefill H100s and 1
/// decode H200 are 3 devices, and their hour is 2 x the H100's price + the H200's.
#[tokio::test]
async fn a_disaggregated_check_counts_both_pools_devices_and_cost() {
    let app = spawn_app().await;
    let price = |id: &str| {
        let app = &app;
        let id = id.to_owned();
        async move {
            let (_, e) = app
                .post_json(
                    "/v1/estimate/inference",
                    &json!({"model": "llama-3.1-8b", "hardware": id, "weights": "fp8", "input_tokens": 100, "output_tokens": 10}),
                )
                .await;
            f(&e["cost"]["usd_per_hour"])
        }
    };
    let (h100, h200) = (price("nvidia-h100-sxm-80gb").await, price("nvidia-h200-sxm-141gb").await);
    let body = json!({"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "vllm",
            "input_tokens": 2000, "output_tokens": 200},
        "disaggregation": {"prefill": {"devices": 2}, "decode": {"hardware": "nvidia-h200-sxm-141gb", "devices": 1}},
        "requirements": {"max_devices": 2, "max_usd_per_hour": 1000}});
    let (status, checked) = app.post_json("/v1/check", &body).await;
    assert_eq!(status, 200, "{checked}");
    let rule = |name: &str| checked["rules"].as_array().unwrap().iter().find(|r| r["rule"] == name).cloned().unwrap();
    assert_eq!(rule("devices")["value"], 3.0, "{checked}");
    assert_eq!(rule("devices")["status"], "fail");
    assert!(close(f(&rule("cost_per_hour")["value"]), 2.0 * h100 + h200), "{}", rule("cost_per_hour"));
}
