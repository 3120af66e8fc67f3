//! `POST /v1/check`: does a deployment plan meet its requirements?
//!
//! A plan is an inference or a training request (exactly one of the two) plus requirements. The
//! answer has one entry per rule with the estimated value, the limit, the margin and a sentence,
//! and an overall verdict; an estimate within its family's measured error of a limit is
//! `at_risk`. A layout the model cannot take (tensor degree not dividing the heads, devices not
//! the product of the degrees) is a failed `parallelism` rule, not an error: a check is asked
//! about exactly such plans. `hwcost check PLAN` runs the same code.

use serde::Serialize;
use utoipa::ToSchema;

use super::disaggregation::DisaggregationAnswer;
use super::inference::InferenceResponse;
use super::training::TrainingResponse;
use super::{Context, finite};
use crate::engine::explain::Warning;
use crate::engine::inference::{Batch, InferenceInput};
use crate::engine::serving::capacity;
use crate::engine::serving::disaggregated::DisaggregatedEstimate;
use crate::engine::{inference, training};
use crate::plan::rules::{self, Bands, Observed, Outcome, Requirements, Rule, Status};
use crate::scenario::check::{CheckRequest, CheckScenario};
use crate::scenario::inference::InferenceScenario;
use crate::scenario::layout::LayoutError;
use crate::scenario::training::TrainingScenario;
use crate::scenario::{Assumption, Error};

/// One rule's verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleBody {
    /// Rule name: fits, ttft, tpot, output_throughput, request_rate, cost_per_million_tokens,
    /// cost_per_hour, context, model_context, devices, parallelism, format, deadline, budget,
    /// and under load ttft_p90, ttft_p99, tpot_p90, tpot_p99.
    pub rule: &'static str,
    /// `pass`, `at_risk`, `unknown` (no value to judge: a cost rule without a price) or `fail`.
    pub status: &'static str,
    /// The estimated value, in `unit` (null when `unknown`).
    pub value: Option<f64>,
    /// The limit, in `unit`.
    pub limit: f64,
    /// Headroom as a fraction of the limit; negative when missed.
    pub margin: f64,
    /// Measured relative error of the estimate behind the value (median, as a fraction).
    pub error_band: f64,
    /// Unit of `value` and `limit`.
    pub unit: &'static str,
    /// A sentence.
    pub message: String,
}

impl From<Outcome> for RuleBody {
    fn from(o: Outcome) -> Self {
        Self {
            rule: o.rule.as_str(),
            status: o.status.as_str(),
            value: (o.status != Status::Unknown).then(|| finite(o.value)),
            limit: finite(o.limit),
            margin: finite(o.margin),
            error_band: finite(o.band),
            unit: o.unit,
            message: o.message,
        }
    }
}

/// The check's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// `pass` (every rule met with margin), `at_risk` (some rule within the estimate's error of
    /// its limit), `unknown` (no rule fails but some cannot be judged) or `fail`.
    pub verdict: &'static str,
    /// One sentence.
    pub summary: String,
    /// Every rule, failed first.
    pub rules: Vec<RuleBody>,
    /// The inference estimate the rules were judged on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<Box<InferenceResponse>>,
    /// The training estimate the rules were judged on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<Box<TrainingResponse>>,
    /// The deployment under load (inference): the capacity and the replay the latency and
    /// rate rules were judged on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub under_load: Option<UnderLoadBody>,
    /// The defaults applied to the plan (those of its estimate).
    pub assumptions: Vec<Assumption>,
}

fn band(entries: &[super::error_band::BandEntry], output: &str) -> f64 {
    entries.iter().find(|e| e.output == output).map_or(0.0, |e| e.median_ape)
}

fn has_warning(warnings: &[Warning], code: &str) -> bool {
    warnings.iter().any(|w| w.code == code)
}

fn layout_failure(error: &LayoutError) -> CheckResponse {
    respond(
        vec![Outcome {
            rule: Rule::Parallelism,
            status: Status::Fail,
            value: 0.0,
            limit: 1.0,
            margin: -1.0,
            band: 0.0,
            unit: "valid",
            message: format!("invalid layout: {}", error.detail),
        }],
        None,
        None,
    )
}

fn respond(
    mut outcomes: Vec<Outcome>,
    inference: Option<InferenceResponse>,
    training: Option<TrainingResponse>,
) -> CheckResponse {
    outcomes.sort_by_key(|o| std::cmp::Reverse(o.status));
    let verdict = rules::overall(&outcomes);
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    let summary = match verdict {
        Status::Pass => format!("all {} rules pass with margin", outcomes.len()),
        Status::AtRisk => format!(
            "no rule fails, but {} of {} are within the estimate's measured error of their limit",
            count(Status::AtRisk),
            outcomes.len()
        ),
        Status::Unknown => format!(
            "no rule fails, but {} of {} cannot be judged without a price",
            count(Status::Unknown),
            outcomes.len()
        ),
        Status::Fail => format!("{} of {} rules fail", count(Status::Fail), outcomes.len()),
    };
    let assumptions = match (&inference, &training) {
        (Some(i), _) => i.assumptions.clone(),
        (_, Some(t)) => t.assumptions.clone(),
        _ => Vec::new(),
    };
    CheckResponse {
        verdict: verdict.as_str(),
        summary,
        rules: outcomes.into_iter().map(RuleBody::from).collect(),
        inference: inference.map(Box::new),
        training: training.map(Box::new),
        under_load: None,
        assumptions,
    }
}

/// Runs a check. A layout the model cannot take is a failed rule, not an error.
pub fn check(ctx: &Context, request: &CheckRequest) -> Result<CheckResponse, Error> {
    let (plan, requirements) = CheckScenario::parse(&ctx.catalog, request)?;
    Ok(match plan {
        CheckScenario::Inference(scenario) => check_inference(ctx, &scenario, &requirements),
        CheckScenario::Training(scenario) => check_training(ctx, &scenario, &requirements),
        CheckScenario::InvalidLayout(e) => layout_failure(&e),
        CheckScenario::Disaggregated(scenario, pools) => check_disaggregated(ctx, &scenario, &pools, &requirements).0,
    })
}

/// Judges a disaggregated deployment against `req`: memory and format per the decode pool's
/// static estimate, devices and cost over both pools, latency and rate rules from
/// [`assess_disaggregated`]. The planner's disaggregated rows are judged by this call, so a
/// row's verdict is the check's. Returns the pair's replay at the judged rate too.
pub fn check_disaggregated(
    ctx: &Context,
    scenario: &InferenceScenario,
    pools: &crate::scenario::disaggregation::DisaggregatedScenario,
    req: &Requirements,
) -> (CheckResponse, DisaggregatedEstimate) {
    let (load, replay) = assess_disaggregated(scenario, pools, req);
    let decode = InferenceScenario { batch: scenario.batch, ..pools.decode.clone() };
    let whole = Whole { devices: pools.devices(), usd_per_hour: pools.usd_per_hour() };
    let mut response = check_inference_under(ctx, &decode, req, load, Some(whole));
    if let Some(i) = response.inference.as_mut() {
        i.assumptions.extend(scenario.assumptions.0.iter().cloned());
    }
    if let Some(u) = response.under_load.as_mut().filter(|u| u.completed > 0) {
        u.disaggregation = Some(DisaggregationAnswer::of(pools, &replay));
    }
    (response, replay)
}

/// What a check counts over a whole deployment when the scenario judged is one part of it
/// (a disaggregated deployment's decode pool): its devices and price per hour.
#[derive(Debug, Clone, Copy)]
struct Whole {
    devices: u64,
    usd_per_hour: Option<f64>,
}

/// The assessment under load of a disaggregated deployment: the pair's capacity within the
/// requirements' latency limits ([`crate::engine::serving::disaggregated::capacity`], the one
/// `POST /v1/estimate/serving` reports) and its replay at their load rate; the plan's batch
/// is each pool's limit on concurrent sequences.
pub fn assess_disaggregated(
    scenario: &InferenceScenario,
    pools: &crate::scenario::disaggregation::DisaggregatedScenario,
    req: &Requirements,
) -> (capacity::Assessment, DisaggregatedEstimate) {
    use crate::engine::serving::disaggregated;
    let limit = match scenario.batch {
        Batch::Fixed(b) => Some(b),
        Batch::Max => None,
    };
    let (prefill_profile, decode_profile) = (
        pools.prefill.as_ref().map(|s| capacity::with_sequence_limit(&s.profile, limit)),
        capacity::with_sequence_limit(&pools.decode.profile, limit),
    );
    let mut p = pools.pools();
    p.prefill =
        p.prefill.zip(prefill_profile.as_ref()).map(|(i, profile)| InferenceInput { profile, explain: false, ..i });
    p.decode = InferenceInput { profile: &decode_profile, explain: false, ..p.decode };
    let workload = capacity::fixed_lengths(scenario.input_tokens, scenario.output_tokens);
    let slo = req.slo();
    let found = disaggregated::capacity(&p, &workload, Some(&slo));
    let (holds, replay) = match req.load_rate() {
        Some(rate) => disaggregated::judge(&p, &workload, Some(&slo), rate, found.offline_requests_per_s),
        None => {
            let r = disaggregated::replay_at(&p, &workload, None);
            (capacity::holds(&r.serving, Some(&slo)), r)
        }
    };
    (capacity::Assessment { capacity: found, replay: replay.serving.clone(), holds }, replay)
}

/// Judges an inference scenario against `req`. Memory, context, format and cost per hour come
/// from the static estimate (in `inference`: one full batch arriving at once, kept as the
/// worst case); latency, request-rate and throughput rules from the one assessment under load
/// that the planner and `POST /v1/estimate/serving` also read ([`assess`]): the capacity within
/// the latency limits, and the continuous-batching replay at the forecast rate, with the
/// plan's `batch_size` as the engine's limit on concurrent sequences.
pub fn check_inference(ctx: &Context, scenario: &InferenceScenario, req: &Requirements) -> CheckResponse {
    check_inference_under(ctx, scenario, req, assess(scenario, req), None)
}

/// [`check_inference`] with the assessment under load given (a disaggregated deployment's).
fn check_inference_under(
    ctx: &Context,
    scenario: &InferenceScenario,
    req: &Requirements,
    load: capacity::Assessment,
    whole: Option<Whole>,
) -> CheckResponse {
    let e = inference::estimate(&scenario.input());
    let (input, output) = (scenario.input_tokens, scenario.output_tokens);
    let observed = Observed {
        memory_bytes: e.memory.per_device.total.0,
        capacity_bytes: e.memory.capacity.0,
        usd_per_million_output_tokens: e.usd_per_million_output_tokens,
        usd_per_hour: e.usd_per_hour,
        context_tokens: input + output,
        max_context_in_memory: e.memory.memory_context_tokens,
        model_max_context: scenario.model.architecture.max_context,
        devices: scenario.parallelism.devices(),
        native_format: e.compute_type == scenario.weights.compute,
        tensor_parallel_over_pcie: has_warning(&e.warnings, "tensor-parallel-over-pcie"),
        ..Observed::default()
    };
    let observed = match whole {
        // The pair's cost per token at its capacity: a disaggregated deployment has no static
        // full batch of its own.
        Some(w) => Observed {
            devices: w.devices,
            usd_per_hour: w.usd_per_hour,
            usd_per_million_output_tokens: w.usd_per_hour.and_then(|usd| {
                let tokens_per_s = load.capacity.requests_per_s * output as f64;
                (tokens_per_s > 0.0).then(|| usd / (tokens_per_s * 3600.0) * 1e6)
            }),
            ..observed
        },
        None => observed,
    }
    .under_load(&load, output);
    // Cost per token at the load judged (the plan prices a row the same way), else at the
    // static full batch.
    let served = load.replay.output_tokens_per_s;
    let observed = match (req.load_rate(), observed.usd_per_hour) {
        (Some(_), Some(usd)) if served > 0.0 => Observed {
            usd_per_million_output_tokens: Some(usd / (served * 3600.0) * 1e6).filter(|u| u.is_finite()),
            ..observed
        },
        _ => observed,
    };
    let mut response = InferenceResponse::from_estimate(ctx, scenario, e);
    let bands = inference_bands(&response.error_band);
    let rate = req.load_rate();
    response.assumptions.push(Assumption {
        field: "requirements".into(),
        value: match rate {
            Some(r) => format!("{r} requests/s"),
            None => "one request on an idle server".into(),
        },
        reason: "latency, request-rate and throughput rules are judged under continuous batching (the replay and capacity in `under_load`, batch_size as the engine's limit on concurrent sequences); `inference` is the static estimate of one full batch arriving at once",
    });
    let mut outcomes = rules::judge(req, &observed, &bands);
    if load.replay.completed == 0 {
        // Nothing ran: a latency rule fails for want of a latency, not on a number.
        for o in outcomes.iter_mut().filter(|o| o.rule.is_latency() && o.status == Status::Fail) {
            o.margin = -1.0;
            o.message =
                format!("{}: not run, no request fits this deployment's memory, so it has no latency", o.rule.as_str());
        }
    }
    let mut checked = respond(outcomes, Some(response), None);
    if load.replay.completed == 0 {
        for rule in checked.rules.iter_mut().filter(|r| r.status == "fail" && r.margin == -1.0) {
            rule.value = None;
        }
    }
    checked.under_load = Some(UnderLoadBody::new(&load, rate, observed.usd_per_million_output_tokens));
    checked
}

/// The measured errors an inference check's rules are judged with: its estimate's error band.
pub fn inference_bands(error_band: &super::error_band::ErrorBand) -> Bands {
    let entries = &error_band.metrics;
    Bands {
        memory: 0.0,
        ttft: band(entries, "latency.ttft_ms"),
        tpot: band(entries, "latency.tpot_ms"),
        throughput: band(entries, "throughput.output_tokens_per_s"),
        time: 0.0,
    }
}

/// The one assessment of an inference scenario under load: [`capacity::assess`] with the
/// requirements' latency limits as the SLO, at their load rate, the scenario's batch as the
/// scheduler's sequence limit. The planner ranks configurations by the same call.
pub fn assess(scenario: &InferenceScenario, req: &Requirements) -> capacity::Assessment {
    let limit = match scenario.batch {
        Batch::Fixed(b) => Some(b),
        Batch::Max => None,
    };
    let profile = capacity::with_sequence_limit(&scenario.profile, limit);
    let input = InferenceInput { profile: &profile, explain: false, ..scenario.input() };
    let workload = capacity::fixed_lengths(scenario.input_tokens, scenario.output_tokens);
    capacity::assess(&input, &workload, Some(&req.slo()), req.load_rate())
}

/// Latencies in ms of a replay.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LatencyMs {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl LatencyMs {
    fn of(p: &crate::engine::serving::Percentiles) -> Self {
        Self {
            mean: finite(p.mean * 1e3),
            p50: finite(p.p50 * 1e3),
            p90: finite(p.p90 * 1e3),
            p99: finite(p.p99 * 1e3),
        }
    }
}

/// A deployment under load, as the check judged it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnderLoadBody {
    /// The Poisson rate the replay ran at, all replicas (null: one request on an idle server).
    pub requests_per_s: Option<f64>,
    /// The highest Poisson rate, all replicas, at which the deployment is stable and meets
    /// every latency limit of the requirements: the one capacity (`max_requests_per_s_within_slo`
    /// of `POST /v1/estimate/serving` and the planner read the same function).
    pub capacity_requests_per_s: f64,
    /// The saturated (offline) request throughput, all replicas; capacity never exceeds it.
    pub offline_requests_per_s: f64,
    /// What limits the capacity: `stability`, `slo` or `unreachable`.
    pub capacity_bound: &'static str,
    /// The replay's regime at that rate: `stable`, `saturated` or `overloaded`.
    pub regime: &'static str,
    /// Whether the deployment holds at that rate: stable and every latency limit met.
    pub holds: bool,
    /// Time to first token in the replay, ms.
    pub ttft_ms: LatencyMs,
    /// Time per output token in the replay, ms.
    pub tpot_ms: LatencyMs,
    /// End to end in the replay, ms.
    pub e2e_ms: LatencyMs,
    /// Requests replayed, all replicas.
    pub requests: u64,
    /// Of those, how many finished (0: no request fits the deployment, nothing ran).
    pub completed: u64,
    /// Output tokens per second the replay served, all replicas.
    pub output_tokens_per_s: f64,
    /// USD per million output tokens at that throughput: the devices' price per hour over
    /// what they served (the figure the `usd_per_million_output_tokens` rule judges and the
    /// planner ranks by); null without a price or a rate.
    pub usd_per_million_output_tokens: Option<f64>,
    /// A disaggregated plan's pools in the replay judged: each pool's layout, the rate it
    /// carried, its utilisation and latency, and the KV transfer between them (the shape of
    /// `disaggregation` in `POST /v1/estimate/serving`); absent for one pool, or when nothing
    /// ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disaggregation: Option<DisaggregationAnswer>,
}

impl UnderLoadBody {
    fn new(load: &capacity::Assessment, rate: Option<f64>, usd_per_million_output_tokens: Option<f64>) -> Self {
        let r = &load.replay;
        Self {
            output_tokens_per_s: finite(r.output_tokens_per_s),
            usd_per_million_output_tokens: rate.and(usd_per_million_output_tokens).filter(|u| u.is_finite()),
            requests_per_s: rate.map(finite),
            capacity_requests_per_s: finite(load.capacity.requests_per_s),
            offline_requests_per_s: finite(load.capacity.offline_requests_per_s),
            capacity_bound: load.capacity.bound.as_str(),
            regime: r.regime.as_str(),
            holds: load.holds,
            ttft_ms: LatencyMs::of(&r.ttft),
            tpot_ms: LatencyMs::of(&r.tpot),
            e2e_ms: LatencyMs::of(&r.e2e),
            requests: r.requests.saturating_mul(r.replicas.max(1)),
            completed: r.completed.saturating_mul(r.replicas.max(1)),
            disaggregation: None,
        }
    }
}

/// Judges a training scenario's estimate against `req`.
pub fn check_training(ctx: &Context, scenario: &TrainingScenario, req: &Requirements) -> CheckResponse {
    let e = training::estimate(&scenario.input());
    let devices = scenario.layout.devices;
    let observed = Observed {
        // The device's peak: paged optimizer states that spill are host memory, not in it.
        memory_bytes: e.memory.total.0,
        capacity_bytes: e.memory.capacity.0,
        usd_per_hour: scenario.usd_per_device_hour().map(|p| p * devices as f64),
        devices,
        native_format: !has_warning(&e.warnings, "unsupported-precision"),
        tensor_parallel_over_pcie: has_warning(&e.warnings, "tensor-parallel-over-pcie"),
        days: Some(e.wall_clock.0 / 86_400.0),
        total_usd: e.usd,
        ..Observed::default()
    };
    let response = TrainingResponse::from_estimate(ctx, scenario, e);
    let entries = &response.error_band.metrics;
    let bands = Bands {
        memory: band(entries, "memory.per_device.total_bytes"),
        throughput: band(entries, "throughput.tokens_per_s_per_device"),
        time: band(entries, "throughput.tokens_per_s_per_device"),
        ..Bands::default()
    };
    respond(rules::judge(req, &observed, &bands), None, Some(response))
}
