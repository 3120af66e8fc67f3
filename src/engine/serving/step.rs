//! The time of one scheduler step (one forward pass of a replica over every token the
//! scheduler put in it), composed per component:
//!
//! - **GEMMs** over all the step's tokens: `max(FLOPs / (peak x efficiency), weight bytes /
//!   bandwidth)`. The efficiency depends on the GEMM's shape: it rises with the rows (tokens per
//!   micro-batch) and with the width each device multiplies (hidden / tensor), both as
//!   half-saturation curves whose constants are engine data.
//! - **Attention**: prefill attention is arithmetic over the causal pairs of each chunk (with the
//!   cached or already-computed prefix as keys); decode attention reads each sequence's own KV
//!   cache. Each is `max(compute, memory)` at the attention kernels' own efficiencies.
//! - **Communication**: two tensor-parallel all-reduces per layer, expert-parallel dispatch and
//!   combine, pipeline hand-offs.
//! - **Overheads**: fixed per step, per layer and per sequence in the step (sampling, scheduling,
//!   detokenisation).
//!
//! Kernels run one after another, so the components add. With pipeline parallelism the step is
//! one round of `pipeline` micro-batches: every device processes its stage for each of them, so
//! the round takes the per-device work of all micro-batches, and every token still crosses all
//! stages within it.

use crate::engine::anatomy::Group;
use crate::engine::device::ComputeType;
use crate::engine::inference::{InferenceInput, lookup_params, matmul_params};
use crate::engine::kv_cache;
use crate::engine::moe::expected_distinct_experts;
use crate::engine::parallelism::{Link, all_reduce, link};
use crate::engine::units::{Bytes, Seconds};

/// What the scheduler put into one step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepShape {
    /// Sequences producing one decode token.
    pub decode_sequences: f64,
    /// Sum of the contexts those sequences attend to, tokens.
    pub decode_context_tokens: f64,
    /// Prompt tokens computed in this step (all chunks).
    pub prefill_tokens: f64,
    /// Causal query-key pairs of the prefill chunks: `chunk x (prefix + chunk / 2)` summed.
    pub prefill_attention_pairs: f64,
    /// Sequences whose prompt completes in this step (their last position gets logits).
    pub prefill_completions: f64,
}

/// A step's time by component.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepTime {
    /// GEMMs.
    pub gemm: f64,
    /// Attention.
    pub attention: f64,
    /// Collectives.
    pub communication: f64,
    /// Fixed per-step, per-layer and per-sequence overheads.
    pub overhead: f64,
}

impl StepTime {
    /// Wall time of the step, seconds.
    pub fn total(&self) -> f64 {
        self.gemm + self.attention + self.communication + self.overhead
    }
}

/// The constants of a deployment's step time, computed once per simulation.
#[derive(Debug, Clone)]
pub struct StepModel {
    tp: f64,
    pp: f64,
    ep: f64,
    layers: f64,
    hidden: f64,
    /// Matmul parameters without the LM head and the routed experts, the head, and the routed
    /// experts' active parameters per token.
    body_params: f64,
    expert_active_params: f64,
    head_params: f64,
    gemm_peak: f64,
    gemm_efficiency: f64,
    gemm_half_tokens: f64,
    width_factor: f64,
    attention_peak: f64,
    bandwidth: f64,
    attention_bandwidth: f64,
    dense_bytes: f64,
    expert_bytes: f64,
    moe: Option<(u64, u64)>,
    attention_width: f64,
    kv_bytes_per_token_layer: f64,
    windowed: bool,
    arch_window: Option<(f64, f64)>,
    link: Link,
    collective_latency: f64,
    step_overhead: f64,
    sequence_overhead: f64,
    /// GEMM data type after the device and engine had their say.
    pub compute_type: ComputeType,
}

impl StepModel {
    /// The step model of a deployment; `windowed_kv` says whether the engine keeps only the
    /// window for sliding-window layers.
    pub fn new(input: &InferenceInput<'_>, windowed_kv: bool) -> Self {
        let (arch, anatomy, device, profile, par) =
            (input.arch, input.anatomy, input.device, input.profile, input.parallelism);
        let (tp, pp, ep) = (f64::from(par.tensor), f64::from(par.pipeline), f64::from(par.expert));
        let wanted = match input.weights.compute {
            ComputeType::Fp8 | ComputeType::Fp4 | ComputeType::Int8 if !profile.low_precision_gemms => {
                ComputeType::Fp16
            }
            other => other,
        };
        let compute_type = device.resolve(wanted);
        let (compute_eff, memory_eff) = profile.efficiencies(device.kind, compute_type);
        let attention_type = device.resolve(ComputeType::Fp16);
        let weight_bytes = input.weights.bits.0 / 8.0;
        let expert_params = anatomy.by_group(Group::Experts).as_f64();
        let dense_params = anatomy.total.as_f64() - expert_params;
        let streamed_lookups = if arch.tied_embeddings { 0.0 } else { lookup_params(anatomy) };
        let p_mm = matmul_params(anatomy);
        let head = (arch.vocab as f64 * arch.hidden as f64).min(p_mm);
        let expert_active =
            arch.moe.map_or(0.0, |m| expert_params * m.experts_per_token as f64 / m.experts.max(1) as f64);
        let width = arch.hidden as f64 / tp;
        let (qk, v) = arch.attention_dims();
        Self {
            tp,
            pp,
            ep,
            layers: f64::from(arch.layers),
            hidden: arch.hidden as f64,
            body_params: (p_mm - head - expert_active).max(0.0),
            expert_active_params: expert_active,
            head_params: head,
            gemm_peak: device.peak(compute_type).unwrap_or(0.0),
            gemm_efficiency: compute_eff,
            gemm_half_tokens: profile.gemm_half_tokens.max(0.0),
            width_factor: width / (width + profile.gemm_half_width.max(0.0)),
            attention_peak: device.peak(attention_type).unwrap_or(0.0) * profile.attention_efficiency,
            bandwidth: device.memory_bandwidth_bytes_per_s * memory_eff,
            attention_bandwidth: device.memory_bandwidth_bytes_per_s * profile.attention_memory_efficiency,
            dense_bytes: (dense_params - streamed_lookups).max(0.0) * weight_bytes / tp,
            expert_bytes: expert_params * weight_bytes / (tp * ep),
            moe: arch.moe.map(|m| (m.experts, m.experts_per_token)),
            attention_width: (arch.heads * (qk + v)) as f64 / 2.0,
            kv_bytes_per_token_layer: kv_cache::elements_per_token_per_layer_per_device(arch, par.tensor)
                * input.kv_cache.bits.0
                / 8.0,
            windowed: windowed_kv,
            arch_window: arch.sliding_window.map(|w| (w.tokens as f64, f64::from(w.layers.min(arch.layers)))),
            link: {
                // Collectives over PCIe reach only part of the link rate (NCCL ring all-reduce
                // through the host's root complex).
                let l = link(device, par.tensor.max(par.pipeline).max(par.expert), input.network.as_ref());
                let factor = if l.over_pcie { profile.pcie_collective_efficiency } else { 1.0 };
                Link { bandwidth: crate::engine::units::BytesPerSecond(l.bandwidth.0 * factor), ..l }
            },
            collective_latency: profile.collective_latency.0,
            step_overhead: profile.step_overhead.0 + profile.layer_overhead.0 * f64::from(arch.layers),
            sequence_overhead: profile.sequence_overhead.0,
            compute_type,
        }
    }

    /// Token-layers of KV the decodes read: each sequence's context over every layer, or the
    /// window on windowed layers (with the mean context standing in for each sequence's own).
    fn kv_token_layers(&self, sequences: f64, context_tokens: f64) -> f64 {
        match (self.arch_window, self.windowed) {
            (Some((window, windowed_layers)), true) if sequences > 0.0 => {
                let mean = context_tokens / sequences;
                sequences * ((self.layers - windowed_layers) * mean + windowed_layers * mean.min(window))
            }
            _ => self.layers * context_tokens,
        }
    }

    /// GEMM efficiency for `rows` rows per pass on one device.
    fn gemm_rate(&self, rows: f64) -> f64 {
        let m = rows.max(1.0);
        self.gemm_peak * self.gemm_efficiency * m / (m + self.gemm_half_tokens) * self.width_factor
    }

    /// Time of one step.
    pub fn time(&self, s: &StepShape) -> StepTime {
        let tokens = s.decode_sequences + s.prefill_tokens;
        if tokens <= 0.0 {
            return StepTime::default();
        }
        let (tp, pp, ep) = (self.tp, self.pp, self.ep);
        let rows = tokens / pp;
        let per_device = tp * pp * ep;

        // GEMMs: the body over every token, the LM head over the sequences that sample.
        let logits_rows = s.decode_sequences + s.prefill_completions;
        let dense_flops = (2.0 * self.body_params * tokens + 2.0 * self.head_params * logits_rows) / per_device;
        let expert_flops = 2.0 * self.expert_active_params * tokens / per_device;
        let (touched, expert_rows) = self.moe.map_or((1.0, rows), |(experts, k)| {
            let distinct = expected_distinct_experts(experts, k, rows / ep);
            // Each expert multiplies only the tokens routed to it: rows x k spread over the
            // experts touched, a much thinner GEMM than the dense layers'.
            (distinct / experts.max(1) as f64, rows * k as f64 / distinct.max(1.0))
        });
        let weights = self.dense_bytes + self.expert_bytes * touched;
        let compute = |flops: f64, rows: f64| {
            let rate = self.gemm_rate(rows);
            if rate > 0.0 { flops / rate } else { 0.0 }
        };
        let gemm = (compute(dense_flops, rows / ep) + compute(expert_flops, expert_rows)).max(weights / self.bandwidth);

        // Attention: prefill arithmetic over causal pairs, decode KV reads.
        let attention_flops = 4.0 * self.attention_width * self.layers * s.prefill_attention_pairs / per_device
            + 4.0 * self.attention_width * self.kv_token_layers(s.decode_sequences, s.decode_context_tokens)
                / per_device;
        let kv_read = self.kv_bytes_per_token_layer * self.kv_token_layers(s.decode_sequences, s.decode_context_tokens)
            / (pp * ep);
        let attention_compute = if self.attention_peak > 0.0 { attention_flops / self.attention_peak } else { 0.0 };
        let attention = attention_compute.max(kv_read / self.attention_bandwidth);

        // Collectives: two all-reduces per layer per micro-batch (every stage's layers are
        // reduced once per round in all), expert dispatch and combine, pipeline hand-offs.
        let message = Bytes(rows * self.hidden * 2.0 / ep);
        let latency = Seconds(self.collective_latency);
        let mut communication = 2.0 * self.layers * all_reduce(message, self.tp as u32, self.link, latency).0;
        if let Some((_, k)) = self.moe
            && ep > 1.0
        {
            let sent = rows * k as f64 * self.hidden * 2.0 / ep * (ep - 1.0) / ep;
            communication += 2.0 * self.layers * (sent / self.link.bandwidth.0 + self.collective_latency);
        }
        if pp > 1.0 {
            communication += (pp - 1.0) * (rows * self.hidden * 2.0 / self.link.bandwidth.0 + self.collective_latency);
        }

        let sequences = s.decode_sequences + s.prefill_completions;
        StepTime { gemm, attention, communication, overhead: self.step_overhead + self.sequence_overhead * sequences }
    }
}
