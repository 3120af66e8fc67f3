//! Hosted-API prices: the schema of `data/prices/api.toml`, for the self-host vs API comparison.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One provider's price for one model, dated and sourced.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiPriceRecord {
    /// `provider/model`, what a plan's `api_price` names.
    #[schema(example = "deepinfra/llama-3.1-70b")]
    pub id: String,
    /// Provider name.
    pub provider: String,
    /// The model: a catalog model id for open weights, the vendor's name otherwise.
    pub model: String,
    /// Whether the weights are published (then `model` is a catalog id and the model can be
    /// self-hosted); closed models are priced for comparison only.
    #[serde(default = "open_weights")]
    pub open_weights: bool,
    /// USD per million prompt tokens.
    pub usd_per_million_input_tokens: f64,
    /// USD per million generated tokens.
    pub usd_per_million_output_tokens: f64,
    /// When the price was read (prices change often).
    pub as_of: String,
    /// Where.
    pub source: String,
    /// Whether the figure was read from the source (false: unverified, see notes).
    pub verified: bool,
    /// Serving variant and caveats.
    #[serde(default)]
    pub notes: String,
}

fn open_weights() -> bool {
    true
}

impl ApiPriceRecord {
    /// Problems with the record's figures.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("usd_per_million_input_tokens", self.usd_per_million_input_tokens),
            ("usd_per_million_output_tokens", self.usd_per_million_output_tokens),
        ] {
            if !(v.is_finite() && (0.0..=10_000.0).contains(&v)) {
                return Err(format!("{name} must be from 0 to 10000, got {v}"));
            }
        }
        if self.source.is_empty() || self.as_of.is_empty() {
            return Err("source and as_of are required".into());
        }
        Ok(())
    }
}
