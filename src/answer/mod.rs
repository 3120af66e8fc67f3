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
use crate::validation::Validation;

/// What every answer may read: the catalog, the validation report (error bands come from it)
/// and the server's bounds on work per request.
#[derive(Clone)]
pub struct Context {
    /// The validated catalog.
    pub catalog: Arc<Catalog>,
    /// The validation of this catalog (run only when asked; error bands read committed summaries).
    pub validation: Arc<Validation>,
    /// Most configurations one plan may search.
    pub plan_max_configurations: u64,
    /// Most items in one batch.
    pub batch_max_items: usize,
}

impl Context {
    /// The context of `catalog`. Nothing runs: error bands for the embedded catalog are the
    /// committed summaries of its validation run, and any other catalog runs its validation the
    /// first time an answer asks for a band (one that cannot be run leaves the bands unknown).
    pub fn new(catalog: Arc<Catalog>) -> Self {
        let validation = Arc::new(Validation::of(Arc::clone(&catalog)));
        Self { catalog, validation, plan_max_configurations: 2_000_000, batch_max_items: 1000 }
    }
}

/// Keeps the JSON valid: the engine never produces a non-finite number for validated input (the
/// property tests check it), but if one slipped through it would be sent as the largest finite
/// value of its sign rather than as `null` against a numeric schema.
pub fn finite(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(-f64::MAX, f64::MAX) }
}
