//! The validation harness: published measurements (`data/validation/`), the estimate for each,
//! and the error.
//!
//! Each point carries the inference request it corresponds to (catalog ids, the workload as the
//! source describes it); the harness runs it through the same parsing and engine as the API and
//! compares one metric. Points the engine cannot express were left out when the file was built
//! and are listed with reasons in `inference_skipped.jsonl`; points whose request the API rejects
//! here count against coverage.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::engine::inference::{self, InferenceEstimate, InferenceInput};
use crate::engine::serving::disaggregated::DisaggregatedEstimate;
use crate::engine::serving::{self, ServingEstimate};
use crate::engine::training::{self, TrainingEstimate};
use crate::scenario::inference::{InferenceRequest, InferenceScenario};
use crate::scenario::serving::{ServingRequest, ServingScenario};
use crate::scenario::training::{TrainingRequest, TrainingScenario};

pub mod measurements;

/// The inference points, embedded so the binary can validate itself anywhere.
pub const INFERENCE_JSONL: &str = include_str!("../data/validation/inference.jsonl");
/// Points that could not be expressed, with reasons.
pub const INFERENCE_SKIPPED_JSONL: &str = include_str!("../data/validation/inference_skipped.jsonl");

/// The training points.
pub const TRAINING_JSONL: &str = include_str!("../data/validation/training.jsonl");
/// Training points that could not be expressed, with reasons.
pub const TRAINING_SKIPPED_JSONL: &str = include_str!("../data/validation/training_skipped.jsonl");

/// The family summaries the embedded catalog's validation run measures, committed so that a
/// process prints error bands without replaying every point (hundreds of serving replays, most
/// of a second of CPU). A test fails when the file is stale; `UPDATE_BANDS=1 cargo test --lib
/// committed_bands` rewrites it from the run.
pub const BANDS_JSON: &str = include_str!("../data/validation/bands.json");

/// One published training measurement.
#[derive(Debug, Clone, Deserialize)]
pub struct TrainingPoint {
    /// Source id.
    pub id: String,
    /// What was measured.
    pub kind: TrainingKind,
    /// The measured value.
    pub value: f64,
    /// Its unit as published (decides conversions).
    pub unit: String,
    /// The request it corresponds to.
    pub request: TrainingRequest,
    /// The source's MFU definition, when it reports one.
    #[serde(default)]
    pub mfu_definition: Option<String>,
    /// Which memory a memory point measured: `allocated` (PyTorch `max_memory_allocated`),
    /// `reserved` (`max_memory_reserved`), or the device's (nvidia-smi; the default).
    #[serde(default)]
    pub memory_measure: Option<String>,
    /// The framework that measured it, for the per-framework error.
    #[serde(default)]
    pub framework: Option<String>,
    /// Where it was published.
    pub source: String,
}

/// Training metric families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingKind {
    /// Tokens/s per device (or TFLOP/s per device).
    Throughput,
    /// Model (or hardware) FLOPs utilization.
    Mfu,
    /// Peak memory per device.
    Memory,
    /// Device-hours of a run.
    GpuHours,
    /// Wall-clock time of a run.
    TimeToTrain,
    /// Total training FLOPs.
    TotalFlops,
    /// The longest sequence that fits a memory budget.
    MaxSequenceLength,
    /// Energy of a run, facility overhead (PUE) included.
    Energy,
}

impl TrainingKind {
    /// Every kind, in report order.
    pub const ALL: [TrainingKind; 8] = [
        TrainingKind::Throughput,
        TrainingKind::Mfu,
        TrainingKind::Memory,
        TrainingKind::GpuHours,
        TrainingKind::TimeToTrain,
        TrainingKind::TotalFlops,
        TrainingKind::MaxSequenceLength,
        TrainingKind::Energy,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingKind::Throughput => "throughput",
            TrainingKind::Mfu => "mfu",
            TrainingKind::Memory => "memory",
            TrainingKind::GpuHours => "gpu_hours",
            TrainingKind::TimeToTrain => "time_to_train",
            TrainingKind::TotalFlops => "total_flops",
            TrainingKind::MaxSequenceLength => "max_sequence_length",
            TrainingKind::Energy => "energy",
        }
    }
}

impl TrainingPoint {
    /// The estimate's value in the point's unit and under the source's definitions.
    pub fn pick(&self, s: &TrainingScenario, e: &TrainingEstimate) -> f64 {
        let definition = self.mfu_definition.as_deref().unwrap_or("causal_halving");
        let unit = self.unit.to_ascii_lowercase();
        match self.kind {
            TrainingKind::Throughput if unit.starts_with("tflop") => {
                e.flops_per_token.0 * e.tokens_per_s_per_device / 1e12
            }
            TrainingKind::Throughput => e.tokens_per_s_per_device,
            TrainingKind::Mfu => match definition {
                "hardware_flops" => e.hfu,
                "no_causal_halving" => e.mfu_no_causal_halving,
                "6n_only" => e.mfu * e.flops_per_token.2 / e.flops_per_token.0.max(1.0),
                _ => e.mfu,
            },
            TrainingKind::Memory => {
                let m = &e.memory;
                let bytes = match self.memory_measure.as_deref() {
                    Some("allocated") => m.allocated.0,
                    Some("reserved") => m.reserved.0,
                    _ => m.total.0,
                };
                if unit.starts_with("gib") { bytes / f64::from(1u32 << 30) } else { bytes / 1e9 }
            }
            TrainingKind::MaxSequenceLength => e.memory.max_sequence_length as f64,
            TrainingKind::GpuHours => e.gpu_hours,
            TrainingKind::TimeToTrain if unit.starts_with("day") => e.wall_clock.0 / 86_400.0,
            TrainingKind::TimeToTrain if unit.starts_with("hour") => e.wall_clock.0 / 3600.0,
            TrainingKind::TimeToTrain if unit.starts_with("minute") => e.wall_clock.0 / 60.0,
            TrainingKind::TimeToTrain => e.wall_clock.0,
            TrainingKind::Energy => {
                let kwh = e.kwh.unwrap_or(0.0);
                if unit.starts_with("mwh") { kwh / 1e3 } else { kwh }
            }
            TrainingKind::TotalFlops => match definition {
                "6n_only" => e.flops_per_token.2 * s.tokens,
                _ => e.model_flops,
            },
        }
    }
}

/// One published inference measurement.
#[derive(Debug, Clone, Deserialize)]
pub struct InferencePoint {
    /// Source id.
    pub id: String,
    /// Which number was measured.
    pub metric: Metric,
    /// The measured value.
    pub value: f64,
    /// The request it corresponds to.
    pub request: InferenceRequest,
    /// Whether the source's precision was inferred rather than stated.
    #[serde(default)]
    pub precision_inferred: bool,
    /// Where it was published.
    pub source: String,
    /// The same measurement as a serving replay under the published conditions (arrival,
    /// request count, engine release, the benchmark's scheduler settings); when present, the
    /// point is estimated through the simulator rather than the static estimate.
    #[serde(default)]
    pub serving: Option<ServingRequest>,
}

/// The measured quantity of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Total output tokens/s, runtime-chosen batch (TensorRT-LLM max-throughput tables).
    OutputThroughputTotal,
    /// Output tokens/s per GPU at a stated batch.
    OutputThroughputPerGpu,
    /// Batch-1 generation speed (llama.cpp `tg`).
    DecodeTokensPerSPerUser,
    /// Prompt processing speed (llama.cpp `pp`).
    PrefillTokensPerS,
    /// Time to first token, ms.
    TtftMs,
    /// Mean time to first token under a stated load (arrival rate, lengths, release), ms.
    ServingTtftMs,
    /// Mean inter-token latency under a stated load, ms.
    ServingItlMs,
    /// Per-user decode speed with speculative decoding (the request's `speculative`), tokens/s.
    SpeculativeDecodeTokensPerSPerUser,
    /// Time to first token of a request whose prompt prefix is served from a KV tier beyond
    /// device memory (host memory, disk), replayed with the tier, ms.
    KvOffloadTtftMs,
    /// Input tokens/s per device of a disaggregated deployment's prefill pool, measured with the
    /// decode side unconstrained (the request's `serving.disaggregation`), tokens/s.
    DisaggregatedPrefillTokensPerSPerDevice,
    /// Output tokens/s per device of a disaggregated deployment's decode pool, measured with the
    /// prefill side unconstrained (the request's `serving.disaggregation`), tokens/s.
    DisaggregatedDecodeTokensPerSPerDevice,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 11] = [
        Metric::DecodeTokensPerSPerUser,
        Metric::PrefillTokensPerS,
        Metric::TtftMs,
        Metric::OutputThroughputPerGpu,
        Metric::OutputThroughputTotal,
        Metric::ServingTtftMs,
        Metric::ServingItlMs,
        Metric::SpeculativeDecodeTokensPerSPerUser,
        Metric::KvOffloadTtftMs,
        Metric::DisaggregatedPrefillTokensPerSPerDevice,
        Metric::DisaggregatedDecodeTokensPerSPerDevice,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::OutputThroughputTotal => "output_throughput_total",
            Metric::OutputThroughputPerGpu => "output_throughput_per_gpu",
            Metric::DecodeTokensPerSPerUser => "decode_tokens_per_s_per_user",
            Metric::PrefillTokensPerS => "prefill_tokens_per_s",
            Metric::TtftMs => "ttft_ms",
            Metric::ServingTtftMs => "serving_ttft_ms",
            Metric::ServingItlMs => "serving_itl_ms",
            Metric::SpeculativeDecodeTokensPerSPerUser => "speculative_decode_tokens_per_s_per_user",
            Metric::KvOffloadTtftMs => "kv_offload_ttft_ms",
            Metric::DisaggregatedPrefillTokensPerSPerDevice => "disaggregated_prefill_tokens_per_s_per_device",
            Metric::DisaggregatedDecodeTokensPerSPerDevice => "disaggregated_decode_tokens_per_s_per_device",
        }
    }

    /// The serving replay's value for this metric.
    pub fn pick_serving(self, s: &ServingScenario, e: &ServingEstimate) -> f64 {
        match self {
            Metric::OutputThroughputTotal => e.output_tokens_per_s,
            Metric::OutputThroughputPerGpu => e.output_tokens_per_s / s.inference.parallelism.devices().max(1) as f64,
            Metric::DecodeTokensPerSPerUser | Metric::SpeculativeDecodeTokensPerSPerUser => {
                1.0 / e.tpot.mean.max(1e-12)
            }
            Metric::PrefillTokensPerS => e.total_tokens_per_s - e.output_tokens_per_s,
            Metric::TtftMs | Metric::ServingTtftMs | Metric::KvOffloadTtftMs => e.ttft.mean * 1e3,
            Metric::ServingItlMs => e.itl.mean * 1e3,
            // Without pools, the one deployment does both.
            Metric::DisaggregatedPrefillTokensPerSPerDevice => {
                (e.total_tokens_per_s - e.output_tokens_per_s) / s.inference.parallelism.devices().max(1) as f64
            }
            Metric::DisaggregatedDecodeTokensPerSPerDevice => {
                e.output_tokens_per_s / s.inference.parallelism.devices().max(1) as f64
            }
        }
    }

    /// A disaggregated replay's value for this metric: the pool metrics read their pool, the
    /// others the end-to-end figures.
    pub fn pick_disaggregated(self, s: &ServingScenario, e: &DisaggregatedEstimate) -> f64 {
        match self {
            Metric::DisaggregatedPrefillTokensPerSPerDevice => {
                e.prefill.as_ref().map_or(0.0, |p| p.tokens_per_s_per_device)
            }
            Metric::DisaggregatedDecodeTokensPerSPerDevice => e.decode.tokens_per_s_per_device,
            _ => self.pick_serving(s, &e.serving),
        }
    }

    /// The estimate's value for this metric.
    pub fn pick(self, s: &InferenceScenario, e: &InferenceEstimate) -> f64 {
        match self {
            Metric::OutputThroughputTotal => e.output_tokens_per_s,
            Metric::OutputThroughputPerGpu => e.output_tokens_per_s / s.parallelism.devices().max(1) as f64,
            Metric::DecodeTokensPerSPerUser | Metric::SpeculativeDecodeTokensPerSPerUser => {
                e.output_tokens_per_s_per_user
            }
            Metric::PrefillTokensPerS => e.prefill_tokens_per_s,
            // Load metrics without a replay: the static estimate's one-request figures.
            Metric::TtftMs | Metric::ServingTtftMs | Metric::KvOffloadTtftMs => e.ttft.0 * 1e3,
            Metric::ServingItlMs => e.tpot.0 * 1e3,
            Metric::DisaggregatedPrefillTokensPerSPerDevice => {
                e.prefill_tokens_per_s / s.parallelism.devices().max(1) as f64
            }
            Metric::DisaggregatedDecodeTokensPerSPerDevice => {
                e.output_tokens_per_s / s.parallelism.devices().max(1) as f64
            }
        }
    }
}

/// Which side of the API a point exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// `POST /v1/estimate/inference`.
    Inference,
    /// `POST /v1/estimate/training`.
    Training,
}

/// One point's outcome, with what traces it back to its line in `data/validation/` and its
/// publication.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointResult {
    /// Source id.
    pub id: String,
    /// Model of the point's request, as the data file names it (`inline` for an inline model).
    pub model: String,
    /// Device of the point's request, as the data file names it (`inline` for an inline device).
    pub hardware: String,
    /// Engine (and release) the point was estimated with, when the point names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Where the measurement was published.
    pub source: String,
    /// Inference or training.
    pub side: Side,
    /// Metric family (`decode_tokens_per_s_per_user`, `throughput`, ...).
    pub family: &'static str,
    /// Device class of the point's hardware (`gpu`, `apple-soc`, `cpu`, ...).
    pub device_class: &'static str,
    /// Published value.
    pub measured: f64,
    /// hwcost's estimate, when the request could be estimated.
    pub predicted: Option<f64>,
    /// Signed error `(predicted - measured) / measured`.
    pub error: Option<f64>,
    /// Why there is no estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The framework that measured it (fine-tuning points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
}

/// Aggregate error of one family, over all devices or one device class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilySummary {
    /// Inference or training.
    pub side: Side,
    /// Metric family.
    pub family: String,
    /// `all`, or a device class with at least [`MIN_CLASS_POINTS`] points.
    pub device_class: String,
    /// Points in the file.
    pub points: usize,
    /// Points estimated.
    pub estimated: usize,
    /// `estimated / points`.
    pub coverage: f64,
    /// Median absolute percentage error, as a fraction.
    pub median_ape: f64,
    /// 90th percentile absolute percentage error, as a fraction.
    pub p90_ape: f64,
    /// Median signed error (positive: hwcost overestimates).
    pub median_signed_error: f64,
}

/// Device classes get their own summary row from this many estimated points.
pub const MIN_CLASS_POINTS: usize = 10;

/// The whole validation run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Per family (and device class).
    pub families: Vec<FamilySummary>,
    /// Per point.
    pub points: Vec<PointResult>,
    /// Published inference points that could not be expressed (see `inference_skipped.jsonl`).
    pub inference_skipped: usize,
    /// Published training points that could not be expressed (see `training_skipped.jsonl`).
    pub training_skipped: usize,
}

impl Report {
    /// The summary a given estimate's error band comes from: its device class when that class has
    /// its own row, else all devices.
    pub fn band(&self, side: Side, family: &str, device_class: &str) -> Option<&FamilySummary> {
        band(&self.families, side, family, device_class)
    }

    /// A report with no points (a catalog whose validation data cannot be run).
    pub fn empty() -> Self {
        Self { families: Vec::new(), points: Vec::new(), inference_skipped: 0, training_skipped: 0 }
    }
}

/// The summary of `family` for `device_class` in `families`, else for all devices.
pub fn band<'a>(
    families: &'a [FamilySummary],
    side: Side,
    family: &str,
    device_class: &str,
) -> Option<&'a FamilySummary> {
    let of = |class: &str| families.iter().find(|f| f.side == side && f.family == family && f.device_class == class);
    of(device_class).or_else(|| of("all"))
}

/// The family summaries committed in [`BANDS_JSON`].
pub fn committed_bands() -> Result<Vec<FamilySummary>, String> {
    serde_json::from_str(BANDS_JSON).map_err(|e| format!("data/validation/bands.json: {e}"))
}

/// The validation of one catalog, run only when asked and at most once.
///
/// Error bands are all most answers need. For the embedded catalog they are the committed
/// summaries ([`BANDS_JSON`], kept equal to the run by a test), so no process replays the set
/// to print them; any other catalog runs the validation the first time a band is asked for.
/// The full report (every point) is run on demand: `GET /v1/validation`, `hwcost validate`.
pub struct Validation {
    catalog: std::sync::Arc<Catalog>,
    families: std::sync::OnceLock<Vec<FamilySummary>>,
    report: std::sync::OnceLock<std::sync::Arc<Report>>,
}

impl std::fmt::Debug for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validation").field("run", &self.report.get().is_some()).finish_non_exhaustive()
    }
}

impl Validation {
    /// The validation of `catalog`; nothing runs yet.
    pub fn of(catalog: std::sync::Arc<Catalog>) -> Self {
        Self { catalog, families: std::sync::OnceLock::new(), report: std::sync::OnceLock::new() }
    }

    /// A validation whose report is already known (tests, and callers that ran it).
    pub fn from_report(catalog: std::sync::Arc<Catalog>, report: Report) -> Self {
        let this = Self::of(catalog);
        let _ = this.families.set(report.families.clone());
        let _ = this.report.set(std::sync::Arc::new(report));
        this
    }

    /// The family summaries error bands are read from.
    pub fn families(&self) -> &[FamilySummary] {
        self.families.get_or_init(|| {
            if self.catalog.is_embedded() {
                match committed_bands() {
                    Ok(families) => return families,
                    Err(error) => tracing::warn!(%error, "committed error bands unreadable; running the validation"),
                }
            }
            self.report().families.clone()
        })
    }

    /// The summary an estimate's error band comes from (see [`Report::band`]).
    pub fn band(&self, side: Side, family: &str, device_class: &str) -> Option<&FamilySummary> {
        band(self.families(), side, family, device_class)
    }

    /// The whole run, every point (seconds unoptimised, most of a second optimised).
    pub fn report(&self) -> std::sync::Arc<Report> {
        let run = |catalog: &Catalog| {
            std::sync::Arc::new(validate(catalog).unwrap_or_else(|error| {
                tracing::warn!(%error, "validation data could not be run; error bands will be unknown");
                Report::empty()
            }))
        };
        // The embedded catalog and the embedded points always give the same report: run it at
        // most once per process, whichever context asks.
        static EMBEDDED: std::sync::OnceLock<std::sync::Arc<Report>> = std::sync::OnceLock::new();
        std::sync::Arc::clone(self.report.get_or_init(|| {
            if self.catalog.is_embedded() {
                std::sync::Arc::clone(EMBEDDED.get_or_init(|| run(&self.catalog)))
            } else {
                run(&self.catalog)
            }
        }))
    }
}

/// Parses the embedded inference points.
pub fn inference_points() -> Result<Vec<InferencePoint>, String> {
    parse_lines(INFERENCE_JSONL, "inference.jsonl")
}

/// Parses the embedded training points.
pub fn training_points() -> Result<Vec<TrainingPoint>, String> {
    parse_lines(TRAINING_JSONL, "training.jsonl")
}

fn parse_lines<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Result<Vec<T>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("data/validation/{name} line {}: {e}", i + 1)))
        .collect()
}

fn count_lines(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

fn device_class(catalog: &Catalog, hardware: &serde_json::Value) -> &'static str {
    hardware.as_str().and_then(|id| catalog.device(id).ok()).map_or("inline", |d| d.record.kind.as_str())
}

/// What traces a point back to its data line and its publication.
struct Origin {
    id: String,
    model: String,
    hardware: String,
    engine: Option<String>,
    source: String,
}

impl Origin {
    /// The request's model and device as written: a catalog id, or `inline` for an inline record.
    fn new(
        id: &str,
        model: &serde_json::Value,
        hardware: &serde_json::Value,
        engine: Option<String>,
        source: &str,
    ) -> Self {
        let name = |v: &serde_json::Value| v.as_str().unwrap_or("inline").to_owned();
        Self { id: id.to_owned(), model: name(model), hardware: name(hardware), engine, source: source.to_owned() }
    }
}

fn result(
    origin: Origin,
    side: Side,
    family: &'static str,
    class: &'static str,
    measured: f64,
    predicted: Result<f64, String>,
) -> PointResult {
    let (predicted, problem) = match predicted {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let error = predicted.filter(|_| measured > 0.0).map(|p| (p - measured) / measured);
    PointResult {
        id: origin.id,
        model: origin.model,
        hardware: origin.hardware,
        engine: origin.engine,
        source: origin.source,
        side,
        family,
        device_class: class,
        measured,
        predicted,
        error,
        problem,
        framework: None,
    }
}

/// Runs every embedded point through the scenario parsers and the engines.
pub fn validate(catalog: &Catalog) -> Result<Report, String> {
    use rayon::prelude::*;
    // Points are independent; the serving replays make this worth spreading over the cores.
    let inference: Vec<PointResult> = inference_points()?
        .par_iter()
        .map(|p| {
            let class = device_class(catalog, &p.request.deployment.hardware);
            let predicted = match &p.serving {
                Some(serving) => ServingScenario::parse(catalog, serving, "")
                    .map(|s| match &s.disaggregation {
                        // A disaggregated point replays both pools; its end-to-end figures are
                        // read like any replay's.
                        Some(d) => {
                            let mut pools = d.pools();
                            if let Some(p) = pools.prefill.as_mut() {
                                p.explain = false;
                            }
                            pools.decode.explain = false;
                            let e = serving::disaggregated::simulate(&pools, &s.workload);
                            p.metric.pick_disaggregated(&s, &e)
                        }
                        None => {
                            let input = InferenceInput { explain: false, ..s.inference.input() };
                            p.metric.pick_serving(&s, &serving::simulate(&input, &s.workload))
                        }
                    })
                    .map_err(|e| e.to_string()),
                None => InferenceScenario::parse(catalog, &p.request, "")
                    .map(|s| p.metric.pick(&s, &inference::estimate(&s.input())))
                    .map_err(|e| e.to_string()),
            };
            // A replayed point runs on the replay's engine release, which may differ from the
            // static request's.
            let engine =
                p.serving.as_ref().and_then(|s| s.deployment.engine.as_ref()).or(p.request.deployment.engine.as_ref());
            let d = &p.request.deployment;
            let origin = Origin::new(&p.id, &d.model, &d.hardware, engine.map(ToString::to_string), &p.source);
            result(origin, Side::Inference, p.metric.as_str(), class, p.value, predicted)
        })
        .collect();
    let mut points = inference;
    for p in training_points()? {
        let class = device_class(catalog, &p.request.hardware);
        let predicted = TrainingScenario::parse(catalog, &p.request, "")
            .map(|s| p.pick(&s, &training::estimate(&s.input())))
            .map_err(|e| e.to_string());
        let engine = p.request.engine.map(|e| e.as_str().to_owned());
        let origin = Origin::new(&p.id, &p.request.model, &p.request.hardware, engine, &p.source);
        let mut point = result(origin, Side::Training, p.kind.as_str(), class, p.value, predicted);
        point.framework = p.framework.clone();
        points.push(point);
    }
    Ok(Report {
        families: summarise(&points),
        points,
        inference_skipped: count_lines(INFERENCE_SKIPPED_JSONL),
        training_skipped: count_lines(TRAINING_SKIPPED_JSONL),
    })
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(side: Side, family: &str, class: &str, of: &[&PointResult]) -> FamilySummary {
    let mut errors: Vec<f64> = of.iter().filter_map(|p| p.error).collect();
    errors.sort_by(f64::total_cmp);
    let mut absolute: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
    absolute.sort_by(f64::total_cmp);
    let coverage = if of.is_empty() { 0.0 } else { errors.len() as f64 / of.len() as f64 };
    FamilySummary {
        side,
        family: family.to_owned(),
        device_class: class.to_owned(),
        points: of.len(),
        estimated: errors.len(),
        coverage,
        median_ape: quantile(&absolute, 0.5),
        p90_ape: quantile(&absolute, 0.9),
        median_signed_error: quantile(&errors, 0.5),
    }
}

/// Summaries per (side, family) over all devices, then per device class with enough points.
pub fn summarise(points: &[PointResult]) -> Vec<FamilySummary> {
    let mut keys: Vec<(Side, &'static str)> = points.iter().map(|p| (p.side, p.family)).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    for (side, family) in keys {
        let of: Vec<&PointResult> = points.iter().filter(|p| p.side == side && p.family == family).collect();
        out.push(summary(side, family, "all", &of));
        let mut classes: Vec<&'static str> = of.iter().map(|p| p.device_class).collect();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() > 1 {
            for class in classes {
                let in_class: Vec<&PointResult> = of.iter().copied().filter(|p| p.device_class == class).collect();
                if in_class.iter().filter(|p| p.error.is_some()).count() >= MIN_CLASS_POINTS {
                    out.push(summary(side, family, class, &in_class));
                }
            }
        }
    }
    out
}

/// The README's accuracy tables, as `hwcost validate --markdown` prints them.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    for (side, title, skipped, file) in [
        (Side::Inference, "Inference", report.inference_skipped, "inference_skipped.jsonl"),
        (Side::Training, "Training", report.training_skipped, "training_skipped.jsonl"),
    ] {
        out.push_str(&format!(
            "**{title}**\n\n| metric family | devices | points | estimated | median APE | p90 APE | median signed error |\n|---|---|---|---|---|---|---|\n"
        ));
        for f in report.families.iter().filter(|f| f.side == side) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1}% | {:.1}% | {:+.1}% |\n",
                f.family,
                f.device_class,
                f.points,
                f.estimated,
                f.median_ape * 100.0,
                f.p90_ape * 100.0,
                f.median_signed_error * 100.0
            ));
        }
        if side == Side::Training {
            out.push_str(&frameworks(report));
        }
        out.push_str(&format!(
            "\n{skipped} further published points could not be expressed (reasons in `data/validation/{file}`).\n\n"
        ));
    }
    out
}

/// One row per point, `hwcost validate`'s listing: what traces the point back to its data line
/// and publication (id, model, hardware, engine, source) beside the measured and predicted values.
/// The source comes last and unpadded: it is long, and a row is read by grepping for an id.
/// Points with no estimate are listed again below the table with the reason.
pub fn points_table(report: &Report) -> String {
    const HEADER: [&str; 10] =
        ["id", "family", "class", "model", "hardware", "engine", "measured", "predicted", "error", "source"];
    // Numbers align right, words left.
    const RIGHT: [bool; 10] = [false, false, false, false, false, false, true, true, true, false];
    let mut rows = vec![HEADER.map(str::to_owned)];
    rows.extend(report.points.iter().map(point_row));
    let mut widths = [0; 10];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut cells: Vec<String> = row
            .iter()
            .zip(widths)
            .zip(RIGHT)
            .map(|((cell, width), right)| if right { format!("{cell:>width$}") } else { format!("{cell:<width$}") })
            .collect();
        if let Some(last) = cells.last_mut() {
            *last = last.trim_end().to_owned();
        }
        out.push_str(&cells.join("  "));
        out.push('\n');
    }
    for p in report.points.iter().filter(|p| p.predicted.is_none()) {
        out.push_str(&format!("{} not estimated: {}\n", p.id, p.problem.as_deref().unwrap_or("no reason given")));
    }
    out
}

/// A point's cells in [`points_table`]'s order.
fn point_row(p: &PointResult) -> [String; 10] {
    let (predicted, error) = match (p.predicted, p.error) {
        (Some(predicted), Some(error)) => (format!("{predicted:.4e}"), format!("{:+.1}%", error * 100.0)),
        (Some(predicted), None) => (format!("{predicted:.4e}"), "n/a".to_owned()),
        // Why goes below the table, where its length widens no column.
        _ => ("not estimated".to_owned(), "-".to_owned()),
    };
    [
        p.id.clone(),
        p.family.to_owned(),
        p.device_class.to_owned(),
        p.model.clone(),
        p.hardware.clone(),
        p.engine.clone().unwrap_or_else(|| "-".to_owned()),
        format!("{:.4e}", p.measured),
        predicted,
        error,
        p.source.clone(),
    ]
}

/// Training memory and longest-sequence error per framework that measured it.
fn frameworks(report: &Report) -> String {
    let mut names: Vec<&str> = report.points.iter().filter_map(|p| p.framework.as_deref()).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nPer framework (fine-tuning and memory points):\n\n| framework | metric family | points | estimated | median APE | p90 APE | median signed error |\n|---|---|---|---|---|---|---|\n",
    );
    for name in names {
        for family in ["memory", "max_sequence_length"] {
            let of: Vec<&PointResult> =
                report.points.iter().filter(|p| p.framework.as_deref() == Some(name) && p.family == family).collect();
            if of.is_empty() {
                continue;
            }
            let f = summary(Side::Training, family, "all", &of);
            out.push_str(&format!(
                "| {name} | {family} | {} | {} | {:.1}% | {:.1}% | {:+.1}% |\n",
                f.points,
                f.estimated,
                f.median_ape * 100.0,
                f.p90_ape * 100.0,
                f.median_signed_error * 100.0
            ));
        }
    }
    out
}

/// Marks the start of the generated table in the README.
pub const README_START: &str = "<!-- validation:start (generated by `hwcost validate --markdown`) -->";
/// Marks its end.
pub const README_END: &str = "<!-- validation:end -->";

#[cfg(test)]
mod tests {
    use super::*;

    /// The run over the embedded data, once for all the tests (it takes seconds unoptimised).
    fn report() -> &'static Report {
        static REPORT: std::sync::OnceLock<Report> = std::sync::OnceLock::new();
        REPORT.get_or_init(|| validate(&Catalog::embedded().unwrap()).unwrap())
    }

    /// The committed bands are the run's summaries: a change that moves any estimate of a
    /// validation point must refresh them (`UPDATE_BANDS=1 cargo test --lib committed_bands`),
    /// so the bands a user sees are always the ones the run measures.
    #[test]
    fn committed_bands_are_the_runs() {
        let families = &report().families;
        if std::env::var_os("UPDATE_BANDS").is_some() {
            let mut text = serde_json::to_string_pretty(families).unwrap();
            text.push('\n');
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/data/validation/bands.json"), text).unwrap();
            return;
        }
        let committed = committed_bands().unwrap();
        let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12);
        let matches = committed.len() == families.len()
            && committed.iter().zip(families).all(|(c, f)| {
                (c.side, &c.family, &c.device_class, c.points, c.estimated)
                    == (f.side, &f.family, &f.device_class, f.points, f.estimated)
                    && same(c.coverage, f.coverage)
                    && same(c.median_ape, f.median_ape)
                    && same(c.p90_ape, f.p90_ape)
                    && same(c.median_signed_error, f.median_signed_error)
            });
        assert!(
            matches,
            "data/validation/bands.json is stale: run `UPDATE_BANDS=1 cargo test --lib committed_bands`\ncommitted: {committed:#?}\nrun: {families:#?}"
        );
    }

    /// The embedded catalog's bands come from the committed file without running anything.
    #[test]
    fn embedded_bands_need_no_run() {
        let validation = Validation::of(std::sync::Arc::new(Catalog::embedded().unwrap()));
        assert!(!validation.families().is_empty());
        assert!(validation.report.get().is_none(), "reading bands ran the validation");
        let first = validation.families()[0].clone();
        assert_eq!(validation.band(first.side, &first.family, &first.device_class), Some(&first));
    }

    /// (median, p90) absolute percentage error each family must stay within, over all devices.
    /// Start from the measured values; lower them when a change improves accuracy. The issues'
    /// aims are tighter (median 15% / p90 40%, then 10% / 30%); the README says which families
    /// miss them.
    const RATCHET: &[(Side, &str, f64, f64)] = &[
        (Side::Inference, "decode_tokens_per_s_per_user", 0.14, 0.28),
        (Side::Inference, "prefill_tokens_per_s", 0.13, 1.34),
        (Side::Inference, "ttft_ms", 0.13, 0.44),
        // Fitted on since 2026-12-07 (the TensorRT-LLM 0.14 step constants; 0.11 / 0.33 and
        // 0.08 / 0.25 while held out).
        (Side::Inference, "serving_ttft_ms", 0.06, 0.19),
        (Side::Inference, "serving_itl_ms", 0.04, 0.24),
        (Side::Inference, "output_throughput_per_gpu", 0.12, 0.56),
        // Tightened from 0.13 / 0.35 by the TensorRT-LLM width rule and re-fit (issue 28).
        (Side::Inference, "output_throughput_total", 0.09, 0.27),
        // Tightened from 0.10 / 0.20 and 0.09 / 0.17 when tensor ranks without sequence
        // parallelism stopped repeating the whole elementwise work (only the norms' share of it,
        // Korthikanti et al. 2022) and NVIDIA's DGX Cloud rows gained the virtual pipeline
        // stages their configs state.
        (Side::Training, "throughput", 0.09, 0.18),
        (Side::Training, "mfu", 0.06, 0.14),
        // Tightened from 0.11 / 0.26 by torchtitan's op-level selective recomputation and its
        // 11 memory rows (issue 30), then from 0.08 / 0.22 when LitGPT's untied copy of a tied
        // token table was counted (its Gemma, Gemma 2, Llama 3.2 and Falcon rows).
        (Side::Training, "memory", 0.06, 0.20),
        // Loosened from 0.04 / 0.10 when compiled stacks' gated MLPs began saving 4x the
        // intermediate rather than 6x (fused SwiGLU, issue 30): the unsloth rows rose (8 GB to
        // +114%). Looked into: the rule is right for Unsloth's per-token memory (its LoRA_MLP
        // saves X, e and g, and its backward allocates the [tokens, intermediate] gradient DW
        // beside them: 2 h + 6 f at the rebuilt layer's peak, what hwcost counts). Its nine
        // rows lie on one line, 220.7 kB a token over a 7.68 GB intercept; hwcost gives 214.8
        // kB (-2.7%) over 6.96 GB: 0.72 GB of fixed memory is missing (PEFT's FP32 adapters
        // are 0.34 GB of it, but adding them moves the 70B and Hugging Face rows the other
        // way), and the 8 GB row, with 1 GB left above the fixed part, magnifies that 0.72 GB
        // into +114%. The old 6x hid it behind a slope 11% too steep.
        // p90 from 0.18 when every QLoRA kernel's 16-bit rebuild of its largest matrix was counted.
        (Side::Training, "max_sequence_length", 0.05, 0.16),
        // The p90 was 0.64 before Falcon-180B's GPU-hours point gained the layout its model
        // card states (TP 8, PP 8, DP 64 on 40 GB A100s): hwcost then needs full recomputation
        // to fit and a 1F1B bubble of 18%, and comes out at +92%. The median fell from 0.23 with
        // the tensor-parallel elementwise rule and BLOOM's stated recomputation.
        (Side::Training, "gpu_hours", 0.20, 0.68),
        // GPT-3's 14.8 days on 10,000 V100s (Patterson et al. 2021) is predicted at 11.0 (27%
        // MFU where the run measured 20%) since a V100's GEMMs run at the Volta share Megatron-LM
        // 2019 measured (0.30); 7.2 before. The median fell from 0.44 with that and the
        // elementwise rule (Falcon-40B +58% -> +18%), then to 0.18 / 0.33 when llm.c's run got
        // its own profile (GPT-2 124M in 90 minutes: +71% -> +12%).
        (Side::Training, "time_to_train", 0.19, 0.34),
        // Energy within 15% of the published runs (issue 30's aim for GPT-3). The p90 is the
        // OLMo 2 13B point (+17%): its 257 MWh is GPU power only (no host or network), which
        // hwcost counts, and Morrison et al. 2025 give 230 MWh for the same run.
        (Side::Training, "energy", 0.15, 0.17),
        (Side::Training, "total_flops", 0.01, 0.02),
    ];

    #[test]
    fn accuracy_stays_within_the_ratchet_and_coverage_is_complete() {
        let r = report();
        print!("{}", points_table(r));
        println!("{}", markdown(r));
        let missing: Vec<&str> = r.points.iter().filter(|p| p.predicted.is_none()).map(|p| p.id.as_str()).collect();
        assert!(missing.is_empty(), "points not estimated: {missing:?}");
        for (side, family, median, p90) in RATCHET {
            let f = r.band(*side, family, "all").unwrap_or_else(|| panic!("no family {family}"));
            assert!(
                f.median_ape <= *median && f.p90_ape <= *p90,
                "{family}: median {:.3} (bound {median}), p90 {:.3} (bound {p90})",
                f.median_ape,
                f.p90_ape
            );
        }
    }

    #[test]
    fn the_readme_table_is_the_generated_one() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let generated = markdown(report());
        let start = readme.find(README_START).expect("README has the validation start marker") + README_START.len();
        let end = readme.find(README_END).expect("README has the validation end marker");
        assert!(
            readme[start..end].trim() == generated.trim(),
            "README accuracy table is stale; run `cargo run -- validate --markdown` and paste it between the markers"
        );
    }

    #[test]
    fn every_point_is_traceable_to_its_data_line_and_publication() {
        for p in &report().points {
            for (field, value) in [("model", &p.model), ("hardware", &p.hardware), ("source", &p.source)] {
                assert!(!value.trim().is_empty(), "{}: no {field}", p.id);
            }
            // Every point in data/validation/ names its engine today; one without would print "-".
            assert!(p.engine.as_deref().is_some_and(|e| !e.is_empty()), "{}: no engine", p.id);
        }
    }

    fn point(id: &str, engine: Option<&str>, predicted: Result<f64, String>) -> PointResult {
        let origin = Origin {
            id: id.to_owned(),
            model: "llama-2-7b".to_owned(),
            hardware: "nvidia-h100-sxm-80gb".to_owned(),
            engine: engine.map(str::to_owned),
            source: format!("paper of {id}, table 2"),
        };
        result(origin, Side::Inference, "ttft_ms", "gpu", 100.0, predicted)
    }

    #[test]
    fn the_points_table_names_each_points_model_hardware_engine_and_source() {
        let report = Report {
            families: Vec::new(),
            points: vec![point("a-1", Some("vllm@0.6"), Ok(110.0)), point("b-2", None, Err("unknown model".into()))],
            inference_skipped: 0,
            training_skipped: 0,
        };
        let table = points_table(&report);
        let lines: Vec<&str> = table.lines().collect();
        // (line, words it must hold in order)
        let cases: &[(usize, &[&str])] = &[
            (0, &["id", "family", "class", "model", "hardware", "engine", "measured", "predicted", "error", "source"]),
            (
                1,
                &[
                    "a-1",
                    "ttft_ms",
                    "gpu",
                    "llama-2-7b",
                    "nvidia-h100-sxm-80gb",
                    "vllm@0.6",
                    "1.0000e2",
                    "1.1000e2",
                    "+10.0%",
                    "paper of a-1, table 2",
                ],
            ),
            (2, &["b-2", "llama-2-7b", "nvidia-h100-sxm-80gb", " - ", "not estimated", "paper of b-2, table 2"]),
            (3, &["b-2 not estimated: unknown model"]),
        ];
        assert_eq!(lines.len(), cases.len(), "{table}");
        for (line, words) in cases {
            let mut rest = lines[*line];
            for word in *words {
                let at = rest.find(word).unwrap_or_else(|| panic!("line {line} lacks {word:?} in order:\n{table}"));
                rest = &rest[at + word.len()..];
            }
        }
        // Columns line up: every row's source starts where the header's does.
        let column = lines[0].find("source").unwrap();
        assert_eq!(lines[1].find("paper").unwrap(), column, "{table}");
    }
}
