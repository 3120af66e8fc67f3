//! `POST /v1/check`: does a deployment plan meet its requirements?
//!
//! A plan is an inference or a training request (exactly one of the two) plus requirements. The
//! answer has one entry per rule with the estimated value, the limit, the margin and a sentence,
//! and an overall verdict; an estimate within its family's measured error of a limit is
//! `at_risk`. A layout the model cannot take (tensor degree not dividing the heads, devices not
//! the product of the degrees) is a failed `parallelism` rule, not an error: a check is asked
//! about exactly such plans. `hwcost check PLAN` runs the same code.

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::Json;
use super::inference::{self, InferenceRequest, InferenceResponse};
use super::problem::{ApiError, FieldError, Problem};
use super::state::AppState;
use super::training::{self, TrainingRequest, TrainingResponse};
use crate::engine::inference::estimate;
use crate::plan::rules::{self, Bands, Observed, Outcome, Requirements, Rule, Status};

/// Limits a deployment must meet; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"max_ttft_ms": 1000, "max_tpot_ms": 50, "min_requests_per_s": 2, "memory_headroom_fraction": 0.1, "max_devices": 8}))]
pub struct RequirementsBody {
    /// Longest time to first token, ms.
    #[schema(minimum = 0, maximum = 1e9)]
    pub max_ttft_ms: Option<f64>,
    /// Longest time per output token, ms.
    #[schema(minimum = 0, maximum = 1e9)]
    pub max_tpot_ms: Option<f64>,
    /// Least output tokens per second, all devices.
    #[schema(minimum = 0, maximum = 1e12)]
    pub min_output_tokens_per_s: Option<f64>,
    /// Least requests per second at the request's lengths.
    #[schema(minimum = 0, maximum = 1e9)]
    pub min_requests_per_s: Option<f64>,
    /// Most USD per million output tokens.
    #[schema(minimum = 0, maximum = 1e9)]
    pub max_usd_per_million_output_tokens: Option<f64>,
    /// Most USD per hour for all devices.
    #[schema(minimum = 0, maximum = 1e9)]
    pub max_usd_per_hour: Option<f64>,
    /// Fraction of device memory to keep free, 0 to 0.9 (default 0).
    #[schema(minimum = 0, maximum = 0.9)]
    pub memory_headroom_fraction: Option<f64>,
    /// Context (prompt + output) that must fit, tokens.
    #[schema(minimum = 0, maximum = 16777216)]
    pub min_context_tokens: Option<u64>,
    /// Most devices in all.
    #[schema(minimum = 1, maximum = 65536)]
    pub max_devices: Option<u64>,
    /// Training: longest wall-clock time, days.
    #[schema(minimum = 0, maximum = 1e6)]
    pub max_days: Option<f64>,
    /// Training: most USD for the run.
    #[schema(minimum = 0, maximum = 1e12)]
    pub max_usd: Option<f64>,
}

impl RequirementsBody {
    /// Validates ranges; `prefix` is the pointer of this object.
    pub fn parse(&self, prefix: &str) -> Result<Requirements, ApiError> {
        let mut errors = Vec::new();
        let mut number = |name: &str, value: Option<f64>, max: f64| {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=max).contains(&v))
            {
                errors.push(FieldError::new(
                    format!("{prefix}/{name}"),
                    format!("must be a number from 0 to {max}, got {v}"),
                ));
            }
            value
        };
        let requirements = Requirements {
            max_ttft_s: number("max_ttft_ms", self.max_ttft_ms, 1e9).map(|ms| ms / 1e3),
            max_tpot_s: number("max_tpot_ms", self.max_tpot_ms, 1e9).map(|ms| ms / 1e3),
            min_output_tokens_per_s: number("min_output_tokens_per_s", self.min_output_tokens_per_s, 1e12),
            min_requests_per_s: number("min_requests_per_s", self.min_requests_per_s, 1e9),
            max_usd_per_million_output_tokens: number(
                "max_usd_per_million_output_tokens",
                self.max_usd_per_million_output_tokens,
                1e9,
            ),
            max_usd_per_hour: number("max_usd_per_hour", self.max_usd_per_hour, 1e9),
            memory_headroom: number("memory_headroom_fraction", self.memory_headroom_fraction, 0.9).unwrap_or(0.0),
            min_context_tokens: self.min_context_tokens,
            max_devices: self.max_devices,
            max_days: number("max_days", self.max_days, 1e6),
            max_usd: number("max_usd", self.max_usd, 1e12),
        };
        if let Some(t) = self.min_context_tokens
            && t > 16_777_216
        {
            errors.push(FieldError::new(
                format!("{prefix}/min_context_tokens"),
                format!("must be an integer from 0 to 16777216, got {t}"),
            ));
        }
        if let Some(d) = self.max_devices
            && !(1..=65_536).contains(&d)
        {
            errors.push(FieldError::new(
                format!("{prefix}/max_devices"),
                format!("must be an integer from 1 to 65536, got {d}"),
            ));
        }
        if errors.is_empty() { Ok(requirements) } else { Err(ApiError::InvalidRequest(errors)) }
    }
}

/// A deployment plan and what it must achieve: exactly one of `inference` and `training`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "inference": {"model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4, "parallelism": {"tensor": 4},
                  "weights": "fp8", "batch_size": 32, "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"},
    "requirements": {"max_ttft_ms": 2000, "max_tpot_ms": 50, "min_requests_per_s": 2, "memory_headroom_fraction": 0.1}
}))]
pub struct CheckRequest {
    /// An inference deployment, as for `POST /v1/estimate/inference`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub inference: Option<InferenceRequest>,
    /// A training run, as for `POST /v1/estimate/training`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub training: Option<TrainingRequest>,
    /// What it must achieve (default: only that it fits and is valid).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub requirements: Option<RequirementsBody>,
}

/// One rule's verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleBody {
    /// Rule name: fits, ttft, tpot, output_throughput, request_rate, cost_per_million_tokens,
    /// cost_per_hour, context, model_context, devices, parallelism, format, deadline, budget.
    pub rule: &'static str,
    /// `pass`, `at_risk` or `fail`.
    pub status: &'static str,
    /// The estimated value, in `unit`.
    pub value: f64,
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
            value: inference::finite(o.value),
            limit: inference::finite(o.limit),
            margin: inference::finite(o.margin),
            error_band: inference::finite(o.band),
            unit: o.unit,
            message: o.message,
        }
    }
}

/// The check's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// `pass` (every rule met with margin), `at_risk` (some rule within the estimate's error of
    /// its limit) or `fail`.
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
}

fn band(entries: &[super::error_band::BandEntry], output: &str) -> f64 {
    entries.iter().find(|e| e.output == output).map_or(0.0, |e| e.median_ape)
}

fn has_warning<'a>(mut codes: impl Iterator<Item = &'a str>, code: &str) -> bool {
    codes.any(|c| c == code)
}

/// Whether a parse error is about the layout (then the check reports it as a rule).
fn layout_problem(error: &ApiError, prefix: &str) -> Option<String> {
    match error {
        ApiError::Unprocessable { detail, pointer: Some(pointer) }
            if [format!("{prefix}/parallelism"), format!("{prefix}/devices")]
                .iter()
                .any(|p| pointer.starts_with(p.as_str())) =>
        {
            Some(detail.clone())
        }
        _ => None,
    }
}

fn layout_failure(detail: String) -> Vec<Outcome> {
    vec![Outcome {
        rule: Rule::Parallelism,
        status: Status::Fail,
        value: 0.0,
        limit: 1.0,
        margin: -1.0,
        band: 0.0,
        unit: "valid",
        message: format!("invalid layout: {detail}"),
    }]
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
        Status::Fail => format!("{} of {} rules fail", count(Status::Fail), outcomes.len()),
    };
    CheckResponse {
        verdict: verdict.as_str(),
        summary,
        rules: outcomes.into_iter().map(RuleBody::from).collect(),
        inference: inference.map(Box::new),
        training: training.map(Box::new),
    }
}

/// Runs a check.
pub fn check(state: &AppState, request: &CheckRequest) -> Result<CheckResponse, ApiError> {
    let requirements = request.requirements.clone().unwrap_or_default().parse("/requirements")?;
    match (&request.inference, &request.training) {
        (Some(plan), None) => check_inference(state, plan, &requirements),
        (None, Some(plan)) => check_training(state, plan, &requirements),
        (Some(_), Some(_)) => Err(ApiError::field("/training", "give either inference or training, not both")),
        (None, None) => Err(ApiError::field("", "give an inference or a training plan")),
    }
}

fn check_inference(state: &AppState, plan: &InferenceRequest, req: &Requirements) -> Result<CheckResponse, ApiError> {
    let parsed = match inference::parse(&state.catalog, plan, "/inference") {
        Ok(parsed) => parsed,
        Err(error) => {
            return match layout_problem(&error, "/inference") {
                Some(detail) => Ok(respond(layout_failure(detail), None, None)),
                None => Err(error),
            };
        }
    };
    let result = estimate(&parsed.input());
    let native = result.compute_type == parsed.weights.compute;
    let engine = plan.engine.unwrap_or(inference::EngineId::Generic).as_str();
    let response = inference::with_band(InferenceResponse::new(&parsed, result, engine), plan, state);
    let bands = &response.error_band.metrics;
    let out = response.output_tokens.max(1) as f64;
    let observed = Observed {
        memory_bytes: response.memory.per_device.total_bytes,
        capacity_bytes: response.memory.capacity_bytes,
        ttft_s: Some(response.latency.ttft_ms / 1e3),
        tpot_s: (response.output_tokens > 0).then_some(response.latency.tpot_ms / 1e3),
        output_tokens_per_s: Some(response.throughput.output_tokens_per_s),
        requests_per_s: Some(if response.output_tokens > 0 {
            response.throughput.output_tokens_per_s / out
        } else {
            response.throughput.prefill_tokens_per_s / response.input_tokens.max(1) as f64
        }),
        usd_per_million_output_tokens: response.cost.usd_per_million_output_tokens,
        usd_per_hour: response.cost.usd_per_hour,
        context_tokens: response.input_tokens + response.output_tokens,
        max_context_in_memory: response.memory.max_context_tokens,
        model_max_context: parsed.model.architecture.max_context,
        devices: response.devices,
        native_format: native,
        tensor_parallel_over_pcie: has_warning(response.warnings.iter().map(|w| w.code), "tensor-parallel-over-pcie"),
        days: None,
        total_usd: None,
    };
    let bands = Bands {
        memory: 0.0,
        ttft: band(bands, "latency.ttft_ms"),
        tpot: band(bands, "latency.tpot_ms"),
        throughput: band(bands, "throughput.output_tokens_per_s"),
        time: 0.0,
    };
    Ok(respond(rules::judge(req, &observed, &bands), Some(response), None))
}

fn check_training(state: &AppState, plan: &TrainingRequest, req: &Requirements) -> Result<CheckResponse, ApiError> {
    let response = match training::run(&state.catalog, plan, "/training") {
        Ok(response) => training::with_band(response, state),
        Err(error) => {
            return match layout_problem(&error, "/training") {
                Some(detail) => Ok(respond(layout_failure(detail), None, None)),
                None => Err(error),
            };
        }
    };
    let bands = &response.error_band.metrics;
    let codes = || response.warnings.iter().map(|w| w.code);
    #[allow(clippy::cast_precision_loss)]
    let observed = Observed {
        memory_bytes: response.memory.per_device.total_bytes,
        capacity_bytes: response.memory.capacity_bytes,
        usd_per_hour: response.cost.usd_per_device_hour.map(|p| p * response.devices as f64),
        devices: response.devices,
        native_format: !has_warning(codes(), "unsupported-precision"),
        tensor_parallel_over_pcie: has_warning(codes(), "tensor-parallel-over-pcie"),
        days: Some(response.time.wall_clock_days),
        total_usd: response.cost.usd,
        ..Observed::default()
    };
    let bands = Bands {
        memory: band(bands, "memory.per_device.total_bytes"),
        throughput: band(bands, "throughput.tokens_per_s_per_device"),
        time: band(bands, "throughput.tokens_per_s_per_device"),
        ..Bands::default()
    };
    Ok(respond(rules::judge(req, &observed, &bands), None, Some(response)))
}

/// Checks a deployment plan against requirements: an overall verdict and one entry per rule.
#[utoipa::path(
    tag = "decisions",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "The verdict, rule by rule", body = CheckResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A plan hwcost cannot estimate (other than an invalid layout, which is a failed rule)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/check")]
pub async fn check_handler(
    state: web::Data<AppState>,
    Json(request): Json<CheckRequest>,
) -> Result<web::Json<CheckResponse>, ApiError> {
    check(&state, &request).map(web::Json)
}
