//! What handlers share: the read-only catalog, the validation report and the metrics registry.

use std::sync::Arc;

use crate::catalog::Catalog;

/// Shared, read-only application state.
#[derive(Clone)]
pub struct AppState {
    /// The validated catalog.
    pub catalog: Arc<Catalog>,
    /// Prometheus registry holding request metrics and build info.
    pub registry: prometheus::Registry,
    /// The validation run on this catalog, computed at startup: error bands come from it.
    pub validation: Arc<crate::validation::Report>,
    /// Who may run host benchmarks, and whether one is running.
    pub benchmarks: Arc<super::host::BenchmarkGate>,
    /// Most configurations one `POST /v1/plan` may search.
    pub plan_max_configurations: u64,
    /// Most items in one `POST /v1/estimate/batch`.
    pub batch_max_items: usize,
}

impl AppState {
    /// State for `catalog`: runs the validation (error bands come from it; a catalog whose
    /// validation data cannot be run still serves, with unknown bands) and keeps benchmarks
    /// behind `benchmark_token`.
    pub fn new(catalog: Arc<Catalog>, benchmark_token: Option<String>) -> Self {
        let validation = crate::validation::run(&catalog).unwrap_or_else(|error| {
            tracing::warn!(%error, "validation data could not be run; error bands will be unknown");
            crate::validation::Report {
                families: Vec::new(),
                points: Vec::new(),
                inference_skipped: 0,
                training_skipped: 0,
            }
        });
        Self {
            catalog,
            registry: prometheus::Registry::new(),
            validation: Arc::new(validation),
            benchmarks: Arc::new(super::host::BenchmarkGate::new(benchmark_token)),
            plan_max_configurations: 2_000_000,
            batch_max_items: 1000,
        }
    }
}
