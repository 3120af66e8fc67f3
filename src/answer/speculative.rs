//! The `speculation` section of inference and serving answers: what speculative decoding buys
//! at the deployment's batch and where it stops paying (`engine::speculative`, one function for
//! every door).

use serde::Serialize;
use utoipa::ToSchema;

use super::finite;
use crate::engine::speculative::{Assessment, Speculation};

/// Speculative decoding at this deployment's batch (present when the request's `speculative`
/// asked for it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpeculationBody {
    /// Where draft tokens come from: `draft`, `eagle`, `eagle3`, `mtp` or `ngram`.
    #[schema(example = "eagle3")]
    pub method: &'static str,
    /// Draft tokens per step, k.
    pub tokens: u32,
    /// Probability that each draft token is accepted (i.i.d.).
    pub acceptance_rate: f64,
    /// Expected tokens per verifier step: `(1 - a^(k+1)) / (1 - a)` (Leviathan et al. 2023).
    pub tokens_per_step: f64,
    /// Sequences per step at which the speedup is judged (the estimate's batch; the replay's
    /// mean running batch for serving).
    pub batch_size: u64,
    /// A plain decode step at that batch, ms.
    pub plain_step_ms: f64,
    /// The verifier step (k + 1 rows per sequence, the KV read once), ms.
    pub verify_step_ms: f64,
    /// The drafter's k forwards, ms (0 for `ngram`).
    pub draft_ms: f64,
    /// Output tokens per second with speculation over the same deployment without:
    /// `tokens_per_step x plain_step_ms / (verify_step_ms + draft_ms)`.
    pub speedup: f64,
    /// The smallest batch at which the speedup falls to 1 or below; null when it pays at every
    /// batch up to the engine's sequence limit.
    #[schema(required = true)]
    pub stops_paying_at_batch: Option<u64>,
}

impl SpeculationBody {
    /// The section of speculation `s` judged by `a`.
    pub fn new(s: &Speculation, a: &Assessment) -> Self {
        Self {
            method: s.method.as_str(),
            tokens: s.tokens,
            acceptance_rate: finite(s.acceptance_rate),
            tokens_per_step: finite(a.tokens_per_step),
            batch_size: a.batch,
            plain_step_ms: finite(a.plain_step_s * 1e3),
            verify_step_ms: finite(a.verify_step_s * 1e3),
            draft_ms: finite(a.draft_s * 1e3),
            speedup: finite(a.speedup),
            stops_paying_at_batch: a.stops_paying_at_batch,
        }
    }
}
