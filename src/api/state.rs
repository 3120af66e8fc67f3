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
}
