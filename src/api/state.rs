//! What handlers share: the read-only catalog and the metrics registry.

use std::sync::Arc;

use crate::catalog::Catalog;

/// Shared, read-only application state.
#[derive(Clone)]
pub struct AppState {
    /// The validated catalog.
    pub catalog: Arc<Catalog>,
    /// Prometheus registry holding request metrics and build info.
    pub registry: prometheus::Registry,
}
