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

use super::inference::InferenceResponse;
use super::training::TrainingResponse;
use super::{Context, finite};
use crate::engine::explain::Warning;
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
    })
}

/// Mean latencies of a replay under a workload, seconds: what a plan ranks configurations by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnderLoad {
    /// Time to first token.
    pub ttft_s: f64,
    /// Time per output token.
    pub tpot_s: f64,
}

/// Judges an inference scenario's estimate against `req`: its latencies are those of one
/// batch arriving at once (the static estimate), the worst case of a deployment.
pub fn check_inference(ctx: &Context, scenario: &InferenceScenario, req: &Requirements) -> CheckResponse {
    judge_inference(ctx, scenario, req, None)
}

/// As [`check_inference`], with the latency rules judged on `load`, the replay at a plan's
/// workload that ranked the configuration: the plan's best is checked by the numbers it was
/// chosen by, and the answer says so in `assumptions`.
pub fn check_inference_under_load(
    ctx: &Context,
    scenario: &InferenceScenario,
    req: &Requirements,
    load: UnderLoad,
) -> CheckResponse {
    let mut checked = judge_inference(ctx, scenario, req, Some(load));
    checked.assumptions.push(Assumption {
        field: "ttft, tpot".into(),
        value: format!("{:.1} ms, {:.2} ms", load.ttft_s * 1e3, load.tpot_s * 1e3),
        reason: "the mean latencies of the continuous-batching replay at the plan's workload, which ranked this configuration (`inference` is one batch arriving at once)",
    });
    checked
}

fn judge_inference(
    ctx: &Context,
    scenario: &InferenceScenario,
    req: &Requirements,
    load: Option<UnderLoad>,
) -> CheckResponse {
    let e = inference::estimate(&scenario.input());
    let (input, output) = (scenario.input_tokens, scenario.output_tokens);
    let observed = Observed {
        memory_bytes: e.memory.per_device.total.0,
        capacity_bytes: e.memory.capacity.0,
        ttft_s: Some(load.map_or(e.ttft.0, |l| l.ttft_s)),
        tpot_s: (output > 0).then_some(load.map_or(e.tpot.0, |l| l.tpot_s)),
        output_tokens_per_s: Some(e.output_tokens_per_s),
        requests_per_s: Some(if output > 0 {
            e.output_tokens_per_s / output as f64
        } else {
            e.prefill_tokens_per_s / input.max(1) as f64
        }),
        usd_per_million_output_tokens: e.usd_per_million_output_tokens,
        usd_per_hour: e.usd_per_hour,
        context_tokens: input + output,
        max_context_in_memory: e.memory.memory_context_tokens,
        model_max_context: scenario.model.architecture.max_context,
        devices: scenario.parallelism.devices(),
        native_format: e.compute_type == scenario.weights.compute,
        tensor_parallel_over_pcie: has_warning(&e.warnings, "tensor-parallel-over-pcie"),
        days: None,
        total_usd: None,
        percentiles: req.has_percentiles().then(|| load_percentiles(scenario, req)),
    };
    let response = InferenceResponse::from_estimate(ctx, scenario, e);
    let entries = &response.error_band.metrics;
    let bands = Bands {
        memory: 0.0,
        ttft: band(entries, "latency.ttft_ms"),
        tpot: band(entries, "latency.tpot_ms"),
        throughput: band(entries, "throughput.output_tokens_per_s"),
        time: 0.0,
    };
    respond(rules::judge(req, &observed, &bands), Some(response), None)
}

/// Percentiles of a continuous-batching replay of `scenario` with Poisson arrivals at the
/// forecast rate (the requirements' parser makes sure there is one), the scenario's lengths,
/// and its batch as the scheduler's sequence limit when it gives one.
fn load_percentiles(scenario: &InferenceScenario, req: &Requirements) -> rules::LoadPercentiles {
    use crate::engine::inference::Batch;
    use crate::engine::serving::{self, Arrival, Lengths, Workload};
    let rate = req.forecast_requests_per_s.or(req.min_requests_per_s).unwrap_or(1.0);
    let output = scenario.output_tokens.max(1);
    let mut profile = scenario.profile.clone();
    if let Batch::Fixed(b) = scenario.batch {
        profile.scheduler.max_num_seqs = b;
    }
    let input = crate::engine::inference::InferenceInput { profile: &profile, explain: false, ..scenario.input() };
    let workload = Workload {
        arrival: Arrival::Poisson { requests_per_s: rate },
        input_tokens: Lengths::Fixed(scenario.input_tokens),
        output_tokens: Lengths::Fixed(output),
        // Enough requests for a p99, within the simulator's work bound.
        requests: (2e6 / output as f64).clamp(50.0, 500.0) as u64,
        prefix_cache_hit_rate: 0.0,
        seed: 0,
    };
    let replay = serving::simulate(&input, &workload);
    if replay.completed == 0 {
        // Nothing finished (a request does not fit the KV cache): every percentile is out of
        // reach; a large finite number keeps the rule failing and the JSON valid.
        let never = 1e6;
        return rules::LoadPercentiles { ttft_p90: never, ttft_p99: never, tpot_p90: never, tpot_p99: never };
    }
    rules::LoadPercentiles {
        ttft_p90: replay.ttft.p90,
        ttft_p99: replay.ttft.p99,
        tpot_p90: replay.tpot.p90,
        tpot_p99: replay.tpot.p99,
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
