//! What it costs: prices listed with their sources, rent against own, energy as money, a check's
//! cost rule without a price, and the planner's per-device prices and inline devices.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn f(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number at {pointer} in {v}"))
}

#[tokio::test]
async fn device_and_api_prices_are_listed_with_sources_and_dates() {
    let app = spawn_app().await;
    let (status, all) = app.get_json("/v1/prices/devices").await;
    assert_eq!(status, 200, "{all}");
    assert!(all["total"].as_u64().unwrap() >= 70, "priced devices: {}", all["total"]);
    let date = |s: &Value| s.as_str().is_some_and(|d| d.len() == 10 && d.as_bytes()[4] == b'-');
    let items = all["items"].as_array().unwrap();
    let rentals = || items.iter().flat_map(|d| d["rentals"].as_array().unwrap());
    for price in rentals() {
        assert!(!price["source"].as_str().unwrap().is_empty() && date(&price["checked_on"]), "{price}");
        assert!(price["usd_per_hour"].as_f64().unwrap() > 0.0);
    }
    for purchase in items.iter().flat_map(|d| d["purchases"].as_array().unwrap()) {
        assert!(!purchase["source"].as_str().unwrap().is_empty() && date(&purchase["checked_on"]));
    }
    // Data-centre parts are rented by a hyperscaler and by a specialised cloud.
    let (_, h100) = app.get_json("/v1/prices/devices?device=h100").await;
    let kinds: Vec<&str> =
        h100["items"][0]["rentals"].as_array().unwrap().iter().filter_map(|r| r["provider_kind"].as_str()).collect();
    assert!(kinds.contains(&"hyperscaler") && kinds.contains(&"specialised"), "{kinds:?}");
    let (_, aws) = app.get_json("/v1/prices/devices?provider=AWS&term=spot").await;
    let aws = aws["items"].as_array().unwrap();
    assert!(!aws.is_empty());
    assert!(
        aws.iter()
            .flat_map(|d| d["rentals"].as_array().unwrap())
            .all(|r| r["provider"] == "aws" && r["term"] == "spot")
    );
    assert!(aws.iter().all(|d| d["purchases"].as_array().unwrap().is_empty()));
    let (status, bad) = app.get_json("/v1/prices/devices?term=weekly").await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = app.get_json("/v1/prices/devices?device=no-such-gpu").await;
    assert_eq!(status, 404);

    let (status, closed) = app.get_json("/v1/prices/api?open_weights=false").await;
    assert_eq!(status, 200);
    let providers: Vec<&str> =
        closed["items"].as_array().unwrap().iter().map(|p| p["provider"].as_str().unwrap()).collect();
    for vendor in ["OpenAI", "Anthropic", "Google"] {
        assert!(providers.contains(&vendor), "{vendor} missing from {providers:?}");
    }
    let (_, llama) = app.get_json("/v1/prices/api?model=llama-3.1-8b").await;
    assert!(llama["count"].as_u64().unwrap() >= 2, "{llama}");
}

#[tokio::test]
async fn the_devices_people_own_resolve_by_the_names_they_type() {
    let app = spawn_app().await;
    for (name, id, gib) in [
        ("m2-16gb", "apple-m2-16gb", 16.0),
        ("rtx-3060", "nvidia-rtx-3060-12gb", 12.0),
        ("rtx-4060-ti-8gb", "nvidia-rtx-4060-ti-8gb", 8.0),
        ("a100-80gb", "nvidia-a100-sxm4-80gb", 80.0),
        ("m4-pro-48gb", "apple-m4-pro-48gb", 48.0),
    ] {
        let (status, d) = app.get_json(&format!("/v1/hardware/{name}")).await;
        assert_eq!(status, 200, "{name}: {d}");
        assert_eq!((d["id"].as_str().unwrap(), d["memory_gib"].as_f64().unwrap()), (id, gib));
    }
}

#[tokio::test]
async fn an_owned_device_hour_is_purchase_power_and_hosting_computed_by_hand() {
    let app = spawn_app().await;
    let cost = json!({"basis": "own", "purchase_usd": 2000, "amortization_years": 4, "utilization": 0.5,
        "electricity_usd_per_kwh": 0.25, "pue": 1.2, "hosting_usd_per_month": 10});
    let (status, e) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "rtx-4090", "weights": "int4", "batch_size": 8, "cost": cost}),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    let b = &e["cost"]["basis"];
    assert_eq!(b["basis"], "own");
    // The draw is the 4090's 450 W TDP times the generic profile's power fraction.
    let (_, generic) = app.get_json("/v1/hardware/rtx-4090").await;
    assert_eq!(generic["tdp_w"], 450.0);
    let power_w = f(b, "/power_w");
    assert!(power_w > 100.0 && power_w <= 450.0, "{b}");
    // Per hour of use: 2000 / (4 x 8766) / 0.5 + P/1000 x 0.25 x 1.2 + 10 / 730.5 / 0.5.
    let capital = 2000.0 / (4.0 * 8766.0) / 0.5;
    let energy = power_w / 1000.0 * 0.25 * 1.2;
    let hosting = 10.0 / 730.5 / 0.5;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(close(f(b, "/capital_usd_per_device_hour"), capital), "{b}");
    assert!(close(f(b, "/energy_usd_per_device_hour"), energy), "{b}");
    assert!(close(f(b, "/hosting_usd_per_device_hour"), hosting), "{b}");
    assert!(close(f(&e, "/cost/usd_per_hour"), capital + energy + hosting));
    // Per million output tokens: the hour over the tokens it makes.
    let tokens_per_hour = f(&e, "/throughput/output_tokens_per_s") * 3600.0;
    assert!(close(f(&e, "/cost/usd_per_million_output_tokens"), (capital + energy + hosting) / tokens_per_hour * 1e6));
    // Energy as money beside the joules, at the same tariff and PUE.
    let joules = f(&e, "/energy/joules_per_output_token");
    assert!(close(f(&e, "/energy/usd_per_million_output_tokens"), joules * 1e6 / 3.6e6 * 0.25 * 1.2));

    // The defaults are echoed when left out.
    let (_, d) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "rtx-4090", "cost": {"basis": "own"}}),
        )
        .await;
    let fields: Vec<&str> = d["assumptions"].as_array().unwrap().iter().map(|a| a["field"].as_str().unwrap()).collect();
    for field in ["cost/purchase_usd", "cost/amortization_years", "cost/utilization", "cost/electricity_usd_per_kwh"] {
        assert!(fields.contains(&field), "{field} not echoed: {fields:?}");
    }
}

#[tokio::test]
async fn renting_picks_a_provider_and_term_or_says_which_exist() {
    let app = spawn_app().await;
    let base = json!({"model": "llama-3.1-8b", "hardware": "h100"});
    let with = |cost: Value| {
        let mut r = base.clone();
        r["cost"] = cost;
        r
    };
    let (_, cheapest) = app.post_json("/v1/estimate/inference", &base).await;
    let (_, aws) = app.post_json("/v1/estimate/inference", &with(json!({"provider": "aws"}))).await;
    let (_, spot) = app.post_json("/v1/estimate/inference", &with(json!({"provider": "aws", "term": "spot"}))).await;
    assert_eq!(aws["cost"]["basis"]["provider"], "aws");
    assert!(f(&cheapest, "/cost/basis/usd_per_device_hour") <= f(&aws, "/cost/basis/usd_per_device_hour"));
    assert!(f(&spot, "/cost/basis/usd_per_device_hour") < f(&aws, "/cost/basis/usd_per_device_hour"));
    let (status, p) = app.post_json("/v1/estimate/inference", &with(json!({"provider": "nobody"}))).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["pointer"], "/cost/provider");
    assert!(p["detail"].as_str().unwrap().contains("aws"), "{p}");
    let (status, p) =
        app.post_json("/v1/estimate/inference", &with(json!({"basis": "own", "usd_per_device_hour": 2}))).await;
    assert_eq!((status, &p["errors"][0]["pointer"]), (422, &json!("/cost/usd_per_device_hour")));
    let (status, p) = app.post_json("/v1/estimate/inference", &with(json!({"utilization": 0}))).await;
    assert_eq!((status, &p["errors"][0]["pointer"]), (400, &json!("/cost/utilization")), "{p}");
    // The old override still works and is the same price.
    let (_, old) = app
        .post_json(
            "/v1/estimate/inference",
            &json!({"model": "llama-3.1-8b", "hardware": "h100", "overrides": {"usd_per_device_hour": 2.5}}),
        )
        .await;
    assert_eq!(old["cost"]["basis"]["usd_per_device_hour"], 2.5);
    assert_eq!(old["cost"]["basis"]["source"], "request");
}

#[tokio::test]
async fn training_energy_and_cost_follow_the_basis() {
    let app = spawn_app().await;
    let (status, t) = app
        .post_json(
            "/v1/estimate/training",
            &json!({"model": "llama-2-7b", "hardware": "rtx-4090", "devices": 8, "tokens": 1e9, "pue": 1.0,
                "sharding": "zero3", "cost": {"basis": "own", "electricity_usd_per_kwh": 0.3}}),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["cost"]["basis"]["basis"], "own");
    let kwh = f(&t, "/energy/kwh");
    assert!((f(&t, "/energy/usd") - kwh * 0.3).abs() < 1e-9 * kwh.max(1.0));
    let usd = f(&t, "/cost/usd");
    let gpu_hours = f(&t, "/time/gpu_hours");
    assert!((usd - gpu_hours * f(&t, "/cost/basis/usd_per_device_hour")).abs() < 1e-6 * usd);
}

#[tokio::test]
async fn a_cost_rule_without_a_price_is_unknown_not_failed() {
    let app = spawn_app().await;
    // The M2 16 GB has no rental and no purchase price in the catalog.
    let (status, c) = app
        .post_json(
            "/v1/check",
            &json!({"inference": {"model": "llama-3.2-1b", "hardware": "m2-16gb"},
                "requirements": {"max_usd_per_million_output_tokens": 1.0}}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    let rule = c["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "cost_per_million_tokens").unwrap();
    assert_eq!(rule["status"], "unknown", "{rule}");
    assert!(rule["value"].is_null());
    assert!(c["inference"]["cost"]["usd_per_million_output_tokens"].is_null());
    assert!(c["inference"]["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "no-price"));
    assert_ne!(c["verdict"], "fail");
    // Priced by the request, the same rule is judged.
    let (_, priced) = app
        .post_json(
            "/v1/check",
            &json!({"inference": {"model": "llama-3.2-1b", "hardware": "m2-16gb", "cost": {"purchase_usd": 800}},
                "requirements": {"max_usd_per_million_output_tokens": 1000.0}}),
        )
        .await;
    let rule = priced["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "cost_per_million_tokens").unwrap();
    assert_eq!(rule["status"], "pass", "{rule}");
}

#[tokio::test]
async fn the_planner_ranks_owned_and_rented_devices_and_inline_ones_against_apis() {
    let app = spawn_app().await;
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/local-vs-cloud.toml")).unwrap();
    let request: Value = serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
    let (status, plan) = app.post_json("/v1/plan", &request).await;
    assert_eq!(status, 200, "{plan}");
    let ranked = plan["ranked"].as_array().unwrap();
    let hardware: Vec<&str> = ranked.iter().map(|c| c["hardware"].as_str().unwrap()).collect();
    assert!(hardware.contains(&"nvidia-rtx-4090") && hardware.contains(&"nvidia-h100-sxm-80gb"), "{hardware:?}");
    let costs: Vec<f64> = ranked.iter().map(|c| c["cost"]["usd_per_million_output_tokens"].as_f64().unwrap()).collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    // Each row's cost carries its rules, with the figures the row reports.
    for row in ranked {
        let rule = |name: &str| row["explain"].as_array().unwrap().iter().find(|e| e["rule"] == name).cloned().unwrap();
        let hourly = rule("plan.usd_per_hour");
        assert_eq!(hourly["value"], row["cost"]["usd_per_hour"], "{row}");
        let inputs = &hourly["inputs"];
        let by_hand = f(inputs, "/devices")
            * (f(inputs, "/fixed_usd_per_device_hour")
                + f(inputs, "/working_usd_per_device_hour") * f(inputs, "/utilization"));
        assert!((by_hand - f(row, "/cost/usd_per_hour")).abs() <= 1e-9 * by_hand, "{row}");
        let per_million = rule("plan.usd_per_million_output_tokens");
        assert_eq!(per_million["value"], row["cost"]["usd_per_million_output_tokens"], "{row}");
        let served = f(&per_million["inputs"], "/served_output_tokens_per_s");
        let by_hand = f(row, "/cost/usd_per_hour") / (served * 3600.0) * 1e6;
        assert!((by_hand - f(row, "/cost/usd_per_million_output_tokens")).abs() <= 1e-9 * by_hand, "{row}");
    }
    let bases: Vec<&str> =
        plan["api_comparison"].as_array().unwrap().iter().map(|c| c["basis"].as_str().unwrap()).collect();
    assert!(!bases.is_empty(), "{plan}");
    // Each comparison splits its month into a fixed part and a per-token part (what a cost
    // against volume curve is drawn from): they add up to the month at the planned volume, and
    // cross the API's price at the break-even.
    let planned = plan["ranked"][0]["throughput"]["output_tokens_per_s"].as_f64().unwrap();
    assert!(planned > 0.0);
    // One figure for self-hosting: the comparison paid the way the best row is paid reports
    // that row's own cost per million output tokens (the rate its replay served, not the
    // nominal one).
    let best = &plan["ranked"][0];
    let same = plan["api_comparison"].as_array().unwrap().iter().find(|c| c["basis"] == best["cost"]["basis"]).unwrap();
    let (row, compared) =
        (f(best, "/cost/usd_per_million_output_tokens"), f(same, "/self_hosted_usd_per_million_output_tokens"));
    assert!((row - compared).abs() <= 1e-6 * row, "row {row} vs comparison {compared}");
    for c in plan["api_comparison"].as_array().unwrap() {
        let fixed = c["self_hosted_fixed_usd_per_month"].as_f64().unwrap();
        let marginal = c["self_hosted_marginal_usd_per_million_output_tokens"].as_f64().unwrap();
        assert!(fixed > 0.0 && marginal >= 0.0, "{c}");
        if c["basis"] == "rent" {
            assert_eq!(marginal, 0.0, "renting pays nothing per token: {c}");
        }
        if let Some(volume) = c["break_even_output_tokens_per_month"].as_f64() {
            let api = c["api_usd_per_million_output_tokens"].as_f64().unwrap();
            let hosted = fixed + marginal * volume / 1e6;
            assert!((hosted - api * volume / 1e6).abs() / hosted < 1e-9, "{c}");
        }
        // The blended API price says how it was blended: the list prices and the workload's
        // prompt tokens per output token, and each headline figure has its explain entry.
        let ratio = f(c, "/input_tokens_per_output_token");
        let workload = &request["workload"];
        assert_eq!(ratio, f(workload, "/input_tokens") / f(workload, "/output_tokens"), "{c}");
        let blended =
            f(c, "/api_price_usd_per_million_output_tokens") + f(c, "/api_price_usd_per_million_input_tokens") * ratio;
        assert!((blended - f(c, "/api_usd_per_million_output_tokens")).abs() / blended < 1e-9, "{c}");
        let rule = |name: &str| c["explain"].as_array().unwrap().iter().find(|e| e["rule"] == name).cloned();
        let api_rule = rule("breakeven.api_usd_per_million_output_tokens").expect("blended price rule");
        assert_eq!(api_rule["value"], c["api_usd_per_million_output_tokens"], "{c}");
        assert_eq!(api_rule["inputs"]["input_tokens_per_output_token"], c["input_tokens_per_output_token"], "{c}");
        let hosted_rule = rule("breakeven.self_hosted_usd_per_million_output_tokens").expect("self-hosted rule");
        assert_eq!(hosted_rule["value"], c["self_hosted_usd_per_million_output_tokens"], "{c}");
        match c["break_even_output_tokens_per_month"].as_f64() {
            Some(_) => assert_eq!(rule("breakeven.volume").unwrap()["value"], c["break_even_output_tokens_per_month"]),
            None => assert!(rule("breakeven.volume").is_none(), "{c}"),
        }
    }

    // A price override for one device moves it: a free H100 ranks first.
    let mut free = request.clone();
    free["prices"]["h100"] = json!({"basis": "rent", "usd_per_device_hour": 0.0001});
    let (_, cheap) = app.post_json("/v1/plan", &free).await;
    assert_eq!(cheap["ranked"][0]["hardware"], "nvidia-h100-sxm-80gb", "{cheap}");
    // A key that is not a searched device is a 422 at its pointer.
    let mut typo = request.clone();
    typo["prices"]["rtx-4080"] = json!({"basis": "own"});
    let (status, p) = app.post_json("/v1/plan", &typo).await;
    assert_eq!((status, &p["errors"][0]["pointer"]), (422, &json!("/prices/rtx-4080")), "{p}");

    // An inline device is searched with its own purchase price.
    let (_, record) = app.get_json("/v1/hardware/rtx-4090").await;
    let mut mine = record.clone();
    mine["id"] = json!("my-4090");
    mine["aliases"] = json!([]);
    mine["price"] = json!([]);
    mine["purchase"] = json!([{"usd": 1200, "kind": "street", "product": "used card", "source": "my receipt", "checked_on": "2026-11-01"}]);
    let mut inline = request.clone();
    inline["search"]["hardware"] = json!([mine]);
    inline["prices"] = json!({});
    inline["cost"] = json!({"basis": "own"});
    let (status, own) = app.post_json("/v1/plan", &inline).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["ranked"][0]["hardware"], "my-4090");
    assert!(own["ranked"][0]["cost"]["usd_per_million_output_tokens"].as_f64().unwrap() > 0.0);
}

/// The founding document's cloud services: GPT-4 Turbo, GPT-3.5 Turbo and GPT-3 davinci as dated
/// history, Azure OpenAI as its own provider, Baidu's ERNIE stored in yuan and answered in USD
/// with the conversion shown.
#[tokio::test]
async fn the_founding_documents_cloud_services_are_priced_in_usd_with_their_dates() {
    let app = spawn_app().await;
    let search = |q: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app.get_json(&format!("/v1/prices/api?q={q}&limit=100")).await;
            assert_eq!(status, 200, "{q}: {body}");
            let items = body["items"].as_array().unwrap().clone();
            assert!(!items.is_empty(), "q={q} found nothing");
            for p in &items {
                for key in ["usd_per_million_input_tokens", "usd_per_million_output_tokens"] {
                    assert!(p[key].as_f64().is_some_and(|v| v.is_finite() && v >= 0.0), "{q}: {key} in {p}");
                }
                assert!(!p["source"].as_str().unwrap().is_empty() && !p["as_of"].as_str().unwrap().is_empty());
            }
            items
        }
    };
    let find = |items: &[Value], id: &str| {
        items.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("no {id} in {items:?}")).clone()
    };

    let turbo = find(&search("gpt-4-turbo").await, "openai/gpt-4-turbo");
    assert_eq!((f(&turbo, "/usd_per_million_input_tokens"), f(&turbo, "/usd_per_million_output_tokens")), (10.0, 30.0));
    assert_eq!(
        (&turbo["currency"], &turbo["valid_from"], &turbo["open_weights"]),
        (&json!("USD"), &json!("2023-11-06"), &json!(false))
    );
    assert!(turbo.get("exchange_rate").is_none() && turbo["assumptions"] == json!([]), "{turbo}");

    // GPT-3.5 Turbo's price over time: each dated, each ending where the next begins.
    let gpt35 = search("gpt-3.5").await;
    let history: Vec<(String, f64)> =
        ["openai/gpt-3.5-turbo-0301", "openai/gpt-3.5-turbo-0613", "openai/gpt-3.5-turbo-1106", "openai/gpt-3.5-turbo"]
            .iter()
            .map(|id| {
                let p = find(&gpt35, id);
                (p["valid_from"].as_str().unwrap().to_owned(), f(&p, "/usd_per_million_input_tokens"))
            })
            .collect();
    assert_eq!(history.iter().map(|(_, usd)| *usd).collect::<Vec<_>>(), [2.0, 1.5, 1.0, 0.5]);
    assert!(history.windows(2).all(|w| w[0].0 < w[1].0), "{history:?}");
    for pair in ["openai/gpt-3.5-turbo-0301", "openai/gpt-3.5-turbo-0613", "openai/gpt-3.5-turbo-1106"].windows(2) {
        assert_eq!(find(&gpt35, pair[0])["valid_until"], find(&gpt35, pair[1])["valid_from"], "{pair:?}");
    }

    // GPT-3 davinci: $0.06 per 1K tokens, then $0.02 from 2022-09-01.
    let davinci = search("davinci").await;
    let (old, cut) = (find(&davinci, "openai/davinci"), find(&davinci, "openai/davinci-2022-09"));
    assert_eq!((f(&old, "/usd_per_million_output_tokens"), f(&cut, "/usd_per_million_output_tokens")), (60.0, 20.0));
    assert_eq!(old["valid_until"], cut["valid_from"]);

    // Azure OpenAI is its own provider, found by name and by the provider filter.
    let azure = search("azure").await;
    assert!(azure.iter().all(|p| p["provider"] == "Azure OpenAI"), "{azure:?}");
    let models: Vec<&str> = azure.iter().map(|p| p["model"].as_str().unwrap()).collect();
    for m in ["gpt-4-turbo", "gpt-3.5-turbo", "gpt-4o"] {
        assert!(models.contains(&m), "{m} missing on Azure: {models:?}");
    }
    let (_, by_provider) = app.get_json("/v1/prices/api?provider=azure%20openai").await;
    assert_eq!(by_provider["total"].as_u64().unwrap() as usize, azure.len());

    // ERNIE: stored in yuan, answered in USD at the dated rate, the conversion in `assumptions`.
    let ernie = search("ernie").await;
    let cny: Vec<&Value> = ernie.iter().filter(|p| p["currency"] == "CNY").collect();
    assert!(cny.len() >= 5, "{ernie:?}");
    for p in &cny {
        let rate = f(p, "/exchange_rate/units_per_usd");
        assert!((6.0..8.0).contains(&rate), "{p}");
        assert!(
            !p["exchange_rate"]["source"].as_str().unwrap().is_empty()
                && !p["exchange_rate"]["as_of"].as_str().unwrap().is_empty()
        );
        for side in ["input", "output"] {
            let usd = f(p, &format!("/usd_per_million_{side}_tokens"));
            let yuan = f(p, &format!("/per_million_{side}_tokens"));
            assert!((usd - yuan / rate).abs() < 1e-9, "{side}: {p}");
        }
        let assumed = p["assumptions"].as_array().unwrap();
        assert_eq!(assumed.len(), 1, "{p}");
        let value = assumed[0]["value"].as_str().unwrap();
        assert!(value.contains("CNY per USD") && value.contains(&rate.to_string()), "{value}");
    }
    let ernie4 = find(&ernie, "baidu/ernie-4.0-8k");
    assert_eq!(f(&ernie4, "/per_million_input_tokens"), 120.0);
    let turbo4 = find(&ernie, "baidu/ernie-4.0-turbo-8k");
    assert_eq!((f(&turbo4, "/per_million_input_tokens"), f(&turbo4, "/per_million_output_tokens")), (3.0, 9.0));
    assert!((f(&ernie4, "/usd_per_million_input_tokens") - 120.0 / 7.2734).abs() < 1e-9, "{ernie4}");
    // ERNIE Speed and Lite became free on Qianfan on 2024-05-21; the earlier prices stay as history.
    for model in ["ernie-speed-8k", "ernie-lite-8k"] {
        let dated: Vec<&Value> = ernie.iter().filter(|p| p["model"] == model).collect();
        let free =
            dated.iter().find(|p| p["valid_from"] == "2024-05-21").unwrap_or_else(|| panic!("{model}: {dated:?}"));
        let before =
            dated.iter().find(|p| p["valid_until"] == "2024-05-21").unwrap_or_else(|| panic!("{model}: {dated:?}"));
        assert_eq!(f(free, "/usd_per_million_output_tokens"), 0.0);
        assert!(f(before, "/per_million_output_tokens") > 0.0);
    }
    // The open-weight ERNIE 4.5 is priced against its catalog model.
    let (_, open) = app.get_json("/v1/prices/api?model=ernie-4.5-300b-a47b").await;
    assert!(open["items"].as_array().unwrap().iter().any(|p| p["provider"] == "SiliconFlow"), "{open}");
}

/// A plan compared against a price published in yuan says how it was converted, in the
/// comparison and in the plan's assumptions.
#[tokio::test]
async fn a_plan_against_a_yuan_price_shows_the_conversion() {
    let app = spawn_app().await;
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/examples/local-vs-cloud.toml")).unwrap();
    let mut request: Value = serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
    request["api_price_id"] = json!("baidu/ernie-4.0-8k");
    let (status, plan) = app.post_json("/v1/plan", &request).await;
    assert_eq!(status, 200, "{plan}");
    let comparisons = plan["api_comparison"].as_array().unwrap();
    assert!(!comparisons.is_empty(), "{plan}");
    // 1000 prompt and 250 output tokens at 120 yuan per million each, at 7.2734 yuan per USD.
    let per_request = 1250.0 * 120.0 / 7.2734 / 1e6;
    for c in comparisons {
        assert_eq!(c["api"], "baidu/ernie-4.0-8k");
        assert!((f(c, "/api_usd_per_request") - per_request).abs() < 1e-9, "{c}");
        assert!(c["source"].as_str().unwrap().contains("converted at 7.2734 CNY per USD"), "{c}");
        assert!(c["assumptions"][0]["value"].as_str().unwrap().contains("7.2734 CNY per USD"), "{c}");
    }
    let conversions: Vec<&Value> = plan["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["field"] == "api_comparison/baidu/ernie-4.0-8k")
        .collect();
    assert_eq!(conversions.len(), 1, "once, though compared renting and owning: {}", plan["assumptions"]);
}
