//! `POST /v1/calibrate`: fit an engine's efficiencies to a user's own measurements.
//!
//! The user sends estimate requests with what they measured. hwcost searches the efficiency
//! overrides (inference: compute and memory efficiency; training: compute efficiency) that
//! minimise the squared log error of its predictions, bounded to [0.02, 1], and returns them with
//! the error before and after. The fitted values are plain `overrides`, so later estimate
//! requests use them by carrying the same fields.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// Points to calibrate on.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": [
    {"kind": "inference", "request": {"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "weights": "q4_0", "engine": "llama.cpp", "input_tokens": 0, "output_tokens": 128},
     "measured": {"tpot_ms": 7.4}},
    {"kind": "inference", "request": {"model": "llama-2-7b", "hardware": "nvidia-rtx-4090", "weights": "q4_0", "engine": "llama.cpp", "input_tokens": 512, "output_tokens": 0},
     "measured": {"prefill_tokens_per_s": 11500.0}}
]}))]
pub struct CalibrationRequest {
    /// 1 to 200 measured points, all inference or all training. The count is checked by the
    /// handler rather than the schema: a body of hundreds of points meets the body-size limit
    /// (413) before any item count could be.
    #[schema(min_items = 1)]
    #[serde(deserialize_with = "crate::wire::objects")]
    pub points: Vec<MeasuredPoint>,
}

/// Error summary of a set of predictions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorSummary {
    /// Median absolute percentage error, as a fraction.
    pub median_ape: f64,
    /// Largest absolute percentage error, as a fraction.
    pub max_ape: f64,
    /// Measurements compared.
    pub measurements: usize,
}

/// The fitted efficiencies and what they do to the error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalibrationResult {
    /// `inference` or `training`.
    pub kind: &'static str,
    /// Fitted compute efficiency (16-bit GEMM share of dense peak).
    pub compute_efficiency: f64,
    /// Fitted memory efficiency (inference only).
    pub memory_efficiency: Option<f64>,
    /// Error with the catalog's profile.
    pub before: ErrorSummary,
    /// Error with the fitted values.
    pub after: ErrorSummary,
    /// The `overrides` object to send with later estimates.
    pub overrides: serde_json::Value,
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
                let mut profile = scenario.profile().clone();
                if let Some((c, _)) = efficiencies {
                    profile.compute_efficiency = c;
                }
                let e = training::estimate(&TrainingInput { profile: &profile, ..scenario.input() });
                out.push((e.tokens_per_s_per_device.max(1e-300) / m).ln());
            }
        }
    }
    out
}

fn summary(log_errors: &[f64]) -> ErrorSummary {
    // exp overflows past 709; an error of e^700 is as wrong as anything and stays finite.
    let mut ape: Vec<f64> = log_errors.iter().map(|e| (e.clamp(-700.0, 700.0).exp() - 1.0).abs()).collect();
    ape.sort_by(f64::total_cmp);
    ErrorSummary {
        median_ape: ape.get(ape.len() / 2).copied().unwrap_or(0.0),
        max_ape: ape.last().copied().unwrap_or(0.0),
        measurements: ape.len(),
    }
}

fn cost(errors: &[f64]) -> f64 {
    errors.iter().map(|e| e * e).sum()
}

/// Golden-section search of `f` on the log of the bounds (efficiencies act multiplicatively).
fn golden(mut f: impl FnMut(f64) -> f64) -> f64 {
    let (mut a, mut b) = (BOUNDS.0.ln(), BOUNDS.1.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - ratio * (b - a), a + ratio * (b - a));
    let (mut fc, mut fd) = (f(c.exp()), f(d.exp()));
    for _ in 0..40 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = f(c.exp());
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = f(d.exp());
        }
    }
    ((a + b) / 2.0).exp()
}

/// Fits the efficiencies to `points`.
pub fn calibrate(ctx: &Context, request: &CalibrationRequest) -> Result<CalibrationResult, Error> {
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
        c = golden(|x| cost(&log_errors(&parsed, Some((x, m)))));
        if !training {
            m = golden(|x| cost(&log_errors(&parsed, Some((c, x)))));
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
        overrides,
    })
}
