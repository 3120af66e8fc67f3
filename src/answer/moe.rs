//! Mixture-of-experts serving at scale, as the answers show it: the layout over expert ranks
//! (attention data parallel across them, tensor parallel within each), the all-to-all the
//! ranks exchange, the imbalance the step waits for and the KV cache each rank holds. The
//! inference and serving answers carry the same section, built here.

use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::moe::{Exchange, expert_fabric};
use crate::scenario::inference::InferenceScenario;

/// Expert parallelism's layout and costs; present when `parallelism.expert` is above 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpertParallelBody {
    /// Expert-parallel ranks (each a group of `tensor_per_rank` devices).
    pub expert_ranks: u32,
    /// Attention data-parallel ranks: each expert rank holds its own sequences and KV cache,
    /// attention and dense weights replicated on every rank (the same count as
    /// `expert_ranks`).
    pub attention_data_parallel_ranks: u32,
    /// Tensor-parallel devices within one rank (attention heads and dense layers split).
    pub tensor_per_rank: u32,
    /// Routed experts each rank holds.
    pub experts_per_rank: f64,
    /// Expert ranks one node holds (`interconnect.node_devices / tensor`); beyond them the
    /// all-to-all crosses the network.
    pub ranks_per_node: u32,
    /// Whether the ranks span nodes joined by `network`.
    pub crosses_network: bool,
    /// The network the all-to-all crosses, when it does.
    pub network: Option<String>,
    /// The hottest rank's routed tokens over the mean rank's, as used (1 = uniform).
    pub hottest_expert_load: f64,
    /// Dispatch and combine (two all-to-alls per MoE layer) in one step, ms: the mean over the
    /// replay's steps (serving), one decode step of the batch (inference).
    pub dispatch_combine_ms_per_step: f64,
    /// KV-cache tokens one rank holds (the replica's capacity / ranks; serving only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_capacity_tokens_per_rank: Option<u64>,
    /// The largest batch one rank schedules (the engine's sequence limit per rank; serving
    /// only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_batch_per_rank: Option<u64>,
}

impl ExpertParallelBody {
    /// The section for `s` with the step's dispatch and combine time (seconds); `None` without
    /// expert ranks. `kv` is the replica's KV capacity in tokens and its sequence limit, for a
    /// replay.
    pub fn of(s: &InferenceScenario, dispatch_combine_s: f64, kv: Option<(u64, u64)>) -> Option<Self> {
        let par = s.parallelism;
        if par.expert <= 1 {
            return None;
        }
        let input = s.input();
        let exchange = Exchange::of(&input, expert_fabric(&input));
        let experts = s.model.architecture.moe.map_or(0, |m| m.experts) as f64;
        let ranks = u64::from(par.expert);
        Some(Self {
            expert_ranks: par.expert,
            attention_data_parallel_ranks: par.expert,
            tensor_per_rank: par.tensor,
            experts_per_rank: experts / f64::from(par.expert),
            ranks_per_node: exchange.ranks_per_node,
            crosses_network: exchange.crosses_network,
            network: s.network.as_ref().filter(|_| exchange.crosses_network).map(|n| n.id.clone()),
            hottest_expert_load: exchange.load,
            dispatch_combine_ms_per_step: if dispatch_combine_s.is_finite() { dispatch_combine_s * 1e3 } else { 0.0 },
            kv_capacity_tokens_per_rank: kv.map(|(tokens, _)| tokens / ranks),
            max_batch_per_rank: kv.map(|(_, seqs)| seqs / ranks),
        })
    }
}
