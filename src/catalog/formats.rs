//! Weight format records: the schema of `data/formats.toml`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::format::Format;
use crate::engine::units::BitsPerWeight;

/// A weight storage format and its effective size.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatRecord {
    /// Format id.
    #[schema(example = "q4_k_m")]
    pub id: String,
    /// Bits per weight, scales included.
    #[schema(example = 4.84)]
    pub bits_per_weight: f64,
    /// Where the figure comes from.
    pub source: String,
}

impl FormatRecord {
    /// Checks the figure is usable.
    pub fn validate(&self) -> Result<(), String> {
        if self.bits_per_weight.is_finite() && self.bits_per_weight > 0.0 && self.bits_per_weight <= 64.0 {
            Ok(())
        } else {
            Err(format!("bits_per_weight must be above 0 and at most 64, got {}", self.bits_per_weight))
        }
    }

    /// The engine's view.
    pub fn to_engine(&self) -> Format {
        Format { id: self.id.clone(), bits: BitsPerWeight(self.bits_per_weight) }
    }
}
