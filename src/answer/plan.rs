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

use std::time::Instant;

mod pools;
pub use pools::{PoolConfigBody, PoolThroughput};

use serde::Serialize;
use utoipa::ToSchema;

use super::check::{self, CheckResponse};
use super::inference::ExplainBody;
use super::{Context, finite};
use crate::engine::inference::Batch;
use crate::engine::parallelism::Parallelism;
use crate::plan::breakeven::{self, ApiPrice, SelfHosted};
use crate::plan::search::{Candidate, FormatChoice, HardwareChoice, ModelChoice, Outcome, Space, Workload, search};
use crate::scenario::Error;
use crate::scenario::cost::{Basis, CostChoice};
use crate::scenario::inference::InferenceScenario;
use crate::scenario::plan::device_cost;
use crate::scenario::plan::{ObjectiveId, PlanRequest, PlanScenario};
use crate::scenario::{Assumption, Assumptions};

/// One configuration of the answer, shaped as an inference estimate is: the same concept sits
/// at the same path (`latency.ttft_ms`, `cost.usd_per_hour`, `memory.per_device.total_bytes`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigBody {
    /// Model id.
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Devices in all.
    pub devices: u64,
    /// How the devices split the model: tensor and pipeline degrees per replica, and `data`,
    /// the replicas (data-parallel copies) that reach the target.
    pub parallelism: PlanParallelism,
    /// Weight format.
    pub weights: &'static str,
    /// KV-cache format.
    pub kv_cache: &'static str,
    /// Sequences per replica.
    pub batch_size: u64,
    /// Engine.
    pub engine: &'static str,
    /// The speculative decoding method this row uses (`eagle3`, ...), or `none` for plain
    /// decoding; present only when the plan's `search.speculative` asked to try it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculative: Option<&'static str>,
    /// Whether the device computes the weight format natively.
    pub native_format: bool,
    /// What `POST /v1/check` says of this configuration with the plan's requirements at the
    /// plan's rate: `pass`, or `at_risk` (a rule within its estimate's measured error of the
    /// limit). Ranked rows that pass come first.
    pub verdict: &'static str,
    /// Latency of one request at this batch.
    pub latency: PlanLatency,
    /// What all replicas deliver, and the share the target uses.
    pub throughput: PlanThroughput,
    /// What it costs.
    pub cost: PlanCost,
    /// Memory per device and the usable context.
    pub memory: PlanMemory,
    /// The rules of its cost (when priced): `plan.usd_per_hour` and
    /// `plan.usd_per_million_output_tokens`.
    pub explain: Vec<ExplainBody>,
}

/// A plan row's layout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanParallelism {
    /// Tensor-parallel degree.
    pub tensor: u32,
    /// Pipeline-parallel degree.
    pub pipeline: u32,
    /// Expert-parallel degree per replica (attention data-parallel ranks over which the
    /// routed experts spread); present only when the plan's `search.expert_parallel` asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert: Option<u32>,
    /// Replicas.
    pub data: u64,
}

/// A plan row's latency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanLatency {
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Time per output token, ms.
    pub tpot_ms: f64,
    /// One request end to end, ms.
    pub e2e_ms: f64,
}

/// A plan row's throughput.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanThroughput {
    /// Output tokens per second all replicas can deliver.
    pub output_tokens_per_s: f64,
    /// Share of that capacity the target rate uses.
    pub utilization: f64,
}

/// A plan row's cost.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanCost {
    /// USD per hour, all devices (null without a price).
    pub usd_per_hour: Option<f64>,
    /// USD per million output tokens at the planned utilization (null without a price).
    pub usd_per_million_output_tokens: Option<f64>,
    /// How the devices are paid for: `rent`, `own` (purchase and hosting every hour, electricity
    /// at the planned load's share of capacity), or `none`.
    pub basis: &'static str,
}

/// A plan row's memory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanMemory {
    /// One device.
    pub per_device: PlanPerDevice,
    /// Longest usable context at this batch, tokens: the smaller of the model's trained context
    /// and what memory holds.
    pub max_context_tokens: u64,
}

/// A plan row's memory on one device.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanPerDevice {
    /// Everything on one device, bytes.
    #[serde(serialize_with = "crate::wire::whole_bytes")]
    #[schema(value_type = u64)]
    pub total_bytes: f64,
}

/// Self-hosting the best configuration against an API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiComparisonBody {
    /// The API price's id (`request` when given inline).
    pub api: String,
    /// How the self-hosted side pays for its devices: `rent` (around the clock) or `own`
    /// (purchase and hosting around the clock, electricity per token served).
    pub basis: &'static str,
    /// Where the price comes from and when (empty when given inline).
    pub source: String,
    /// API cost of one request, USD.
    pub api_usd_per_request: f64,
    /// API cost per million output tokens, prompts included, USD: a blended price,
    /// `api_price_usd_per_million_output_tokens` + `api_price_usd_per_million_input_tokens` x
    /// `input_tokens_per_output_token`.
    pub api_usd_per_million_output_tokens: f64,
    /// The API's own price per million prompt tokens, USD (as listed, converted to USD).
    pub api_price_usd_per_million_input_tokens: f64,
    /// The API's own price per million output tokens, USD (as listed, converted to USD).
    pub api_price_usd_per_million_output_tokens: f64,
    /// Prompt tokens per output token of the workload: the weight of the input price in the
    /// blended price per output token.
    pub input_tokens_per_output_token: f64,
    /// Self-hosted cost per million output tokens at the planned utilization, USD.
    pub self_hosted_usd_per_million_output_tokens: f64,
    /// Self-hosted cost per million output tokens at full utilization, USD.
    pub self_hosted_floor_usd_per_million_output_tokens: f64,
    /// Self-hosting's cost per month at the planned volume (rent, or purchase, hosting and
    /// electricity), USD.
    pub self_hosted_usd_per_month: f64,
    /// The part of it paid whatever the volume (rent; or purchase and hosting), USD per month.
    pub self_hosted_fixed_usd_per_month: f64,
    /// The part paid per token served (electricity when owning; 0 when renting), USD per
    /// million output tokens: cost per month = fixed + this x volume / 1e6, up to the capacity.
    pub self_hosted_marginal_usd_per_million_output_tokens: f64,
    /// Output tokens per month the deployment can serve.
    pub capacity_output_tokens_per_month: f64,
    /// Output tokens per month above which self-hosting is cheaper (null: never, the API is
    /// cheaper even with the devices fully used).
    pub break_even_output_tokens_per_month: Option<f64>,
    /// Whether self-hosting is cheaper at the planned volume.
    pub self_hosting_cheaper: bool,
    /// What the comparison assumed about the API price: its conversion to USD when the provider
    /// publishes it in another currency (empty otherwise).
    pub assumptions: Vec<Assumption>,
    /// The rules of the headline figures: `breakeven.api_usd_per_million_output_tokens` (the
    /// blended API price), `breakeven.self_hosted_usd_per_million_output_tokens` and
    /// `breakeven.volume` (only when there is a break-even).
    pub explain: Vec<ExplainBody>,
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
    /// The best configurations split into a prefill pool and a decode pool (xPyD), best first
    /// (up to `limit`, at most 10); present only when `search.disaggregated` asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disaggregated: Option<Vec<PoolConfigBody>>,
    /// The best configuration's full estimate and capacity check (absent when none is feasible);
    /// its latency rules judge the replay at the workload that ranked it (see its `assumptions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best: Option<Box<CheckResponse>>,
    /// Self-hosting the best configuration against hosted APIs.
    pub api_comparison: Vec<ApiComparisonBody>,
    /// What the planner did that a reader should know.
    pub notes: Vec<String>,
    /// The defaults the planner applied (the best configuration's own are in `best`).
    pub assumptions: Vec<crate::scenario::Assumption>,
}

fn config(r: &PlanScenario, c: &Candidate) -> ConfigBody {
    let (weights, kv, _, _) = &r.formats[c.choice.format];
    ConfigBody {
        model: r.models[c.choice.model].id.clone(),
        hardware: r.hardware[c.choice.hardware].id.clone(),
        devices: c.devices,
        parallelism: PlanParallelism {
            tensor: r.tensor[c.choice.tensor],
            pipeline: r.pipeline[c.choice.pipeline],
            expert: (r.expert.len() > 1).then(|| r.expert[c.choice.expert]),
            data: c.replicas,
        },
        weights: weights.as_str(),
        kv_cache: kv.as_str(),
        batch_size: r.batch_sizes[c.choice.batch],
        engine: r.engines[c.choice.engine].as_str(),
        speculative: (r.speculation.len() > 1)
            .then(|| r.speculation.get(c.choice.speculation).copied().flatten().map_or("none", |s| s.method.as_str())),
        native_format: c.native_format,
        verdict: c.verdict.as_str(),
        latency: PlanLatency {
            ttft_ms: finite(c.ttft_s * 1e3),
            tpot_ms: finite(c.tpot_s * 1e3),
            e2e_ms: finite(c.e2e_s * 1e3),
        },
        throughput: PlanThroughput {
            output_tokens_per_s: finite(c.capacity_output_tokens_per_s),
            utilization: finite(c.utilization),
        },
        cost: PlanCost {
            usd_per_hour: c.usd_per_hour.map(finite),
            usd_per_million_output_tokens: c.usd_per_million_output_tokens.map(finite),
            basis: r.costs[c.choice.hardware].basis.basis,
        },
        memory: PlanMemory {
            per_device: PlanPerDevice { total_bytes: finite(c.memory_bytes) },
            max_context_tokens: c.max_context_tokens,
        },
        explain: cost_rules(&r.costs[c.choice.hardware], c),
    }
}

/// What a device-hour costs the search: paid whatever the load (rent; or purchase and hosting),
/// and paid while working (electricity when owning), USD.
fn device_hour(cost: &crate::scenario::cost::CostPlan) -> (Option<f64>, f64) {
    match cost.owned {
        Some(owned) => (Some(owned.fixed_usd_per_hour()), owned.energy_usd_per_hour_working()),
        None => (cost.usd_per_device_hour(), 0.0),
    }
}

/// The rules of a row's cost, with the figures the search used.
fn cost_rules(cost: &crate::scenario::cost::CostPlan, c: &Candidate) -> Vec<ExplainBody> {
    let (Some(fixed), working) = device_hour(cost) else { return Vec::new() };
    let mut trace = crate::engine::explain::Trace::new(true);
    if let Some(usd) = c.usd_per_hour {
        trace.record(
            "plan.usd_per_hour",
            "devices x (USD per device-hour paid whatever the load + USD per device-hour while working x utilization); rent is all of the first, owning is purchase / life / use + hosting, and electricity while working",
            &[
                ("devices", c.devices as f64),
                ("fixed_usd_per_device_hour", fixed),
                ("working_usd_per_device_hour", working),
                ("utilization", c.utilization),
            ],
            usd,
            "USD/h",
        );
    }
    if let (Some(usd), Some(per_million)) = (c.usd_per_hour, c.usd_per_million_output_tokens) {
        trace.record(
            "plan.usd_per_million_output_tokens",
            "USD per hour / (output tokens served per second x 3600) x 1e6; served: what the replay at the workload delivered (the capacity search's replay, or the closed form's steady state before replaying)",
            &[("usd_per_hour", usd), ("served_output_tokens_per_s", c.served_output_tokens_per_s)],
            per_million,
            "USD per million output tokens",
        );
    }
    trace.finish().1.into_iter().map(ExplainBody::from).collect()
}

/// The scenario of a configuration: the same engine inputs the search evaluated, with full
/// explanations, and no request to parse again.
fn scenario(ctx: &Context, r: &PlanScenario, c: &Candidate) -> Result<InferenceScenario, Error> {
    let (weights_id, kv_id, weights, kv_cache) = &r.formats[c.choice.format];
    let engine = r.engines[c.choice.engine];
    let profile = ctx
        .catalog
        .engine(engine.as_str())
        .map(|e| e.profile.clone())
        .ok_or_else(|| Error::Internal(format!("engine {} missing from the catalog", engine.as_str())))?;
    let device = r.hardware[c.choice.hardware].clone();
    let cost = r.costs[c.choice.hardware].clone();
    let mut assumptions = r.assumptions.clone();
    assumptions.push("weights", weights_id, "chosen by the search");
    assumptions.push("kv_cache", kv_id, "the usual cache format for these weights, unless search.kv_cache gives one");
    Ok(InferenceScenario {
        model: r.models[c.choice.model].clone(),
        device,
        parallelism: Parallelism {
            tensor: r.tensor[c.choice.tensor],
            pipeline: r.pipeline[c.choice.pipeline],
            expert: r.expert.get(c.choice.expert).copied().unwrap_or(1),
            data: u32::try_from(c.replicas).unwrap_or(u32::MAX),
        },
        weights: weights.clone(),
        kv_cache: kv_cache.clone(),
        batch: Batch::Fixed(r.batch_sizes[c.choice.batch]),
        input_tokens: r.workload.input_tokens,
        output_tokens: r.workload.output_tokens,
        engine: engine.into(),
        profile,
        cost,
        techniques: crate::engine::techniques::Techniques {
            speculation: r.speculation.get(c.choice.speculation).copied().flatten().map(|s| {
                let model = &r.models[c.choice.model];
                s.on(
                    crate::plan::search::ModelChoice { arch: &model.architecture, anatomy: &model.anatomy },
                    crate::plan::search::FormatChoice { weights, kv_cache },
                )
            }),
            kv_offload: r.kv_offload[c.choice.hardware],
            ..Default::default()
        },
        assumptions,
        network: r.network.clone(),
    })
}

fn comparisons(
    ctx: &Context,
    request: &PlanRequest,
    r: &PlanScenario,
    best: &Candidate,
    w: &Workload,
) -> Result<Vec<ApiComparisonBody>, Error> {
    let model_id = r.models[best.choice.model].id.as_str();
    let mut prices: Vec<(String, String, ApiPrice, Vec<Assumption>)> = Vec::new();
    if let Some(p) = request.api_price {
        prices.push((
            "request".into(),
            String::new(),
            ApiPrice {
                usd_per_million_input_tokens: p.usd_per_million_input_tokens,
                usd_per_million_output_tokens: p.usd_per_million_output_tokens,
            },
            Vec::new(),
        ));
    }
    // A catalog price published in another currency carries its conversion to USD.
    let from_record = |p: &crate::catalog::api_prices::ApiPriceRecord| {
        (
            p.id.clone(),
            p.citation(),
            ApiPrice {
                usd_per_million_input_tokens: p.usd_per_million_input_tokens,
                usd_per_million_output_tokens: p.usd_per_million_output_tokens,
            },
            p.assumptions
                .iter()
                .map(|a| Assumption { field: format!("api_comparison/{}", p.id), ..a.clone() })
                .collect(),
        )
    };
    if let Some(id) = &request.api_price_id {
        let record = ctx.catalog.api_price(id).ok_or_else(|| {
            Error::unknown_id("api price", id, ctx.catalog.api_prices().iter().map(|p| p.id.clone()).take(5).collect())
                .at("/api_price_id")
        })?;
        prices.push(from_record(record));
    }
    if request.api_price.is_none() && request.api_price_id.is_none() {
        // Superseded prices (dated history with `valid_until`) are not offered unasked.
        prices.extend(
            ctx.catalog.api_prices().iter().filter(|p| p.model == model_id && p.valid_until.is_none()).map(from_record),
        );
    }
    // The rate the best row's own cost divides by (the replay's served tokens, not the nominal
    // rate): one figure for self-hosting, in the row and in the comparison.
    let served = w.requests_per_s.map_or(best.capacity_output_tokens_per_s, |_| best.served_output_tokens_per_s);
    let hosted = self_hosted(ctx, r, best);
    Ok(prices
        .into_iter()
        .flat_map(|(api, source, price, assumed)| {
            hosted.iter().map(move |h| (api.clone(), source.clone(), price, assumed.clone(), *h))
        })
        .filter_map(|(api, source, price, assumptions, (basis, hosted))| {
            let c = breakeven::compare(
                price,
                w.input_tokens,
                w.output_tokens,
                hosted,
                best.capacity_output_tokens_per_s,
                served.min(best.capacity_output_tokens_per_s),
            )?;
            Some(ApiComparisonBody {
                api,
                source,
                basis,
                api_usd_per_request: finite(c.api_usd_per_request),
                api_usd_per_million_output_tokens: finite(c.api_usd_per_million_output_tokens),
                api_price_usd_per_million_input_tokens: finite(price.usd_per_million_input_tokens),
                api_price_usd_per_million_output_tokens: finite(price.usd_per_million_output_tokens),
                input_tokens_per_output_token: finite(c.input_tokens_per_output_token),
                self_hosted_usd_per_million_output_tokens: finite(c.self_hosted_usd_per_million_output_tokens),
                self_hosted_floor_usd_per_million_output_tokens: finite(
                    c.self_hosted_floor_usd_per_million_output_tokens,
                ),
                self_hosted_usd_per_month: finite(c.self_hosted_usd_per_month),
                self_hosted_fixed_usd_per_month: finite(c.self_hosted_fixed_usd_per_month),
                self_hosted_marginal_usd_per_million_output_tokens: finite(
                    c.self_hosted_marginal_usd_per_million_output_tokens,
                ),
                capacity_output_tokens_per_month: finite(c.capacity_output_tokens_per_month),
                break_even_output_tokens_per_month: c.break_even_output_tokens_per_month.map(finite),
                self_hosting_cheaper: c.self_hosting_cheaper,
                assumptions,
                explain: c.explain.into_iter().map(ExplainBody::from).collect(),
            })
        })
        .collect())
}

/// The best configuration's devices rented and owned, each where a price is known: the plan's
/// `cost` (and the device's `prices` entry) with the basis set each way.
fn self_hosted(ctx: &Context, r: &PlanScenario, best: &Candidate) -> Vec<(&'static str, SelfHosted)> {
    let index = best.choice.hardware;
    let devices = best.devices as f64;
    let mut out = Vec::new();
    for basis in [Basis::Rent, Basis::Own] {
        let body = CostChoice { basis: Some(basis), ..r.cost_bodies[index].clone() };
        if basis == Basis::Own && body.usd_per_device_hour.is_some() {
            continue;
        }
        let mut ignored = Assumptions::default();
        let Ok(plan) = device_cost(&ctx.catalog, &body, &r.hardware[index], "/cost".into(), false, &mut ignored) else {
            continue;
        };
        let hosted = match (plan.owned, plan.usd_per_device_hour()) {
            (Some(owned), _) => SelfHosted {
                fixed_usd_per_hour: owned.fixed_usd_per_hour() * devices,
                // At full speed the devices draw their power producing the capacity.
                usd_per_output_token: owned.energy_usd_per_hour_working() * devices
                    / (best.capacity_output_tokens_per_s * 3600.0).max(f64::MIN_POSITIVE),
            },
            (None, Some(usd)) => SelfHosted { fixed_usd_per_hour: usd * devices, usd_per_output_token: 0.0 },
            (None, None) => continue,
        };
        out.push((if basis == Basis::Rent { "rent" } else { "own" }, hosted));
    }
    out
}

/// Runs a planning request.
pub fn plan(ctx: &Context, request: &PlanRequest) -> Result<PlanResponse, Error> {
    let started = Instant::now();
    let r = PlanScenario::parse(&ctx.catalog, ctx.plan_max_configurations, request)?;
    let (w, objective) = (r.workload, r.objective);
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
            .zip(&r.costs)
            .zip(&r.kv_offload)
            .map(|((d, cost), kv_offload)| {
                let (usd_per_hour, usd_per_hour_working) = device_hour(cost);
                HardwareChoice { device: &d.device, usd_per_hour, usd_per_hour_working, kv_offload: *kv_offload }
            })
            .collect(),
        tensor: r.tensor.clone(),
        pipeline: r.pipeline.clone(),
        formats: r.formats.iter().map(|(_, _, weights, kv)| FormatChoice { weights, kv_cache: kv }).collect(),
        batch_sizes: r.batch_sizes.clone(),
        engines: profiles,
        speculation: r.speculation.clone(),
        expert: r.expert.clone(),
        network: r.network.as_ref().map(|n| n.engine),
    };
    // The clock is read here, at the edge; the search only asks whether time is up. Without a
    // deadline it never is: the same request gets the same answer however busy the server.
    let deadline = r.deadline.map(|d| started + d);
    // The closed form ranks a wider pool than asked for, so that configurations a replay
    // rejects leave others to take their places.
    let wide = crate::plan::search::Limits { keep: (r.limits.keep * 4).clamp(20, 50), ..r.limits };
    let mut outcome: Outcome = search(&space, &w, &r.requirements, objective.engine(), &wide, &|| {
        deadline.is_some_and(|d| Instant::now() >= d)
    });
    let mut notes = Vec::new();
    // The search ranks by a closed-form steady state; the best are replayed with the
    // continuous-batching simulator at the workload's load and ranked again.
    let requests = (2e6 / w.output_tokens.max(1) as f64).clamp(50.0, 300.0) as u64;
    // The measured errors a check of each device kind reads, so a row carries the check's verdict.
    let bands: Vec<crate::plan::rules::Bands> = r
        .hardware
        .iter()
        .map(|d| check::inference_bands(&super::inference::band_for(ctx, &d.id, Batch::Fixed(1))))
        .collect();
    let (replayed, broken) =
        crate::plan::search::rerank(&space, &w, &r.requirements, &bands, objective.engine(), &outcome.ranked, requests);
    if !outcome.ranked.is_empty() {
        notes.push(format!(
            "the {} best configurations of the closed-form ranking were replayed under the workload with the continuous-batching simulator (with a target rate: replicas from the capacity within the latency limits, then the replay at the rate, as POST /v1/check judges them) and ranked again by the replay's mean latencies and served rate; {} of them broke a requirement in the replay",
            outcome.ranked.len(),
            broken.len()
        ));
    }
    for (c, rule) in broken.iter().take(5) {
        notes.push(format!(
            "{} x {} (tensor {}, batch {}) passed the closed-form search but its replay breaks the {} rule; it is dropped from the ranking",
            c.replicas,
            r.hardware[c.choice.hardware].id,
            space.tensor[c.choice.tensor],
            space.batch_sizes[c.choice.batch],
            rule.as_str()
        ));
    }
    outcome.ranked = replayed;
    outcome.ranked.truncate(r.limits.keep);
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
    let disaggregated = match &r.pools {
        None => None,
        Some(search) => {
            let (rows, n) = pools::rows(ctx, &r, search, &outcome.ranked, &|c| scenario(ctx, &r, c))?;
            notes.push(format!(
                "disaggregated pools: {} pool pairs tried ({} with a pool that cannot hold the weights and one request, {} with no rate within the latency limits, {} needing more replicas than max_replicas), each scaled to the target rate in units of its smallest ratio; {} judged pairs still broke a rule and were dropped",
                n.tried, n.unfit, n.unreachable, n.too_many_replicas, n.broken
            ));
            Some(rows)
        }
    };
    let (best, api_comparison) = match outcome.ranked.first() {
        Some(c) => {
            // The best is checked as `POST /v1/check` would check it at the plan's rate: the
            // same assessment under load that ranked it.
            let requirements = crate::plan::rules::Requirements {
                forecast_requests_per_s: r.requirements.forecast_requests_per_s.or(w.requests_per_s),
                ..r.requirements
            };
            let best = check::check_inference(ctx, &scenario(ctx, &r, c)?, &requirements);
            (Some(Box::new(best)), comparisons(ctx, request, &r, c, &w)?)
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
        disaggregated,
        best,
        notes,
        assumptions: plan_assumptions(&r.assumptions.0, &api_comparison),
        api_comparison,
    })
}

/// The planner's defaults, then each API price conversion the comparison made (once per price,
/// though it is compared renting and owning).
fn plan_assumptions(defaults: &[Assumption], comparisons: &[ApiComparisonBody]) -> Vec<Assumption> {
    let mut out = defaults.to_vec();
    for a in comparisons.iter().flat_map(|c| &c.assumptions) {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}
