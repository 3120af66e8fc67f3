//! Engine profile records: the schema of `data/engines/*.toml` (`[[engine]]` for inference,
//! `[[training]]` for training).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::hardware::Kind;
use crate::engine::device::DeviceKind;
use crate::engine::profile::{EngineProfile, KindAdjustment};
use crate::engine::training::TrainingProfile;
use crate::engine::units::{Bytes, Seconds};

/// Efficiencies of an engine on one device kind.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindRecord {
    /// Device kind.
    pub kind: Kind,
    /// Large-GEMM fraction of peak on that kind.
    pub compute_efficiency: f64,
    /// Fraction of peak bandwidth on that kind.
    pub memory_efficiency: f64,
}

/// A serving engine's efficiency profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineRecord {
    /// Engine id.
    #[schema(example = "tensorrt-llm")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Share of device memory the engine may use.
    pub memory_fraction: f64,
    /// Share of system memory usable on unified-memory devices.
    pub unified_memory_fraction: f64,
    /// Per-device runtime overhead, decimal GB.
    pub runtime_overhead_gb: f64,
    /// Large 16-bit GEMM fraction of dense peak.
    pub compute_efficiency: f64,
    /// FP8/INT8 share of the 16-bit efficiency.
    pub fp8_factor: f64,
    /// FP4 share of the 16-bit efficiency.
    pub fp4_factor: f64,
    /// Whether the engine has FP8/FP4/INT8 GEMM kernels (else it dequantises to 16 bit).
    pub low_precision_gemms: bool,
    /// Tokens per pass at half GEMM efficiency.
    pub gemm_half_tokens: f64,
    /// Fraction of peak memory bandwidth.
    pub memory_efficiency: f64,
    /// Fixed time per forward pass, microseconds.
    pub step_overhead_us: f64,
    /// Time per layer per forward pass, microseconds (eager frameworks; 0 when fused or graphed).
    #[serde(default)]
    pub layer_overhead_us: f64,
    /// Latency per collective, microseconds.
    pub collective_latency_us: f64,
    /// Added once to time to first token, microseconds.
    pub request_overhead_us: f64,
    /// Scheduler batch limit.
    pub max_batch_size: u64,
    /// Tokens per prefill pass.
    pub prefill_chunk_tokens: u64,
    /// Share of TDP drawn while serving.
    pub power_fraction: f64,
    /// Where the defaults come from.
    pub sources: Vec<String>,
    /// What the calibration constants were fitted on.
    pub fitted_on: String,
    /// Per device-kind efficiencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<KindRecord>,
}

fn fraction(problems: &mut Vec<String>, field: &str, value: f64) {
    if !(value.is_finite() && value > 0.0 && value <= 1.0) {
        problems.push(format!("{field} must be above 0 and at most 1, got {value}"));
    }
}

fn non_negative(problems: &mut Vec<String>, field: &str, value: f64, max: f64) {
    if !(value.is_finite() && (0.0..=max).contains(&value)) {
        problems.push(format!("{field} must be from 0 to {max}, got {value}"));
    }
}

impl EngineRecord {
    /// Validates and converts into the engine's profile.
    pub fn to_engine(&self) -> Result<EngineProfile, Vec<String>> {
        let mut p = Vec::new();
        fraction(&mut p, "memory_fraction", self.memory_fraction);
        fraction(&mut p, "unified_memory_fraction", self.unified_memory_fraction);
        fraction(&mut p, "compute_efficiency", self.compute_efficiency);
        fraction(&mut p, "fp8_factor", self.fp8_factor);
        fraction(&mut p, "fp4_factor", self.fp4_factor);
        fraction(&mut p, "memory_efficiency", self.memory_efficiency);
        fraction(&mut p, "power_fraction", self.power_fraction);
        non_negative(&mut p, "runtime_overhead_gb", self.runtime_overhead_gb, 1e3);
        non_negative(&mut p, "gemm_half_tokens", self.gemm_half_tokens, 1e6);
        non_negative(&mut p, "step_overhead_us", self.step_overhead_us, 1e7);
        non_negative(&mut p, "layer_overhead_us", self.layer_overhead_us, 1e7);
        non_negative(&mut p, "collective_latency_us", self.collective_latency_us, 1e7);
        non_negative(&mut p, "request_overhead_us", self.request_overhead_us, 1e8);
        if self.max_batch_size == 0 || self.prefill_chunk_tokens == 0 {
            p.push("max_batch_size and prefill_chunk_tokens must be at least 1".into());
        }
        for k in &self.kind {
            fraction(&mut p, "kind.compute_efficiency", k.compute_efficiency);
            fraction(&mut p, "kind.memory_efficiency", k.memory_efficiency);
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(EngineProfile {
            id: self.id.clone(),
            memory_fraction: self.memory_fraction,
            unified_memory_fraction: self.unified_memory_fraction,
            runtime_overhead: Bytes(self.runtime_overhead_gb * 1e9),
            compute_efficiency: self.compute_efficiency,
            fp8_factor: self.fp8_factor,
            fp4_factor: self.fp4_factor,
            low_precision_gemms: self.low_precision_gemms,
            gemm_half_tokens: self.gemm_half_tokens,
            memory_efficiency: self.memory_efficiency,
            step_overhead: Seconds(self.step_overhead_us * 1e-6),
            layer_overhead: Seconds(self.layer_overhead_us * 1e-6),
            collective_latency: Seconds(self.collective_latency_us * 1e-6),
            request_overhead: Seconds(self.request_overhead_us * 1e-6),
            max_batch_size: self.max_batch_size,
            prefill_chunk_tokens: self.prefill_chunk_tokens,
            power_fraction: self.power_fraction,
            kind_adjustments: self
                .kind
                .iter()
                .map(|k| KindAdjustment {
                    kind: DeviceKind::from(k.kind),
                    compute_efficiency: k.compute_efficiency,
                    memory_efficiency: k.memory_efficiency,
                })
                .collect(),
        })
    }
}

/// A training engine's efficiency profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    /// Engine id.
    #[schema(example = "megatron")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Share of dense peak a wide model's step reaches.
    pub compute_efficiency: f64,
    /// Bytes of memory-bound traffic (norms, residuals, activations, dropout, in 16 bit, forward
    /// and backward) per token per layer, per unit of hidden size.
    pub elementwise_bytes_per_hidden: f64,
    /// Fraction of peak bandwidth that traffic reaches.
    pub memory_efficiency: f64,
    /// FP8 share of the BF16 efficiency.
    pub fp8_factor: f64,
    /// Share of the gradient reduction hidden behind backward.
    pub dp_overlap: f64,
    /// Allocator caching and fragmentation, share of the rest.
    pub allocator_overhead: f64,
    /// Runtime memory per device, decimal GB.
    pub runtime_overhead_gb: f64,
    /// Share of device memory usable.
    pub memory_fraction: f64,
    /// Latency per collective, microseconds.
    pub collective_latency_us: f64,
    /// Share of TDP drawn while training.
    pub power_fraction: f64,
    /// QLoRA efficiency multiplier.
    pub qlora_factor: f64,
    /// Bytes kept per logit for the loss (2 fused/chunked, 6 with FP32 logits).
    pub logits_bytes: f64,
    /// What the constants were fitted on.
    pub fitted_on: String,
}

impl TrainingRecord {
    /// Validates and converts into the engine's profile.
    pub fn to_engine(&self) -> Result<TrainingProfile, Vec<String>> {
        let mut p = Vec::new();
        for (name, value) in [
            ("compute_efficiency", self.compute_efficiency),
            ("fp8_factor", self.fp8_factor),
            ("memory_fraction", self.memory_fraction),
            ("power_fraction", self.power_fraction),
            ("qlora_factor", self.qlora_factor),
        ] {
            fraction(&mut p, name, value);
        }
        non_negative(&mut p, "dp_overlap", self.dp_overlap, 1.0);
        non_negative(&mut p, "allocator_overhead", self.allocator_overhead, 1.0);
        non_negative(&mut p, "elementwise_bytes_per_hidden", self.elementwise_bytes_per_hidden, 1e6);
        fraction(&mut p, "memory_efficiency", self.memory_efficiency);
        non_negative(&mut p, "runtime_overhead_gb", self.runtime_overhead_gb, 1e3);
        non_negative(&mut p, "collective_latency_us", self.collective_latency_us, 1e7);
        non_negative(&mut p, "logits_bytes", self.logits_bytes, 16.0);
        if !p.is_empty() {
            return Err(p);
        }
        Ok(TrainingProfile {
            id: self.id.clone(),
            compute_efficiency: self.compute_efficiency,
            elementwise_bytes_per_hidden: self.elementwise_bytes_per_hidden,
            memory_efficiency: self.memory_efficiency,
            fp8_factor: self.fp8_factor,
            dp_overlap: self.dp_overlap,
            allocator_overhead: self.allocator_overhead,
            runtime_overhead: Bytes(self.runtime_overhead_gb * 1e9),
            memory_fraction: self.memory_fraction,
            collective_latency: Seconds(self.collective_latency_us * 1e-6),
            power_fraction: self.power_fraction,
            qlora_factor: self.qlora_factor,
            logits_bytes: self.logits_bytes,
        })
    }
}
