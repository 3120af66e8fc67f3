//! Response examples in the OpenAPI document, made by running the real code on the embedded
//! catalog: an example can never drift from what the API returns, and schemathesis checks each
//! against its schema.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::{OpenApi, RefOr};

use super::listing::PageQuery;
use super::{decisions, discovery, hardware, import, models, prices};
use crate::answer::inference::InferenceResponse;
use crate::answer::training::TrainingResponse;
use crate::answer::{Context, batch, calibrate, check, plan, plan_training};
use crate::catalog::Catalog;
use crate::scenario::document;
use crate::scenario::inference::InferenceScenario;
use crate::scenario::training::TrainingScenario;

/// The example request bodies of the estimate endpoints (also their `#[schema(example)]`s).
fn inference_request() -> Value {
    json!({"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "parallelism": {"tensor": 4},
           "weights": "fp8", "kv_cache": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"})
}

fn training_request() -> Value {
    json!({"model": "llama-2-70b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 2048, "tokens": 2.0e12, "sequence_length": 4096,
           "micro_batch_size": 1, "global_batch_tokens": 4194304, "precision": "bf16", "optimizer": "adamw", "sharding": "zero1",
           "parallelism": {"tensor": 8, "pipeline": 4, "sequence_parallel": true, "schedule": "interleaved", "virtual_stages": 2,
                           "context_load_balanced": true},
           "activation_checkpointing": "selective", "engine": "megatron"})
}

fn to_value<T: Serialize, E>(result: Result<T, E>) -> Option<Value> {
    result.ok().and_then(|v| serde_json::to_value(v).ok())
}

/// `(path, method, example)` for every operation whose 200 response gets a generated example.
fn examples(ctx: &Context) -> Vec<(&'static str, &'static str, Option<Value>)> {
    let catalog = &ctx.catalog;
    let llama3_config = json!({"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
        "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 8192});
    vec![
        (
            "/v1/hardware",
            "get",
            to_value(hardware::list_devices(
                catalog,
                hardware::HardwareFilters { vendor: Some("google".into()), ..Default::default() },
                &PageQuery { limit: Some(3), ..Default::default() },
            )),
        ),
        ("/v1/hardware/{id}", "get", to_value(hardware::record(catalog, "nvidia-h100-sxm-80gb"))),
        (
            "/v1/models",
            "get",
            to_value(models::list_models(
                catalog,
                models::ModelFilters { family: Some("llama-2".into()), ..Default::default() },
                &PageQuery::default(),
            )),
        ),
        ("/v1/models/{id}", "get", to_value(models::detail(catalog, "llama-2-7b"))),
        (
            "/v1/scaling/fits",
            "get",
            to_value(super::scaling::list_fits(catalog, &PageQuery { limit: Some(1), ..Default::default() })),
        ),
        (
            "/v1/engines",
            "get",
            to_value(discovery::list_engines(
                catalog,
                &discovery::EngineFilters { kind: Some(discovery::EngineKind::Inference) },
                &PageQuery { limit: Some(2), ..Default::default() },
            )),
        ),
        (
            "/v1/formats",
            "get",
            to_value(discovery::list_formats(
                catalog,
                &discovery::FormatFilters::default(),
                &PageQuery { limit: Some(3), ..Default::default() },
            )),
        ),
        (
            "/v1/networks",
            "get",
            to_value(discovery::list_networks(catalog, &PageQuery { limit: Some(2), ..Default::default() })),
        ),
        (
            "/v1/families",
            "get",
            to_value(discovery::list_families(
                catalog,
                &PageQuery { q: Some("llama".into()), limit: Some(2), ..Default::default() },
            )),
        ),
        (
            "/v1/prices/devices",
            "get",
            to_value(prices::device_prices(
                catalog,
                &prices::DevicePriceFilters { device: Some("nvidia-l4".into()), ..Default::default() },
                &PageQuery::default(),
            )),
        ),
        (
            "/v1/prices/api",
            "get",
            to_value(prices::api_prices(
                catalog,
                &prices::ApiPriceFilters { model: Some("llama-3.1-8b".into()), ..Default::default() },
                &PageQuery::default(),
            )),
        ),
        ("/v1/models/{id}/parameters", "get", to_value(models::anatomy_of(catalog, "gpt2"))),
        (
            "/v1/models/import",
            "post",
            llama3_config.as_object().and_then(|c| to_value(import::import_config(c, catalog))),
        ),
        (
            "/v1/estimate/inference",
            "post",
            document::from_value(inference_request())
                .and_then(|r| InferenceScenario::parse(catalog, &r, ""))
                .ok()
                .and_then(|s| to_value::<_, ()>(Ok(InferenceResponse::new(ctx, &s)))),
        ),
        (
            "/v1/estimate/serving",
            "post",
            document::from_value(json!({"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8",
                "engine": "vllm", "kv_offload": {"host_gb": 200},
                "workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 10, "requests": 200,
                             "prefix": {"tokens": 800, "distinct": 2000}}}))
            .and_then(|r| crate::scenario::serving::ServingScenario::parse(catalog, &r, ""))
            .ok()
            .and_then(|s| to_value::<_, ()>(Ok(crate::answer::serving::ServingResponse::new(ctx, &s)))),
        ),
        (
            "/v1/calibrate",
            "post",
            serde_json::from_value::<calibrate::CalibrationRequest>(calibrate::example())
                .ok()
                .and_then(|r| to_value(calibrate::calibrate(ctx, &r))),
        ),
        ("/v1/validation", "get", {
            let mut report = (*ctx.validation.report()).clone();
            // A few points are enough to show the shape; the families are the summary.
            report.points.truncate(3);
            serde_json::to_value(report).ok()
        }),
        (
            "/v1/estimate/training",
            "post",
            document::from_value(training_request())
                .and_then(|r| TrainingScenario::parse(catalog, &r, ""))
                .ok()
                .and_then(|s| to_value::<_, ()>(Ok(TrainingResponse::new(ctx, &s)))),
        ),
    ]
}

/// Examples of the decision endpoints, which need the validation report for error bands.
fn decision_examples(ctx: &Context) -> Vec<(&'static str, &'static str, Option<Value>)> {
    let check = serde_json::from_value::<crate::scenario::check::CheckRequest>(json!({
        "inference": {"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "parallelism": {"tensor": 4},
                      "weights": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"},
        "requirements": {"max_ttft_ms": 4000, "max_tpot_ms": 10, "min_requests_per_s": 2, "memory_headroom_fraction": 0.1}
    }));
    let plan = serde_json::from_value::<crate::scenario::plan::PlanRequest>(json!({
        "models": ["llama-3.1-70b"],
        "workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 10},
        "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50},
        "search": {"hardware": ["nvidia-h100-sxm-80gb", "nvidia-a100-sxm4-80gb", "nvidia-l40s"], "weights": ["bf16", "fp8"], "engines": ["vllm"],
                   "disaggregated": {"configurations": 1, "prefill_replicas": [1], "decode_replicas": [1, 2]}},
        "limit": 2,
        "api_price_id": "deepinfra/llama-3.1-70b"
    }));
    let training_plan = serde_json::from_value::<crate::scenario::plan_training::TrainingPlanRequest>(json!({
        "training": {"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "tokens": 2e12, "sequence_length": 4096,
                     "sharding": "zero1", "activation_checkpointing": "selective", "engine": "megatron"},
        "search": {"hardware": ["nvidia-h100-sxm-80gb", "nvidia-a100-sxm4-80gb"], "devices": [64, 128, 256, 512, 1024], "tensor": [1, 2], "pipeline": [1]},
        "requirements": {"max_days": 30},
        "limit": 2
    }));
    let batch = serde_json::from_value::<batch::BatchRequest>(json!({"items": [
        {"inference": {"model": "llama-3.1-8b", "hardware": "nvidia-l4", "weights": "fp8"}},
        {"inference": {"model": "llama-3.1-8b", "hardware": "no-such-device"}}
    ]}));
    vec![
        (
            "/v1/check",
            "post",
            check.ok().and_then(|r| {
                let mut answer = to_value(check::check(ctx, &r))?;
                // Keep the example short: the estimate's shape is the inference endpoint's.
                answer.get_mut("inference")?.as_object_mut()?.insert("explain".into(), json!([]));
                Some(answer)
            }),
        ),
        (
            "/v1/plan",
            "post",
            plan.ok().and_then(|r| {
                let mut answer = to_value(plan::plan(ctx, &r))?;
                let fields = answer.as_object_mut()?;
                // The best configuration's check is long; its shape is the check endpoint's.
                fields.remove("best");
                // One disaggregated row shows its shape.
                fields.get_mut("disaggregated")?.as_array_mut()?.truncate(1);
                // A measured time would change the document on every build.
                fields.insert("elapsed_ms".into(), json!(0.4));
                Some(answer)
            }),
        ),
        (
            "/v1/plan/training",
            "post",
            training_plan.ok().and_then(|r| {
                let mut answer = to_value(plan_training::plan_training(ctx, &r))?;
                answer.as_object_mut()?.remove("best");
                Some(answer)
            }),
        ),
        (
            "/v1/estimate/scaling",
            "post",
            serde_json::from_value::<crate::scenario::scaling::ScalingRequest>(json!({"model": "gpt-3-175b"}))
                .ok()
                .and_then(|r| {
                    let s = crate::scenario::scaling::ScalingScenario::parse(&ctx.catalog, &r).ok()?;
                    let mut answer = to_value::<_, ()>(Ok(crate::answer::scaling::ScalingResponse::new(ctx, &s)))?;
                    // The frontier's shape shows in two points.
                    answer.get_mut("frontier")?.as_array_mut()?.truncate(2);
                    Some(answer)
                }),
        ),
        (
            "/v1/plan/scaling",
            "post",
            serde_json::from_value::<crate::scenario::scaling::ScalingPlanRequest>(json!({
                "fit": "sardana2024", "target": {"parameters": 13e9}, "inference_tokens": 2e12
            }))
            .ok()
            .and_then(|r| {
                let s = crate::scenario::scaling::ScalingPlanScenario::parse(&ctx.catalog, &r).ok()?;
                let mut answer = to_value(crate::answer::scaling::ScalingPlanResponse::new(ctx, &s))?;
                answer.get_mut("curve")?.as_array_mut()?.truncate(2);
                Some(answer)
            }),
        ),
        (
            "/v1/estimate/batch",
            "post",
            batch.ok().and_then(|r| {
                let mut answer = to_value(batch::batch(ctx, &r).map(decisions::batch_response))?;
                let first = answer.get_mut("results")?.get_mut(0)?.as_object_mut()?;
                first.get_mut("inference")?.as_object_mut()?.insert("explain".into(), json!([]));
                Some(answer)
            }),
        ),
    ]
}

/// Sets the generated examples on the 200 responses of `spec`.
pub fn attach(spec: &mut OpenApi) {
    let Ok(catalog) = Catalog::embedded() else { return };
    let ctx = Context::new(std::sync::Arc::new(catalog));
    for (path, method, example) in examples(&ctx).into_iter().chain(decision_examples(&ctx)) {
        let Some(example) = example else { continue };
        let Some(item) = spec.paths.paths.get_mut(path) else { continue };
        let operation = match method {
            "get" => item.get.as_mut(),
            _ => item.post.as_mut(),
        };
        let Some(RefOr::T(response)) = operation.and_then(|o| o.responses.responses.get_mut("200")) else { continue };
        if let Some(RefOr::T(content)) = response.content.get_mut("application/json") {
            content.example = Some(example);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_produced() {
        let ctx = Context::new(std::sync::Arc::new(Catalog::embedded().unwrap()));
        for (path, method, example) in examples(&ctx).into_iter().chain(decision_examples(&ctx)) {
            assert!(example.is_some(), "{method} {path} produced no example");
        }
    }
}
