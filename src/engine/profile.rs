//! Serving-engine efficiency profiles: how close an engine gets to the hardware's peaks and how
//! much memory it keeps for itself. The numbers are data (`data/engines/*.toml`), each profile
//! saying what it was fitted on; this module only defines the type and the one rule that uses
//! problem size.

use super::device::{ComputeType, DeviceKind};
use super::units::{Bytes, Seconds};

/// Efficiency adjustments for one device kind (llama.cpp on Apple silicon streams weights at a
/// different fraction of peak than on a datacenter GPU).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KindAdjustment {
    /// The device kind it applies to.
    pub kind: DeviceKind,
    /// Replaces the profile's `memory_efficiency`.
    pub memory_efficiency: f64,
    /// Replaces the profile's `compute_efficiency`.
    pub compute_efficiency: f64,
}

/// An inference engine's behaviour, as numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineProfile {
    /// Catalog id (`tensorrt-llm`, `vllm`, `llama.cpp`, ...).
    pub id: String,
    /// Share of device memory the engine lets itself use (weights + KV cache + activations).
    pub memory_fraction: f64,
    /// Share of system memory usable on unified-memory devices (Apple, DGX Spark, CPUs).
    pub unified_memory_fraction: f64,
    /// Per-device memory the runtime keeps: context, library workspaces, graph buffers.
    pub runtime_overhead: Bytes,
    /// Achievable fraction of dense peak FLOP/s for large 16-bit GEMMs.
    pub compute_efficiency: f64,
    /// FP8 GEMMs reach this share of the 16-bit efficiency, against the FP8 peak (the rest of
    /// the pass does not get faster with the GEMMs).
    pub fp8_factor: f64,
    /// FP4 GEMMs: the same, against the FP4 peak.
    pub fp4_factor: f64,
    /// Whether the engine has FP8/FP4/INT8 GEMM kernels. Without them (llama.cpp, eager
    /// transformers) low-precision weights are dequantised and multiplied in 16 bit.
    pub low_precision_gemms: bool,
    /// Tokens per forward pass at which GEMM efficiency reaches half of `compute_efficiency`.
    pub gemm_half_tokens: f64,
    /// Achievable fraction of peak memory bandwidth when streaming weights and KV cache.
    pub memory_efficiency: f64,
    /// Fixed time per forward pass: kernel launches, sampling, scheduling.
    pub step_overhead: Seconds,
    /// Time per layer per forward pass on top: the dispatch cost of a layer's dozen or so
    /// operators in frameworks that launch them one by one (eager CPU frameworks).
    pub layer_overhead: Seconds,
    /// Fixed latency of one all-reduce or pipeline hand-off.
    pub collective_latency: Seconds,
    /// Added once to the time to first token: scheduling, tokenisation, first-iteration setup.
    pub request_overhead: Seconds,
    /// Largest batch the engine schedules when asked for the maximum.
    pub max_batch_size: u64,
    /// Tokens per prefill pass (chunked prefill); bounds activation memory.
    pub prefill_chunk_tokens: u64,
    /// Share of TDP drawn while serving, for energy.
    pub power_fraction: f64,
    /// Per-kind adjustments.
    pub kind_adjustments: Vec<KindAdjustment>,
}

impl EngineProfile {
    /// (compute, memory) efficiencies on a device kind, for GEMMs in `compute`.
    pub fn efficiencies(&self, kind: DeviceKind, compute: ComputeType) -> (f64, f64) {
        let (c, m) = self
            .kind_adjustments
            .iter()
            .find(|a| a.kind == kind)
            .map_or((self.compute_efficiency, self.memory_efficiency), |a| (a.compute_efficiency, a.memory_efficiency));
        let precision = match compute {
            ComputeType::Fp8 | ComputeType::Int8 => self.fp8_factor,
            ComputeType::Fp4 => self.fp4_factor,
            _ => 1.0,
        };
        (c * precision, m)
    }

    /// Achievable compute fraction for a GEMM with `tokens` rows: `eff x M / (M + M_half)`.
    ///
    /// A GEMM with few rows cannot fill the tensor cores (the weight tile is loaded for only M
    /// rows), so efficiency rises with M and saturates; the half-saturation form is the simplest
    /// curve with that shape and one fitted parameter.
    pub fn gemm_efficiency(&self, base: f64, tokens: f64) -> f64 {
        let m = tokens.max(1.0);
        base * m / (m + self.gemm_half_tokens.max(0.0))
    }
}
