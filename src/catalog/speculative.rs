//! Speculative-decoding defaults: the schema of `data/speculative.toml`.

use serde::{Deserialize, Serialize};

/// The default acceptance rate and draft tokens of one speculation method, with their source.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpeculativeRecord {
    /// Method id (`draft`, `eagle`, `eagle3`, `mtp`, `ngram`).
    pub id: String,
    /// Probability that each draft token is accepted, in (0, 1).
    pub acceptance_rate: f64,
    /// Draft tokens per step.
    pub tokens: u32,
    /// Where the figures come from.
    pub source: String,
}

impl SpeculativeRecord {
    /// Checks the figures' ranges and the method id.
    pub fn validate(&self) -> Result<(), String> {
        if !crate::engine::speculative::Method::ALL.iter().any(|m| m.as_str() == self.id) {
            return Err(format!("unknown method {}", self.id));
        }
        if !(self.acceptance_rate > 0.0 && self.acceptance_rate < 1.0) {
            return Err("acceptance_rate must be in (0, 1)".into());
        }
        if !(1..=16).contains(&self.tokens) {
            return Err("tokens must be 1 to 16".into());
        }
        if self.source.trim().is_empty() {
            return Err("source must not be empty".into());
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpeculativeFile {
    pub method: Vec<SpeculativeRecord>,
}
