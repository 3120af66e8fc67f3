//! The time of one scheduler step (one forward pass of a replica over every token the
//! scheduler put in it), composed per component:
//!
//! - **GEMMs** over all the step's tokens: `max(FLOPs / (peak x efficiency), weight bytes /
//!   bandwidth)`. The efficiency depends on the GEMM's shape: it rises with the rows (tokens per
//!   micro-batch) and with the width each device multiplies (hidden / tensor), both as
//!   half-saturation curves whose constants are engine data. The routed experts' grouped GEMMs
//!   are kernels of their own after the dense ones: each group is bound by its own arithmetic or
//!   its own weight reads, and the two add.
//! - **Attention**: prefill attention is arithmetic over the causal pairs of each chunk (with the
//!   cached or already-computed prefix as keys); decode attention reads each sequence's own KV
//!   cache. Each is `max(compute, memory)` at the attention kernels' own efficiencies.
//! - **Communication**: two tensor-parallel all-reduces per layer, expert-parallel dispatch and
//!   combine (an all-to-all each per MoE layer, over the device fabric inside a node and the
//!   network beyond it: [`crate::engine::moe::all_to_all`]), pipeline hand-offs.
//! - **Expert parallelism**: each expert rank holds its own sequences (attention runs
//!   data-parallel across ranks) and `experts / ranks` experts; the experts touched are those all
//!   the step's tokens route to; the step waits for the hottest rank, whose expert GEMMs and
//!   all-to-all traffic scale by the deployment's `hottest_rank_load`.
//! - **MLA** (DeepSeek): decode runs the absorbed path, attending over the compressed latent with
//!   the per-head projections folded into the query: `4 x heads x (kv_lora_rank + rope)` FLOPs
//!   per token-layer of context; prefill runs the expanded path (`2 x heads x (qk + v)`).
//! - **Overheads**: fixed per step, per layer and per sequence in the step (sampling, scheduling,
//!   detokenisation).
//!
//! Kernels run one after another, so the components add. With pipeline parallelism the step is
//! one round of `pipeline` micro-batches: every device processes its stage for each of them, so
//! the round takes the per-device work of all micro-batches, and every token still crosses all
//! stages within it.

use crate::engine::device::ComputeType;
use crate::engine::inference::{InferenceInput, param_split};
use crate::engine::kv_cache;
use crate::engine::moe::{Exchange, expected_distinct_experts, expert_fabric};
use crate::engine::parallelism::{Link, all_reduce, link};
use crate::engine::speculative::Drafter;
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
    /// The largest prefill chunk of the step, tokens (a chunk runs whole on one
    /// attention-data-parallel rank).
    pub largest_prefill_chunk: f64,
    /// Draft tokens each decoding sequence brings to be verified (0 without speculation): its
    /// GEMM rows, LM-head rows and attention queries are `1 + speculative_rows`, its KV cache is
    /// read once.
    pub speculative_rows: f64,
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
    /// Of `communication`: the expert-parallel dispatch and combine (all-to-alls).
    pub expert_all_to_all: f64,
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
    expert_gemm_efficiency: f64,
    expert_bandwidth: f64,
    gemm_half_width: f64,
    width_factor: f64,
    attention_peak: f64,
    bandwidth: f64,
    attention_bandwidth: f64,
    dense_bytes: f64,
    expert_bytes: f64,
    moe: Option<(u64, u64)>,
    attention_width: f64,
    /// Decode attention width: MLA's absorbed path, else the same as `attention_width`.
    decode_attention_width: f64,
    kv_bytes_per_token_layer: f64,
    windowed: bool,
    arch_window: Option<(f64, f64)>,
    link: Link,
    /// The expert-parallel dispatch and combine.
    exchange: Exchange,
    ep_load: f64,
    /// Two-batch overlap of the expert all-to-alls (with expert ranks only).
    two_batch_overlap: bool,
    collective_latency: f64,
    step_overhead: f64,
    layer_overhead: f64,
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
        // The weight-streaming rate: the dense GEMMs' and, at their own share, the experts'.
        let bandwidth = device.memory_bandwidth_bytes_per_s * memory_eff;
        let split = param_split(arch, anatomy);
        let width = arch.hidden as f64 / tp;
        let (qk, v) = arch.attention_dims();
        let pcie_factor = |l: Link| {
            // Collectives over PCIe reach only part of the link rate (NCCL ring all-reduce
            // through the host's root complex).
            let factor = if l.over_pcie { profile.pcie_collective_efficiency } else { 1.0 };
            Link { bandwidth: crate::engine::units::BytesPerSecond(l.bandwidth.0 * factor), ..l }
        };
        let exchange = Exchange::of(input, pcie_factor(expert_fabric(input)));
        Self {
            tp,
            pp,
            ep,
            layers: f64::from(arch.layers),
            hidden: arch.hidden as f64,
            body_params: split.body,
            expert_active_params: split.expert_active,
            head_params: split.head,
            gemm_peak: device.peak(compute_type).unwrap_or(0.0),
            gemm_efficiency: compute_eff,
            gemm_half_tokens: profile.gemm_half_tokens.max(0.0),
            expert_gemm_efficiency: profile.expert_gemm_efficiency.clamp(0.01, 1.0),
            expert_bandwidth: bandwidth * profile.expert_memory_efficiency.clamp(0.01, 1.0),
            gemm_half_width: profile.gemm_half_width.max(0.0),
            width_factor: width / (width + profile.gemm_half_width.max(0.0)),
            attention_peak: device.peak(attention_type).unwrap_or(0.0) * profile.attention_efficiency,
            bandwidth,
            attention_bandwidth: device.memory_bandwidth_bytes_per_s * profile.attention_memory_efficiency,
            dense_bytes: split.dense_streamed * weight_bytes / tp,
            expert_bytes: split.experts * weight_bytes / (tp * ep),
            moe: arch.moe.map(|m| (m.experts, m.experts_per_token)),
            attention_width: (arch.heads * (qk + v)) as f64 / 2.0,
            decode_attention_width: crate::engine::inference::decode_attention_width(arch),
            kv_bytes_per_token_layer: kv_cache::elements_per_token_per_layer_per_device(arch, par.tensor)
                * input.kv_cache.bits.0
                / 8.0,
            windowed: windowed_kv,
            arch_window: arch.sliding_window.map(|w| (w.tokens as f64, f64::from(w.layers.min(arch.layers)))),
            link: pcie_factor(link(device, par.tensor.max(par.pipeline), input.network.as_ref())),
            ep_load: exchange.load,
            two_batch_overlap: input.techniques.moe.two_batch_overlap && par.expert > 1,
            exchange,
            collective_latency: profile.collective_latency.0,
            step_overhead: profile.step_overhead.0 + profile.layer_overhead.0 * f64::from(arch.layers),
            layer_overhead: profile.layer_overhead.0,
            sequence_overhead: profile.sequence_overhead.0,
            compute_type,
        }
    }

    /// The expert-parallel exchange this model charges.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
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

    /// The step model of a drafter on the same devices, engine and layout: its own shape, the
    /// deployment's rates and links, and per-layer overheads for its own layers (its forwards
    /// run inside the engine's iteration, so no fixed step or per-sequence overhead).
    pub fn drafter(&self, d: &Drafter) -> StepModel {
        let width = d.hidden / self.tp;
        let tp = self.tp;
        StepModel {
            layers: f64::from(d.layers),
            hidden: d.hidden,
            body_params: d.body_params,
            expert_active_params: d.expert_active_params,
            head_params: d.head_params,
            width_factor: if width > 0.0 { width / (width + self.gemm_half_width) } else { 0.0 },
            dense_bytes: d.dense_bytes / tp,
            expert_bytes: d.expert_bytes / (tp * self.ep),
            moe: d.moe,
            attention_width: d.attention_width,
            // The drafter's own attention (no absorbed MLA path) and its own MoE layers, if any,
            // exchanged over the same ranks.
            decode_attention_width: d.attention_width,
            exchange: self.exchange.with_moe_layers(if d.moe.is_some() { d.layers } else { 0 }),
            kv_bytes_per_token_layer: d.kv_bytes_per_token_layer / tp,
            arch_window: None,
            // The drafter's forwards run inside the engine's iteration: no scheduling, sampling
            // bookkeeping or detokenisation of their own, only their layers' launches.
            step_overhead: self.layer_overhead * f64::from(d.layers),
            sequence_overhead: 0.0,
            ..self.clone()
        }
    }

    /// Time of one step. Under two-batch overlap ([`crate::engine::moe::overlapped`]) the step
    /// is two micro-batches of half its shape: their GEMMs and attention (each at its own,
    /// smaller rows) run one after the other, their expert all-to-alls under the other's
    /// compute, only the excess exposed; the tensor-parallel and pipeline collectives are not
    /// overlapped, and the step's overheads are paid once.
    pub fn time(&self, s: &StepShape) -> StepTime {
        if !self.two_batch_overlap {
            return self.time_of_one_batch(s);
        }
        let whole = self.time_of_one_batch(s);
        if whole.expert_all_to_all <= 0.0 {
            return whole;
        }
        let half = self.time_of_one_batch(&StepShape {
            decode_sequences: s.decode_sequences / 2.0,
            decode_context_tokens: s.decode_context_tokens / 2.0,
            prefill_tokens: s.prefill_tokens / 2.0,
            prefill_attention_pairs: s.prefill_attention_pairs / 2.0,
            prefill_completions: s.prefill_completions / 2.0,
            largest_prefill_chunk: s.largest_prefill_chunk / 2.0,
            speculative_rows: s.speculative_rows,
        });
        let (_, exposed) = crate::engine::moe::overlapped(half.gemm + half.attention, half.expert_all_to_all);
        StepTime {
            gemm: 2.0 * half.gemm,
            attention: 2.0 * half.attention,
            communication: 2.0 * (half.communication - half.expert_all_to_all) + exposed,
            overhead: whole.overhead,
            expert_all_to_all: exposed,
        }
    }

    /// Time of one step run as one batch.
    fn time_of_one_batch(&self, s: &StepShape) -> StepTime {
        let rows_per_decode = 1.0 + s.speculative_rows.max(0.0);
        let decode_rows = s.decode_sequences * rows_per_decode;
        let tokens = decode_rows + s.prefill_tokens;
        if tokens <= 0.0 {
            return StepTime::default();
        }
        let (tp, pp, ep) = (self.tp, self.pp, self.ep);
        let rows = tokens / pp;
        let per_device = tp * pp * ep;

        // Attention data parallelism: each expert rank runs attention and the dense layers over
        // its own sequences, and every MoE layer's all-to-all waits for the busiest rank. A
        // prefill chunk runs whole on one rank, so that rank has at least the largest chunk:
        // its share of the step is max(tokens / ranks, largest chunk) / (tokens / ranks).
        let busiest = if ep > 1.0 { (s.largest_prefill_chunk * ep / tokens).max(1.0) } else { 1.0 };
        // GEMMs: the body over every token (a verifier's draft rows included), the LM head over
        // the rows that sample.
        let logits_rows = decode_rows + s.prefill_completions;
        let dense_flops =
            (2.0 * self.body_params * tokens + 2.0 * self.head_params * logits_rows) / per_device * busiest;
        // The hottest expert rank multiplies `load` x the mean rank's routed tokens.
        let load = self.ep_load;
        let expert_flops = 2.0 * self.expert_active_params * tokens / per_device * load;
        let (touched, expert_rows) = self.moe.map_or((1.0, rows), |(experts, k)| {
            // Every rank's experts receive tokens from all ranks: the experts touched are those
            // all the step's rows route to.
            let distinct = expected_distinct_experts(experts, k, rows);
            // Each expert multiplies only the tokens routed to it: rows x k spread over the
            // experts touched, a much thinner GEMM than the dense layers'.
            (distinct / experts.max(1) as f64, rows * k as f64 / distinct.max(1.0) * load)
        });
        let compute = |flops: f64, rows: f64| {
            let rate = self.gemm_rate(rows);
            if rate > 0.0 { flops / rate } else { 0.0 }
        };
        // The dense GEMMs and the routed experts' grouped GEMMs are separate kernels, one after
        // the other: each is bound by its own arithmetic or its own weight reads. The experts'
        // thin GEMMs stream the touched experts' weights whatever the dense GEMMs' arithmetic,
        // at their own share of the bandwidth.
        let gemm = compute(dense_flops, rows / ep * busiest).max(self.dense_bytes / self.bandwidth)
            + compute(expert_flops / self.expert_gemm_efficiency, expert_rows)
                .max(self.expert_bytes * touched / self.expert_bandwidth);

        // Attention: prefill arithmetic over causal pairs, decode KV reads (a verifier's queries
        // attend over the context read once).
        let attention_flops = 4.0 * self.attention_width * self.layers * s.prefill_attention_pairs / per_device
            * busiest
            + 4.0
                * self.decode_attention_width
                * self.kv_token_layers(s.decode_sequences, s.decode_context_tokens)
                * rows_per_decode
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
        // Expert dispatch and combine: the hottest rank receives and sends back `load` x the mean.
        let expert_all_to_all = self.exchange.seconds(rows);
        communication += expert_all_to_all;
        if pp > 1.0 {
            communication += (pp - 1.0) * (rows * self.hidden * 2.0 / self.link.bandwidth.0 + self.collective_latency);
        }

        // Per-sequence work (sampling, scheduling) runs on each attention-data-parallel rank
        // for its own sequences, the ranks side by side.
        let sequences = (s.decode_sequences + s.prefill_completions) / ep;
        StepTime {
            gemm,
            attention,
            communication,
            overhead: self.step_overhead + self.sequence_overhead * sequences,
            expert_all_to_all,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{StepModel, StepShape};
    use crate::catalog::Catalog;
    use crate::scenario::serving::{ServingRequest, ServingScenario};

    fn scenario(moe: serde_json::Value) -> ServingScenario {
        let catalog = Catalog::embedded().unwrap();
        let request: ServingRequest = serde_json::from_value(json!({"model": "deepseek-v3",
            "hardware": "nvidia-h100-sxm-80gb", "weights": "fp8", "engine": "sglang", "network": "infiniband-ndr",
            "parallelism": {"tensor": 1, "expert": 32}, "moe": moe,
            "workload": {"input_tokens": 2000, "output_tokens": 100}}))
        .unwrap();
        ServingScenario::parse(&catalog, &request, "").unwrap()
    }

    /// Two-batch overlap, composed by hand from the halves: a decode step of 32 ranks x 128
    /// sequences at 2,000 tokens of context is two steps of 64 sequences per rank; the step pays
    /// both halves' GEMMs and attention, their all-to-alls only beyond that compute, and one
    /// step's overheads.
    #[test]
    fn two_batch_overlap_is_two_half_steps_with_the_exchange_hidden_under_their_compute() {
        let (plain, tbo) = (
            scenario(json!({"hottest_expert_load": 1.0})),
            scenario(json!({"hottest_expert_load": 1.0, "two_batch_overlap": true})),
        );
        let (plain, tbo) =
            (StepModel::new(&plain.inference.input(), false), StepModel::new(&tbo.inference.input(), false));
        let shape =
            StepShape { decode_sequences: 4096.0, decode_context_tokens: 4096.0 * 2000.0, ..StepShape::default() };
        let half =
            StepShape { decode_sequences: 2048.0, decode_context_tokens: 2048.0 * 2000.0, ..StepShape::default() };
        let (whole, h, t) = (plain.time(&shape), plain.time(&half), tbo.time(&shape));
        assert!(whole.expert_all_to_all > 0.0);
        let compute = 2.0 * (h.gemm + h.attention);
        let exposed = (2.0 * h.expert_all_to_all - compute).max(0.0);
        assert!((t.gemm - 2.0 * h.gemm).abs() < 1e-12);
        assert!((t.attention - 2.0 * h.attention).abs() < 1e-12);
        assert!((t.expert_all_to_all - exposed).abs() < 1e-12, "{t:?} {h:?}");
        assert!((t.communication - (2.0 * (h.communication - h.expert_all_to_all) + exposed)).abs() < 1e-12);
        assert_eq!(t.overhead, whole.overhead);
        // The overlap pays: less exchange shows than the whole batch's.
        assert!(t.total() < whole.total(), "{t:?} vs {whole:?}");
    }

    /// The routed experts' grouped GEMMs stream their weights at their own share of the
    /// bandwidth. By hand: DeepSeek-V3's routed experts are 58 MoE layers x 256 experts x 3 x
    /// 7,168 x 2,048 = 653,908,770,816 FP8 bytes, 1/32 of them on each of 32 expert ranks. One
    /// decode sequence routes to 8 of the 256, so a rank streams 8/256 of its share:
    /// 638,582,784 bytes. At half the share the step's GEMMs pay those bytes once more at the
    /// full rate, and nothing else moves.
    #[test]
    fn expert_weight_reads_run_at_their_own_share_of_the_bandwidth() {
        let s = scenario(json!({"hottest_expert_load": 1.0}));
        let full = StepModel::new(&s.inference.input(), false);
        let half = StepModel { expert_bandwidth: full.expert_bandwidth / 2.0, ..full.clone() };
        let shape = StepShape { decode_sequences: 1.0, decode_context_tokens: 2000.0, ..StepShape::default() };
        let (a, b) = (full.time(&shape), half.time(&shape));
        let streamed = 58.0 * 256.0 * 3.0 * 7168.0 * 2048.0 / 32.0 * 8.0 / 256.0;
        assert_eq!(streamed, 638_582_784.0);
        assert!((full.expert_bytes * 8.0 / 256.0 - streamed).abs() < 1.0, "{}", full.expert_bytes);
        let extra = streamed / full.expert_bandwidth;
        assert!(((b.gemm - a.gemm) - extra).abs() < 1e-9 * extra.max(1.0), "{} vs {extra}", b.gemm - a.gemm);
        assert_eq!((a.attention, a.communication, a.overhead), (b.attention, b.communication, b.overhead));
    }
}
