//! The validation harness: published measurements (`data/validation/`), the estimate for each,
//! and the error.
//!
//! Each point carries the inference request it corresponds to (catalog ids, the workload as the
//! source describes it); the harness runs it through the same parsing and engine as the API and
//! compares one metric. Points the engine cannot express were left out when the file was built
//! and are listed with reasons in `inference_skipped.jsonl`; points whose request the API rejects
//! here count against coverage.

use serde::Deserialize;

use crate::api::inference::{InferenceRequest, InferenceResponse, run};
use crate::api::training::{TrainingRequest, TrainingResponse};
use crate::catalog::Catalog;

/// The inference points, embedded so the binary can validate itself anywhere.
pub const INFERENCE_JSONL: &str = include_str!("../data/validation/inference.jsonl");
/// Points that could not be expressed, with reasons.
pub const INFERENCE_SKIPPED_JSONL: &str = include_str!("../data/validation/inference_skipped.jsonl");

/// The training points.
pub const TRAINING_JSONL: &str = include_str!("../data/validation/training.jsonl");
/// Training points that could not be expressed, with reasons.
pub const TRAINING_SKIPPED_JSONL: &str = include_str!("../data/validation/training_skipped.jsonl");

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
}

/// Training metric families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingKind {
    /// Tokens/s per device (or TFLOP/s per device).
    Throughput,
    /// Model (or hardware) FLOPs utilisation.
    Mfu,
    /// Peak memory per device.
    Memory,
    /// Device-hours of a run.
    GpuHours,
    /// Wall-clock time of a run.
    TimeToTrain,
    /// Total training FLOPs.
    TotalFlops,
}

impl TrainingKind {
    /// Every kind, in report order.
    pub const ALL: [TrainingKind; 6] = [
        TrainingKind::Throughput,
        TrainingKind::Mfu,
        TrainingKind::Memory,
        TrainingKind::GpuHours,
        TrainingKind::TimeToTrain,
        TrainingKind::TotalFlops,
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
        }
    }
}

impl TrainingPoint {
    /// The estimate's value in the point's unit and under the source's definitions.
    pub fn pick(&self, r: &TrainingResponse) -> f64 {
        let definition = self.mfu_definition.as_deref().unwrap_or("causal_halving");
        let unit = self.unit.to_ascii_lowercase();
        match self.kind {
            TrainingKind::Throughput if unit.starts_with("tflop") => {
                r.flops.model_flops_per_token * r.throughput.tokens_per_s_per_device / 1e12
            }
            TrainingKind::Throughput => r.throughput.tokens_per_s_per_device,
            TrainingKind::Mfu => match definition {
                "hardware_flops" => r.utilization.hfu,
                "no_causal_halving" => r.utilization.mfu_no_causal_halving,
                "6n_only" => {
                    r.utilization.mfu * r.flops.model_flops_per_token_6n / r.flops.model_flops_per_token.max(1.0)
                }
                _ => r.utilization.mfu,
            },
            TrainingKind::Memory if unit.starts_with("gib") => r.memory.per_device.total_bytes / f64::from(1u32 << 30),
            TrainingKind::Memory => r.memory.per_device.total_bytes / 1e9,
            TrainingKind::GpuHours => r.time.gpu_hours,
            TrainingKind::TimeToTrain if unit.starts_with("day") => r.time.wall_clock_s / 86_400.0,
            TrainingKind::TimeToTrain if unit.starts_with("hour") => r.time.wall_clock_s / 3600.0,
            TrainingKind::TimeToTrain if unit.starts_with("minute") => r.time.wall_clock_s / 60.0,
            TrainingKind::TimeToTrain => r.time.wall_clock_s,
            TrainingKind::TotalFlops => match definition {
                "6n_only" => r.flops.model_flops_per_token_6n * r.tokens,
                _ => r.flops.model_flops,
            },
        }
    }
}

/// One training point's outcome.
#[derive(Debug, Clone)]
pub struct TrainingOutcome {
    /// Source id.
    pub id: String,
    /// Kind.
    pub kind: TrainingKind,
    /// Published value.
    pub measured: f64,
    /// Estimate, or why there is none.
    pub estimated: Result<f64, String>,
}

/// Parses the embedded training points.
pub fn training_points() -> Result<Vec<TrainingPoint>, String> {
    TRAINING_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| format!("data/validation/training.jsonl line {}: {e}", i + 1))
        })
        .collect()
}

/// Runs every training point.
pub fn run_training(catalog: &Catalog, points: &[TrainingPoint]) -> Vec<TrainingOutcome> {
    points
        .iter()
        .map(|p| TrainingOutcome {
            id: p.id.clone(),
            kind: p.kind,
            measured: p.value,
            estimated: crate::api::training::run(catalog, &p.request, "")
                .map(|r| p.pick(&r))
                .map_err(|e| e.to_string()),
        })
        .collect()
}

/// Median and p90 absolute percentage error per training kind, in the same shape as inference
/// summaries (the metric column carries the kind's name).
pub fn summarise_training(outcomes: &[TrainingOutcome]) -> Vec<(TrainingKind, usize, usize, f64, f64, f64)> {
    TrainingKind::ALL
        .iter()
        .filter_map(|&kind| {
            let of: Vec<&TrainingOutcome> = outcomes.iter().filter(|o| o.kind == kind).collect();
            if of.is_empty() {
                return None;
            }
            let mut errors: Vec<f64> = of
                .iter()
                .filter_map(|o| {
                    o.estimated.as_ref().ok().filter(|_| o.measured > 0.0).map(|e| (e - o.measured) / o.measured)
                })
                .collect();
            errors.sort_by(f64::total_cmp);
            let mut absolute: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
            absolute.sort_by(f64::total_cmp);
            Some((
                kind,
                of.len(),
                errors.len(),
                quantile(&absolute, 0.5),
                quantile(&absolute, 0.9),
                quantile(&errors, 0.5),
            ))
        })
        .collect()
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
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 5] = [
        Metric::DecodeTokensPerSPerUser,
        Metric::PrefillTokensPerS,
        Metric::TtftMs,
        Metric::OutputThroughputPerGpu,
        Metric::OutputThroughputTotal,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::OutputThroughputTotal => "output_throughput_total",
            Metric::OutputThroughputPerGpu => "output_throughput_per_gpu",
            Metric::DecodeTokensPerSPerUser => "decode_tokens_per_s_per_user",
            Metric::PrefillTokensPerS => "prefill_tokens_per_s",
            Metric::TtftMs => "ttft_ms",
        }
    }

    /// The estimate's value for this metric.
    pub fn pick(self, r: &InferenceResponse) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        match self {
            Metric::OutputThroughputTotal => r.throughput.output_tokens_per_s,
            Metric::OutputThroughputPerGpu => r.throughput.output_tokens_per_s / r.devices.max(1) as f64,
            Metric::DecodeTokensPerSPerUser => r.throughput.output_tokens_per_s_per_user,
            Metric::PrefillTokensPerS => r.throughput.prefill_tokens_per_s,
            Metric::TtftMs => r.latency.ttft_ms,
        }
    }
}

/// One point's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Source id.
    pub id: String,
    /// Metric.
    pub metric: Metric,
    /// Published value.
    pub measured: f64,
    /// Estimated value, or why there is none.
    pub estimated: Result<f64, String>,
}

impl Outcome {
    /// Signed error of the estimate, `(estimated - measured) / measured`.
    pub fn error(&self) -> Option<f64> {
        self.estimated.as_ref().ok().filter(|_| self.measured > 0.0).map(|e| (e - self.measured) / self.measured)
    }
}

/// Aggregate error of one metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Metric.
    pub metric: Metric,
    /// Points in the file.
    pub points: usize,
    /// Points estimated.
    pub estimated: usize,
    /// Median absolute percentage error.
    pub median_ape: f64,
    /// 90th percentile absolute percentage error.
    pub p90_ape: f64,
    /// Median signed error (positive: hwcost overestimates).
    pub median_bias: f64,
}

/// Parses the embedded points.
pub fn inference_points() -> Result<Vec<InferencePoint>, String> {
    INFERENCE_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| format!("data/validation/inference.jsonl line {}: {e}", i + 1))
        })
        .collect()
}

/// Runs every point.
pub fn run_inference(catalog: &Catalog, points: &[InferencePoint]) -> Vec<Outcome> {
    points
        .iter()
        .map(|p| Outcome {
            id: p.id.clone(),
            metric: p.metric,
            measured: p.value,
            estimated: run(catalog, &p.request, "").map(|r| p.metric.pick(&r)).map_err(|e| e.to_string()),
        })
        .collect()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Median and p90 absolute percentage error per metric.
pub fn summarise(outcomes: &[Outcome]) -> Vec<Summary> {
    Metric::ALL
        .iter()
        .filter_map(|&metric| {
            let of: Vec<&Outcome> = outcomes.iter().filter(|o| o.metric == metric).collect();
            if of.is_empty() {
                return None;
            }
            let mut errors: Vec<f64> = of.iter().filter_map(|o| o.error()).collect();
            errors.sort_by(f64::total_cmp);
            let mut absolute: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
            absolute.sort_by(f64::total_cmp);
            Some(Summary {
                metric,
                points: of.len(),
                estimated: errors.len(),
                median_ape: quantile(&absolute, 0.5),
                p90_ape: quantile(&absolute, 0.9),
                median_bias: quantile(&errors, 0.5),
            })
        })
        .collect()
}

/// The summary as a Markdown table (the README's accuracy table).
pub fn table(summaries: &[Summary], skipped: usize) -> String {
    let mut out = String::from(
        "| metric | points | estimated | median APE | p90 APE | median signed error |\n|---|---|---|---|---|---|\n",
    );
    for s in summaries {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1}% | {:.1}% | {:+.1}% |\n",
            s.metric.as_str(),
            s.points,
            s.estimated,
            s.median_ape * 100.0,
            s.p90_ape * 100.0,
            s.median_bias * 100.0
        ));
    }
    out.push_str(&format!(
        "\n{skipped} further published points could not be expressed (see data/validation/inference_skipped.jsonl).\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs every validation point, prints the per-point errors and the table, and asserts the
    /// accuracy the README reports (so a change that makes it worse fails here).
    #[test]
    fn inference_accuracy_on_published_measurements() {
        let catalog = Catalog::embedded().unwrap();
        let points = inference_points().unwrap();
        let outcomes = run_inference(&catalog, &points);
        for o in &outcomes {
            match (&o.estimated, o.error()) {
                (Ok(e), Some(err)) => println!(
                    "{:<40} {:<30} measured {:>12.2} estimated {:>12.2} error {:+7.1}%",
                    o.id,
                    o.metric.as_str(),
                    o.measured,
                    e,
                    err * 100.0
                ),
                (Err(why), _) => println!("{:<40} {:<30} not estimated: {why}", o.id, o.metric.as_str()),
                _ => {}
            }
        }
        let skipped = INFERENCE_SKIPPED_JSONL.lines().filter(|l| !l.trim().is_empty()).count();
        let summaries = summarise(&outcomes);
        println!("{}", table(&summaries, skipped));
        let estimated: usize = summaries.iter().map(|s| s.estimated).sum();
        assert!(estimated * 100 >= points.len() * 95, "coverage {estimated}/{}", points.len());
        for s in &summaries {
            assert!(s.median_ape <= LIMITS.0 && s.p90_ape <= LIMITS.1, "{:?}", s);
        }
    }

    #[test]
    fn training_accuracy_on_published_measurements() {
        let catalog = Catalog::embedded().unwrap();
        let points = training_points().unwrap();
        let outcomes = run_training(&catalog, &points);
        for o in &outcomes {
            match &o.estimated {
                Ok(e) => println!(
                    "{:<48} {:<14} measured {:>14.4e} estimated {:>14.4e} error {:+7.1}%",
                    o.id,
                    o.kind.as_str(),
                    o.measured,
                    e,
                    (e - o.measured) / o.measured * 100.0
                ),
                Err(why) => println!("{:<48} {:<14} not estimated: {why}", o.id, o.kind.as_str()),
            }
        }
        let summary = summarise_training(&outcomes);
        println!(
            "| kind | points | estimated | median APE | p90 APE | median signed error |\n|---|---|---|---|---|---|"
        );
        for (kind, points, estimated, median, p90, bias) in &summary {
            println!(
                "| {} | {points} | {estimated} | {:.1}% | {:.1}% | {:+.1}% |",
                kind.as_str(),
                median * 100.0,
                p90 * 100.0,
                bias * 100.0
            );
        }
        let skipped = TRAINING_SKIPPED_JSONL.lines().filter(|l| !l.trim().is_empty()).count();
        println!(
            "\n{skipped} further published points could not be expressed (see data/validation/training_skipped.jsonl)."
        );
        let estimated: usize = summary.iter().map(|s| s.2).sum();
        assert!(estimated * 100 >= points.len() * 90, "coverage {estimated}/{}", points.len());
        for (kind, _, _, median, p90, _) in &summary {
            assert!(*median <= TRAINING_LIMITS.0 && *p90 <= TRAINING_LIMITS.1, "{kind:?}: median {median}, p90 {p90}");
        }
    }

    /// The training ratchet, as for inference.
    const TRAINING_LIMITS: (f64, f64) = (0.45, 0.75);

    /// (median, p90) absolute percentage error every metric family must stay within: the issue's
    /// aim is (0.15, 0.40); these are the limits the current model achieves, kept as a ratchet.
    const LIMITS: (f64, f64) = (0.30, 0.90);
}
