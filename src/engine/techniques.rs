//! Serving techniques a deployment may use beyond plain continuous batching: one struct where
//! each technique adds its own field, so the places that build an
//! [`InferenceInput`](super::inference::InferenceInput) take the default and need no edit.

use super::kv_offload::KvOffload;

/// The serving techniques of a deployment; the default is none of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Techniques {
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
