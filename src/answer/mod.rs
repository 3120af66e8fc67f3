//! What hwcost answers: engine results turned into the response documents that the API sends
//! and the CLI prints (`--json` prints exactly these), and the decisions built on estimates.
//!
//! Every function here takes a parsed scenario (or a request it parses through
//! [`crate::scenario`]) and a [`Context`], runs the engine and the decision rules, and returns a
//! serialisable answer or a [`crate::scenario::Error`]. Nothing here knows HTTP: `api/` wraps
//! these functions in handlers, the CLI calls them directly.
//!
//! Table of contents:
//! - [`inference`], [`training`]: estimate responses, with their error bands ([`error_band`]).
//! - [`serving`]: a deployment replayed under load.
//! - [`check`]: a plan judged against requirements.
//! - [`plan`], [`plan_training`]: the deployment and training planners.
//! - [`batch`]: many estimates in one call; [`calibrate`]: efficiencies fitted to measurements.
//! - [`verdict`]: an answer that does not fit says so first (`verdict`, `not_run`).

pub mod batch;
pub mod calibrate;
pub mod check;
#[cfg(test)]
mod consistency;
pub mod error_band;
pub mod inference;
pub mod plan;
pub mod plan_training;
pub mod serving;
pub mod training;
pub mod verdict;

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::validation::Report;

/// What every answer may read: the catalog, the validation report (error bands come from it)
/// and the server's bounds on work per request.
#[derive(Clone)]
pub struct Context {
    /// The validated catalog.
    pub catalog: Arc<Catalog>,
    /// The validation run on this catalog.
    pub validation: Arc<Report>,
    /// Most configurations one plan may search.
    pub plan_max_configurations: u64,
    /// Most items in one batch.
    pub batch_max_items: usize,
}

impl Context {
    /// The context of `catalog`: runs the validation (a catalog whose validation data cannot be
    /// run still answers, with unknown error bands).
    pub fn new(catalog: Arc<Catalog>) -> Self {
        let run = |catalog: &Catalog| {
            Arc::new(crate::validation::validate(catalog).unwrap_or_else(|error| {
                tracing::warn!(%error, "validation data could not be run; error bands will be unknown");
                Report { families: Vec::new(), points: Vec::new(), inference_skipped: 0, training_skipped: 0 }
            }))
        };
        // The embedded catalog and the embedded points always give the same report, and a
        // replay of every serving point costs about a second: run it once per process.
        static EMBEDDED: std::sync::OnceLock<Arc<Report>> = std::sync::OnceLock::new();
        let validation =
            if catalog.is_embedded() { Arc::clone(EMBEDDED.get_or_init(|| run(&catalog))) } else { run(&catalog) };
        Self { catalog, validation, plan_max_configurations: 2_000_000, batch_max_items: 1000 }
    }
}

/// Keeps the JSON valid: the engine never produces a non-finite number for validated input (the
/// property tests check it), but if one slipped through it would be sent as the largest finite
/// value of its sign rather than as `null` against a numeric schema.
pub fn finite(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(-f64::MAX, f64::MAX) }
}
