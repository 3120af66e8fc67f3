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

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::check::{self, CheckResponse};
use super::{Context, finite};
use crate::catalog::DeviceFilter;
use crate::catalog::hardware::Kind;
use crate::engine::format::Format;
use crate::engine::inference::Batch;
use crate::engine::parallelism::Parallelism;
use crate::plan::breakeven::{self, ApiPrice};
use crate::plan::search::{
    Candidate, FormatChoice, HardwareChoice, Limits, ModelChoice, Objective, Outcome, Space, Workload, search,
};
use crate::scenario::inference::{self as inference_scenario, EngineId, FormatId, InferenceScenario, PriceSource};
use crate::scenario::range::{self, Checks};
use crate::scenario::requirements::RequirementsBody;
use crate::scenario::resolve::{self, HardwareRef, ModelRef, ResolvedDevice, ResolvedModel};
use crate::scenario::{Assumptions, Error};

/// The traffic to plan for.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadBody {
    /// Prompt tokens per request (default 1024).
    pub input_tokens: Option<u64>,
    /// Output tokens per request (default 256).
    pub output_tokens: Option<u64>,
    /// Target requests per second: replicas are added until one configuration reaches it.
    pub requests_per_s: Option<f64>,
    /// Target concurrent requests: replicas are added until the batches hold them.
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
    pub max_devices_per_replica: Option<u64>,
    /// Replicas the target may need (default 4096).
    pub max_replicas: Option<u64>,
}

crate::scenario::display_as_wire!(ObjectiveId);

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
    pub usd_per_million_input_tokens: f64,
    /// Generated tokens.
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
    pub limit: Option<usize>,
    /// An API price to compare self-hosting with.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub api_price: Option<ApiPriceBody>,
    /// An entry of `data/api_prices.toml` to compare with (default: every entry for the best
    /// configuration's model).
    pub api_price_id: Option<String>,
    /// Stop the search after this many milliseconds, 10 to 30000 (default 2000); the answer
    /// then says it is incomplete.
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
    /// The defaults the planner applied (the best configuration's own are in `best`).
    pub assumptions: Vec<crate::scenario::Assumption>,
}

/// Everything resolved from the request.
struct Resolved {
    models: Vec<ResolvedModel>,
    hardware: Vec<ResolvedDevice>,
    formats: Vec<(FormatId, FormatId, Format, Format)>,
    engines: Vec<EngineId>,
    tensor: Vec<u32>,
    pipeline: Vec<u32>,
    batch_sizes: Vec<u64>,
    limits: Limits,
    deadline: Duration,
    assumptions: Assumptions,
}

/// A request's list, or `default`; 1 to `max` entries.
pub(super) fn list<T: Clone>(
    values: Option<&Vec<T>>,
    default: &[T],
    pointer: &str,
    max: usize,
) -> Result<Vec<T>, Error> {
    let values = values.map_or_else(|| default.to_vec(), Clone::clone);
    if values.is_empty() || values.len() > max {
        return Err(Error::field(pointer, format!("must list 1 to {max} values")));
    }
    Ok(values)
}

/// The device filter of a search body (its memory bound checked).
pub(super) fn device_filter(
    vendor: Option<&String>,
    kind: Option<Kind>,
    min_memory_gib: Option<f64>,
    checks: &mut Checks,
) -> DeviceFilter {
    DeviceFilter {
        vendor: vendor.cloned(),
        kinds: kind.into_iter().collect(),
        min_memory_gib: checks.number("/search/min_memory_gib", range::MEMORY_GIB, min_memory_gib),
        max_memory_gib: None,
    }
}

fn resolve_request(ctx: &Context, request: &PlanRequest) -> Result<Resolved, Error> {
    let catalog = &ctx.catalog;
    let search = request.search.clone().unwrap_or_default();
    let mut assumed = Assumptions::default();
    if request.models.is_empty() || request.models.len() > 16 {
        return Err(Error::field("/models", "must list 1 to 16 models"));
    }
    let mut models = Vec::new();
    for (i, value) in request.models.iter().enumerate() {
        let pointer = format!("/models/{i}");
        let reference: ModelRef = serde_json::from_value(value.clone())
            .map_err(|_| Error::field(&pointer, "must be a model id string or a config.json object"))?;
        models.push(resolve::model(catalog, &reference, &pointer)?);
    }
    let mut checks = Checks::default();
    let hardware: Vec<ResolvedDevice> = match &search.hardware {
        Some(ids) => {
            let ids = list(Some(ids), &[], "/search/hardware", 256)?;
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    resolve::hardware(catalog, &HardwareRef::Id(id.clone()), &format!("/search/hardware/{i}"))
                })
                .collect::<Result<_, _>>()?
        }
        None => {
            let filter = device_filter(search.vendor.as_ref(), search.kind, search.min_memory_gib, &mut checks);
            let devices: Vec<ResolvedDevice> = catalog.devices_matching(&filter).map(ResolvedDevice::from).collect();
            if devices.is_empty() && filter.min_memory_gib.is_some() == search.min_memory_gib.is_some() {
                return Err(Error::unprocessable("/search", "no catalog device matches the filters"));
            }
            devices
        }
    };
    if search.weights.is_none() {
        assumed.push("search/weights", "bf16, fp8, int8, int4", "the common serving formats");
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
        formats.push((w, kv, inference_scenario::format(catalog, w)?, inference_scenario::format(catalog, kv)?));
    }
    if search.engines.is_none() {
        assumed.push("search/engines", EngineId::Generic, "the engine-neutral profile");
    }
    let engines = list(search.engines.as_ref(), &[EngineId::Generic], "/search/engines", 6)?;
    let mut degrees = |name: &str, values: Vec<u32>| -> Vec<u32> {
        values.iter().enumerate().map(|(i, &v)| checks.int32(format!("/search/{name}/{i}"), range::DEGREE, v)).collect()
    };
    let tensor = degrees("tensor", list(search.tensor.as_ref(), &[1, 2, 4, 8], "/search/tensor", 16)?);
    let pipeline = degrees("pipeline", list(search.pipeline.as_ref(), &[1], "/search/pipeline", 16)?);
    if search.batch_sizes.is_none() {
        assumed.push("search/batch_sizes", "1, 2, 4, ..., 256", "powers of two up to 256");
    }
    let batch_sizes: Vec<u64> =
        list(search.batch_sizes.as_ref(), &[1, 2, 4, 8, 16, 32, 64, 128, 256], "/search/batch_sizes", 64)?
            .iter()
            .enumerate()
            .map(|(i, &b)| checks.int(format!("/search/batch_sizes/{i}"), range::BATCH_SIZE, b))
            .collect();
    let max_devices_per_replica = checks.int(
        "/search/max_devices_per_replica",
        range::DEVICES_PER_REPLICA,
        search.max_devices_per_replica.unwrap_or(8),
    );
    let max_replicas = checks.int("/search/max_replicas", range::MAX_REPLICAS, search.max_replicas.unwrap_or(4096));
    let keep = checks.int("/limit", range::LIMIT, u64::try_from(request.limit.unwrap_or(10)).unwrap_or(u64::MAX));
    let deadline_ms = checks.int("/deadline_ms", range::DEADLINE_MS, request.deadline_ms.unwrap_or(2000));
    checks.finish()?;
    if hardware.is_empty() {
        return Err(Error::unprocessable("/search", "no catalog device matches the filters"));
    }
    let size =
        [models.len(), hardware.len(), tensor.len(), pipeline.len(), formats.len(), batch_sizes.len(), engines.len()]
            .iter()
            .map(|&n| n as u128)
            .product::<u128>();
    if size > u128::from(ctx.plan_max_configurations) {
        return Err(Error::unprocessable(
            "/search",
            format!(
                "the search space has {size} configurations; this server evaluates at most {} per request: narrow the device list, degrees, formats or batch sizes",
                ctx.plan_max_configurations
            ),
        ));
    }
    Ok(Resolved {
        models,
        hardware,
        formats,
        engines,
        tensor,
        pipeline,
        batch_sizes,
        limits: Limits { max_devices_per_replica, max_replicas, keep: keep as usize },
        deadline: Duration::from_millis(deadline_ms),
        assumptions: assumed,
    })
}

fn workload(body: &WorkloadBody, assumed: &mut Assumptions) -> Result<Workload, Error> {
    let mut checks = Checks::default();
    let input_tokens = checks.int(
        "/workload/input_tokens",
        range::WORKLOAD_TOKENS,
        assumed.or(body.input_tokens, "workload/input_tokens", 1024, "the default prompt length"),
    );
    let output_tokens = checks.int(
        "/workload/output_tokens",
        range::WORKLOAD_TOKENS,
        assumed.or(body.output_tokens, "workload/output_tokens", 256, "the default output length"),
    );
    let requests_per_s = checks.number("/workload/requests_per_s", range::REQUESTS_PER_S, body.requests_per_s);
    let concurrency = checks.opt_int("/workload/concurrency", range::CONCURRENCY, body.concurrency);
    if input_tokens + output_tokens == 0 {
        checks.push("/workload/output_tokens", "input_tokens and output_tokens cannot both be 0");
    }
    checks.finish()?;
    Ok(Workload { input_tokens, output_tokens, requests_per_s, concurrency })
}

fn config(r: &Resolved, c: &Candidate) -> ConfigBody {
    let (weights, kv, _, _) = &r.formats[c.choice.format];
    ConfigBody {
        model: r.models[c.choice.model].id.clone(),
        hardware: r.hardware[c.choice.hardware].id.clone(),
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

/// The scenario of a configuration: the same engine inputs the search evaluated, with full
/// explanations, and no request to parse again.
fn scenario(ctx: &Context, r: &Resolved, c: &Candidate, w: &Workload) -> Result<InferenceScenario, Error> {
    let (weights_id, kv_id, weights, kv_cache) = &r.formats[c.choice.format];
    let engine = r.engines[c.choice.engine];
    let profile = ctx
        .catalog
        .engine(engine.as_str())
        .map(|e| e.profile.clone())
        .ok_or_else(|| Error::Internal(format!("engine {} missing from the catalog", engine.as_str())))?;
    let device = r.hardware[c.choice.hardware].clone();
    let (usd_per_device_hour, price_source) = PriceSource::choose(None, device.usd_per_hour);
    let mut assumptions = r.assumptions.clone();
    assumptions.push("weights", weights_id, "chosen by the search");
    assumptions.push("kv_cache", kv_id, "the usual cache format for these weights, unless search.kv_cache gives one");
    price_source.assume(&mut assumptions, usd_per_device_hour);
    Ok(InferenceScenario {
        model: r.models[c.choice.model].clone(),
        device,
        parallelism: Parallelism {
            tensor: r.tensor[c.choice.tensor],
            pipeline: r.pipeline[c.choice.pipeline],
            expert: 1,
            data: u32::try_from(c.replicas).unwrap_or(u32::MAX),
        },
        weights: weights.clone(),
        kv_cache: kv_cache.clone(),
        batch: Batch::Fixed(r.batch_sizes[c.choice.batch]),
        input_tokens: w.input_tokens,
        output_tokens: w.output_tokens,
        engine,
        profile,
        usd_per_device_hour,
        price_source,
        assumptions,
    })
}

fn comparisons(
    ctx: &Context,
    request: &PlanRequest,
    model_id: &str,
    best: &Candidate,
    w: &Workload,
) -> Result<Vec<ApiComparisonBody>, Error> {
    let mut prices: Vec<(String, String, ApiPrice)> = Vec::new();
    if let Some(p) = request.api_price {
        let mut checks = Checks::default();
        for (name, v) in [
            ("usd_per_million_input_tokens", p.usd_per_million_input_tokens),
            ("usd_per_million_output_tokens", p.usd_per_million_output_tokens),
        ] {
            checks.number(format!("/api_price/{name}"), range::API_USD_PER_MILLION, Some(v));
        }
        checks.finish()?;
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
        let record = ctx.catalog.api_price(id).ok_or_else(|| Error::UnknownId {
            kind: "api price",
            id: id.chars().take(100).collect(),
            suggestions: ctx.catalog.api_prices().iter().map(|p| p.id.clone()).take(5).collect(),
        })?;
        prices.push(from_record(record));
    }
    if request.api_price.is_none() && request.api_price_id.is_none() {
        prices.extend(ctx.catalog.api_prices().iter().filter(|p| p.model == model_id).map(from_record));
    }
    let Some(usd_per_hour) = best.usd_per_hour else { return Ok(Vec::new()) };
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
pub fn plan(ctx: &Context, request: &PlanRequest) -> Result<PlanResponse, Error> {
    let started = Instant::now();
    let requirements = request.requirements.clone().unwrap_or_default().parse("/requirements")?;
    let mut r = resolve_request(ctx, request)?;
    let w = workload(&request.workload.clone().unwrap_or_default(), &mut r.assumptions)?;
    let objective = request.objective.unwrap_or_default();
    if request.objective.is_none() {
        r.assumptions.push("objective", objective, "the cheapest per million output tokens");
    }
    let profiles: Vec<&crate::engine::profile::EngineProfile> = r
        .engines
        .iter()
        .map(|e| {
            ctx.catalog
                .engine(e.as_str())
                .map(|c| &c.profile)
                .ok_or_else(|| Error::Internal(format!("engine {} missing from the catalog", e.as_str())))
        })
        .collect::<Result<_, _>>()?;
    let space = Space {
        models: r.models.iter().map(|m| ModelChoice { arch: &m.architecture, anatomy: &m.anatomy }).collect(),
        hardware: r
            .hardware
            .iter()
            .map(|d| HardwareChoice { device: &d.device, usd_per_hour: d.usd_per_hour })
            .collect(),
        tensor: r.tensor.clone(),
        pipeline: r.pipeline.clone(),
        formats: r.formats.iter().map(|(_, _, weights, kv)| FormatChoice { weights, kv_cache: kv }).collect(),
        batch_sizes: r.batch_sizes.clone(),
        engines: profiles,
    };
    // The clock is read here, at the edge; the search only asks whether time is up.
    let deadline = started + r.deadline;
    let outcome: Outcome =
        search(&space, &w, &requirements, objective.engine(), &r.limits, &|| Instant::now() >= deadline);
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
            let best = check::check_inference(ctx, &scenario(ctx, &r, c, &w)?, &requirements);
            let model_id = r.models[c.choice.model].id.clone();
            (Some(Box::new(best)), comparisons(ctx, request, &model_id, c, &w)?)
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
        assumptions: r.assumptions.0,
    })
}
