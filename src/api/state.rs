//! What handlers share: the answer [`Context`] (catalog, validation report, limits), the
//! metrics registry, the benchmark gate and the admission of heavy requests.

use std::ops::Deref;
use std::sync::Arc;

use crate::answer::Context;
use crate::catalog::Catalog;

/// Shared, read-only application state.
#[derive(Clone)]
pub struct AppState {
    /// What every answer reads.
    pub context: Context,
    /// Prometheus registry holding request metrics and build info.
    pub registry: prometheus::Registry,
    /// Who may run host benchmarks, and whether one is running.
    pub benchmarks: Arc<super::benchmark_gate::BenchmarkGate>,
    /// Whether the server is winding down (`/readyz` answers 503 then).
    pub drain: Arc<super::drain::Drain>,
    /// Slots for CPU-heavy requests (plans, checks, replays, batches, calibrations).
    pub heavy: super::admission::Admission,
}

impl AppState {
    /// State for `catalog` (see [`Context::new`]), with host benchmarks behind
    /// `benchmark_token`.
    pub fn new(catalog: Arc<Catalog>, benchmark_token: Option<String>) -> Self {
        Self {
            context: Context::new(catalog),
            registry: prometheus::Registry::new(),
            benchmarks: Arc::new(super::benchmark_gate::BenchmarkGate::new(benchmark_token)),
            drain: Arc::default(),
            heavy: super::admission::Admission::for_this_host(),
        }
    }
}

impl Deref for AppState {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.context
    }
}
