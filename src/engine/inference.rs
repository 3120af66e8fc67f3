//! Inference estimates: memory per device, FLOPs, and latency and throughput by a roofline.
//!
//! The model (Pope et al. 2022, "Efficiently Scaling Transformer Inference", sections 2-3):
//! each forward pass costs `max(compute time, memory time) + communication + a fixed step
//! overhead`. Compute time is FLOPs over the achievable peak for the pass's data type; memory
//! time is bytes moved (weights once per pass, the KV cache read by decode) over achievable
//! bandwidth. Achievable fractions come from the engine profile and grow with the number of
//! tokens in the pass. Prefill processes the prompt; each decode step produces one token per
//! sequence.
//!
//! Latency is computed for one model replica with pipeline stages run one after another (a
//! token crosses every stage), so pipeline parallelism saves memory, not latency.

use super::anatomy::{Anatomy, Group};
use super::architecture::Architecture;
use super::device::{ComputeType, Device, compute_name};
use super::explain::{Explanation, Trace, Warning};
use super::format::Format;
use super::kv_cache;
use super::moe::expected_distinct_experts;
use super::network::Network;
use super::parallelism::{Parallelism, all_reduce, link};
use super::profile::EngineProfile;
use super::serving::step::StepModel;
use super::speculative::{Assessment, SpeculativeStep};
use super::techniques::Techniques;
use super::units::{Bytes, BytesPerSecond, Flops, FlopsPerSecond, Seconds};

/// Concurrent sequences per model replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// Exactly this many.
    Fixed(u64),
    /// The largest that fits the KV cache, capped by the engine's scheduler limit.
    Max,
}

/// Everything an inference estimate needs, validated.
#[derive(Debug, Clone, Copy)]
pub struct InferenceInput<'a> {
    /// Model shape.
    pub arch: &'a Architecture,
    /// Its parameter anatomy.
    pub anatomy: &'a Anatomy,
    /// Device kind (all devices are alike).
    pub device: &'a Device,
    /// How devices split the model.
    pub parallelism: Parallelism,
    /// Weight storage format.
    pub weights: &'a Format,
    /// KV-cache storage format.
    pub kv_cache: &'a Format,
    /// Sequences per replica.
    pub batch: Batch,
    /// Prompt tokens per sequence.
    pub input_tokens: u64,
    /// Generated tokens per sequence.
    pub output_tokens: u64,
    /// Engine efficiencies.
    pub profile: &'a EngineProfile,
    /// Price of one device-hour, USD, if known.
    pub usd_per_device_hour: Option<f64>,
    /// Keep explanations and warnings (false: numbers only, no allocation, for sweeps).
    pub explain: bool,
    /// The network between nodes, when the deployment names one (else a layout never leaves a
    /// node).
    pub network: Option<Network>,
    /// Serving techniques beyond plain continuous batching.
    pub techniques: Techniques,
}

/// Memory of one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryPerDevice {
    /// Weights held by this device.
    pub weights: Bytes,
    /// KV cache for its sequences at full context.
    pub kv_cache: Bytes,
    /// Activations and logits of the largest pass.
    pub activations: Bytes,
    /// Runtime overhead.
    pub overhead: Bytes,
    /// Sum of the above.
    pub total: Bytes,
}

/// Memory verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    /// Per-device breakdown.
    pub per_device: MemoryPerDevice,
    /// Memory the engine may use on one device.
    pub capacity: Bytes,
    /// `total <= capacity`.
    pub fits: bool,
    /// Largest batch that fits at this context (0 when even one sequence does not).
    pub max_batch_size: u64,
    /// Longest usable context (input + output tokens) at this batch: the smaller of the model's
    /// trained limit and what memory holds.
    pub max_context_tokens: u64,
    /// Longest context memory holds at this batch (capped at 1e9 tokens: sliding-window models
    /// may hold any length).
    pub memory_context_tokens: u64,
    /// Which limit `max_context_tokens` is.
    pub context_bound: ContextBound,
}

/// Which limit binds the usable context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextBound {
    /// The model's trained context (`max_position_embeddings`, window-aware).
    Model,
    /// The memory left for the KV cache at this batch.
    Memory,
}

impl ContextBound {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextBound::Model => "model",
            ContextBound::Memory => "memory",
        }
    }
}

/// What limits a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Arithmetic.
    Compute,
    /// Memory bandwidth.
    Memory,
    /// Device-to-device communication.
    Communication,
}

/// One phase (prefill, or one decode step) of one replica.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// Wall time.
    pub time: Seconds,
    /// Time if only arithmetic mattered.
    pub compute_time: Seconds,
    /// Time if only memory traffic mattered.
    pub memory_time: Seconds,
    /// Communication time (not overlapped).
    pub communication_time: Seconds,
    /// The largest of the three.
    pub bound: Bound,
    /// FLOPs per device (stages summed).
    pub flops: Flops,
    /// Bytes moved per device (stages summed).
    pub bytes: Bytes,
}

/// An inference estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceEstimate {
    /// Sequences per replica actually used (resolves `Batch::Max`).
    pub batch_size: u64,
    /// Memory.
    pub memory: Memory,
    /// Data type the GEMMs run in.
    pub compute_type: ComputeType,
    /// FLOPs of one token's forward pass at the mean decode context.
    pub forward_flops_per_token: Flops,
    /// FLOPs to prefill one sequence's prompt.
    pub prefill_flops_per_sequence: Flops,
    /// FLOPs of one decode step for the whole batch.
    pub decode_flops_per_step: Flops,
    /// Prefill of the whole batch.
    pub prefill: Phase,
    /// One decode step of the whole batch, at the mean context.
    pub decode: Phase,
    /// Time to first token.
    pub ttft: Seconds,
    /// Time per output token.
    pub tpot: Seconds,
    /// Time for a whole request.
    pub e2e: Seconds,
    /// Output tokens per second, all replicas.
    pub output_tokens_per_s: f64,
    /// Output tokens per second seen by one sequence.
    pub output_tokens_per_s_per_user: f64,
    /// Prompt tokens per second, all replicas.
    pub prefill_tokens_per_s: f64,
    /// Expert-parallel dispatch and combine in one decode step (0 without expert ranks).
    pub decode_expert_all_to_all: Seconds,
    /// USD per hour for all devices.
    pub usd_per_hour: Option<f64>,
    /// USD per million output tokens at this throughput.
    pub usd_per_million_output_tokens: Option<f64>,
    /// USD per million input tokens at the prefill rate.
    pub usd_per_million_input_tokens: Option<f64>,
    /// Energy per output token.
    pub joules_per_output_token: Option<f64>,
    /// Caveats.
    pub warnings: Vec<Warning>,
    /// How every number was made.
    pub explain: Vec<Explanation>,
    /// What speculative decoding does at this batch (`None` without speculation).
    pub speculation: Option<Assessment>,
}

/// Parameters used in matrix multiplies per token: the anatomy's active parameters, which
/// already leave out the embedding tables a token only looks up and count a tied table once as
/// the LM head's multiply.
pub(super) fn matmul_params(anatomy: &Anatomy) -> f64 {
    anatomy.active_per_token.as_f64()
}

/// Parameters in embedding tables that are only looked up: a forward pass reads one row per
/// token of them, not the table.
pub(super) fn lookup_params(anatomy: &Anatomy) -> f64 {
    anatomy.lookup_tables().as_f64()
}

/// A model's parameters as a decode step meets them, whole (before any tensor split): the
/// matmul parameters per token split into the body, the routed experts a token is multiplied
/// by and the LM head, and the parameters a forward streams (dense, lookup tables left out;
/// routed experts). [`crate::engine::serving::step::StepModel`] and the speculative drafter
/// share it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ParamSplit {
    /// Matmul parameters per token, without the LM head and the routed experts.
    pub body: f64,
    /// Routed-expert parameters a token is multiplied by.
    pub expert_active: f64,
    /// LM-head parameters.
    pub head: f64,
    /// Dense parameters a forward streams (lookup-only embedding tables left out).
    pub dense_streamed: f64,
    /// Routed-expert parameters, all experts.
    pub experts: f64,
}

/// The [`ParamSplit`] of a model.
pub(super) fn param_split(arch: &Architecture, anatomy: &Anatomy) -> ParamSplit {
    let experts = anatomy.by_group(crate::engine::anatomy::Group::Experts).as_f64();
    let dense = anatomy.total.as_f64() - experts;
    let streamed_lookups = if arch.tied_embeddings { 0.0 } else { lookup_params(anatomy) };
    let p_mm = matmul_params(anatomy);
    let head = (arch.vocab as f64 * arch.hidden as f64).min(p_mm);
    let expert_active = arch.moe.map_or(0.0, |m| experts * m.experts_per_token as f64 / m.experts.max(1) as f64);
    ParamSplit {
        body: (p_mm - head - expert_active).max(0.0),
        expert_active,
        head,
        dense_streamed: (dense - streamed_lookups).max(0.0),
        experts,
    }
}

/// Attention width per layer as it enters the FLOP count: `(heads x (qk dim + v dim)) / 2`, so
/// that `4 x width` is the FLOPs per token per attended key (QK^T: `2 h d_qk`, AV: `2 h d_v`).
/// Equal to `heads x head_dim` for standard attention.
fn attention_width(arch: &Architecture) -> f64 {
    let (qk, v) = arch.attention_dims();
    (arch.heads * (qk + v)) as f64 / 2.0
}

/// Decode attention width (FLOPs per token-layer attended / 4): MLA's absorbed path attends over
/// the compressed latent with the per-head up-projections folded into the query and output,
/// `heads x (kv_lora_rank + qk_rope_head_dim)` (DeepSeek-V2 section 2.1.2, as vLLM, SGLang and
/// TensorRT-LLM decode it); other attention as `attention_width`.
pub fn decode_attention_width(arch: &Architecture) -> f64 {
    match arch.mla {
        Some(mla) => (arch.heads * (mla.kv_lora_rank + mla.qk_rope_head_dim)) as f64,
        None => attention_width(arch),
    }
}

/// Live activation bytes per token of a forward pass on one device: the residual, attention
/// and MLP intermediates in 16 bit, about `4 x hidden + 3 x inner / tensor` values per token
/// (`inner`: the MLP width, or the routed experts' widths a token passes through).
pub fn activation_bytes_per_token(arch: &Architecture, tensor: u32) -> f64 {
    let inner = match arch.moe {
        Some(moe) => (moe.expert_intermediate * moe.experts_per_token) as f64,
        None => arch.intermediate as f64,
    };
    (4.0 * arch.hidden as f64 + 3.0 * inner / f64::from(tensor.max(1))) * 2.0
}

/// Estimates an inference workload. Total: every validated input gives finite, non-negative
/// numbers.
pub fn estimate(input: &InferenceInput<'_>) -> InferenceEstimate {
    let mut trace = Trace::new(input.explain);
    let (arch, anatomy, device, profile, par) =
        (input.arch, input.anatomy, input.device, input.profile, input.parallelism);
    let (tp, pp, ep, dp) = (f64::from(par.tensor), f64::from(par.pipeline), f64::from(par.expert), f64::from(par.data));
    let (n_in, n_out) = (input.input_tokens as f64, input.output_tokens as f64);
    let context = n_in + n_out;
    let layers = f64::from(arch.layers);
    let (hidden, vocab) = (arch.hidden as f64, arch.vocab as f64);
    let weight_bytes = input.weights.bits.0 / 8.0;
    let kv_bytes = input.kv_cache.bits.0 / 8.0;

    // --- Memory ---------------------------------------------------------------------------
    let expert_params = anatomy.by_group(Group::Experts).as_f64();
    let dense_params = anatomy.total.as_f64() - expert_params;
    let weights = trace.record(
        "memory.weights",
        "(dense parameters / (tensor x pipeline) + routed-expert parameters / (tensor x pipeline x expert)) x bits per weight / 8; embeddings and LM head are vocabulary-parallel",
        &[("dense_parameters", dense_params), ("expert_parameters", expert_params), ("bits_per_weight", input.weights.bits.0), ("tensor", tp), ("pipeline", pp), ("expert", ep)],
        (dense_params / (tp * pp) + expert_params / (tp * pp * ep)) * weight_bytes,
        "bytes",
    );
    // Quantised checkpoints keep the token embeddings and the LM head in 16 bit (NVIDIA
    // ModelOpt FP8 and NVFP4 checkpoints quantise the decoder's linear layers only): those
    // tables take their own bits, vocabulary-parallel like the rest of the dense weights.
    let table_bits = profile.unquantized_table_bits;
    let weights = if table_bits > input.weights.bits.0 {
        let tables = anatomy.by_group(Group::Embeddings).as_f64() + anatomy.by_group(Group::Head).as_f64();
        weights
            + trace.record(
                "memory.unquantized_tables",
                "(embedding + LM-head parameters) / (tensor x pipeline) x (the engine's bits for those tables - bits per weight) / 8: quantised checkpoints leave both tables in 16 bit",
                &[("table_parameters", tables), ("table_bits", table_bits), ("bits_per_weight", input.weights.bits.0), ("tensor", tp), ("pipeline", pp)],
                tables / (tp * pp) * (table_bits - input.weights.bits.0) / 8.0,
                "bytes",
            )
    } else {
        weights
    };
    let speculation = input.techniques.speculation;
    let weights = weights
        + speculation.and_then(|s| s.drafter).map_or(0.0, |d| {
            trace.record(
                "memory.draft_weights",
                "the drafter's weights / tensor: a separate draft model whole; a speculation head (EAGLE, MTP) one decoder layer and its fusion projection, the embedding and LM head shared with the model",
                &[("drafter_weight_bytes", d.resident_bytes), ("tensor", tp)],
                d.resident_bytes / tp,
                "bytes",
            )
        });
    let kv_elements = kv_cache::elements_per_token_per_layer_per_device(arch, par.tensor);
    if arch.mla.is_none() && arch.kv_heads < u64::from(par.tensor) {
        trace.warn("kv-heads-replicated", || format!(
                "{} kv heads over {} tensor-parallel devices: each device keeps one whole kv head (replicated), as vLLM and TensorRT-LLM do",
                arch.kv_heads, par.tensor
            ));
    }
    let kv_per_sequence = trace.record(
        "memory.kv_cache_per_sequence",
        "kv elements per token per layer on this device (2 x ceil(kv_heads / tensor) x head_dim, or the MLA latent) x token-layers of the full context (sliding-window layers keep at most the window) / pipeline x bytes per element",
        &[("kv_elements_per_token_per_layer", kv_elements), ("context_tokens", context), ("layers", layers), ("pipeline", pp), ("kv_bits", input.kv_cache.bits.0)],
        kv_elements * kv_cache::token_layers(arch, context) / pp * kv_bytes,
        "bytes",
    );
    // The drafter keeps its own KV cache of the context (a head: one layer's).
    let kv_per_sequence = kv_per_sequence
        + speculation.and_then(|s| s.drafter).map_or(0.0, |d| {
            trace.record(
                "memory.draft_kv_cache_per_sequence",
                "the drafter's KV bytes per token per layer x its layers x context tokens / tensor (its own cache of the context, beside the model's)",
                &[("drafter_kv_bytes_per_token_layer", d.kv_bytes_per_token_layer), ("drafter_layers", f64::from(d.layers)), ("context_tokens", context), ("tensor", tp)],
                d.kv_bytes_per_token_layer * f64::from(d.layers) * context / tp,
                "bytes",
            )
        });
    let chunk = profile.prefill_chunk_tokens.max(1) as f64;
    // Activations: the live tensors of one prefill chunk, plus fp32 logits for each sequence's
    // last position.
    let per_token_activations = activation_bytes_per_token(arch, par.tensor);
    let chunk_activations = chunk * per_token_activations;
    let logits_per_sequence = vocab / tp * 4.0;
    let overhead = profile.runtime_overhead.0;
    let capacity_fraction =
        if device.unified_memory { profile.unified_memory_fraction } else { profile.memory_fraction };
    let capacity = trace.record(
        "memory.capacity",
        "device memory x the share the engine may use (unified-memory devices: the share of system memory the OS lets the GPU wire)",
        &[("device_memory_bytes", device.memory.0), ("fraction", capacity_fraction)],
        device.memory.0 * capacity_fraction,
        "bytes",
    );
    let per_sequence = kv_per_sequence / ep + logits_per_sequence;
    let free_for_batch = capacity - weights - overhead - chunk_activations;
    let max_batch = if free_for_batch <= 0.0 || per_sequence <= 0.0 {
        0
    } else {
        (free_for_batch / per_sequence).floor().min(1e9) as u64
    };
    let max_batch = trace.record(
        "memory.max_batch_size",
        "(capacity - weights - overhead - activations of one prefill chunk) / (KV cache per sequence / expert ranks + logits per sequence)",
        &[("capacity_bytes", capacity), ("weights_bytes", weights), ("overhead_bytes", overhead), ("kv_per_sequence_bytes", kv_per_sequence)],
        max_batch as f64,
        "sequences",
    ) as u64;
    let batch = match input.batch {
        Batch::Fixed(b) => b.max(1),
        Batch::Max => max_batch.min(profile.max_batch_size).max(1),
    };
    let b = batch as f64;
    let kv_cache = b / ep * kv_per_sequence;
    let activations = chunk.min(b * n_in.max(1.0)) * per_token_activations + b * logits_per_sequence;
    let total = weights + kv_cache + activations + overhead;
    let fits = total <= capacity;
    // Longest context at this batch: the KV budget per sequence, in token-layers, inverted.
    let kv_budget_per_sequence = (capacity - weights - overhead - activations) / (b / ep);
    let per_token_layer = kv_elements * kv_bytes / pp;
    let memory_context_tokens = if per_token_layer > 0.0 {
        kv_cache::max_context(arch, kv_budget_per_sequence / per_token_layer).clamp(0.0, 1.0e9).floor() as u64
    } else {
        0
    };
    // A model answers well only within the context it was trained for, however much memory
    // is left: the usable context is the smaller limit.
    let (max_context_tokens, context_bound) = if arch.max_context <= memory_context_tokens {
        (arch.max_context, ContextBound::Model)
    } else {
        (memory_context_tokens, ContextBound::Memory)
    };
    if !fits {
        trace.warn("does-not-fit", || format!(
                "needs {:.1} GB per device (weights {:.1} GB, KV cache {:.1} GB, activations {:.1} GB, overhead {:.1} GB) but {:.1} GB is usable; use more devices, a smaller format or a smaller batch",
                total / 1e9, weights / 1e9, kv_cache / 1e9, activations / 1e9, overhead / 1e9, capacity / 1e9
            ));
    }
    if input.input_tokens + input.output_tokens > arch.max_context {
        trace.warn("context-above-maximum", || {
            format!(
                "{} tokens of context exceed the model's maximum of {}",
                input.input_tokens + input.output_tokens,
                arch.max_context
            )
        });
    }

    // --- FLOPs ----------------------------------------------------------------------------
    let p_mm = matmul_params(anatomy);
    let d_attn = attention_width(arch);
    let mean_context = n_in + n_out / 2.0;
    let attention_per_token = |c: f64| 4.0 * d_attn * kv_cache::token_layers(arch, c);
    let forward_flops_per_token = trace.record(
        "compute.forward_flops_per_token",
        "2 x active parameters in matrix multiplies + 4 x heads x head_dim x token-layers attended (QK^T and AV, 2 FLOPs per multiply-add), at the mean decode context",
        &[("matmul_parameters", p_mm), ("attention_width", d_attn), ("mean_context_tokens", mean_context)],
        2.0 * p_mm + attention_per_token(mean_context),
        "FLOPs",
    );
    // Causal prefill: query i attends to i keys, n^2/2 pairs in all. Serving engines project
    // only the last prompt position onto the vocabulary (the only logits sampled), so the LM
    // head's multiply counts once per sequence, not once per prompt token.
    let head = (vocab * hidden).min(p_mm);
    let prefill_flops_per_sequence = trace.record(
        "compute.prefill_flops",
        "2 x (matmul parameters - LM head) x input tokens + 2 x LM head (last position only) + 4 x attention width x token-layers x input / 2 (causal: each query sees half the prompt on average)",
        &[("matmul_parameters", p_mm), ("lm_head_parameters", head), ("input_tokens", n_in)],
        2.0 * (p_mm - head) * n_in + 2.0 * head * n_in.min(1.0) + attention_per_token(n_in) * n_in / 2.0,
        "FLOPs",
    );
    // MLA decodes on the absorbed path: attention over the latent, 4 x heads x (kv_lora_rank +
    // rope) per token-layer attended, instead of the expanded heads x (qk + v) x 2.
    if arch.mla.is_some() {
        trace.record(
            "compute.mla_absorbed_width",
            "MLA absorbed decode: heads x (kv_lora_rank + qk_rope_head_dim); attention FLOPs per token-layer of context = 4 x this (QK^T and AV over the latent, 2 FLOPs per multiply-add)",
            &[("heads", arch.heads as f64)],
            decode_attention_width(arch),
            "elements",
        );
    }
    let decode_attention_per_token = |c: f64| 4.0 * decode_attention_width(arch) * kv_cache::token_layers(arch, c);
    let decode_flops = trace.record(
        "compute.decode_flops_per_step",
        "batch x (2 x matmul parameters + attention over the mean context; MLA: the absorbed path)",
        &[("batch", b), ("matmul_parameters", p_mm), ("mean_context_tokens", mean_context)],
        b * (2.0 * p_mm + decode_attention_per_token(mean_context)),
        "FLOPs",
    );

    // --- Time -----------------------------------------------------------------------------
    let wanted = match input.weights.compute {
        ComputeType::Fp8 | ComputeType::Fp4 | ComputeType::Int8 if !profile.low_precision_gemms => ComputeType::Fp16,
        other => other,
    };
    let compute_type = device.resolve(wanted);
    if compute_type != wanted {
        trace.warn("unsupported-format", || format!(
                "the catalog has no dense {} peak for {} (unsupported, or not yet collected); {} weights are computed as {}",
                compute_name(wanted),
                device.id,
                input.weights.id,
                compute_name(compute_type)
            ));
    }
    let peak = device.peak(compute_type).unwrap_or(0.0);
    let (compute_eff, memory_eff) = profile.efficiencies(device.kind, compute_type);
    let bandwidth = BytesPerSecond(device.memory_bandwidth_bytes_per_s * memory_eff);
    let link = link(device, par.tensor.max(par.pipeline), input.network.as_ref());
    if par.tensor > 1 && link.over_pcie {
        trace.warn("tensor-parallel-over-pcie", || {
            format!(
                "tensor parallelism over PCIe on {}: every layer waits for two all-reduces over a slow link",
                device.id
            )
        });
    }
    let exchange = super::moe::Exchange::of(input, {
        let l = super::moe::expert_fabric(input);
        let factor = if l.over_pcie { profile.pcie_collective_efficiency } else { 1.0 };
        super::parallelism::Link { bandwidth: BytesPerSecond(l.bandwidth.0 * factor), ..l }
    });
    // `tokens` are one expert rank's; the exchange takes the replica's pass.
    let collective = |tokens: f64| {
        let expert = exchange.seconds(tokens * ep);
        let message = Bytes(tokens * hidden * 2.0);
        let tensor = all_reduce(message, par.tensor, link, profile.collective_latency).0 * 2.0 * layers;
        let handoff = if par.pipeline > 1 {
            (pp - 1.0) * ((message / link.bandwidth).0 + profile.collective_latency.0)
        } else {
            0.0
        };
        Seconds(tensor + handoff + expert)
    };
    let phase = |flops: f64, bytes: f64, tokens: f64, comm: Seconds| {
        let achievable = FlopsPerSecond(peak * profile.gemm_efficiency(compute_eff, tokens));
        let compute_time = Flops(flops) / achievable;
        let memory_time = Bytes(bytes) / bandwidth;
        let core = compute_time.0.max(memory_time.0);
        let bound = if comm.0 > core {
            Bound::Communication
        } else if compute_time.0 >= memory_time.0 {
            Bound::Compute
        } else {
            Bound::Memory
        };
        Phase {
            time: Seconds(core + comm.0),
            compute_time,
            memory_time,
            communication_time: comm,
            bound,
            flops: Flops(flops),
            bytes: Bytes(bytes),
        }
    };

    // Latency view: one tensor-parallel slice through every stage.
    // Streamed per pass: every dense weight except looked-up embedding rows (a tied table is
    // streamed anyway, as the LM head).
    let streamed_lookups = if arch.tied_embeddings { 0.0 } else { lookup_params(anatomy) };
    let dense_slice = (dense_params - streamed_lookups).max(0.0) * weight_bytes / tp;
    let expert_slice = expert_params * weight_bytes / (tp * ep);
    let kv_slice_per_token = kv_elements * kv_bytes;

    // Prefill: the batch's prompts in chunks; weights are streamed once per chunk.
    let prefill_tokens = b * n_in;
    let prefill = if input.input_tokens == 0 {
        Phase {
            time: Seconds(0.0),
            compute_time: Seconds(0.0),
            memory_time: Seconds(0.0),
            communication_time: Seconds(0.0),
            bound: Bound::Compute,
            flops: Flops(0.0),
            bytes: Bytes(0.0),
        }
    } else {
        let chunks = (prefill_tokens / chunk).ceil().max(1.0);
        let experts_touched = arch.moe.map_or(1.0, |m| {
            let all = m.experts as f64;
            expected_distinct_experts(m.experts, m.experts_per_token, prefill_tokens.min(chunk)) / all
        });
        let bytes = chunks * (dense_slice + expert_slice * experts_touched)
            + b / ep * kv_slice_per_token * kv_cache::token_layers(arch, n_in);
        let flops = b * prefill_flops_per_sequence / (tp * ep);
        phase(flops, bytes, prefill_tokens.min(chunk) / ep, collective(prefill_tokens / ep))
    };
    let pass_overhead = profile.step_overhead + profile.layer_overhead * layers;
    let prefill = Phase { time: prefill.time + pass_overhead, ..prefill };
    trace.record(
        "time.prefill",
        "max(prefill FLOPs / (peak x GEMM efficiency), bytes streamed / (bandwidth x memory efficiency)) + tensor-parallel all-reduces + pipeline hand-offs + step overhead",
        &[("compute_s", prefill.compute_time.0), ("memory_s", prefill.memory_time.0), ("communication_s", prefill.communication_time.0), ("peak_flops_per_s", peak), ("compute_efficiency", compute_eff)],
        prefill.time.0,
        "s",
    );

    // Decode: one token for every sequence; weights once, experts the batch touches, KV read.
    let experts_touched = arch.moe.map_or(1.0, |m| {
        let all = m.experts as f64;
        trace.record(
            "moe.experts_touched",
            "expected distinct experts per MoE layer for the batch: E x (1 - (1 - k/E)^batch), uniform routing",
            &[("experts", all), ("experts_per_token", m.experts_per_token as f64), ("batch", b)],
            expected_distinct_experts(m.experts, m.experts_per_token, b),
            "experts",
        ) / all
    });
    let decode_bytes = dense_slice
        + expert_slice * experts_touched
        + b / ep * kv_slice_per_token * kv_cache::token_layers(arch, mean_context);
    let decode = phase(decode_flops / (tp * ep), decode_bytes, b / ep, collective(b / ep));
    let decode_all_to_all = if par.expert > 1 {
        trace.record(
            "moe.dispatch_combine",
            "per decode step: 2 all-to-alls (dispatch, combine) per MoE layer; each rank sends its sequences' 16-bit hidden states to the k experts each routes to, the hottest rank load x the mean; inside a node over the device fabric, the share (expert ranks - ranks per node) / expert ranks across the network, the slower path bounding each, plus each path's latency",
            &[
                ("expert_ranks", ep),
                ("ranks_per_node", f64::from(exchange.ranks_per_node)),
                ("crosses_network", if exchange.crosses_network { 1.0 } else { 0.0 }),
                ("hottest_expert_load", exchange.load),
                ("batch", b),
            ],
            exchange.seconds(b),
            "s",
        )
    } else {
        0.0
    };
    let decode = Phase { time: decode.time + pass_overhead, ..decode };
    trace.record(
        "time.decode_step",
        "max(step FLOPs / (peak x GEMM efficiency at batch rows), (weights + touched experts + KV cache read) / (bandwidth x memory efficiency)) + all-reduces + hand-offs + step overhead + layers x layer overhead",
        &[("compute_s", decode.compute_time.0), ("memory_s", decode.memory_time.0), ("communication_s", decode.communication_time.0), ("bytes_per_step", decode_bytes), ("bandwidth_bytes_per_s", bandwidth.0)],
        decode.time.0,
        "s",
    );

    // Speculation: the same decode step, verified with k + 1 rows per sequence and drafted by
    // k drafter forwards, yields tokens_per_step tokens; the time per token falls by the speedup.
    let speculation = speculation.map(|s| {
        let model = StepModel::new(input, profile.scheduler.windowed_kv);
        let assessment = SpeculativeStep::new(&model, s).assess(&model, batch, mean_context, profile.max_batch_size);
        record_speculation(&mut trace, &s, &assessment, batch, profile.max_batch_size);
        assessment
    });
    let ttft = prefill.time + profile.request_overhead;
    let tpot = match speculation {
        _ if input.output_tokens == 0 => Seconds(0.0),
        Some(a) if a.speedup > 0.0 => Seconds(trace.record(
            "latency.tpot_speculative",
            "decode step / speculation speedup: the step's time per token when each verifier step yields tokens_per_step tokens",
            &[("decode_step_s", decode.time.0), ("speedup", a.speedup)],
            decode.time.0 / a.speedup,
            "s",
        )),
        _ => decode.time,
    };
    let e2e = ttft + tpot * (n_out - 1.0).max(0.0);
    trace.record(
        "latency.ttft",
        "prefill time + per-request overhead of the engine",
        &[("prefill_s", prefill.time.0), ("request_overhead_s", profile.request_overhead.0)],
        ttft.0,
        "s",
    );
    trace.record(
        "latency.e2e",
        "time to first token + (output tokens - 1) x time per output token",
        &[("ttft_s", ttft.0), ("tpot_s", tpot.0), ("output_tokens", n_out)],
        e2e.0,
        "s",
    );
    let per_s = |count: f64, time: Seconds| if time.0 > 0.0 { count / time.0 } else { 0.0 };
    let output_tokens_per_s = trace.record(
        "throughput.output",
        "replicas x batch x output tokens / end-to-end time (prefill and decode of one batch, as in-flight batching averages out)",
        &[("replicas", dp), ("batch", b), ("output_tokens", n_out), ("e2e_s", e2e.0)],
        per_s(dp * b * n_out, e2e),
        "tokens/s",
    );
    let per_user = per_s(1.0, tpot);
    let prefill_tokens_per_s = per_s(dp * b * n_in, prefill.time);

    // --- Cost and energy ------------------------------------------------------------------
    let devices = par.devices() as f64;
    let usd_per_hour = input.usd_per_device_hour.map(|price| {
        trace.record(
            "cost.usd_per_hour",
            "devices x price per device-hour",
            &[("devices", devices), ("usd_per_device_hour", price)],
            devices * price,
            "USD/h",
        )
    });
    if usd_per_hour.is_none() {
        trace.warn("no-price", || {
            format!("no price for {}; pass cost.usd_per_device_hour to rent, or cost.purchase_usd to own", device.id)
        });
    }
    let per_million = |rate: f64| usd_per_hour.filter(|_| rate > 0.0).map(|usd| usd / (rate * 3600.0) * 1e6);
    let usd_per_million_output_tokens = per_million(output_tokens_per_s).map(|usd| {
        trace.record(
            "cost.usd_per_million_output_tokens",
            "USD per hour / (output tokens per second x 3600) x 1e6 (the whole deployment's price over the output tokens alone: input tokens are not charged apart)",
            &[("usd_per_hour", usd_per_hour.unwrap_or(0.0)), ("output_tokens_per_s", output_tokens_per_s)],
            usd,
            "USD/Mtok",
        )
    });
    let joules_per_output_token = device.tdp_w.filter(|_| output_tokens_per_s > 0.0).map(|tdp| {
        trace.record(
            "energy.joules_per_output_token",
            "devices x TDP x power fraction while serving / output tokens per second",
            &[("devices", devices), ("tdp_w", tdp), ("power_fraction", profile.power_fraction)],
            devices * tdp * profile.power_fraction / output_tokens_per_s,
            "J/token",
        )
    });
    if device.tdp_w.is_none() {
        trace.warn("no-power", || format!("{} has no published power figure; energy is unavailable", device.id));
    }

    let (warnings, explain) = trace.finish();
    InferenceEstimate {
        batch_size: batch,
        memory: Memory {
            per_device: MemoryPerDevice {
                weights: Bytes(weights),
                kv_cache: Bytes(kv_cache),
                activations: Bytes(activations),
                overhead: Bytes(overhead),
                total: Bytes(total),
            },
            capacity: Bytes(capacity),
            fits,
            max_batch_size: max_batch,
            max_context_tokens,
            memory_context_tokens,
            context_bound,
        },
        compute_type,
        forward_flops_per_token: Flops(forward_flops_per_token),
        prefill_flops_per_sequence: Flops(prefill_flops_per_sequence),
        decode_flops_per_step: Flops(decode_flops),
        prefill,
        decode,
        ttft,
        tpot,
        e2e,
        output_tokens_per_s,
        output_tokens_per_s_per_user: per_user,
        prefill_tokens_per_s,
        decode_expert_all_to_all: Seconds(decode_all_to_all),
        usd_per_hour,
        usd_per_million_output_tokens,
        usd_per_million_input_tokens: per_million(prefill_tokens_per_s),
        joules_per_output_token,
        warnings,
        explain,
        speculation,
    }
}

/// The explain entries of a speculation assessment (one rule per number a response shows).
pub(crate) fn record_speculation(
    trace: &mut Trace,
    s: &super::speculative::Speculation,
    a: &Assessment,
    batch: u64,
    max_batch: u64,
) {
    trace.record(
        "speculation.tokens_per_step",
        "(1 - a^(k+1)) / (1 - a): the accepted prefix of k draft tokens, each accepted with probability a independently, plus the verifier's own token (Leviathan et al. 2023, eq. 1)",
        &[("acceptance_rate", s.acceptance_rate), ("speculative_tokens", f64::from(s.tokens))],
        a.tokens_per_step,
        "tokens",
    );
    trace.record(
        "speculation.verify_step",
        "one decode step whose GEMMs, LM head and attention queries carry k + 1 rows per sequence, the KV cache read once per sequence",
        &[("batch", batch as f64), ("rows_per_sequence", f64::from(s.tokens) + 1.0), ("plain_step_s", a.plain_step_s)],
        a.verify_step_s,
        "s",
    );
    trace.record(
        "speculation.draft_time",
        "k drafter forwards one after another at the batch, each a decode step of the drafter on the same devices (0 for prompt lookup)",
        &[("batch", batch as f64), ("speculative_tokens", f64::from(s.tokens))],
        a.draft_s,
        "s",
    );
    trace.record(
        "speculation.speedup",
        "tokens per step x plain decode step / (verifier step + drafter time): output tokens per second with speculation over without",
        &[("tokens_per_step", a.tokens_per_step), ("plain_step_s", a.plain_step_s), ("verify_step_s", a.verify_step_s), ("draft_s", a.draft_s)],
        a.speedup,
        "ratio",
    );
    if let Some(at) = a.stops_paying_at_batch {
        trace.record(
            "speculation.stops_paying_at_batch",
            "the smallest batch at which the speedup falls to 1 (doubling, then bisection, over the same step model at the same context)",
            &[("max_batch", max_batch as f64)],
            at as f64,
            "sequences",
        );
    }
}
