//! `POST /v1/calibrate` and `hwcost calibrate`: fit an engine's constants to a user's own
//! measurements.
//!
//! Two forms. `results`: the benchmark result files users already have (vllm bench serve,
//! GuideLLM, llm-d, genai-perf/AIPerf; [`crate::import::benchmarks`]), each run replayed by the
//! serving simulator and five engine constants fitted to every number the files measured, with
//! the error on runs held out of the fit ([`runs`]). `points`: estimate requests with what was
//! measured; the efficiency overrides (inference: compute and memory; training: compute) that
//! minimise the squared log error, bounded to [0.02, 1], returned as plain `overrides`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod fit;
pub mod runs;

use super::Context;
use crate::engine::inference::{self, InferenceInput};
use crate::engine::training::{self, TrainingInput};
use crate::scenario::inference::{InferenceRequest, InferenceScenario, apply_efficiencies};
use crate::scenario::training::{TrainingRequest, TrainingScenario};
use crate::scenario::{Error, range};

/// What was measured for an inference request (any subset).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InferenceMeasured {
    /// Measured time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Measured time per output token, ms.
    pub tpot_ms: Option<f64>,
    /// Measured output tokens per second, all devices.
    pub output_tokens_per_s: Option<f64>,
    /// Measured prompt tokens per second.
    pub prefill_tokens_per_s: Option<f64>,
}

/// What was measured for a training request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingMeasured {
    /// Measured tokens per second per device.
    pub tokens_per_s_per_device: f64,
}

/// One measured point: all of the same kind in a request.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MeasuredPoint {
    /// An inference measurement.
    Inference {
        /// The workload, as for `POST /v1/estimate/inference`.
        #[serde(deserialize_with = "crate::wire::object")]
        request: Box<InferenceRequest>,
        /// What was measured.
        #[serde(deserialize_with = "crate::wire::object")]
        measured: InferenceMeasured,
    },
    /// A training measurement.
    Training {
        /// The run, as for `POST /v1/estimate/training`.
        #[serde(deserialize_with = "crate::wire::object")]
        request: Box<TrainingRequest>,
        /// What was measured.
        #[serde(deserialize_with = "crate::wire::object")]
        measured: TrainingMeasured,
    },
}

/// Measurements to calibrate on: benchmark result files (`results`, with the `deployment` they
/// ran on) or measured estimate requests (`points`), not both.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = example)]
pub struct CalibrationRequest {
    /// 1 to 200 measured points, all inference or all training. The count is checked by the
    /// handler rather than the schema: a body of hundreds of points meets the body-size limit
    /// (413) before any item count could be.
    #[serde(default, deserialize_with = "crate::wire::objects")]
    pub points: Vec<MeasuredPoint>,
    /// 1 to 16 benchmark result files (`vllm bench serve --save-result` JSON, a GuideLLM report,
    /// an llm-d benchmark report, a genai-perf/AIPerf profile export), at most 32 runs in all:
    /// each `{"name", "content"}` or the file itself.
    #[serde(default)]
    pub results: Vec<runs::ResultFile>,
    /// With `results`: what the runs ran on, where the files do not say (they rarely name the
    /// device or the layout). A field given here wins over the file's.
    pub deployment: Option<runs::RunDeployment>,
    /// With `results`: into how many groups the runs are split for the held-out error (each
    /// group fitted on the others and predicted; default 5, at most the number of runs).
    pub folds: Option<u32>,
}

/// Error summary of a set of predictions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorSummary {
    /// Median absolute percentage error, as a fraction.
    pub median_ape: f64,
    /// 90th-percentile absolute percentage error, as a fraction.
    pub p90_ape: f64,
    /// Largest absolute percentage error, as a fraction.
    pub max_ape: f64,
    /// Measurements compared.
    pub measurements: usize,
}

/// The fitted constants and what they do to the error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalibrationResult {
    /// `inference` or `training` (measured points), `serving` (result files).
    pub kind: &'static str,
    /// Fitted compute efficiency (16-bit GEMM share of dense peak).
    pub compute_efficiency: f64,
    /// Fitted memory efficiency (inference and serving).
    pub memory_efficiency: Option<f64>,
    /// Error with the catalog's profile, on every measured number.
    pub before: ErrorSummary,
    /// Error with the fitted constants, on the numbers they were fitted to.
    pub after: ErrorSummary,
    /// Measured points: the `overrides` object to send with later estimates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrides: Option<serde_json::Value>,
    /// Result files: the catalog engine profile the constants were fitted over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Result files: the fitted profile, to send back as a request's `engine_profile` (or to
    /// `--engine-profile FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<crate::scenario::engine_profile::EngineProfileBody>,
    /// Result files: each fitted constant, before and after, with its bounds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constants: Vec<runs::ConstantChange>,
    /// Result files: the error on runs held out of the fit (cross-validation by run); null with
    /// `held_out_note` when there are too few runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out: Option<runs::HeldOut>,
    /// Why there is no held-out error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_note: Option<String>,
    /// Result files: the error per metric and statistic.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<runs::MetricError>,
    /// Result files: every measured number with hwcost's before and after the fit, and held out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<runs::PointError>,
    /// Result files: runs that could not be replayed, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<runs::Skipped>,
}

/// The request's example (OpenAPI and the response example): the three illustrative
/// `vllm bench serve` runs of `data/examples/benchmarks/`, Llama 3.1 8B on one H100.
pub fn example() -> serde_json::Value {
    let files = [
        (
            "vllm-llama-3.1-8b-h100-rate2.json",
            include_str!("../../../data/examples/benchmarks/vllm-llama-3.1-8b-h100-rate2.json"),
        ),
        (
            "vllm-llama-3.1-8b-h100-rate5.json",
            include_str!("../../../data/examples/benchmarks/vllm-llama-3.1-8b-h100-rate5.json"),
        ),
        (
            "vllm-llama-3.1-8b-h100-rate8.json",
            include_str!("../../../data/examples/benchmarks/vllm-llama-3.1-8b-h100-rate8.json"),
        ),
    ];
    let results: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, text)| {
            serde_json::json!({"name": name, "content": serde_json::from_str::<serde_json::Value>(text).unwrap_or_default()})
        })
        .collect();
    serde_json::json!({
        "results": results,
        "deployment": {"model": "llama-3.1-8b", "hardware": "nvidia-h100-sxm-80gb", "engine": "vllm"}
    })
}

const BOUNDS: (f64, f64) = (0.02, 1.0);

/// A measured point, parsed once.
enum Parsed<'a> {
    Inference(Box<InferenceScenario>, &'a InferenceMeasured),
    Training(Box<TrainingScenario>, f64),
}

/// Parses every point once (and checks the measured values' ranges).
fn parse<'a>(ctx: &Context, points: &'a [MeasuredPoint]) -> Result<Vec<Parsed<'a>>, Error> {
    let mut checks = range::Checks::default();
    let mut parsed = Vec::with_capacity(points.len());
    for (i, point) in points.iter().enumerate() {
        let prefix = format!("/points/{i}");
        match point {
            MeasuredPoint::Inference { request, measured } => {
                for (name, range, value) in [
                    ("ttft_ms", range::MEASURED_MS, measured.ttft_ms),
                    ("tpot_ms", range::MEASURED_MS, measured.tpot_ms),
                    ("output_tokens_per_s", range::MEASURED_RATE, measured.output_tokens_per_s),
                    ("prefill_tokens_per_s", range::MEASURED_RATE, measured.prefill_tokens_per_s),
                ] {
                    checks.number(format!("{prefix}/measured/{name}"), range, value);
                }
                let scenario = InferenceScenario::parse(&ctx.catalog, request, &format!("{prefix}/request"))?;
                parsed.push(Parsed::Inference(Box::new(scenario), measured));
            }
            MeasuredPoint::Training { request, measured } => {
                let m = measured.tokens_per_s_per_device;
                checks.number(format!("{prefix}/measured/tokens_per_s_per_device"), range::MEASURED_RATE, Some(m));
                let scenario = TrainingScenario::parse(&ctx.catalog, request, &format!("{prefix}/request"))?;
                parsed.push(Parsed::Training(Box::new(scenario), m));
            }
        }
    }
    checks.finish()?;
    Ok(parsed)
}

/// Signed log errors of every measurement for given efficiencies (None: the request's own);
/// only the engine runs again.
fn log_errors(points: &[Parsed<'_>], efficiencies: Option<(f64, f64)>) -> Vec<f64> {
    let mut out = Vec::new();
    for point in points {
        match point {
            Parsed::Inference(scenario, measured) => {
                let mut profile = scenario.profile.clone();
                if let Some((c, m)) = efficiencies {
                    apply_efficiencies(&mut profile, Some(c), Some(m));
                }
                let e = inference::estimate(&InferenceInput { profile: &profile, explain: false, ..scenario.input() });
                for (predicted, measured) in [
                    (e.ttft.0 * 1e3, measured.ttft_ms),
                    (e.tpot.0 * 1e3, measured.tpot_ms),
                    (e.output_tokens_per_s, measured.output_tokens_per_s),
                    (e.prefill_tokens_per_s, measured.prefill_tokens_per_s),
                ] {
                    if let Some(m) = measured.filter(|m| *m > 0.0 && m.is_finite()) {
                        out.push((predicted.max(1e-300) / m).ln());
                    }
                }
            }
            Parsed::Training(scenario, m) => {
                // The step reads the GEMM share from its input, so no profile is rebuilt.
                let input = scenario.input();
                let compute_efficiency = efficiencies.map_or(input.compute_efficiency, |(c, _)| c);
                let e = training::estimate(&TrainingInput { compute_efficiency, ..input });
                out.push((e.tokens_per_s_per_device.max(1e-300) / m).ln());
            }
        }
    }
    out
}

pub(crate) fn summary(log_errors: &[f64]) -> ErrorSummary {
    // exp overflows past 709; an error of e^700 is as wrong as anything and stays finite.
    let mut ape: Vec<f64> = log_errors.iter().map(|e| (e.clamp(-700.0, 700.0).exp() - 1.0).abs()).collect();
    ape.sort_by(f64::total_cmp);
    let at = |q: f64| ape.get(((ape.len() as f64 * q) as usize).min(ape.len().saturating_sub(1))).copied();
    ErrorSummary {
        median_ape: at(0.5).unwrap_or(0.0),
        p90_ape: at(0.9).unwrap_or(0.0),
        max_ape: ape.last().copied().unwrap_or(0.0),
        measurements: ape.len(),
    }
}

fn cost(errors: &[f64]) -> f64 {
    errors.iter().map(|e| e * e).sum()
}

/// Fits the efficiencies to `points`.
pub fn calibrate(ctx: &Context, request: &CalibrationRequest) -> Result<CalibrationResult, Error> {
    match (request.points.is_empty(), request.results.is_empty()) {
        (true, false) => return runs::calibrate(ctx, request),
        (false, false) => {
            return Err(Error::unprocessable("/results", "send results (result files) or points, not both"));
        }
        (_, true) if request.deployment.is_some() || request.folds.is_some() => {
            return Err(Error::unprocessable("/deployment", "deployment and folds go with results"));
        }
        _ => {}
    }
    let points = &request.points;
    if points.is_empty() || points.len() > 200 {
        return Err(Error::field("/points", format!("must hold 1 to 200 points, got {}", points.len())));
    }
    let training = matches!(points[0], MeasuredPoint::Training { .. });
    if points.iter().any(|p| matches!(p, MeasuredPoint::Training { .. }) != training) {
        return Err(Error::Unprocessable {
            detail: "points must be all inference or all training".into(),
            pointer: Some("/points".into()),
        });
    }
    let parsed = parse(ctx, points)?;
    let before = log_errors(&parsed, None);
    if before.is_empty() {
        return Err(Error::Unprocessable {
            detail: "no point carries a positive measurement".into(),
            pointer: Some("/points".into()),
        });
    }
    // Coordinate descent: compute, then memory, twice (the two act on different phases, so
    // they are nearly independent and two rounds settle).
    let (mut c, mut m) = (0.5, 0.7);
    for _ in 0..2 {
        c = fit::golden(BOUNDS.0, BOUNDS.1, |x| cost(&log_errors(&parsed, Some((x, m)))));
        if !training {
            m = fit::golden(BOUNDS.0, BOUNDS.1, |x| cost(&log_errors(&parsed, Some((c, x)))));
        }
    }
    let after = log_errors(&parsed, Some((c, m)));
    let overrides = if training {
        serde_json::json!({"compute_efficiency": c})
    } else {
        serde_json::json!({"compute_efficiency": c, "memory_efficiency": m})
    };
    Ok(CalibrationResult {
        kind: if training { "training" } else { "inference" },
        compute_efficiency: c,
        memory_efficiency: (!training).then_some(m),
        before: summary(&before),
        after: summary(&after),
        overrides: Some(overrides),
        engine: None,
        profile: None,
        constants: Vec::new(),
        held_out: None,
        held_out_note: None,
        metrics: Vec::new(),
        points: Vec::new(),
        skipped: Vec::new(),
    })
}
