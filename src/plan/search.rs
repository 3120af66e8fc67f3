//! The deployment search: every combination of model, device, tensor and pipeline split, weight
//! format, batch size and engine is estimated, filtered by the requirements, scaled to the
//! target rate with replicas, and ranked.
//!
//! The hot loop evaluates a configuration from its index (a mixed-radix number over the choice
//! lists), runs the engine without explanations, and folds the result into per-thread
//! accumulators of bounded size (the best `keep`, the Pareto frontier, the best per device), so
//! nothing is allocated per configuration and memory does not grow with the search.

use rayon::prelude::*;

use super::rules::{self, Observed, Requirements, Rule};
use crate::engine::anatomy::Anatomy;
use crate::engine::architecture::Architecture;
use crate::engine::device::Device;
use crate::engine::format::Format;
use crate::engine::inference::{Batch, InferenceInput, estimate};
use crate::engine::parallelism::Parallelism;
use crate::engine::profile::EngineProfile;

/// A model to place.
#[derive(Debug, Clone, Copy)]
pub struct ModelChoice<'a> {
    /// Shape.
    pub arch: &'a Architecture,
    /// Anatomy.
    pub anatomy: &'a Anatomy,
}

/// A device kind to place it on.
#[derive(Debug, Clone, Copy)]
pub struct HardwareChoice<'a> {
    /// The device.
    pub device: &'a Device,
    /// Price per device-hour paid whether or not it works (rent; or an owned device's
    /// purchase and hosting), if known.
    pub usd_per_hour: Option<f64>,
    /// Added per device-hour of work (an owned device's electricity; 0 when renting), so an
    /// owned device's cost follows the load it carries.
    pub usd_per_hour_working: f64,
    /// KV tiers beyond device memory (`search.kv_offload`), with this device's host link.
    pub kv_offload: Option<crate::engine::kv_offload::KvOffload>,
}

impl<'a> From<&'a crate::catalog::CatalogDevice> for HardwareChoice<'a> {
    /// A catalog device as the planner sees it: its engine view and lowest published price.
    fn from(d: &'a crate::catalog::CatalogDevice) -> Self {
        Self {
            device: &d.device,
            usd_per_hour: d.record.lowest_usd_per_hour(),
            usd_per_hour_working: 0.0,
            kv_offload: None,
        }
    }
}

/// A weight format with the KV-cache format used with it.
#[derive(Debug, Clone, Copy)]
pub struct FormatChoice<'a> {
    /// Weights.
    pub weights: &'a Format,
    /// KV cache.
    pub kv_cache: &'a Format,
}

/// Speculative decoding the search may try: a method that needs no separate model, with its
/// draft length and acceptance rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeculationChoice {
    /// Method (a head on the model itself, or prompt lookup).
    pub method: crate::engine::speculative::Method,
    /// Draft tokens per step.
    pub tokens: u32,
    /// Acceptance rate per draft token.
    pub acceptance_rate: f64,
}

impl SpeculationChoice {
    /// The engine's speculation for `model` stored in `format` (no allocation).
    pub fn on(&self, model: ModelChoice<'_>, format: FormatChoice<'_>) -> crate::engine::speculative::Speculation {
        use crate::engine::speculative::{Drafter, Method, Speculation};
        let drafter = (self.method != Method::Ngram).then(|| {
            Drafter::head(self.method, model.arch, model.anatomy, format.weights.bits.0, format.kv_cache.bits.0)
        });
        Speculation { method: self.method, tokens: self.tokens, acceptance_rate: self.acceptance_rate, drafter }
    }
}

/// The choice lists; the search is their product.
#[derive(Debug, Clone)]
pub struct Space<'a> {
    /// Models.
    pub models: Vec<ModelChoice<'a>>,
    /// Device kinds.
    pub hardware: Vec<HardwareChoice<'a>>,
    /// Tensor-parallel degrees.
    pub tensor: Vec<u32>,
    /// Pipeline-parallel degrees.
    pub pipeline: Vec<u32>,
    /// Formats.
    pub formats: Vec<FormatChoice<'a>>,
    /// Sequences per replica.
    pub batch_sizes: Vec<u64>,
    /// Engines.
    pub engines: Vec<&'a EngineProfile>,
    /// Speculative decoding to try (`None`: plain decoding); empty means plain decoding only.
    pub speculation: Vec<Option<SpeculationChoice>>,
    /// Expert-parallel degrees (attention data-parallel ranks over which a mixture of experts
    /// spreads its routed experts; `search.expert_parallel`); empty means 1 only.
    pub expert: Vec<u32>,
    /// The network between nodes, for layouts that leave a device's node (used only by
    /// expert-parallel layouts, so plans without them are unchanged).
    pub network: Option<crate::engine::network::Network>,
}

impl Space<'_> {
    /// Configurations in the space.
    pub fn size(&self) -> u128 {
        [
            self.models.len(),
            self.hardware.len(),
            self.tensor.len(),
            self.pipeline.len(),
            self.formats.len(),
            self.batch_sizes.len(),
            self.engines.len(),
            self.speculation.len().max(1),
            self.expert.len().max(1),
        ]
        .iter()
        .map(|&n| n as u128)
        .product()
    }

    /// The expert-parallel degree of `choice` (1 when the space has none).
    pub fn expert_degree(&self, choice: &Choice) -> u32 {
        self.expert.get(choice.expert).copied().unwrap_or(1)
    }

    /// The network a layout of `choice` uses beyond the node: the space's, for an expert
    /// layout; none otherwise (as before expert layouts were searched).
    fn network_for(&self, choice: &Choice) -> Option<crate::engine::network::Network> {
        self.network.filter(|_| self.expert_degree(choice) > 1)
    }

    /// The choice indices of configuration `index` (batch varies fastest).
    fn decode(&self, mut index: usize) -> Choice {
        let mut next = |n: usize| {
            let i = index % n.max(1);
            index /= n.max(1);
            i
        };
        let batch = next(self.batch_sizes.len());
        let speculation = next(self.speculation.len());
        let expert = next(self.expert.len());
        let format = next(self.formats.len());
        let pipeline = next(self.pipeline.len());
        let tensor = next(self.tensor.len());
        let engine = next(self.engines.len());
        let hardware = next(self.hardware.len());
        let model = next(self.models.len());
        Choice { model, hardware, tensor, pipeline, format, batch, engine, speculation, expert }
    }
}

/// Indices into the choice lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Choice {
    /// Into `models`.
    pub model: usize,
    /// Into `hardware`.
    pub hardware: usize,
    /// Into `tensor`.
    pub tensor: usize,
    /// Into `pipeline`.
    pub pipeline: usize,
    /// Into `formats`.
    pub format: usize,
    /// Into `batch_sizes`.
    pub batch: usize,
    /// Into `engines`.
    pub engine: usize,
    /// Into `speculation` (0 when it is empty).
    pub speculation: usize,
    /// Into `expert` (0 when it is empty).
    pub expert: usize,
}

/// The traffic to serve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Prompt tokens per request.
    pub input_tokens: u64,
    /// Output tokens per request.
    pub output_tokens: u64,
    /// Target requests per second, if any: replicas are added to reach it.
    pub requests_per_s: Option<f64>,
    /// Target concurrent requests, if any: replicas are added to hold them.
    pub concurrency: Option<u64>,
}

/// What to rank feasible configurations by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// USD per million output tokens at the planned utilization (lowest first).
    UsdPerMillionTokens,
    /// USD per hour for the whole deployment.
    UsdPerHour,
    /// End-to-end latency of one request.
    Latency,
    /// Time to first token.
    Ttft,
    /// Time per output token.
    Tpot,
    /// Fewest devices.
    Devices,
    /// Largest batch per replica (with a TPOT limit: the largest batch under it).
    BatchSize,
    /// Longest context that fits.
    Context,
    /// Most bits per weight (the most faithful format that fits).
    Quality,
}

/// One feasible configuration, scaled to the workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Its choices.
    pub choice: Choice,
    /// Replicas needed for the target rate or concurrency (1 without a target).
    pub replicas: u64,
    /// Devices in all.
    pub devices: u64,
    /// Time to first token, s.
    pub ttft_s: f64,
    /// Time per output token, s.
    pub tpot_s: f64,
    /// One request, s.
    pub e2e_s: f64,
    /// Output tokens per second all replicas can deliver.
    pub capacity_output_tokens_per_s: f64,
    /// Share of that capacity the target uses (1 without a target).
    pub utilization: f64,
    /// Output tokens per second served at the workload (the replay's, once replayed): what
    /// `usd_per_million_output_tokens` divides the hour's cost by.
    pub served_output_tokens_per_s: f64,
    /// USD per hour, all devices.
    pub usd_per_hour: Option<f64>,
    /// USD per million output tokens at the planned utilization.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Longest context that fits in memory at this batch.
    pub max_context_tokens: u64,
    /// Memory per device, bytes.
    pub memory_bytes: f64,
    /// Bits per weight of the format.
    pub bits_per_weight: f64,
    /// Whether the format is computed natively.
    pub native_format: bool,
    /// What a check of this configuration at the workload says (`Pass`, or `AtRisk` when a
    /// rule lies within its estimate's measured error of the limit); `Pass` until a replay
    /// under load judged it.
    pub verdict: rules::Status,
}

impl Candidate {
    /// The value minimised by `objective`.
    fn key(&self, objective: Objective, space: &Space<'_>) -> f64 {
        match objective {
            Objective::UsdPerMillionTokens => self.usd_per_million_output_tokens.unwrap_or(f64::MAX),
            Objective::UsdPerHour => self.usd_per_hour.unwrap_or(f64::MAX),
            Objective::Latency => self.e2e_s,
            Objective::Ttft => self.ttft_s,
            Objective::Tpot => self.tpot_s,
            Objective::Devices => self.devices as f64,
            Objective::BatchSize => -(space.batch_sizes[self.choice.batch] as f64),
            Objective::Context => -(self.max_context_tokens as f64),
            Objective::Quality => -self.bits_per_weight,
        }
    }

    /// The ranking, best first: the objective, then cost, devices and latency, and last the
    /// choice indices, so the ranking does not depend on how threads split the work (two
    /// candidates compare equal only when they are the same configuration). The one ordering
    /// of candidates: the top-k, the best per device, the re-rank and the tests all use it.
    fn order(&self, other: &Self, objective: Objective, space: &Space<'_>) -> std::cmp::Ordering {
        self.key(objective, space)
            .total_cmp(&other.key(objective, space))
            .then_with(|| {
                let (a, b) = (self.usd_per_million_output_tokens, other.usd_per_million_output_tokens);
                a.unwrap_or(f64::MAX).total_cmp(&b.unwrap_or(f64::MAX))
            })
            .then(self.devices.cmp(&other.devices))
            .then(self.e2e_s.total_cmp(&other.e2e_s))
            // A batch the load does not fill buys nothing: the smaller one first.
            .then(space.batch_sizes[self.choice.batch].cmp(&space.batch_sizes[other.choice.batch]))
            .then(self.choice.cmp(&other.choice))
    }

    /// Whether `self` ranks strictly before `other` by [`Self::order`].
    fn better(&self, other: &Self, objective: Objective, space: &Space<'_>) -> bool {
        self.order(other, objective, space).is_lt()
    }

    /// Cost for the frontier: USD per million output tokens; none without a price (such a
    /// configuration cannot be placed on a cost axis).
    fn cost(&self) -> Option<f64> {
        self.usd_per_million_output_tokens
    }

    /// Cheaper or equal and faster or equal, and strictly one of them; exact ties go to the
    /// lower choice indices, so one of two equal configurations is kept whatever the order.
    fn dominates(&self, other: &Self) -> bool {
        match (self.cost(), other.cost()) {
            (Some(a), Some(b)) => {
                a <= b && self.e2e_s <= other.e2e_s && (a < b || self.e2e_s < other.e2e_s || self.choice < other.choice)
            }
            _ => false,
        }
    }
}

/// Why configurations were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    /// The split does not suit the model (tensor degree not dividing the heads, more stages
    /// than layers) or exceeds the devices allowed per replica.
    InvalidLayout,
    /// The target needs more replicas than the search allows.
    TooManyReplicas,
    /// A requirement is not met.
    Rule(Rule),
}

impl Rejection {
    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidLayout => "invalid_layout",
            Self::TooManyReplicas => "too_many_replicas",
            Self::Rule(rule) => rule.as_str(),
        }
    }
}

/// Every rejection reason, in a fixed order (the counters' index).
const REJECTIONS: [Rejection; 20] = [
    Rejection::InvalidLayout,
    Rejection::TooManyReplicas,
    Rejection::Rule(Rule::Fits),
    Rejection::Rule(Rule::Ttft),
    Rejection::Rule(Rule::Tpot),
    Rejection::Rule(Rule::OutputThroughput),
    Rejection::Rule(Rule::RequestRate),
    Rejection::Rule(Rule::CostPerMillionTokens),
    Rejection::Rule(Rule::CostPerHour),
    Rejection::Rule(Rule::Context),
    Rejection::Rule(Rule::ModelContext),
    Rejection::Rule(Rule::Devices),
    Rejection::Rule(Rule::Parallelism),
    Rejection::Rule(Rule::Format),
    Rejection::Rule(Rule::Deadline),
    Rejection::Rule(Rule::Budget),
    Rejection::Rule(Rule::TtftP90),
    Rejection::Rule(Rule::TtftP99),
    Rejection::Rule(Rule::TpotP90),
    Rejection::Rule(Rule::TpotP99),
];

fn slot(r: Rejection) -> usize {
    REJECTIONS.iter().position(|x| *x == r).unwrap_or(0)
}

/// Search limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Devices one replica may use (tensor x pipeline).
    pub max_devices_per_replica: u64,
    /// Replicas the target may need.
    pub max_replicas: u64,
    /// Ranked configurations to return.
    pub keep: usize,
}

/// The search's answer.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Configurations evaluated.
    pub evaluated: u64,
    /// Feasible configurations found.
    pub feasible: u64,
    /// The best `keep`, best first.
    pub ranked: Vec<Candidate>,
    /// Non-dominated configurations on cost and latency, cheapest first.
    pub pareto: Vec<Candidate>,
    /// The best configuration of each device kind that has one, best first.
    pub best_per_hardware: Vec<Candidate>,
    /// Rejections by reason (reasons with none omitted).
    pub rejected: Vec<(Rejection, u64)>,
    /// False when the deadline stopped the search early.
    pub complete: bool,
}

/// Evaluates one configuration.
pub fn evaluate(
    space: &Space<'_>,
    workload: &Workload,
    req: &Requirements,
    limits: &Limits,
    choice: Choice,
) -> Result<Candidate, Rejection> {
    let model = space.models[choice.model];
    let hardware = space.hardware[choice.hardware];
    let (tensor, pipeline) = (space.tensor[choice.tensor], space.pipeline[choice.pipeline]);
    let format = space.formats[choice.format];
    let batch = space.batch_sizes[choice.batch];
    let profile = space.engines[choice.engine];
    let expert = space.expert_degree(&choice);
    let per_replica = u64::from(tensor) * u64::from(pipeline) * u64::from(expert);
    if !model.arch.heads.is_multiple_of(u64::from(tensor))
        || pipeline > model.arch.layers
        || per_replica > limits.max_devices_per_replica
        || !expert_fits(model.arch, expert)
    {
        return Err(Rejection::InvalidLayout);
    }
    let parallelism = Parallelism { tensor, pipeline, expert, data: 1 };
    let techniques = crate::engine::techniques::Techniques {
        speculation: space.speculation.get(choice.speculation).copied().flatten().map(|c| c.on(model, format)),
        kv_offload: hardware.kv_offload,
        ..Default::default()
    };
    let input = |batch: u64| InferenceInput {
        arch: model.arch,
        anatomy: model.anatomy,
        device: hardware.device,
        parallelism,
        weights: format.weights,
        kv_cache: format.kv_cache,
        batch: Batch::Fixed(batch),
        input_tokens: workload.input_tokens,
        output_tokens: workload.output_tokens,
        profile,
        usd_per_device_hour: hardware.usd_per_hour,
        explain: false,
        network: space.network_for(&choice),
        techniques,
    };
    let full = estimate(&input(batch));
    let replica_tokens_per_s = full.output_tokens_per_s;
    let out = workload.output_tokens.max(1) as f64;
    let target_tokens_per_s = workload.requests_per_s.map(|r| r * out);
    let for_rate = target_tokens_per_s
        .filter(|_| replica_tokens_per_s > 0.0)
        .map_or(1.0, |t| (t / replica_tokens_per_s).ceil().max(1.0));
    let for_concurrency = workload.concurrency.map_or(1.0, |c| (c as f64 / batch as f64).ceil().max(1.0));
    let replicas_f = for_rate.max(for_concurrency);
    if !replicas_f.is_finite() || replicas_f > limits.max_replicas as f64 {
        return Err(Rejection::TooManyReplicas);
    }
    let replicas = replicas_f as u64;
    let devices = replicas * per_replica;
    let capacity = replica_tokens_per_s * replicas as f64;
    let load = steady_state(workload, batch, replicas, &full, &|b| estimate(&input(b)));
    let e = &load.estimate;
    let served = load.output_tokens_per_s.min(capacity);
    let utilization = if capacity > 0.0 { served / capacity } else { 0.0 };
    let usd_per_hour =
        hardware.usd_per_hour.map(|fixed| (fixed + hardware.usd_per_hour_working * utilization) * devices as f64);
    let usd_per_million = usd_per_hour
        .filter(|_| served > 0.0)
        .map(|usd| usd / (served * 3600.0) * 1e6)
        // A vanishing served rate overflows the cost per token (found by fuzzing).
        .filter(|usd| usd.is_finite());
    let observed = Observed {
        memory_bytes: full.memory.per_device.total.0,
        capacity_bytes: full.memory.capacity.0,
        ttft_s: Some(load.ttft_s),
        tpot_s: Some(e.tpot.0),
        output_tokens_per_s: Some(capacity),
        requests_per_s: Some(capacity / out),
        usd_per_million_output_tokens: usd_per_million,
        usd_per_hour,
        context_tokens: workload.input_tokens + workload.output_tokens,
        max_context_in_memory: full.memory.memory_context_tokens,
        model_max_context: model.arch.max_context,
        devices,
        native_format: full.compute_type == format.weights.compute,
        tensor_parallel_over_pcie: false,
        days: None,
        total_usd: None,
        percentiles: None,
    };
    rules::admits(req, &observed).map_err(Rejection::Rule)?;
    Ok(Candidate {
        choice,
        replicas,
        devices,
        ttft_s: load.ttft_s,
        tpot_s: e.tpot.0,
        e2e_s: load.ttft_s - e.ttft.0 + e.e2e.0,
        capacity_output_tokens_per_s: capacity,
        utilization,
        served_output_tokens_per_s: served,
        usd_per_hour,
        usd_per_million_output_tokens: usd_per_million,
        max_context_tokens: full.memory.max_context_tokens,
        memory_bytes: full.memory.per_device.total.0,
        bits_per_weight: format.weights.bits.0,
        native_format: observed.native_format,
        verdict: rules::Status::Pass,
    })
}

/// Whether `expert` ranks suit the model: 1 always; more only for a mixture of experts whose
/// routed experts they divide (the rules `POST /v1/estimate/inference` applies to
/// `parallelism.expert`).
fn expert_fits(arch: &Architecture, expert: u32) -> bool {
    expert <= 1 || arch.moe.is_some_and(|moe| moe.experts.is_multiple_of(u64::from(expert)))
}

/// A replica at the load it carries, in closed form.
struct Load {
    /// The estimate at the batch the load fills.
    estimate: crate::engine::inference::InferenceEstimate,
    /// Output tokens per second served, all replicas.
    output_tokens_per_s: f64,
    /// Time to first token with queueing, s.
    ttft_s: f64,
}

/// The steady state of `replicas` replicas of batch `batch` under the workload, in closed form:
/// the sequences a replica actually holds are the clients it serves (a closed loop) or, by
/// Little's law, its arrival rate x the time a request spends in it (Poisson), at most the
/// batch; latency is re-estimated at that occupancy (the time to first token as the arrival
/// pattern shapes it, below). Without a target the batch is full. The simulator checks it (see the test
/// `the_closed_form_tracks_the_simulator`) and re-ranks the best configurations.
fn steady_state(
    workload: &Workload,
    batch: u64,
    replicas: u64,
    full: &crate::engine::inference::InferenceEstimate,
    at: &dyn Fn(u64) -> crate::engine::inference::InferenceEstimate,
) -> Load {
    let r = replicas.max(1) as f64;
    let out = workload.output_tokens.max(1) as f64;
    let occupancy = match (workload.concurrency, workload.requests_per_s) {
        (Some(c), _) => (c as f64 / r).min(batch as f64),
        (None, Some(rate)) => (rate / r * full.e2e.0).clamp(1.0, batch as f64),
        (None, None) => batch as f64,
    };
    let filled = (occupancy.ceil() as u64).clamp(1, batch);
    let estimate = if filled < batch { at(filled) } else { full.clone() };
    let e2e = estimate.e2e.0.max(1e-12);
    let (output_tokens_per_s, ttft_s) = match (workload.concurrency, workload.requests_per_s) {
        // A closed loop: each client has one request in flight at a time; with equal lengths
        // the clients move in step, so their prompts are prefilled together.
        (Some(_), _) => (occupancy * out / e2e * r, estimate.ttft.0),
        // Poisson: requests arrive one by one, so a prompt is prefilled alone beside one decode
        // step of the others, and waits for a slot only when the batch is nearly full (an
        // Erlang-C-like tail, rho^batch / (1 - rho), in units of the mean time between
        // completions).
        (None, Some(rate)) => {
            let alone = if filled > 1 { at(1).ttft.0 } else { estimate.ttft.0 };
            let rho = (rate / r * full.e2e.0 / batch as f64).min(0.99);
            let between = full.e2e.0 / batch as f64;
            (rate * out, alone + estimate.tpot.0 + between * rho.powf(batch as f64) / (1.0 - rho))
        }
        (None, None) => (full.output_tokens_per_s * r, estimate.ttft.0),
    };
    Load { ttft_s, output_tokens_per_s, estimate }
}

/// Re-evaluates a candidate under load with the continuous-batching simulator, the candidate's
/// batch as the scheduler's sequence limit.
///
/// With a target rate this is the one assessment a check makes
/// ([`crate::engine::serving::capacity::assess`]): the replicas are those the capacity within
/// the requirements' latency limits needs for the rate (one more if the replay at the rate
/// still does not hold), and the latencies, capacity and cost are those of the replay at the
/// rate. So a row checked with `POST /v1/check` at the plan's rate gives the same numbers.
/// With a concurrency target (a closed loop) or none (offline), one replica's replay under
/// that pattern (`requests` requests). Returns the rule the replay breaks, if any.
pub fn simulate_candidate(
    space: &Space<'_>,
    workload: &Workload,
    req: &Requirements,
    bands: &rules::Bands,
    c: &Candidate,
    requests: u64,
) -> Result<Candidate, Rejection> {
    use crate::engine::serving::{self, Arrival, Lengths, capacity};
    let choice = c.choice;
    let (model, hardware, format) =
        (space.models[choice.model], space.hardware[choice.hardware], space.formats[choice.format]);
    let batch = space.batch_sizes[choice.batch];
    let profile = capacity::with_sequence_limit(space.engines[choice.engine], Some(batch));
    let (tensor, pipeline) = (space.tensor[choice.tensor], space.pipeline[choice.pipeline]);
    let expert = space.expert_degree(&choice);
    let per_replica = u64::from(tensor) * u64::from(pipeline) * u64::from(expert);
    let input = |replicas: u64| InferenceInput {
        arch: model.arch,
        anatomy: model.anatomy,
        device: hardware.device,
        parallelism: Parallelism { tensor, pipeline, expert, data: u32::try_from(replicas).unwrap_or(u32::MAX) },
        weights: format.weights,
        kv_cache: format.kv_cache,
        batch: Batch::Fixed(batch),
        input_tokens: workload.input_tokens,
        output_tokens: workload.output_tokens,
        profile: &profile,
        usd_per_device_hour: hardware.usd_per_hour,
        explain: false,
        network: space.network_for(&choice),
        techniques: crate::engine::techniques::Techniques {
            speculation: space.speculation.get(choice.speculation).copied().flatten().map(|s| s.on(model, format)),
            kv_offload: hardware.kv_offload,
            ..Default::default()
        },
    };
    let out = workload.output_tokens.max(1) as f64;
    let base = Observed {
        memory_bytes: c.memory_bytes,
        capacity_bytes: f64::MAX,
        context_tokens: workload.input_tokens + workload.output_tokens,
        max_context_in_memory: c.max_context_tokens,
        model_max_context: model.arch.max_context,
        native_format: c.native_format,
        tensor_parallel_over_pcie: tensor > 1
            && crate::engine::parallelism::link(hardware.device, tensor.max(pipeline), None).over_pcie,
        ..Observed::default()
    };
    let cost = |devices: u64, utilization: f64, served: f64| {
        let usd_per_hour =
            hardware.usd_per_hour.map(|fixed| (fixed + hardware.usd_per_hour_working * utilization) * devices as f64);
        let per_million =
            usd_per_hour.filter(|_| served > 0.0).map(|usd| usd / (served * 3600.0) * 1e6).filter(|u| u.is_finite());
        (usd_per_hour, per_million)
    };
    if let (None, Some(rate)) = (workload.concurrency, workload.requests_per_s) {
        let req = Requirements { forecast_requests_per_s: Some(rate), ..*req };
        let slo = req.slo();
        let lengths = capacity::fixed_lengths(workload.input_tokens, workload.output_tokens);
        let one = capacity::capacity(&input(1), &lengths, Some(&slo));
        let needed = if one.requests_per_s > 0.0 { (rate / one.requests_per_s * (1.0 - 1e-9)).ceil() } else { 1.0 };
        if !needed.is_finite() || needed > MAX_REPLICAS_UNDER_LOAD as f64 {
            return Err(Rejection::TooManyReplicas);
        }
        let mut replicas = (needed as u64).max(1);
        let at = |replicas: u64| {
            capacity::assess_with(&input(replicas), &lengths, Some(&slo), Some(rate), one.scaled(replicas))
        };
        let mut load = at(replicas);
        if !load.holds && one.requests_per_s > 0.0 && replicas < MAX_REPLICAS_UNDER_LOAD {
            replicas += 1;
            load = at(replicas);
        }
        let devices = replicas * per_replica;
        let capacity_tokens = load.capacity.requests_per_s * out;
        let served = load.replay.output_tokens_per_s;
        // The share of the capacity the replay kept the devices working: what they served, as
        // in the other paths and in the API comparison (one figure for self-hosting).
        let utilization = if capacity_tokens > 0.0 { (served / capacity_tokens).min(1.0) } else { 0.0 };
        let (usd_per_hour, usd_per_million) = cost(devices, utilization, served);
        let observed = Observed { devices, usd_per_hour, usd_per_million_output_tokens: usd_per_million, ..base }
            .under_load(&load, workload.output_tokens);
        rules::admits(&req, &observed).map_err(Rejection::Rule)?;
        let verdict = rules::overall(&rules::judge(&req, &observed, bands));
        return Ok(Candidate {
            verdict,
            replicas,
            devices,
            ttft_s: load.replay.ttft.mean,
            tpot_s: load.replay.tpot.mean,
            e2e_s: load.replay.e2e.mean,
            capacity_output_tokens_per_s: capacity_tokens,
            utilization,
            served_output_tokens_per_s: served,
            usd_per_hour,
            usd_per_million_output_tokens: usd_per_million,
            ..*c
        });
    }
    let replicas = c.replicas.max(1);
    let arrival = match workload.concurrency {
        Some(clients) => Arrival::Concurrency { clients: clients.div_ceil(replicas).max(1) },
        None => Arrival::Offline,
    };
    let replay = serving::simulate_bounded(
        &input(1),
        &serving::Workload {
            arrival,
            input_tokens: Lengths::Fixed(workload.input_tokens),
            output_tokens: Lengths::Fixed(workload.output_tokens.max(1)),
            requests,
            prefix_cache_hit_rate: 0.0,
            prefix: None,
            seed: 0,
        },
        // A bounded replay (about 15 ms at most): the planner replays up to 50 of them.
        100_000,
    );
    let served = replay.output_tokens_per_s * replicas as f64;
    let capacity = c.capacity_output_tokens_per_s;
    let utilization = if capacity > 0.0 { (served / capacity).min(1.0) } else { 0.0 };
    let usd_per_hour = c.usd_per_hour;
    let usd_per_million =
        usd_per_hour.filter(|_| served > 0.0).map(|usd| usd / (served * 3600.0) * 1e6).filter(|u| u.is_finite());
    let observed = Observed {
        ttft_s: Some(replay.ttft.mean),
        tpot_s: Some(replay.tpot.mean),
        output_tokens_per_s: Some(capacity),
        requests_per_s: Some(capacity / out),
        usd_per_million_output_tokens: usd_per_million,
        usd_per_hour,
        devices: c.devices,
        percentiles: Some(rules::LoadPercentiles {
            ttft_p90: replay.ttft.p90,
            ttft_p99: replay.ttft.p99,
            tpot_p90: replay.tpot.p90,
            tpot_p99: replay.tpot.p99,
        }),
        ..base
    };
    rules::admits(req, &observed).map_err(Rejection::Rule)?;
    Ok(Candidate {
        verdict: rules::overall(&rules::judge(req, &observed, bands)),
        ttft_s: replay.ttft.mean,
        tpot_s: replay.tpot.mean,
        e2e_s: replay.e2e.mean,
        utilization,
        served_output_tokens_per_s: served,
        usd_per_million_output_tokens: usd_per_million,
        ..*c
    })
}

/// Most replicas a replay under load may scale a candidate to.
const MAX_REPLICAS_UNDER_LOAD: u64 = 4096;

/// Replays each ranked candidate ([`simulate_candidate`]) and ranks them again; those a replay
/// shows breaking a requirement go last, with their reason.
pub fn rerank(
    space: &Space<'_>,
    workload: &Workload,
    req: &Requirements,
    bands: &[rules::Bands],
    objective: Objective,
    ranked: &[Candidate],
    requests: u64,
) -> (Vec<Candidate>, Vec<(Candidate, Rejection)>) {
    let replayed: Vec<(Candidate, Result<Candidate, Rejection>)> = ranked
        .par_iter()
        .map(|c| {
            let band = bands.get(c.choice.hardware).copied().unwrap_or_default();
            (*c, simulate_candidate(space, workload, req, &band, c, requests))
        })
        .collect();
    let mut kept: Vec<Candidate> = Vec::new();
    let mut broken = Vec::new();
    for (c, r) in replayed {
        match r {
            Ok(replayed) => kept.push(replayed),
            Err(rule) => broken.push((c, rule)),
        }
    }
    // Those a check passes outright first, then those within an estimate's error of a limit.
    kept.sort_by(|a, b| a.verdict.cmp(&b.verdict).then_with(|| a.order(b, objective, space)));
    (kept, broken)
}

/// Per-thread results, bounded in size.
#[derive(Debug, Clone)]
struct Accumulator {
    evaluated: u64,
    feasible: u64,
    rejected: [u64; REJECTIONS.len()],
    ranked: Vec<Candidate>,
    pareto: Vec<Candidate>,
    per_hardware: Vec<Option<Candidate>>,
    stopped: bool,
}

impl Accumulator {
    fn new(hardware: usize, keep: usize) -> Self {
        Self {
            evaluated: 0,
            feasible: 0,
            rejected: [0; REJECTIONS.len()],
            ranked: Vec::with_capacity(keep + 1),
            pareto: Vec::new(),
            per_hardware: vec![None; hardware],
            stopped: false,
        }
    }

    fn add(&mut self, c: Candidate, objective: Objective, space: &Space<'_>, keep: usize) {
        self.feasible += 1;
        // Ranked: a sorted vector of at most `keep`.
        let ranked_already = self.ranked.iter().any(|r| r.choice == c.choice);
        if !ranked_already
            && (self.ranked.len() < keep || self.ranked.last().is_some_and(|worst| c.better(worst, objective, space)))
        {
            let at = self.ranked.iter().position(|r| c.better(r, objective, space)).unwrap_or(self.ranked.len());
            self.ranked.insert(at, c);
            self.ranked.truncate(keep);
        }
        // Pareto: keep if priced, nothing dominates it and it is not a tie; drop what it dominates.
        if c.cost().is_some() && !self.pareto.iter().any(|p| p.choice == c.choice || p.dominates(&c)) {
            self.pareto.retain(|p| !c.dominates(p));
            self.pareto.push(c);
        }
        let slot = &mut self.per_hardware[c.choice.hardware];
        if slot.is_none_or(|best| c.better(&best, objective, space)) {
            *slot = Some(c);
        }
    }

    fn merge(mut self, other: Self, objective: Objective, space: &Space<'_>, keep: usize) -> Self {
        self.evaluated += other.evaluated;
        self.stopped |= other.stopped;
        for (a, b) in self.rejected.iter_mut().zip(other.rejected) {
            *a += b;
        }
        let feasible = self.feasible + other.feasible;
        for c in other.ranked.into_iter().chain(other.pareto) {
            self.add(c, objective, space, keep);
        }
        for (i, c) in other.per_hardware.into_iter().enumerate() {
            if let Some(c) = c
                && self.per_hardware[i].is_none_or(|best| c.better(&best, objective, space))
            {
                self.per_hardware[i] = Some(c);
            }
        }
        self.feasible = feasible;
        self
    }
}

/// Configurations per unit of parallel work; the budget is checked between units.
const CHUNK: usize = 4096;

/// Searches `space` in parallel. The caller bounds `space.size()`, and gives the time budget as
/// `out_of_time`, asked between units of work: the planner itself never reads the clock, so the
/// same space gives the same answer whenever the budget allows all of it.
pub fn search(
    space: &Space<'_>,
    workload: &Workload,
    req: &Requirements,
    objective: Objective,
    limits: &Limits,
    out_of_time: &(dyn Fn() -> bool + Sync),
) -> Outcome {
    let size = usize::try_from(space.size()).unwrap_or(usize::MAX);
    let keep = limits.keep.max(1);
    let hardware = space.hardware.len();
    let chunks = size.div_ceil(CHUNK);
    let total = (0..chunks)
        .into_par_iter()
        .fold(
            || Accumulator::new(hardware, keep),
            |mut acc, chunk| {
                if out_of_time() {
                    acc.stopped = true;
                    return acc;
                }
                let end = ((chunk + 1) * CHUNK).min(size);
                for index in chunk * CHUNK..end {
                    acc.evaluated += 1;
                    match evaluate(space, workload, req, limits, space.decode(index)) {
                        Ok(c) => acc.add(c, objective, space, keep),
                        Err(r) => acc.rejected[slot(r)] += 1,
                    }
                }
                acc
            },
        )
        .reduce(|| Accumulator::new(hardware, keep), |a, b| a.merge(b, objective, space, keep));
    let mut pareto = total.pareto;
    pareto.sort_by(|a, b| {
        a.cost()
            .unwrap_or(f64::MAX)
            .total_cmp(&b.cost().unwrap_or(f64::MAX))
            .then(a.e2e_s.total_cmp(&b.e2e_s))
            .then(a.choice.cmp(&b.choice))
    });
    let mut best_per_hardware: Vec<Candidate> = total.per_hardware.into_iter().flatten().collect();
    best_per_hardware.sort_by(|a, b| a.order(b, objective, space));
    Outcome {
        evaluated: total.evaluated,
        feasible: total.feasible,
        ranked: total.ranked,
        pareto,
        best_per_hardware,
        rejected: REJECTIONS.iter().zip(total.rejected).filter(|(_, n)| *n > 0).map(|(r, n)| (*r, n)).collect(),
        complete: !total.stopped,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::catalog::Catalog;

    fn cheapest(catalog: &Catalog, hardware: &[usize], workload: &Workload) -> Option<f64> {
        let model = catalog.model("llama-3.1-8b").unwrap();
        let formats: Vec<Format> =
            ["bf16", "fp8", "int4"].iter().map(|id| catalog.format(id).unwrap().to_engine()).collect();
        let devices = catalog.devices();
        let space = Space {
            models: vec![ModelChoice { arch: &model.architecture, anatomy: &model.anatomy }],
            hardware: hardware.iter().map(|&i| HardwareChoice::from(&devices[i])).collect(),
            tensor: vec![1, 2],
            pipeline: vec![1],
            formats: formats.iter().map(|f| FormatChoice { weights: f, kv_cache: &formats[0] }).collect(),
            batch_sizes: vec![1, 16, 128],
            engines: vec![&catalog.engine("vllm").unwrap().profile],
            speculation: Vec::new(),
            expert: Vec::new(),
            network: None,
        };
        let req = Requirements { max_tpot_s: Some(0.05), ..Requirements::default() };
        let limits = Limits { max_devices_per_replica: 8, max_replicas: 4096, keep: 3 };
        let outcome = search(&space, workload, &req, Objective::UsdPerMillionTokens, &limits, &|| false);
        assert!(outcome.complete);
        outcome.ranked.first().and_then(|c| c.usd_per_million_output_tokens)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Adding device kinds to the search never makes the best cost worse.
        #[test]
        fn more_candidates_never_make_the_best_cost_worse(
            base in prop::collection::btree_set(0usize..77, 1..6),
            extra in prop::collection::btree_set(0usize..77, 1..6),
            rate in 0.1f64..50.0,
        ) {
            let catalog = Catalog::embedded().unwrap();
            let n = catalog.devices().len();
            let base: Vec<usize> = base.into_iter().filter(|&i| i < n).collect();
            let all: Vec<usize> = base.iter().copied().chain(extra.into_iter().filter(|&i| i < n)).collect();
            let workload = Workload { input_tokens: 512, output_tokens: 128, requests_per_s: Some(rate), concurrency: None };
            let before = cheapest(&catalog, &base, &workload);
            let after = cheapest(&catalog, &all, &workload);
            match (before, after) {
                (Some(b), Some(a)) => prop_assert!(a <= b, "best cost rose from {b} to {a}"),
                (Some(b), None) => prop_assert!(false, "a feasible best ({b}) disappeared"),
                _ => {}
            }
        }
    }

    #[test]
    fn the_parallel_search_ranks_like_a_sequential_scan() {
        let catalog = Catalog::embedded().unwrap();
        let model = catalog.model("llama-3.1-70b").unwrap();
        let format = catalog.format("fp8").unwrap().to_engine();
        let space = Space {
            models: vec![ModelChoice { arch: &model.architecture, anatomy: &model.anatomy }],
            hardware: catalog.devices().iter().map(HardwareChoice::from).collect(),
            tensor: vec![1, 2, 4, 8],
            pipeline: vec![1, 2],
            formats: vec![FormatChoice { weights: &format, kv_cache: &format }],
            batch_sizes: vec![1, 4, 16, 64, 256],
            engines: vec![&catalog.engine("generic").unwrap().profile],
            speculation: Vec::new(),
            expert: Vec::new(),
            network: None,
        };
        let workload =
            Workload { input_tokens: 1000, output_tokens: 200, requests_per_s: Some(10.0), concurrency: None };
        let req = Requirements { max_ttft_s: Some(2.0), max_tpot_s: Some(0.05), ..Requirements::default() };
        let limits = Limits { max_devices_per_replica: 8, max_replicas: 4096, keep: 5 };
        let outcome = search(&space, &workload, &req, Objective::UsdPerMillionTokens, &limits, &|| false);
        let size = usize::try_from(space.size()).unwrap();
        assert_eq!(outcome.evaluated as usize, size);
        let mut all: Vec<Candidate> =
            (0..size).filter_map(|i| evaluate(&space, &workload, &req, &limits, space.decode(i)).ok()).collect();
        assert_eq!(outcome.feasible as usize, all.len());
        all.sort_by(|a, b| a.order(b, Objective::UsdPerMillionTokens, &space));
        let expected: Vec<Choice> = all.iter().take(5).map(|c| c.choice).collect();
        let got: Vec<Choice> = outcome.ranked.iter().map(|c| c.choice).collect();
        assert_eq!(got, expected);
        // Every frontier point is undominated among all feasible configurations.
        for p in &outcome.pareto {
            assert!(!all.iter().any(|c| c.dominates(p)), "{p:?} is dominated");
        }
    }

    /// The closed-form steady state that ranks the whole space, against the simulator that
    /// re-ranks the best: the served rate (hence the cost per token) and the time to first token
    /// over a spread of models, devices, batches and loads. Prints every pair; the bounds are
    /// the measured errors with a little room.
    #[test]
    fn the_closed_form_tracks_the_simulator() {
        let catalog = Catalog::embedded().unwrap();
        let fp8 = catalog.format("fp8").unwrap().to_engine();
        let models = ["llama-3.1-8b", "qwen2.5-32b", "llama-3.1-70b"];
        let mut served_errors = Vec::new();
        let mut ttft_errors = Vec::new();
        for model_id in models {
            let model = catalog.model(model_id).unwrap();
            let space = Space {
                models: vec![ModelChoice { arch: &model.architecture, anatomy: &model.anatomy }],
                hardware: ["nvidia-h100-sxm-80gb", "nvidia-a100-sxm4-80gb"]
                    .iter()
                    .map(|id| HardwareChoice::from(catalog.device(id).unwrap()))
                    .collect(),
                tensor: vec![1, 2, 4],
                pipeline: vec![1],
                formats: vec![FormatChoice { weights: &fp8, kv_cache: &fp8 }],
                batch_sizes: vec![8, 64, 256],
                engines: vec![&catalog.engine("vllm").unwrap().profile],
                speculation: Vec::new(),
                expert: Vec::new(),
                network: None,
            };
            let limits = Limits { max_devices_per_replica: 8, max_replicas: 64, keep: 5 };
            let req = Requirements::default();
            for workload in [
                Workload { input_tokens: 1000, output_tokens: 200, requests_per_s: Some(2.0), concurrency: None },
                Workload { input_tokens: 500, output_tokens: 300, requests_per_s: None, concurrency: Some(16) },
                Workload { input_tokens: 2000, output_tokens: 100, requests_per_s: Some(8.0), concurrency: None },
            ] {
                for i in 0..usize::try_from(space.size()).unwrap() {
                    let Ok(closed) = evaluate(&space, &workload, &req, &limits, space.decode(i)) else { continue };
                    let Ok(replayed) =
                        simulate_candidate(&space, &workload, &req, &rules::Bands::default(), &closed, 300)
                    else {
                        continue;
                    };
                    let (Some(a), Some(b)) =
                        (closed.usd_per_million_output_tokens, replayed.usd_per_million_output_tokens)
                    else {
                        continue;
                    };
                    println!(
                        "{model_id:<14} {:?} batch {:>3}: $/M closed {a:.3} replay {b:.3}; ttft closed {:.3} replay {:.3}",
                        workload.requests_per_s.map_or(workload.concurrency.unwrap_or(0) as f64, |r| r),
                        space.batch_sizes[closed.choice.batch],
                        closed.ttft_s,
                        replayed.ttft_s
                    );
                    served_errors.push((a / b - 1.0).abs());
                    ttft_errors.push((closed.ttft_s / replayed.ttft_s - 1.0).abs());
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (served, ttft) = (median(&mut served_errors), median(&mut ttft_errors));
        println!("median error: cost per token {served:.3}, ttft {ttft:.3} over {} pairs", served_errors.len());
        assert!(served_errors.len() >= 20);
        assert!(served <= 0.08, "cost per token: closed form {served:.3} from the replay");
        assert!(ttft <= 0.15, "ttft: closed form {ttft:.3} from the replay");
    }

    /// An expert layout that leaves the node exchanges tokens over the plan's network, and one
    /// inside the node does not: on 8-GPU H100 nodes, 8 expert ranks of gpt-oss-120b decode at
    /// the same speed over 25 GbE as over InfiniBand XDR, 16 ranks decode slower over 25 GbE.
    /// A dense model takes no expert ranks.
    #[test]
    fn expert_layouts_beyond_the_node_use_the_network() {
        let catalog = Catalog::embedded().unwrap();
        let moe = catalog.model("gpt-oss-120b").unwrap();
        let dense = catalog.model("llama-3.1-8b").unwrap();
        let fp8 = catalog.format("fp8").unwrap().to_engine();
        let h100 = catalog.device("nvidia-h100-sxm-80gb").unwrap();
        let network = |id: &str| catalog.network(id).unwrap().network;
        let space = |network| Space {
            models: vec![
                ModelChoice { arch: &moe.architecture, anatomy: &moe.anatomy },
                ModelChoice { arch: &dense.architecture, anatomy: &dense.anatomy },
            ],
            hardware: vec![HardwareChoice::from(h100)],
            tensor: vec![1],
            pipeline: vec![1],
            formats: vec![FormatChoice { weights: &fp8, kv_cache: &fp8 }],
            batch_sizes: vec![64],
            engines: vec![&catalog.engine("vllm").unwrap().profile],
            speculation: Vec::new(),
            expert: vec![1, 8, 16],
            network: Some(network),
        };
        let (fast, slow) = (space(network("infiniband-xdr")), space(network("ethernet-25g")));
        assert_eq!(fast.size(), 6);
        let workload = Workload { input_tokens: 1024, output_tokens: 256, requests_per_s: None, concurrency: None };
        let limits = Limits { max_devices_per_replica: 16, max_replicas: 4096, keep: 3 };
        let req = Requirements::default();
        let tpot = |space: &Space<'_>, model: usize, expert: usize| {
            let choice = Choice { model, expert, ..Choice::default() };
            evaluate(space, &workload, &req, &limits, choice).map(|c| (c.tpot_s, c.devices))
        };
        let (inside_fast, devices) = tpot(&fast, 0, 1).unwrap();
        assert_eq!(devices, 8);
        assert_eq!(tpot(&slow, 0, 1).unwrap().0, inside_fast);
        let (beyond_fast, devices) = tpot(&fast, 0, 2).unwrap();
        assert_eq!(devices, 16);
        let beyond_slow = tpot(&slow, 0, 2).unwrap().0;
        assert!(beyond_slow > beyond_fast * 1.05, "25 GbE {beyond_slow} s against XDR {beyond_fast} s");
        assert_eq!(tpot(&fast, 1, 1), Err(Rejection::InvalidLayout));
        assert_eq!(tpot(&fast, 1, 0).map(|(_, d)| d), Ok(1));
    }
}
