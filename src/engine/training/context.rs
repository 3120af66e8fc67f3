//! Context parallelism: ring attention over the sequence dimension (Megatron-Core's context
//! parallel, Transformer Engine's `AttnFuncWithCP`; torchtitan's `context_parallel`; Liu et al.
//! 2023, "Ring Attention with Blockwise Transformers for Near-Infinite Context").
//!
//! Each of the `cp` ranks holds `s / cp` tokens of every sequence: its activations are `1 / cp`
//! of the sequence's (the activation rule divides the sequence already). Attention needs every
//! earlier key and value, so the K and V blocks of the ranks circulate around a ring in `cp - 1`
//! steps, each step's block attention computed while the next block is in flight:
//!
//! - forward: one pass of `cp - 1` steps, one K and V block each;
//! - backward: K and V go round again and their gradients dK, dV come back with them: two
//!   blocks a step (Transformer Engine saves only the local K and V, so backward re-circulates
//!   them);
//! - recomputation (full, or selective, which rebuilds attention) runs the forward pass again.
//!
//! A block is `micro-batch x s / cp x kv heads / tensor x (qk dim + v dim) x 2 bytes`: with
//! grouped-query attention only the KV heads move. A step's transfer hides behind that step's
//! block attention (`2 x heads / tensor x (qk + v) x (s / cp)^2 / 2` FLOPs forward, causal, in
//! the balanced layout), so what shows is `max(0, transfer - compute)` per step.
//!
//! Causal load balance: with contiguous shards, rank `r` attends to `r + 1/2` blocks and the
//! last one does `(2 cp - 1) / cp` times the average attention work, which every rank then
//! waits for. Megatron-Core and torchtitan shard each sequence into `2 cp` chunks and give rank
//! `r` chunks `r` and `2 cp - 1 - r` (the "zigzag" or load-balanced layout), so every rank does
//! the same work; that is the default here (`context_load_balanced`), and the unbalanced layout
//! adds `(cp - 1) / cp` of the attention compute time.
//!
//! The ring's neighbours are adjacent ranks after tensor parallel ranks (Megatron's order
//! `tp-cp-ep-dp-pp`), so the ring runs over NVLink while `tensor x context` devices fit in a
//! node, and over the scale-out network beyond.

use super::super::device::Device;
use super::super::explain::Trace;
use super::super::network::Network;
use super::super::parallelism::link;
use crate::engine::architecture::Architecture;

/// What the ring costs per optimizer step on one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContextRing {
    /// Context parallel degree.
    pub degree: u32,
    /// Whether the causal layout is load-balanced (zigzag).
    pub load_balanced: bool,
    /// Bytes of one K and V block, one ring step's transfer forward.
    pub block_bytes: f64,
    /// Ring steps per layer per micro-batch, all passes (forward, backward, recomputation).
    pub steps_per_layer: f64,
    /// Bytes each device sends per optimizer step.
    pub bytes_per_step: f64,
    /// Whether the ring leaves the node (runs over the scale-out network).
    pub over_network: bool,
    /// Link bandwidth used, bytes per second one direction.
    pub link_bytes_per_s: f64,
    /// Transfer time per optimizer step, s.
    pub transfer_s: f64,
    /// What block attention does not hide, per optimizer step, s.
    pub exposed_s: f64,
    /// Extra attention time of the most loaded rank (0 when balanced), per optimizer step, s.
    pub imbalance_s: f64,
}

/// The ring inputs the training estimate already has.
pub(super) struct RingInput<'a> {
    pub arch: &'a Architecture,
    pub device: &'a Device,
    pub network: Option<&'a Network>,
    pub tensor: u32,
    pub context: u32,
    pub load_balanced: bool,
    pub sequence: f64,
    pub micro_batch: f64,
    pub layers_per_stage: f64,
    pub micro_batches: f64,
    /// Whether the forward ring runs twice (recomputation rebuilds attention).
    pub recompute_attention: bool,
    /// Achieved FLOP/s of the GEMMs (peak x efficiency).
    pub flops_per_s: f64,
    /// Latency of one transfer.
    pub latency_s: f64,
}

/// The ring's cost; `None` without context parallelism.
pub(super) fn ring(r: &RingInput<'_>, trace: &mut Trace) -> Option<ContextRing> {
    if r.context <= 1 {
        return None;
    }
    let (cp, tp) = (f64::from(r.context), f64::from(r.tensor));
    let (qk, v) = r.arch.attention_dims();
    // KV heads split over tensor ranks; fewer KV heads than ranks are replicated, one a rank.
    let kv_heads = (r.arch.kv_heads as f64 / tp).max(1.0);
    let local = r.sequence / cp;
    let block = trace.record(
        "context.ring_block_bytes",
        "micro-batch x sequence / context x KV heads / tensor (at least 1) x (qk dim + v dim) x 2 bytes: the K and V block one ring step moves (with GQA only the KV heads)",
        &[("micro_batch_sequences", r.micro_batch), ("local_tokens", local), ("kv_heads_per_rank", kv_heads), ("qk_plus_v_dim", (qk + v) as f64)],
        r.micro_batch * local * kv_heads * (qk + v) as f64 * 2.0,
        "bytes",
    );
    // Forward 1 pass, backward 2 (K, V and dK, dV), recomputation 1 more.
    let passes = if r.recompute_attention { 4.0 } else { 3.0 };
    let steps_per_layer = passes * (cp - 1.0);
    let ring_ranks = r.tensor.saturating_mul(r.context);
    let l = link(r.device, ring_ranks, r.network);
    let over_network =
        r.network.is_some_and(|_| r.device.interconnect.and_then(|ic| ic.node).is_some_and(|node| ring_ranks > node));
    let latency = if over_network { r.network.map_or(r.latency_s, |n| n.latency.0) } else { r.latency_s };
    let transfer_one = block / l.bandwidth.0.max(1.0) + latency;
    // One step's block attention, forward, balanced causal: each rank does 1 / cp of the
    // sequence's causal attention, in cp steps.
    let heads = (r.arch.heads as f64 / tp).max(1.0);
    let step_flops = 2.0 * heads * (qk + v) as f64 * local * local / 2.0 * r.micro_batch;
    let compute_one = step_flops / r.flops_per_s.max(1.0);
    let units = r.layers_per_stage * r.micro_batches;
    let bytes_per_step = trace.record(
        "context.ring_bytes_per_step",
        "block bytes x (forward 1 + backward 2 (K, V and dK, dV) + recomputation 1) x (context - 1) ring steps x layers per stage x micro-batches",
        &[("block_bytes", block), ("passes", passes), ("ring_steps_per_pass", cp - 1.0), ("layers_per_stage", r.layers_per_stage), ("micro_batches", r.micro_batches)],
        block * steps_per_layer * units,
        "bytes",
    );
    let transfer_s = trace.record(
        "context.ring_transfer",
        "ring steps per step x (block bytes / link bandwidth + latency), backward steps counting twice: the link is NVLink while tensor x context devices fit in a node, else the network",
        &[("ring_steps", steps_per_layer * units), ("block_bytes", block), ("link_bytes_per_s", l.bandwidth.0), ("over_network", f64::from(u8::from(over_network)))],
        steps_per_layer * units * transfer_one,
        "s",
    );
    let exposed_s = trace.record(
        "time.context_ring_exposed",
        "ring steps x max(0, one block's transfer - one block's attention compute (2 x heads / tensor x (qk + v) x (sequence / context)^2 / 2 x micro-batch FLOPs at the achieved GEMM rate)); backward moves two blocks and computes twice, so the same ratio",
        &[("ring_steps", steps_per_layer * units), ("transfer_per_block_s", transfer_one), ("attention_per_block_s", compute_one)],
        steps_per_layer * units * (transfer_one - compute_one).max(0.0),
        "s",
    );
    // All of a rank's attention time, forward + backward (3x) + recomputation, balanced.
    let attention_s = step_flops * cp * (passes) / r.flops_per_s.max(1.0) * units;
    let imbalance_s = trace.record(
        "time.context_imbalance",
        "0 in the load-balanced (zigzag) layout (Megatron-Core, torchtitan); contiguous shards: the last rank's attention is (2 context - 1) / context of the average, so + (context - 1) / context x the attention time",
        &[("load_balanced", f64::from(u8::from(r.load_balanced))), ("attention_s", attention_s), ("context", cp)],
        if r.load_balanced { 0.0 } else { attention_s * (cp - 1.0) / cp },
        "s",
    );
    Some(ContextRing {
        degree: r.context,
        load_balanced: r.load_balanced,
        block_bytes: block,
        steps_per_layer,
        bytes_per_step,
        over_network,
        link_bytes_per_s: l.bandwidth.0,
        transfer_s,
        exposed_s,
        imbalance_s,
    })
}
