//! Weight format records: the schema of `data/formats.toml`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::device::ComputeType;
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
    /// The data type matrix multiplications run in with this format, when the device has it
    /// (`fp8` for FP8 weights; `fp16` for weight-only quantisation, which dequantises first).
    pub compute: ComputeName,
    /// Where the figure comes from.
    pub source: String,
}

/// A compute data type on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ComputeName {
    /// FP32.
    Fp32,
    /// TF32.
    Tf32,
    /// FP16.
    Fp16,
    /// BF16.
    Bf16,
    /// FP8.
    Fp8,
    /// INT8.
    Int8,
    /// FP4.
    Fp4,
}

impl From<ComputeName> for ComputeType {
    fn from(name: ComputeName) -> Self {
        match name {
            ComputeName::Fp32 => ComputeType::Fp32,
            ComputeName::Tf32 => ComputeType::Tf32,
            ComputeName::Fp16 => ComputeType::Fp16,
            ComputeName::Bf16 => ComputeType::Bf16,
            ComputeName::Fp8 => ComputeType::Fp8,
            ComputeName::Int8 => ComputeType::Int8,
            ComputeName::Fp4 => ComputeType::Fp4,
        }
    }
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
        Format { id: self.id.clone(), bits: BitsPerWeight(self.bits_per_weight), compute: self.compute.into() }
    }
}
