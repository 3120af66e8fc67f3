//! Error bands: how far off this kind of estimate has been on published measurements.
//!
//! Each estimate names the outputs a dashboard shows with a "+-X%", and each output is paired
//! with the validation family that measures it; the band is that family's measured median and
//! p90 absolute error, for the estimate's device class when that class has enough points of its
//! own.

use serde::Serialize;
use utoipa::ToSchema;

use crate::validation::{Side, Validation};

/// The measured error of one output.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BandEntry {
    /// Response path the band applies to.
    #[schema(example = "latency.tpot_ms")]
    pub output: &'static str,
    /// Validation family it was measured on.
    pub family: String,
    /// Device class of the summary used (`all` when the class has too few points).
    pub device_class: String,
    /// Points behind it.
    pub points: usize,
    /// Median absolute percentage error, as a fraction.
    pub median_ape: f64,
    /// 90th percentile absolute percentage error, as a fraction.
    pub p90_ape: f64,
    /// Median signed error (positive: hwcost overestimates).
    pub median_signed_error: f64,
}

/// The measured error of this kind of estimate on the validation set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBand {
    /// `measured` when bands are available, `unknown` otherwise.
    pub status: &'static str,
    /// How to read the entries.
    pub detail: &'static str,
    /// One entry per output with a validation family.
    pub metrics: Vec<BandEntry>,
}

impl ErrorBand {
    /// No bands (the validation report is not available).
    pub fn unknown() -> Self {
        Self { status: "unknown", detail: "no validation report is loaded", metrics: Vec::new() }
    }

    /// Bands for `outputs` (`(response path, family)`) on `device_class`.
    pub fn from_report(
        report: &Validation,
        side: Side,
        device_class: &str,
        outputs: &[(&'static str, &'static str)],
    ) -> Self {
        let metrics: Vec<BandEntry> = outputs
            .iter()
            .filter_map(|(output, family)| {
                report.band(side, family, device_class).map(|f| BandEntry {
                    output,
                    family: f.family.clone(),
                    device_class: f.device_class.clone(),
                    points: f.estimated,
                    median_ape: f.median_ape,
                    p90_ape: f.p90_ape,
                    median_signed_error: f.median_signed_error,
                })
            })
            .collect();
        Self {
            status: if metrics.is_empty() { "unknown" } else { "measured" },
            detail: "median and p90 absolute error of this kind of estimate on published measurements (data/validation); in-sample, since the calibration was fitted on them",
            metrics,
        }
    }
}
