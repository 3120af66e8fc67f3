//! A planning request (`POST /v1/plan`, `hwcost plan FILE`) and its search space, parsed once:
//! models and devices resolved, every list and range checked, the workload and requirements
//! read, the size of the space held to the server's cap.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::cost::{self, CostChoice, CostPlan};
use super::inference::{self as inference_scenario, EngineId, FormatId};
use super::range::{self, Checks};
use super::requirements::RequirementsBody;
use super::resolve::{self, HardwareRef, ModelRef, ResolvedDevice, ResolvedModel};
use super::{Assumptions, Error};
use crate::catalog::hardware::Kind;
use crate::catalog::{Catalog, DeviceFilter};
use crate::engine::format::Format;
use crate::plan::rules::Requirements;
use crate::plan::search::{Limits, Objective, SpeculationChoice, Workload};

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
    /// Device ids, aliases or inline records (default: the whole catalog, narrowed by the
    /// filters below).
    #[schema(value_type = Option<Vec<HardwareRef>>)]
    pub hardware: Option<Vec<Value>>,
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
    /// KV-cache tiers beyond device memory to evaluate every candidate with (each device's
    /// own host link unless `host_gb_per_s` is given); left out, candidates keep their KV in
    /// device memory only and the search runs as fast as without it.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub kv_offload: Option<super::kv_offload::KvOffloadBody>,
    /// Also try speculative decoding (default: no): `true` tries `eagle3`, or a list of methods
    /// that need no separate model (`eagle`, `eagle3`, `mtp`, `ngram`), each at its default draft
    /// length and acceptance rate (`data/speculative.toml`). Every configuration is evaluated
    /// with and without; a row's `speculative` says which it used.
    pub speculative: Option<SpeculativeSearch>,
    /// Also try expert-parallel layouts for mixture-of-experts models (default: no): `true`
    /// tries 1, 2, 4, ... expert ranks (attention data-parallel, routed experts spread over
    /// them) up to `max_devices_per_replica`, or `{"max_ranks": n}` up to n. A layout that
    /// leaves the device's node exchanges tokens over the plan's network. A row's
    /// `parallelism.expert` says which it used.
    pub expert_parallel: Option<ExpertParallelSearch>,
    /// Also split the best configurations into disaggregated prefill and decode pools
    /// (default: no): `true` tries 1 to 4 prefill replicas per 1 to 4 decode replicas of the
    /// best three configurations' layouts on their own devices, or an object narrows or widens
    /// that. Each pool pair is scaled to the target rate and judged as `POST /v1/check` judges a
    /// deployment with `disaggregation`; the answer's `disaggregated` lists them. Leaving it out
    /// keeps the search as fast as without it.
    pub disaggregated: Option<DisaggregatedSearch>,
}

/// Which disaggregated pool sizes (xPyD) a plan tries.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DisaggregatedSearch {
    /// `true`: the defaults of [`PoolSearchBody`]; `false`: none.
    Enabled(bool),
    /// These pools.
    Pools(PoolSearchBody),
}

/// The pool sizes and devices a plan tries for disaggregated serving.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"prefill_replicas": [1, 2], "decode_replicas": [1, 2, 4], "decode_hardware": ["nvidia-h200-sxm-141gb"], "network": "infiniband-ndr"}))]
pub struct PoolSearchBody {
    /// Prefill replicas per unit, each with the configuration's layout (default 1, 2, 3, 4; at
    /// most 8 values, each 1 to 64). Pairs of the same ratio (2P2D, 1P1D) are tried once, at the
    /// smallest; a unit is repeated until it reaches the target rate.
    pub prefill_replicas: Option<Vec<u32>>,
    /// Decode replicas per unit (default 1, 2, 3, 4; at most 8 values, each 1 to 64).
    pub decode_replicas: Option<Vec<u32>>,
    /// Devices the prefill pool may use (default: the configuration's own; at most 4).
    #[schema(value_type = Option<Vec<HardwareRef>>)]
    pub prefill_hardware: Option<Vec<Value>>,
    /// Devices the decode pool may use (default: the configuration's own; at most 4).
    #[schema(value_type = Option<Vec<HardwareRef>>)]
    pub decode_hardware: Option<Vec<Value>>,
    /// The network the KV cache crosses between the pools (`GET /v1/networks`; default
    /// `infiniband-ndr`); pools of one device inside one NVLink domain use the fabric.
    pub network: Option<String>,
    /// How many of the best colocated configurations (distinct model, device, format, engine
    /// and layout) to split into pools, 1 to 10 (default 3).
    pub configurations: Option<u64>,
}

/// A device a pool may use, with its price.
#[derive(Debug, Clone)]
pub struct PoolDevice {
    /// The device.
    pub device: ResolvedDevice,
    /// How it is paid for (the plan's `cost`, with its `prices` entry over it).
    pub cost: CostPlan,
}

/// The disaggregated pools a plan tries, parsed.
#[derive(Debug, Clone)]
pub struct PoolSearch {
    /// (prefill, decode) replicas per unit, one pair per ratio.
    pub ratios: Vec<(u32, u32)>,
    /// Devices of the prefill pool (empty: each configuration's own).
    pub prefill_hardware: Vec<PoolDevice>,
    /// Devices of the decode pool (empty: each configuration's own).
    pub decode_hardware: Vec<PoolDevice>,
    /// The network between the pools.
    pub network: Option<super::resolve::ResolvedNetwork>,
    /// Best colocated configurations to split.
    pub configurations: usize,
}

/// Most pool pairs a plan evaluates (configurations x device pairs x ratios), so a plan that
/// searches pools stays within a second.
pub const MAX_POOL_PAIRS: usize = 256;

/// Which expert-parallel degrees a plan tries.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ExpertParallelSearch {
    /// `true`: powers of two up to `max_devices_per_replica`; `false`: none.
    Enabled(bool),
    /// Powers of two up to `max_ranks`.
    Limit {
        /// The most expert ranks a layout may use.
        max_ranks: u64,
    },
}

/// Which speculation methods a plan tries.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SpeculativeSearch {
    /// `true`: `eagle3`; `false`: none.
    Enabled(bool),
    /// These methods.
    Methods(Vec<crate::scenario::speculative::SpeculativeMethod>),
}

display_as_wire!(ObjectiveId);

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveId {
    /// Cheapest per million output tokens at the planned utilization.
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
    /// The planner's objective.
    pub fn engine(self) -> Objective {
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
    /// An entry of `data/prices/api.toml` to compare with (default: every entry for the best
    /// configuration's model).
    pub api_price_id: Option<String>,
    /// Stop the search after this many milliseconds of its own, 10 to 30000 (default: no
    /// deadline; the search covers the whole space, which the server's cap on configurations
    /// bounds). A deadline trades the answer's completeness for time: the answer then says it
    /// is incomplete, and how far it got depends on how busy the server is. Time spent waiting
    /// for a slot on a busy server does not count.
    pub deadline_ms: Option<u64>,
    /// How every device is paid for: rented or owned (default: rent where a device has a
    /// rental price, else own at its purchase price).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub cost: Option<CostChoice>,
    /// Per-device cost overrides, keyed by a device id or alias of the search, over `cost`:
    /// `{"nvidia-rtx-4090": {"basis": "own", "purchase_usd": 1800}}` (at most 256).
    #[schema(value_type = Option<Object>)]
    pub prices: Option<BTreeMap<String, CostChoice>>,
}

/// A planning request, parsed: every choice list resolved and checked, the workload, the
/// requirements, the limits, and what was assumed.
#[derive(Debug, Clone)]
pub struct PlanScenario {
    /// Models.
    pub models: Vec<ResolvedModel>,
    /// Devices.
    pub hardware: Vec<ResolvedDevice>,
    /// How each device of `hardware` is paid for.
    pub costs: Vec<CostPlan>,
    /// The `cost` object each device's was resolved from (the plan's, with the device's entry
    /// of `prices` over it).
    pub cost_bodies: Vec<CostChoice>,
    /// Weight formats with their KV formats (ids and engine formats).
    pub formats: Vec<(FormatId, FormatId, Format, Format)>,
    /// Engines.
    pub engines: Vec<EngineId>,
    /// Tensor degrees.
    pub tensor: Vec<u32>,
    /// Pipeline degrees.
    pub pipeline: Vec<u32>,
    /// Sequences per replica.
    pub batch_sizes: Vec<u64>,
    /// Search limits.
    pub limits: Limits,
    /// Time budget of the search, when the request sets one.
    pub deadline: Option<Duration>,
    /// The defaults applied.
    pub assumptions: Assumptions,
    /// The traffic.
    pub workload: Workload,
    /// Limits every configuration must meet.
    pub requirements: Requirements,
    /// What to rank by.
    pub objective: ObjectiveId,
    /// The API price given inline, checked.
    pub api_price: Option<ApiPriceBody>,
    /// Speculative decoding to try (`[None]` unless the search asked for more).
    pub speculation: Vec<Option<SpeculationChoice>>,
    /// KV tiers beyond device memory for each device of `hardware` (all `None` unless
    /// `search.kv_offload` asks).
    pub kv_offload: Vec<Option<crate::engine::kv_offload::KvOffload>>,
    /// The network between nodes the candidates use (the catalog's default).
    pub network: Option<super::resolve::ResolvedNetwork>,
    /// Expert-parallel degrees to try (`[1]` unless `search.expert_parallel` asks and a model
    /// is a mixture of experts).
    pub expert: Vec<u32>,
    /// Disaggregated pools to try (`None` unless `search.disaggregated` asks).
    pub pools: Option<PoolSearch>,
}

/// A request's list, or `default`; 1 to `max` entries.
pub fn list<T: Clone>(values: Option<&Vec<T>>, default: &[T], pointer: &str, max: usize) -> Result<Vec<T>, Error> {
    let values = values.map_or_else(|| default.to_vec(), Clone::clone);
    if values.is_empty() || values.len() > max {
        return Err(Error::field(pointer, format!("must list 1 to {max} values")));
    }
    Ok(values)
}

/// The device filter of a search body (its memory bound checked).
pub fn device_filter(
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

impl PlanScenario {
    /// Parses a planning request; `max_configurations` is the server's cap on the search space.
    pub fn parse(catalog: &Catalog, max_configurations: u64, request: &PlanRequest) -> Result<Self, Error> {
        let requirements = request.requirements.clone().unwrap_or_default().parse("/requirements")?;
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
            Some(values) => {
                let values = list(Some(values), &[], "/search/hardware", 256)?;
                values
                    .iter()
                    .enumerate()
                    .map(|(i, value)| {
                        let pointer = format!("/search/hardware/{i}");
                        let reference: HardwareRef = serde_json::from_value(value.clone()).map_err(|e| {
                            Error::field(&pointer, format!("must be a device id or a device record: {e}"))
                        })?;
                        resolve::hardware(catalog, &reference, &pointer)
                    })
                    .collect::<Result<_, _>>()?
            }
            None => {
                let filter = device_filter(search.vendor.as_ref(), search.kind, search.min_memory_gib, &mut checks);
                let devices: Vec<ResolvedDevice> =
                    catalog.devices_matching(&filter).map(ResolvedDevice::from).collect();
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
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| checks.int32(format!("/search/{name}/{i}"), range::DEGREE, v))
                .collect()
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
        let max_ranks = match &search.expert_parallel {
            None | Some(ExpertParallelSearch::Enabled(false)) => 1,
            Some(ExpertParallelSearch::Enabled(true)) => max_devices_per_replica,
            Some(ExpertParallelSearch::Limit { max_ranks }) => {
                checks.int("/search/expert_parallel/max_ranks", range::DEGREE, *max_ranks)
            }
        };
        let expert = expert_degrees(&models, max_ranks);
        let keep = checks.int("/limit", range::LIMIT, u64::try_from(request.limit.unwrap_or(10)).unwrap_or(u64::MAX));
        let deadline_ms = checks.opt_int("/deadline_ms", range::DEADLINE_MS, request.deadline_ms);
        if let Some(p) = request.api_price {
            for (name, v) in [
                ("usd_per_million_input_tokens", p.usd_per_million_input_tokens),
                ("usd_per_million_output_tokens", p.usd_per_million_output_tokens),
            ] {
                checks.number(format!("/api_price/{name}"), range::API_USD_PER_MILLION, Some(v));
            }
        }
        checks.finish()?;
        let speculation = speculation(catalog, search.speculative.as_ref())?;
        if hardware.is_empty() {
            return Err(Error::unprocessable("/search", "no catalog device matches the filters"));
        }
        let size = [
            models.len(),
            hardware.len(),
            tensor.len(),
            pipeline.len(),
            formats.len(),
            batch_sizes.len(),
            engines.len(),
            speculation.len(),
            expert.len(),
        ]
        .iter()
        .map(|&n| n as u128)
        .product::<u128>();
        if size > u128::from(max_configurations) {
            return Err(Error::unprocessable(
                "/search",
                format!(
                    "the search space has {size} configurations; this server evaluates at most {} per request: narrow the device list, degrees, formats or batch sizes",
                    max_configurations
                ),
            ));
        }
        let (costs, cost_bodies) = device_costs(catalog, request, &hardware, &mut assumed)?;
        let kv_offload = match &search.kv_offload {
            None => vec![None; hardware.len()],
            Some(body) => {
                let mut each = Assumptions::default();
                let tiers = hardware
                    .iter()
                    .map(|d| super::kv_offload::parse(body, d, "/search/kv_offload", &mut each).map(Some))
                    .collect::<Result<Vec<_>, Error>>()?;
                for a in each.0.into_iter().filter(|a| a.field != "kv_offload/host_gb_per_s") {
                    if !assumed.0.iter().any(|b| b.field == format!("search/{}", a.field)) {
                        assumed.push(format!("search/{}", a.field), a.value, a.reason);
                    }
                }
                if body.host_gb_per_s.is_none() {
                    assumed.push(
                        "search/kv_offload/host_gb_per_s",
                        "each device's host link x copy efficiency",
                        "the device's host link in the catalog x the share of it a pinned-memory copy reaches (data/serving/kv_offload.toml)",
                    );
                }
                tiers
            }
        };
        let pools = pool_search(catalog, request, search.disaggregated.as_ref(), &hardware, &costs, &mut assumed)?;
        let workload = workload(&request.workload.clone().unwrap_or_default(), &mut assumed)?;
        let objective = request.objective.unwrap_or_default();
        if request.objective.is_none() {
            assumed.push("objective", objective, "the cheapest per million output tokens");
        }
        Ok(Self {
            models,
            hardware,
            costs,
            cost_bodies,
            formats,
            engines,
            tensor,
            pipeline,
            batch_sizes,
            limits: Limits { max_devices_per_replica, max_replicas, keep: keep as usize },
            deadline: deadline_ms.map(Duration::from_millis),
            assumptions: assumed,
            workload,
            requirements,
            objective,
            api_price: request.api_price,
            speculation,
            kv_offload,
            network: super::resolve::network(catalog, None, "/network")?,
            expert,
            pools,
        })
    }
}

/// The expert-parallel degrees a plan tries: 1, then the powers of two up to `max_ranks` that
/// divide some model's routed experts (none without a mixture of experts).
fn expert_degrees(models: &[ResolvedModel], max_ranks: u64) -> Vec<u32> {
    let mut degrees = vec![1];
    let mut d = 2u64;
    while d <= max_ranks {
        if models.iter().any(|m| m.architecture.moe.is_some_and(|moe| moe.experts.is_multiple_of(d))) {
            degrees.push(u32::try_from(d).unwrap_or(u32::MAX));
        }
        d *= 2;
    }
    degrees
}

/// The disaggregated pools a plan tries (`None` unless asked); devices are priced as the
/// plan's own are (`cost`, a `prices` entry over it).
fn pool_search(
    catalog: &Catalog,
    request: &PlanRequest,
    body: Option<&DisaggregatedSearch>,
    hardware: &[ResolvedDevice],
    costs: &[CostPlan],
    assumed: &mut Assumptions,
) -> Result<Option<PoolSearch>, Error> {
    let body = match body {
        None | Some(DisaggregatedSearch::Enabled(false)) => return Ok(None),
        Some(DisaggregatedSearch::Enabled(true)) => PoolSearchBody::default(),
        Some(DisaggregatedSearch::Pools(b)) => b.clone(),
    };
    let at = "/search/disaggregated";
    let mut checks = Checks::default();
    let mut replicas = |name: &str, values: Option<&Vec<u32>>| -> Result<Vec<u32>, Error> {
        let pointer = format!("{at}/{name}");
        Ok(list(values, &[1, 2, 3, 4], &pointer, 8)?
            .iter()
            .enumerate()
            .map(|(i, &v)| checks.int32(format!("{pointer}/{i}"), range::POOL_REPLICAS, v))
            .collect())
    };
    let prefill = replicas("prefill_replicas", body.prefill_replicas.as_ref())?;
    let decode = replicas("decode_replicas", body.decode_replicas.as_ref())?;
    let configurations =
        checks.int(format!("{at}/configurations"), range::POOL_CONFIGURATIONS, body.configurations.unwrap_or(3))
            as usize;
    checks.finish()?;
    // Ascending, so the first pair of a ratio is its smallest.
    let sorted = |mut v: Vec<u32>| {
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut ratios: Vec<(u32, u32)> = Vec::new();
    for &p in &sorted(prefill) {
        for &d in &sorted(decode.clone()) {
            if !ratios.iter().any(|&(q, e)| u64::from(q) * u64::from(d) == u64::from(e) * u64::from(p)) {
                ratios.push((p, d));
            }
        }
    }
    let plan_wide = request.cost.clone().unwrap_or_default();
    let prices = request.prices.clone().unwrap_or_default();
    let devices = |name: &str, values: Option<&Vec<Value>>| -> Result<Vec<PoolDevice>, Error> {
        let Some(values) = values else { return Ok(Vec::new()) };
        let pointer = format!("{at}/{name}");
        list(Some(values), &[], &pointer, 4)?
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let pointer = format!("{pointer}/{i}");
                let reference: HardwareRef = serde_json::from_value(value.clone())
                    .map_err(|e| Error::field(&pointer, format!("must be a device id or a device record: {e}")))?;
                let device = resolve::hardware(catalog, &reference, &pointer)?;
                let cost = match hardware.iter().position(|d| d.id == device.id) {
                    Some(index) => costs[index].clone(),
                    None => {
                        let body = prices
                            .iter()
                            .find(|(key, _)| catalog.device(key).is_ok_and(|d| d.record.id == device.id))
                            .map_or_else(|| plan_wide.clone(), |(_, b)| b.over(&plan_wide));
                        device_cost(catalog, &body, &device, "/cost".into(), false, &mut Assumptions::default())?
                    }
                };
                Ok(PoolDevice { device, cost })
            })
            .collect()
    };
    let prefill_hardware = devices("prefill_hardware", body.prefill_hardware.as_ref())?;
    let decode_hardware = devices("decode_hardware", body.decode_hardware.as_ref())?;
    let pairs = configurations * ratios.len() * prefill_hardware.len().max(1) * decode_hardware.len().max(1);
    if pairs > MAX_POOL_PAIRS {
        return Err(Error::unprocessable(
            at,
            format!(
                "{pairs} pool pairs (configurations x prefill devices x decode devices x replica ratios); a plan evaluates at most {MAX_POOL_PAIRS}: narrow the lists"
            ),
        ));
    }
    let network = resolve::network(catalog, body.network.as_deref(), &format!("{at}/network"))?;
    if body.network.is_none()
        && let Some(n) = &network
    {
        assumed.push(
            "search/disaggregated/network",
            n.id.as_str(),
            "the default network between the pools (unless both sit in one NVLink domain)",
        );
    }
    Ok(Some(PoolSearch { ratios, prefill_hardware, decode_hardware, network, configurations }))
}

/// The speculation a plan tries: plain decoding, then each method asked for at its catalog
/// defaults. A separate draft model is a deployment's choice, not searched.
fn speculation(catalog: &Catalog, body: Option<&SpeculativeSearch>) -> Result<Vec<Option<SpeculationChoice>>, Error> {
    use crate::scenario::speculative::SpeculativeMethod;
    let methods = match body {
        None | Some(SpeculativeSearch::Enabled(false)) => Vec::new(),
        Some(SpeculativeSearch::Enabled(true)) => vec![SpeculativeMethod::Eagle3],
        Some(SpeculativeSearch::Methods(list)) => list.clone(),
    };
    let mut out = vec![None];
    for (i, m) in methods.into_iter().enumerate() {
        let method = crate::engine::speculative::Method::from(m);
        if method == crate::engine::speculative::Method::Draft {
            return Err(Error::unprocessable(
                format!("/search/speculative/{i}"),
                "the planner tries speculation heads and prompt lookup (eagle, eagle3, mtp, ngram); a separate draft model is set per deployment in an estimate",
            ));
        }
        let defaults = catalog.speculative(method.as_str()).ok_or_else(|| {
            Error::Internal(format!("speculation method {} missing from the catalog", method.as_str()))
        })?;
        let choice = SpeculationChoice { method, tokens: defaults.tokens, acceptance_rate: defaults.acceptance_rate };
        if !out.contains(&Some(choice)) {
            out.push(Some(choice));
        }
    }
    Ok(out)
}

/// How each device is paid for: the plan's `cost`, with a device's entry of `prices` over it.
/// A plan-wide provider or term a device is not rented at leaves that device without a price
/// (it ranks last on cost) rather than failing the plan; a per-device one is a 422.
fn device_costs(
    catalog: &Catalog,
    request: &PlanRequest,
    hardware: &[ResolvedDevice],
    assumed: &mut Assumptions,
) -> Result<(Vec<CostPlan>, Vec<CostChoice>), Error> {
    let prices = request.prices.clone().unwrap_or_default();
    if prices.len() > 256 {
        return Err(Error::field("/prices", "must list at most 256 devices"));
    }
    // Each key must name a searched device, so a typo is an error, not a silently unused price.
    let mut keyed: Vec<(usize, &String, &CostChoice)> = Vec::new();
    for (key, body) in &prices {
        let id = catalog.device(key).map(|d| d.record.id.as_str()).unwrap_or(key.as_str());
        let Some(index) = hardware.iter().position(|d| d.id.eq_ignore_ascii_case(id)) else {
            return Err(Error::unprocessable(
                format!("/prices/{}", pointer_token(key)),
                format!("{key} is not a device of this search"),
            ));
        };
        keyed.push((index, key, body));
    }
    let plan_wide = request.cost.clone().unwrap_or_default();
    let mut out = Vec::with_capacity(hardware.len());
    let mut bodies = Vec::with_capacity(hardware.len());
    for (i, device) in hardware.iter().enumerate() {
        let own = keyed.iter().find(|(index, _, _)| *index == i);
        let (body, pointer, strict) = match own {
            Some((_, key, body)) => (body.over(&plan_wide), format!("/prices/{}", pointer_token(key)), true),
            None => (plan_wide.clone(), "/cost".to_owned(), false),
        };
        let mut device_assumed = Assumptions::default();
        let plan = device_cost(catalog, &body, device, pointer, strict, &mut device_assumed)?;
        if i == 0 {
            // The shared defaults, not the first device's own price.
            let shared =
                ["electricity_usd_per_kwh", "pue", "amortization_years", "utilization", "hosting_usd_per_month"];
            assumed.0.extend(
                device_assumed.0.into_iter().filter(|a| shared.iter().any(|f| a.field.ends_with(&format!("/{f}")))),
            );
        }
        out.push(plan);
        bodies.push(body);
    }
    Ok((out, bodies))
}

/// How `device` is paid for under `body`. One price per device serves every engine searched, so
/// the draw is the engine-neutral profile's share of TDP.
pub fn device_cost(
    catalog: &Catalog,
    body: &CostChoice,
    device: &ResolvedDevice,
    pointer: String,
    strict: bool,
    assumed: &mut Assumptions,
) -> Result<CostPlan, Error> {
    let power_fraction = catalog.engine(EngineId::Generic.as_str()).map_or(1.0, |e| e.profile.power_fraction);
    cost::resolve(
        body,
        &cost::Context {
            pointer,
            legacy_price: None,
            pricing: &device.pricing,
            power_w: device.device.tdp_w.map(|w| w * power_fraction),
            defaults: catalog.ownership(),
            pue: None,
            strict,
        },
        assumed,
    )
}

/// `key` as a JSON-pointer token (`~` and `/` escaped).
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
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
    // A positive target is a rate plans replay arrivals at (0 asks for no rate).
    if let Some(rate) = requests_per_s.filter(|r| *r > 0.0 && *r < range::ARRIVAL_RATE.min) {
        checks.push(
            "/workload/requests_per_s",
            format!(
                "must be 0 (no target) or at least {} requests per second (one every 1000 s), got {rate}",
                range::ARRIVAL_RATE.min
            ),
        );
    }
    let concurrency = checks.opt_int("/workload/concurrency", range::CONCURRENCY, body.concurrency);
    if input_tokens + output_tokens == 0 {
        checks.push("/workload/output_tokens", "input_tokens and output_tokens cannot both be 0");
    }
    checks.finish()?;
    Ok(Workload { input_tokens, output_tokens, requests_per_s, concurrency })
}
