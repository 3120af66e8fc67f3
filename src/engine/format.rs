//! Number formats for stored weights.
//!
//! A format is a name and its effective bits per weight including block scales (llama.cpp's
//! Q4_0 stores 32 weights in 18 bytes, so 4.5 bits). The table itself is data
//! (`data/formats.toml`); this module only defines the type.

use super::units::BitsPerWeight;

/// A weight storage format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    /// Catalog id, lowercase (`bf16`, `q4_k_m`).
    pub id: String,
    /// Effective bits per weight, scales included.
    pub bits: BitsPerWeight,
}
