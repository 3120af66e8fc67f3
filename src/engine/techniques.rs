//! The serving techniques a deployment may add to plain continuous batching (speculative
//! decoding, a tiered KV cache, expert parallelism at scale...): one struct, one field per
//! technique, each defined in its own module. `Techniques::default()` is plain serving, so the
//! places that build an [`crate::engine::inference::InferenceInput`] for a sweep need no edit
//! when a technique is added.

use super::kv_offload::KvOffload;
use super::moe::ExpertParallel;
use super::speculative::Speculation;

/// Techniques in use; the default is none.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Techniques {
    /// Expert parallelism: the load of the hottest rank (uniform by default).
    pub moe: ExpertParallel,
    /// Speculative decoding: a drafter proposes tokens, the model verifies them in one step.
    pub speculation: Option<Speculation>,
    /// KV-cache tiers beyond device memory (host memory, optionally disk).
    pub kv_offload: Option<KvOffload>,
}

impl Techniques {
    /// These techniques with `kv_offload` as the KV tiers (the others kept).
    #[must_use]
    pub fn with_kv_offload(mut self, kv_offload: Option<KvOffload>) -> Self {
        self.kv_offload = kv_offload;
        self
    }
}
