//! `POST /v1/plan`: which hardware, how many, which precision, at what cost.
//!
//! The request names models, a workload and requirements, and a search space (devices by id or
//! filter, tensor and pipeline degrees, weight formats, batch sizes, engines). The planner
//! ([`crate::plan::search`]) evaluates every combination in parallel, scales replicas to the
//! target rate, and ranks what passes; the answer has the ranked list, the Pareto frontier of
//! cost against latency, the best configuration of each device kind, counts of rejections by
//! reason, and for the best configuration the full estimate with its capacity check. Inverse
//! questions are objectives: fewest devices, largest batch under a TPOT limit, longest context,
//! most faithful format that fits, cheapest device kind (`best_per_hardware`).

use std::time::{Duration, Instant};

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::check::{self, CheckRequest, CheckResponse, RequirementsBody};
use super::extract::Json;
use super::inference::{BatchSize, EngineId, FormatId, InferenceRequest, ParallelismBody, finite};
use super::problem::{ApiError, FieldError, Problem};
use super::resolve::{self, ModelRef, ResolvedModel};
use super::state::AppState;
use crate::catalog::hardware::Kind;
use crate::engine::format::Format;
use crate::plan::breakeven::{self, ApiPrice};
use crate::plan::search::{
    Candidate, FormatChoice, HardwareChoice, Limits, ModelChoice, Objective, Outcome, Space, Workload, search,
};

/// The traffic to plan for.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadBody {
    /// Prompt tokens per request (default 1024).
    #[schema(minimum = 0, maximum = 1048576)]
    pub input_tokens: Option<u64>,
    /// Output tokens per request (default 256).
    #[schema(minimum = 0, maximum = 1048576)]
    pub output_tokens: Option<u64>,
    /// Target requests per second: replicas are added until one configuration reaches it.
    #[schema(minimum = 0, maximum = 1e7)]
    pub requests_per_s: Option<f64>,
    /// Target concurrent requests: replicas are added until the batches hold them.
    #[schema(minimum = 1, maximum = 10000000)]
    pub concurrency: Option<u64>,
}

/// Where to search; every list has a default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Device ids or aliases (default: the whole catalog, narrowed by the filters below).
    pub hardware: Option<Vec<String>>,
    /// Only devices of this vendor.
    pub vendor: Option<String>,
    /// Only devices of this kind.
    pub kind: Option<Kind>,
    /// Only devices with at least this much memory, GiB.
    #[schema(minimum = 0, maximum = 1000000)]
    pub min_memory_gib: Option<f64>,
    /// Tensor-parallel degrees (default 1, 2, 4, 8).
    pub tensor: Option<Vec<u32>>,
    /// Pipeline-parallel degrees (default 1).
    pub pipeline: Option<Vec<u32>>,
    /// Weight formats (default bf16, fp8, int8, int4).
    pub weights: Option<Vec<FormatId>>,
    /// KV-cache format for every candidate (default: the usual one for each weight format).
    pub kv_cache: Option<FormatId>,
    /// Sequences per replica (default 1, 2, 4, ..., 256).
    pub batch_sizes: Option<Vec<u64>>,
    /// Engines (default generic).
    pub engines: Option<Vec<EngineId>>,
    /// Devices one replica may use, tensor x pipeline (default 8).
    #[schema(minimum = 1, maximum = 1024)]
    pub max_devices_per_replica: Option<u64>,
    /// Replicas the target may need (default 4096).
    #[schema(minimum = 1, maximum = 65536)]
    pub max_replicas: Option<u64>,
}

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveId {
    /// Cheapest per million output tokens at the planned utilisation.
    #[default]
    UsdPerMillionOutputTokens,
    /// Cheapest per hour.
    UsdPerHour,
    /// Fastest request end to end.
    Latency,
    /// Fastest first token.
    Ttft,
    /// Fastest per output token.
    Tpot,
    /// Fewest devices.
    Devices,
    /// Largest batch (under `max_tpot_ms`, when given).
    BatchSize,
    /// Longest context that fits.
    Context,
    /// Most bits per weight that still meets the requirements.
    Quality,
}

impl ObjectiveId {
    fn engine(self) -> Objective {
        match self {
            Self::UsdPerMillionOutputTokens => Objective::UsdPerMillionTokens,
            Self::UsdPerHour => Objective::UsdPerHour,
            Self::Latency => Objective::Latency,
            Self::Ttft => Objective::Ttft,
            Self::Tpot => Objective::Tpot,
            Self::Devices => Objective::Devices,
            Self::BatchSize => Objective::BatchSize,
            Self::Context => Objective::Context,
            Self::Quality => Objective::Quality,
        }
    }
}

/// An API's prices, USD per million tokens.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiPriceBody {
    /// Prompt tokens.
    #[schema(minimum = 0, maximum = 10000)]
    pub usd_per_million_input_tokens: f64,
    /// Generated tokens.
    #[schema(minimum = 0, maximum = 10000)]
    pub usd_per_million_output_tokens: f64,
}

/// A planning question.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "models": ["llama-3.1-70b"],
    "workload": {"input_tokens": 1000, "output_tokens": 200, "requests_per_s": 10},
    "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50},
    "search": {"weights": ["bf16", "fp8", "int4"], "engines": ["vllm"]},
    "objective": "usd_per_million_output_tokens",
    "limit": 3,
    "api_price_id": "deepinfra/llama-3.1-70b"
}))]
pub struct PlanRequest {
    /// Model ids or inline config.json objects (1 to 16).
    #[schema(value_type = Vec<ModelRef>, min_items = 1, max_items = 16)]
    pub models: Vec<Value>,
    /// The traffic.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub workload: Option<WorkloadBody>,
    /// Limits every configuration must meet.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub requirements: Option<RequirementsBody>,
    /// The search space.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub search: Option<SearchBody>,
    /// What to rank by (default usd_per_million_output_tokens).
    pub objective: Option<ObjectiveId>,
    /// Ranked configurations to return, 1 to 100 (default 10).
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// An API price to compare self-hosting with.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub api_price: Option<ApiPriceBody>,
    /// An entry of `data/api_prices.toml` to compare with (default: every entry for the best
    /// configuration's model).
    pub api_price_id: Option<String>,
    /// Stop the search after this many milliseconds, 10 to 30000 (default 2000); the answer
    /// then says it is incomplete.
    #[schema(minimum = 10, maximum = 30000)]
    pub deadline_ms: Option<u64>,
}

/// One configuration of the answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigBody {
    /// Model id.
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Tensor-parallel degree.
    pub tensor: u32,
    /// Pipeline-parallel degree.
    pub pipeline: u32,
    /// Replicas (data-parallel copies) to reach the target.
    pub replicas: u64,
    /// Devices in all.
    pub devices: u64,
    /// Weight format.
    pub weights: &'static str,
    /// KV-cache format.
    pub kv_cache: &'static str,
    /// Sequences per replica.
    pub batch_size: u64,
    /// Engine.
    pub engine: &'static str,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Time per output token, ms.
    pub tpot_ms: f64,
    /// One request end to end, ms.
    pub e2e_ms: f64,
    /// Output tokens per second all replicas can deliver.
    pub capacity_output_tokens_per_s: f64,
    /// Share of that capacity the target rate uses.
    pub utilisation: f64,
    /// USD per hour, all devices (null without a price).
    pub usd_per_hour: Option<f64>,
    /// USD per million output tokens at the planned utilisation (null without a price).
    pub usd_per_million_output_tokens: Option<f64>,
    /// Longest context that fits in memory at this batch, tokens.
    pub max_context_tokens: u64,
    /// Memory per device, bytes.
    pub memory_per_device_bytes: f64,
    /// Whether the device computes the weight format natively.
    pub native_format: bool,
}

/// Self-hosting the best configuration against an API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiComparisonBody {
    /// The API price's id (`request` when given inline).
    pub api: String,
    /// Where the price comes from and when (empty when given inline).
    pub source: String,
    /// API cost of one request, USD.
    pub api_usd_per_request: f64,
    /// API cost per million output tokens, prompts included, USD.
    pub api_usd_per_million_output_tokens: f64,
    /// Self-hosted cost per million output tokens at the planned utilisation, USD.
    pub self_hosted_usd_per_million_output_tokens: f64,
    /// Self-hosted cost per million output tokens at full utilisation, USD.
    pub self_hosted_floor_usd_per_million_output_tokens: f64,
    /// Self-hosting's fixed cost per month (devices rented around the clock), USD.
    pub self_hosted_usd_per_month: f64,
    /// Output tokens per month the deployment can serve.
    pub capacity_output_tokens_per_month: f64,
    /// Output tokens per month above which self-hosting is cheaper (null: never, the API is
    /// cheaper even with the devices fully used).
    pub break_even_output_tokens_per_month: Option<f64>,
    /// Whether self-hosting is cheaper at the planned volume.
    pub self_hosting_cheaper: bool,
}

/// A rejection reason and how many configurations it rejected.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejectionBody {
    /// The rule or reason (`fits`, `tpot`, `invalid_layout`, `too_many_replicas`, ...).
    pub reason: &'static str,
    /// Configurations rejected for it (the first rule each broke).
    pub count: u64,
}

/// The planner's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanResponse {
    /// Configurations in the search space.
    pub search_space: u64,
    /// Configurations evaluated.
    pub evaluated: u64,
    /// Configurations meeting every requirement.
    pub feasible: u64,
    /// Whether every configuration was evaluated before the deadline.
    pub complete: bool,
    /// Wall time of the search, ms.
    pub elapsed_ms: f64,
    /// The ranking objective.
    pub objective: ObjectiveId,
    /// The best configurations, best first.
    pub ranked: Vec<ConfigBody>,
    /// Configurations no other beats on both cost and end-to-end latency, cheapest first.
    pub pareto: Vec<ConfigBody>,
    /// The best configuration of each device kind, best first: the cheapest device kind for
    /// the workload is the first.
    pub best_per_hardware: Vec<ConfigBody>,
    /// Why the others were rejected.
    pub rejected: Vec<RejectionBody>,
    /// The best configuration's full estimate and capacity check (absent when none is feasible).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best: Option<Box<CheckResponse>>,
    /// Self-hosting the best configuration against hosted APIs.
    pub api_comparison: Vec<ApiComparisonBody>,
    /// What the planner did that a reader should know.
    pub notes: Vec<String>,
}

/// Everything resolved from the request.
struct Resolved {
    models: Vec<(Value, ResolvedModel)>,
    hardware: Vec<(String, crate::engine::device::Device, Option<f64>)>,
    formats: Vec<(FormatId, FormatId, Format, Format)>,
    engines: Vec<EngineId>,
    tensor: Vec<u32>,
    pipeline: Vec<u32>,
    batch_sizes: Vec<u64>,
    limits: Limits,
}

fn list<T: Copy>(values: Option<&Vec<T>>, default: &[T], pointer: &str, max: usize) -> Result<Vec<T>, ApiError> {
    let values = values.map_or_else(|| default.to_vec(), Clone::clone);
    if values.is_empty() || values.len() > max {
        return Err(ApiError::field(pointer, format!("must list 1 to {max} values")));
    }
    Ok(values)
}

fn resolve_request(state: &AppState, request: &PlanRequest) -> Result<Resolved, ApiError> {
    let catalog = &state.catalog;
    let search = request.search.clone().unwrap_or_default();
    if request.models.is_empty() || request.models.len() > 16 {
        return Err(ApiError::field("/models", "must list 1 to 16 models"));
    }
    let mut models = Vec::new();
    for (i, value) in request.models.iter().enumerate() {
        let pointer = format!("/models/{i}");
        let reference: ModelRef = serde_json::from_value(value.clone())
            .map_err(|_| ApiError::field(&pointer, "must be a model id string or a config.json object"))?;
        models.push((value.clone(), resolve::model(catalog, &reference, &pointer)?));
    }
    let mut hardware = Vec::new();
    match &search.hardware {
        Some(ids) => {
            if ids.is_empty() || ids.len() > 256 {
                return Err(ApiError::field("/search/hardware", "must list 1 to 256 device ids"));
            }
            for (i, id) in ids.iter().enumerate() {
                let d = resolve::hardware(
                    catalog,
                    &resolve::HardwareRef::Id(id.clone()),
                    &format!("/search/hardware/{i}"),
                )?;
                hardware.push((d.id, d.device, d.usd_per_hour));
            }
        }
        None => {
            if let Some(m) = search.min_memory_gib
                && !(m.is_finite() && (0.0..=1e6).contains(&m))
            {
                return Err(ApiError::field(
                    "/search/min_memory_gib",
                    format!("must be a number from 0 to 1000000, got {m}"),
                ));
            }
            let vendor = search.vendor.as_ref().map(|v| v.to_ascii_lowercase());
            for d in catalog.devices() {
                let r = &d.record;
                if vendor.as_ref().is_none_or(|v| r.vendor == *v)
                    && search.kind.is_none_or(|k| r.kind == k)
                    && search.min_memory_gib.is_none_or(|m| r.memory_gib >= m)
                {
                    hardware.push((r.id.clone(), d.device.clone(), r.lowest_usd_per_hour()));
                }
            }
            if hardware.is_empty() {
                return Err(ApiError::Unprocessable {
                    detail: "no catalog device matches the filters".into(),
                    pointer: Some("/search".into()),
                });
            }
        }
    }
    let weights = list(
        search.weights.as_ref(),
        &[FormatId::Bf16, FormatId::Fp8, FormatId::Int8, FormatId::Int4],
        "/search/weights",
        13,
    )?;
    let mut formats = Vec::new();
    for w in weights {
        let kv = search.kv_cache.unwrap_or_else(|| w.default_kv_cache());
        let get = |id: FormatId| {
            catalog
                .format(id.as_str())
                .map(crate::catalog::formats::FormatRecord::to_engine)
                .ok_or_else(|| ApiError::Internal(format!("format {} missing from the catalog", id.as_str())))
        };
        formats.push((w, kv, get(w)?, get(kv)?));
    }
    let engines = list(search.engines.as_ref(), &[EngineId::Generic], "/search/engines", 6)?;
    let tensor = list(search.tensor.as_ref(), &[1, 2, 4, 8], "/search/tensor", 16)?;
    let pipeline = list(search.pipeline.as_ref(), &[1], "/search/pipeline", 16)?;
    let batch_sizes =
        list(search.batch_sizes.as_ref(), &[1, 2, 4, 8, 16, 32, 64, 128, 256], "/search/batch_sizes", 64)?;
    let mut errors = Vec::new();
    for (name, values, max) in [("tensor", &tensor, 1024u64), ("pipeline", &pipeline, 1024)] {
        for (i, v) in values.iter().enumerate() {
            if *v == 0 || u64::from(*v) > max {
                errors.push(FieldError::new(
                    format!("/search/{name}/{i}"),
                    format!("must be an integer from 1 to {max}, got {v}"),
                ));
            }
        }
    }
    for (i, b) in batch_sizes.iter().enumerate() {
        if *b == 0 || *b > 1_000_000 {
            errors.push(FieldError::new(
                format!("/search/batch_sizes/{i}"),
                format!("must be an integer from 1 to 1000000, got {b}"),
            ));
        }
    }
    let max_devices_per_replica = search.max_devices_per_replica.unwrap_or(8);
    if !(1..=1024).contains(&max_devices_per_replica) {
        errors.push(FieldError::new("/search/max_devices_per_replica", "must be an integer from 1 to 1024"));
    }
    let max_replicas = search.max_replicas.unwrap_or(4096);
    if !(1..=65_536).contains(&max_replicas) {
        errors.push(FieldError::new("/search/max_replicas", "must be an integer from 1 to 65536"));
    }
    let keep = request.limit.unwrap_or(10);
    if !(1..=100).contains(&keep) {
        errors.push(FieldError::new("/limit", format!("must be an integer from 1 to 100, got {keep}")));
    }
    let deadline_ms = request.deadline_ms.unwrap_or(2000);
    if !(10..=30_000).contains(&deadline_ms) {
        errors.push(FieldError::new("/deadline_ms", format!("must be an integer from 10 to 30000, got {deadline_ms}")));
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidRequest(errors));
    }
    let size =
        [models.len(), hardware.len(), tensor.len(), pipeline.len(), formats.len(), batch_sizes.len(), engines.len()]
            .iter()
            .map(|&n| n as u128)
            .product::<u128>();
    if size > u128::from(state.plan_max_configurations) {
        return Err(ApiError::Unprocessable {
            detail: format!(
                "the search space has {size} configurations; this server evaluates at most {} per request: narrow the device list, degrees, formats or batch sizes",
                state.plan_max_configurations
            ),
            pointer: Some("/search".into()),
        });
    }
    Ok(Resolved {
        models,
        hardware,
        formats,
        engines,
        tensor,
        pipeline,
        batch_sizes,
        limits: Limits {
            max_devices_per_replica,
            max_replicas,
            keep,
            deadline: Some(Instant::now() + Duration::from_millis(deadline_ms)),
        },
    })
}

fn workload(body: &WorkloadBody) -> Result<Workload, ApiError> {
    let mut errors = Vec::new();
    let input_tokens = body.input_tokens.unwrap_or(1024);
    let output_tokens = body.output_tokens.unwrap_or(256);
    for (name, v) in [("input_tokens", input_tokens), ("output_tokens", output_tokens)] {
        if v > 1_048_576 {
            errors.push(FieldError::new(
                format!("/workload/{name}"),
                format!("must be an integer from 0 to 1048576, got {v}"),
            ));
        }
    }
    if let Some(r) = body.requests_per_s
        && !(r.is_finite() && (0.0..=1e7).contains(&r))
    {
        errors
            .push(FieldError::new("/workload/requests_per_s", format!("must be a number from 0 to 10000000, got {r}")));
    }
    if let Some(c) = body.concurrency
        && !(1..=10_000_000).contains(&c)
    {
        errors
            .push(FieldError::new("/workload/concurrency", format!("must be an integer from 1 to 10000000, got {c}")));
    }
    if input_tokens + output_tokens == 0 {
        errors.push(FieldError::new("/workload/output_tokens", "input_tokens and output_tokens cannot both be 0"));
    }
    if errors.is_empty() {
        Ok(Workload { input_tokens, output_tokens, requests_per_s: body.requests_per_s, concurrency: body.concurrency })
    } else {
        Err(ApiError::InvalidRequest(errors))
    }
}

fn config(r: &Resolved, c: &Candidate) -> ConfigBody {
    let (weights, kv, _, _) = &r.formats[c.choice.format];
    ConfigBody {
        model: r.models[c.choice.model].1.id.clone(),
        hardware: r.hardware[c.choice.hardware].0.clone(),
        tensor: r.tensor[c.choice.tensor],
        pipeline: r.pipeline[c.choice.pipeline],
        replicas: c.replicas,
        devices: c.devices,
        weights: weights.as_str(),
        kv_cache: kv.as_str(),
        batch_size: r.batch_sizes[c.choice.batch],
        engine: r.engines[c.choice.engine].as_str(),
        ttft_ms: finite(c.ttft_s * 1e3),
        tpot_ms: finite(c.tpot_s * 1e3),
        e2e_ms: finite(c.e2e_s * 1e3),
        capacity_output_tokens_per_s: finite(c.capacity_output_tokens_per_s),
        utilisation: finite(c.utilisation),
        usd_per_hour: c.usd_per_hour.map(finite),
        usd_per_million_output_tokens: c.usd_per_million_output_tokens.map(finite),
        max_context_tokens: c.max_context_tokens,
        memory_per_device_bytes: finite(c.memory_bytes),
        native_format: c.native_format,
    }
}

/// The estimate request that reproduces a configuration.
fn estimate_request(r: &Resolved, c: &Candidate, w: &Workload) -> InferenceRequest {
    let (weights, kv, _, _) = r.formats[c.choice.format];
    let (tensor, pipeline) = (r.tensor[c.choice.tensor], r.pipeline[c.choice.pipeline]);
    InferenceRequest {
        model: r.models[c.choice.model].0.clone(),
        hardware: Value::String(r.hardware[c.choice.hardware].0.clone()),
        devices: u32::try_from(c.devices).ok(),
        parallelism: Some(ParallelismBody {
            tensor: Some(tensor),
            pipeline: Some(pipeline),
            expert: None,
            data: u32::try_from(c.replicas).ok(),
        }),
        weights: Some(weights),
        kv_cache: Some(kv),
        weights_group_size: None,
        batch_size: Some(BatchSize::Count(r.batch_sizes[c.choice.batch])),
        input_tokens: Some(w.input_tokens),
        output_tokens: Some(w.output_tokens),
        engine: Some(r.engines[c.choice.engine]),
        overrides: r.hardware[c.choice.hardware].2.map(|price| super::inference::InferenceOverrides {
            usd_per_device_hour: Some(price),
            ..Default::default()
        }),
    }
}

fn comparisons(
    state: &AppState,
    request: &PlanRequest,
    model_id: &str,
    best: &Candidate,
    w: &Workload,
) -> Result<Vec<ApiComparisonBody>, ApiError> {
    let mut prices: Vec<(String, String, ApiPrice)> = Vec::new();
    if let Some(p) = request.api_price {
        for (name, v) in [
            ("usd_per_million_input_tokens", p.usd_per_million_input_tokens),
            ("usd_per_million_output_tokens", p.usd_per_million_output_tokens),
        ] {
            if !(v.is_finite() && (0.0..=10_000.0).contains(&v)) {
                return Err(ApiError::field(
                    format!("/api_price/{name}"),
                    format!("must be a number from 0 to 10000, got {v}"),
                ));
            }
        }
        prices.push((
            "request".into(),
            String::new(),
            ApiPrice {
                usd_per_million_input_tokens: p.usd_per_million_input_tokens,
                usd_per_million_output_tokens: p.usd_per_million_output_tokens,
            },
        ));
    }
    let from_record = |p: &crate::catalog::api_prices::ApiPriceRecord| {
        (
            p.id.clone(),
            format!("{} (as of {}{})", p.source, p.as_of, if p.verified { "" } else { ", unverified" }),
            ApiPrice {
                usd_per_million_input_tokens: p.usd_per_million_input_tokens,
                usd_per_million_output_tokens: p.usd_per_million_output_tokens,
            },
        )
    };
    if let Some(id) = &request.api_price_id {
        let record = state.catalog.api_price(id).ok_or_else(|| ApiError::UnknownId {
            kind: "api price",
            id: id.chars().take(100).collect(),
            suggestions: state.catalog.api_prices().iter().map(|p| p.id.clone()).take(5).collect(),
        })?;
        prices.push(from_record(record));
    }
    if request.api_price.is_none() && request.api_price_id.is_none() {
        prices.extend(state.catalog.api_prices().iter().filter(|p| p.model == model_id).map(from_record));
    }
    let Some(usd_per_hour) = best.usd_per_hour else { return Ok(Vec::new()) };
    #[allow(clippy::cast_precision_loss)]
    let served = w.requests_per_s.map_or(best.capacity_output_tokens_per_s, |r| r * w.output_tokens as f64);
    Ok(prices
        .into_iter()
        .filter_map(|(api, source, price)| {
            let c = breakeven::compare(
                price,
                w.input_tokens,
                w.output_tokens,
                usd_per_hour,
                best.capacity_output_tokens_per_s,
                served.min(best.capacity_output_tokens_per_s),
            )?;
            Some(ApiComparisonBody {
                api,
                source,
                api_usd_per_request: finite(c.api_usd_per_request),
                api_usd_per_million_output_tokens: finite(c.api_usd_per_million_output_tokens),
                self_hosted_usd_per_million_output_tokens: finite(c.self_hosted_usd_per_million_output_tokens),
                self_hosted_floor_usd_per_million_output_tokens: finite(
                    c.self_hosted_floor_usd_per_million_output_tokens,
                ),
                self_hosted_usd_per_month: finite(c.self_hosted_usd_per_month),
                capacity_output_tokens_per_month: finite(c.capacity_output_tokens_per_month),
                break_even_output_tokens_per_month: c.break_even_output_tokens_per_month.map(finite),
                self_hosting_cheaper: c.self_hosting_cheaper,
            })
        })
        .collect())
}

/// Runs a planning request.
pub fn plan(state: &AppState, request: &PlanRequest) -> Result<PlanResponse, ApiError> {
    let started = Instant::now();
    let requirements_body = request.requirements.clone().unwrap_or_default();
    let requirements = requirements_body.parse("/requirements")?;
    let w = workload(&request.workload.clone().unwrap_or_default())?;
    let r = resolve_request(state, request)?;
    let objective = request.objective.unwrap_or_default();
    let profiles: Vec<&crate::engine::profile::EngineProfile> = r
        .engines
        .iter()
        .map(|e| {
            state
                .catalog
                .engine(e.as_str())
                .map(|c| &c.profile)
                .ok_or_else(|| ApiError::Internal(format!("engine {} missing from the catalog", e.as_str())))
        })
        .collect::<Result<_, _>>()?;
    let space = Space {
        models: r.models.iter().map(|(_, m)| ModelChoice { arch: &m.architecture, anatomy: &m.anatomy }).collect(),
        hardware: r.hardware.iter().map(|(_, d, price)| HardwareChoice { device: d, usd_per_hour: *price }).collect(),
        tensor: r.tensor.clone(),
        pipeline: r.pipeline.clone(),
        formats: r.formats.iter().map(|(_, _, weights, kv)| FormatChoice { weights, kv_cache: kv }).collect(),
        batch_sizes: r.batch_sizes.clone(),
        engines: profiles,
    };
    let outcome: Outcome = search(&space, &w, &requirements, objective.engine(), &r.limits);
    let mut notes = Vec::new();
    if !outcome.complete {
        notes.push(format!(
            "the deadline stopped the search after {} of {} configurations; the ranking covers only those",
            outcome.evaluated,
            space.size()
        ));
    }
    if outcome.ranked.iter().any(|c| c.replicas > 1) {
        notes.push("one replica cannot reach the target: configurations are scaled to the replicas shown, each serving its share of the traffic".into());
    }
    if outcome.ranked.iter().any(|c| c.usd_per_million_output_tokens.is_none()) {
        notes.push("some devices have no catalog price: they rank last on cost; pass a hardware list with priced devices or use another objective".into());
    }
    let (best, api_comparison) = match outcome.ranked.first() {
        Some(c) => {
            let check_request = CheckRequest {
                inference: Some(estimate_request(&r, c, &w)),
                training: None,
                requirements: Some(requirements_body),
            };
            let best = check::check(state, &check_request)?;
            let model_id = r.models[c.choice.model].1.id.clone();
            (Some(Box::new(best)), comparisons(state, request, &model_id, c, &w)?)
        }
        None => (None, Vec::new()),
    };
    Ok(PlanResponse {
        search_space: u64::try_from(space.size()).unwrap_or(u64::MAX),
        evaluated: outcome.evaluated,
        feasible: outcome.feasible,
        complete: outcome.complete,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        objective,
        ranked: outcome.ranked.iter().map(|c| config(&r, c)).collect(),
        pareto: outcome.pareto.iter().take(50).map(|c| config(&r, c)).collect(),
        best_per_hardware: outcome.best_per_hardware.iter().take(r.limits.keep).map(|c| config(&r, c)).collect(),
        rejected: outcome
            .rejected
            .iter()
            .map(|(reason, count)| RejectionBody { reason: reason.as_str(), count: *count })
            .collect(),
        best,
        api_comparison,
        notes,
    })
}

/// Searches deployments for a workload and ranks the ones meeting the requirements.
#[utoipa::path(
    tag = "decisions",
    request_body = PlanRequest,
    responses(
        (status = 200, description = "Ranked configurations, Pareto frontier, rejections, the best one's estimate and check", body = PlanResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model, hardware or API price id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A search space larger than the server's cap, or filters that match no device", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/plan")]
pub async fn plan_handler(
    state: web::Data<AppState>,
    Json(request): Json<PlanRequest>,
) -> Result<web::Json<PlanResponse>, ApiError> {
    // CPU-bound (rayon inside): off the async worker.
    let state = state.into_inner();
    web::block(move || plan(&state, &request))
        .await
        .map_err(|e| ApiError::Internal(format!("planner task: {e}")))?
        .map(web::Json)
}
