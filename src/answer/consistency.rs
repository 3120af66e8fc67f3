//! Cross-door invariants on random deployments and workloads (proptest): the capacity is a rate
//! the replay sustains, never above the offline throughput, and every ranked plan row passes
//! the check with the plan's requirements, with the plan's numbers.
//!
//! The context runs without the validation report: error bands are zero, so a check's verdict
//! is pass or fail on the central estimates the planner also uses (no `at_risk` blur).

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::Context;
use super::check::check;
use super::plan::plan;
use crate::catalog::Catalog;
use crate::engine::serving::capacity;
use crate::scenario::check::CheckRequest;
use crate::scenario::plan::PlanRequest;
use crate::scenario::serving::{ServingRequest, ServingScenario};
use crate::validation::{Report, Validation};

fn context() -> &'static Context {
    static CONTEXT: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
    CONTEXT.get_or_init(|| {
        let catalog = Arc::new(Catalog::embedded().unwrap());
        Context {
            validation: Arc::new(Validation::from_report(Arc::clone(&catalog), Report::empty())),
            catalog,
            plan_max_configurations: 2_000_000,
            batch_max_items: 10,
        }
    })
}

const MODELS: [&str; 3] = ["llama-3.1-8b", "qwen2.5-7b", "mistral-7b-v0.1"];
const DEVICES: [&str; 3] = ["nvidia-h100-sxm-80gb", "nvidia-a100-sxm4-80gb", "nvidia-l40s"];
const ENGINES: [&str; 3] = ["vllm", "sglang", "tensorrt-llm"];
const WEIGHTS: [&str; 3] = ["bf16", "fp8", "int4"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The capacity holds at 0.9 x and not at 1.2 x on the same probe, and never exceeds the
    /// saturated throughput.
    #[test]
    fn a_capacity_holds_below_and_not_above(
        model in 0usize..3,
        device in 0usize..3,
        engine in 0usize..3,
        weights in 0usize..3,
        tensor in 0u32..2,
        input in 16u64..2048,
        output in 4u64..160,
        ttft_ms in 20.0f64..5000.0,
        percentile in 0usize..3,
        tpot_ms in proptest::option::of(5.0f64..200.0),
        seqs in proptest::option::of(1u64..300),
    ) {
        let tensor = 1 << tensor;
        let percentile = [50, 90, 99][percentile];
        let mut slo = json!({"ttft_ms": {"max": ttft_ms, "percentile": percentile}});
        if let Some(tpot) = tpot_ms {
            slo["tpot_ms"] = json!(tpot);
        }
        let mut body = json!({
            "model": MODELS[model], "hardware": DEVICES[device], "devices": tensor, "parallelism": {"tensor": tensor},
            "weights": WEIGHTS[weights], "engine": ENGINES[engine],
            "workload": {"input_tokens": input, "output_tokens": output, "requests_per_s": 1.0},
            "slo": slo,
        });
        if let Some(seqs) = seqs {
            body["scheduler"] = json!({"max_num_seqs": seqs});
        }
        let request: ServingRequest = serde_json::from_value(body).unwrap();
        let Ok(scenario) = ServingScenario::parse(&context().catalog, &request, "") else { return Ok(()) };
        let input = scenario.inference.input();
        let slo = scenario.slo.clone();
        let found = capacity::capacity(&input, &scenario.workload, slo.as_ref());
        prop_assert!(found.requests_per_s.is_finite() && found.requests_per_s >= 0.0);
        prop_assert!(found.requests_per_s <= found.offline_requests_per_s, "{found:?}");
        if found.requests_per_s > 0.0 {
            let at = |share: f64| {
                capacity::judge(&input, &scenario.workload, slo.as_ref(), found.requests_per_s * share, found.offline_requests_per_s).0
            };
            prop_assert!(at(0.9), "0.9 x {found:?} does not hold");
            prop_assert!(!at(1.2), "1.2 x {found:?} still holds");
        }
    }

    /// Plan, then check before deploying: each ranked row passes `POST /v1/check` with the
    /// plan's requirements at the plan's rate, with the latencies and capacity the plan shows.
    #[test]
    fn every_ranked_plan_row_passes_its_check(
        model in 0usize..3,
        device in 0usize..3,
        weights in 0usize..3,
        rate in 0.2f64..60.0,
        input in 16u64..2048,
        output in 4u64..160,
        ttft_ms in 50.0f64..4000.0,
        tpot_ms in 10.0f64..120.0,
        batch in 0usize..3,
    ) {
        let requirements = json!({"max_ttft_ms": ttft_ms, "max_tpot_ms": tpot_ms});
        let batch_sizes = [vec![8, 32], vec![64], vec![16, 256]][batch].clone();
        let request: PlanRequest = serde_json::from_value(json!({
            "models": [MODELS[model]],
            "workload": {"requests_per_s": rate, "input_tokens": input, "output_tokens": output},
            "requirements": requirements,
            "search": {"hardware": [DEVICES[device]], "tensor": [1, 2], "pipeline": [1], "weights": [WEIGHTS[weights]],
                       "batch_sizes": batch_sizes, "engines": ["vllm"]},
            "limit": 2
        }))
        .unwrap();
        let Ok(answer) = plan(context(), &request) else { return Ok(()) };
        for row in &answer.ranked {
            let row: Value = serde_json::to_value(row).unwrap();
            let mut at_rate = requirements.clone();
            at_rate["forecast_requests_per_s"] = json!(rate);
            let request: CheckRequest = serde_json::from_value(json!({
                "inference": {
                    "model": row["model"], "hardware": row["hardware"], "devices": row["devices"],
                    "parallelism": {"tensor": row["parallelism"]["tensor"], "pipeline": row["parallelism"]["pipeline"],
                                    "data": row["parallelism"]["data"]},
                    "weights": row["weights"], "kv_cache": row["kv_cache"], "batch_size": row["batch_size"],
                    "engine": row["engine"], "input_tokens": input, "output_tokens": output
                },
                "requirements": at_rate
            }))
            .unwrap();
            let checked = serde_json::to_value(check(context(), &request).unwrap()).unwrap();
            prop_assert_ne!(&checked["verdict"], "fail", "row {}\nchecked {}", row, checked);
            prop_assert_eq!(&checked["verdict"], &row["verdict"], "row {}\nchecked {}", row, checked);
            let load = &checked["under_load"];
            for (field, ranked) in [("ttft_ms", &row["latency"]["ttft_ms"]), ("tpot_ms", &row["latency"]["tpot_ms"])] {
                let (judged, ranked) = (load[field]["mean"].as_f64().unwrap(), ranked.as_f64().unwrap());
                prop_assert!((judged - ranked).abs() <= 1e-6 * ranked.max(1.0), "{field}: check {judged} vs plan {ranked}");
            }
            let capacity = load["capacity_requests_per_s"].as_f64().unwrap();
            prop_assert!(capacity >= rate * (1.0 - 1e-9), "{capacity} < {rate}");
        }
    }
}
