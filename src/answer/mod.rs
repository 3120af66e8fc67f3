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
pub mod disaggregation;
pub mod error_band;
pub mod inference;
pub mod kv_offload;
pub mod moe;
pub mod plan;
pub mod plan_training;
pub mod scaling;
pub mod serving;
pub mod speculative;
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

/// A number as a response document holds it: finite, so the JSON stays valid (serde would write
/// NaN and infinities as `null` against a numeric schema).
///
/// An infinity can be reached from valid input (a product of extreme but accepted values
/// overflows) and is sent as the largest finite value of its sign. A NaN cannot: every figure
/// comes from a parsed scenario (each number finite and in its declared range) through an engine
/// whose divisions guard their denominators (an empty replay's percentiles are zero, a replay's
/// span is at least 1e-12 s, a fit's slowdown is 1 without a base step, a break-even without
/// capacity or rate is `None`, a rule's margin is capped), and the property tests check that
/// its results are finite. So a NaN here is a bug, not a case: debug builds (every unit and API
/// test, the property tests) stop on it at the field that carries it; a release build logs an
/// error (which fails the CI's schemathesis and fuzz runs, which watch for hwcost's errors) and
/// sends 0 rather than an invalid document.
pub fn finite(x: f64) -> f64 {
    debug_assert!(!x.is_nan(), "NaN reached a response document");
    if x.is_nan() {
        tracing::error!("NaN reached a response document; sent as 0");
        return 0.0;
    }
    x.clamp(-f64::MAX, f64::MAX)
}

#[cfg(test)]
mod tests {
    use super::finite;

    /// Finite numbers pass unchanged; an infinity (reachable: extreme accepted values overflow)
    /// becomes the largest finite value of its sign, so the document stays valid JSON.
    #[test]
    fn finite_keeps_numbers_and_bounds_infinities() {
        let cases = [
            (0.0, 0.0),
            (-1.5, -1.5),
            (f64::MIN_POSITIVE, f64::MIN_POSITIVE),
            (f64::MAX, f64::MAX),
            (f64::INFINITY, f64::MAX),
            (f64::NEG_INFINITY, -f64::MAX),
        ];
        for (x, expected) in cases {
            assert_eq!(finite(x), expected, "{x}");
            assert!(serde_json::to_string(&finite(x)).unwrap().parse::<f64>().is_ok(), "{x} is not a JSON number");
        }
    }
}
