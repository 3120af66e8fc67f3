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
use crate::catalog::Catalog;

/// The inference points, embedded so the binary can validate itself anywhere.
pub const INFERENCE_JSONL: &str = include_str!("../data/validation/inference.jsonl");
/// Points that could not be expressed, with reasons.
pub const INFERENCE_SKIPPED_JSONL: &str = include_str!("../data/validation/inference_skipped.jsonl");

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

    /// (median, p90) absolute percentage error every metric family must stay within: the issue's
    /// aim is (0.15, 0.40); these are the limits the current model achieves, kept as a ratchet.
    const LIMITS: (f64, f64) = (0.30, 0.90);
}
