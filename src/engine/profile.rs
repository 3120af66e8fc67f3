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
    /// Bits per weight of the token embeddings and the LM head when the other weights are
    /// quantised below that: quantised checkpoints (NVIDIA ModelOpt FP8/NVFP4) leave those two
    /// tables in 16 bit. 0: stored like the rest.
    pub unquantized_table_bits: f64,
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
    /// GEMM width (hidden size / tensor degree) at which GEMM efficiency is half: a GEMM split
    /// thin over many devices keeps fewer tensor cores busy per weight tile.
    pub gemm_half_width: f64,
    /// Prefill attention kernels' share of the dense 16-bit peak.
    pub attention_efficiency: f64,
    /// Decode attention's share of peak bandwidth when reading the KV cache.
    pub attention_memory_efficiency: f64,
    /// Time per sequence per step: sampling, scheduling and detokenisation.
    pub sequence_overhead: Seconds,
    /// Share of a PCIe link's rate that collectives reach.
    pub pcie_collective_efficiency: f64,
    /// Routed-expert (grouped) GEMMs' efficiency relative to the dense GEMMs' (serving step).
    pub expert_gemm_efficiency: f64,
    /// Share of the weight-streaming bandwidth the routed experts' grouped GEMMs reach (serving
    /// step): each expert's thin GEMM streams its own weights with few rows per tile.
    pub expert_memory_efficiency: f64,
    /// How the engine batches requests under load.
    pub scheduler: Scheduler,
    /// How the engine splits a model over several devices when it is not told.
    pub auto_split: AutoSplit,
}

/// How an engine lays a model over several devices by default (a request with `devices` and no
/// parallel degrees gets the first such split that fits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSplit {
    /// Whole layers per device, one after another: pipeline stages (llama.cpp's default
    /// `--split-mode layer`, transformers' `device_map="auto"`).
    Layers,
    /// Tensor parallel within a node (up to eight devices, a degree dividing the attention
    /// heads), pipeline stages across nodes (vLLM, SGLang and TensorRT-LLM multi-GPU guides).
    TensorThenPipeline,
}

/// An engine's continuous-batching scheduler, as numbers (engine defaults, with sources in
/// `data/engines/inference.toml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scheduler {
    /// Most sequences in one step (`max_batch_size`, `max_num_seqs`).
    pub max_num_seqs: u64,
    /// Most tokens in one step (`max_num_tokens`, `max_num_batched_tokens`).
    pub max_num_tokens: u64,
    /// Whether a prompt may be split over steps.
    pub chunked_prefill: bool,
    /// Whether decodes and prefills share a step (decodes first); when false, a step is either
    /// all prefill (whenever a waiting request can start) or all decode (vLLM's v0 scheduler).
    pub mixed_batches: bool,
    /// Tokens per KV-cache block.
    pub kv_block_tokens: u64,
    /// Whether a request reserves KV for its whole prompt and output when admitted (TensorRT-
    /// LLM's guaranteed-no-evict policy); otherwise blocks are taken as tokens arrive and the
    /// newest request is preempted (and recomputed later) when they run out.
    pub kv_reserve_full: bool,
    /// Share of memory given to the KV cache.
    pub kv_fraction: f64,
    /// Whether `kv_fraction` is of the memory left after weights, activations and runtime
    /// (TensorRT-LLM) rather than of the device's memory, from which the rest is then subtracted
    /// (vLLM, SGLang).
    pub kv_fraction_of_free: bool,
    /// Whether sliding-window layers keep only their window (otherwise the engine allocates the
    /// full context for every layer).
    pub windowed_kv: bool,
    /// Whether `max_num_seqs` applies to each pipeline micro-batch rather than the replica.
    pub seqs_per_micro_batch: bool,
    /// Whether the limits are tuned from the KV capacity and the workload's mean lengths, as
    /// `trtllm-bench` does for its throughput runs, instead of taken as given.
    pub tuned_limits: bool,
    /// Whether, with attention data parallelism, an MoE layer runs the tokens of every rank
    /// (gathered before the experts, as TensorRT-LLM 1.0's fused MoE does by default) rather than
    /// each rank's own (an all-to-all dispatch: DeepEP, SGLang); the engine's profiling pass then
    /// holds that many tokens of activations per device.
    pub moe_gathers_dp_tokens: bool,
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
