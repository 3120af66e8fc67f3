//! Number formats for stored weights and KV caches.
//!
//! A format is a name, its effective bits per element including block scales (llama.cpp's Q4_0
//! stores 32 weights in 18 bytes, so 4.5 bits), and the data type its matrix multiplications run
//! in: FP8 weights run FP8 GEMMs on Hopper, while 4-bit weight-only formats are dequantised and
//! multiplied in 16-bit. The table itself is data (`data/formats.toml`).

use super::device::ComputeType;
use super::units::BitsPerWeight;

/// A storage format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    /// Catalog id, lowercase (`bf16`, `q4_k_m`).
    pub id: String,
    /// Effective bits per element, scales included.
    pub bits: BitsPerWeight,
    /// The data type GEMMs use with weights in this format, when the device supports it.
    pub compute: ComputeType,
}
