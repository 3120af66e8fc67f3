//! Expert parallelism in training: the all-to-all dispatch and combine of every MoE layer,
//! forward and backward, and the wait for the most loaded expert rank.
//!
//! Per MoE layer and micro-batch, each expert-parallel rank sends its tokens' hidden states to
//! the experts they are routed to (dispatch) and gets the results back (combine); backward
//! repeats both with the gradients (the gradient of the combine is a dispatch and vice versa):
//! 4 all-to-alls of `tokens x top_k x hidden x bytes`. The all-to-all itself is the serving
//! side's [`crate::engine::moe::all_to_all`] (uniform routing; the fabric inside a node and the
//! network beyond bound it). DeepSeek-V3 sends the dispatch (forward, and the activation
//! gradient before the down projections in backward) in FP8 and both combines in BF16 (Liu et
//! al. 2024, arXiv:2412.19437, section 3.3.3); `dispatch_bytes` says which.
//!
//! Overlap: a share of the exchange runs under other micro-batches' compute (DualPipe overlaps
//! one micro-batch's forward with another's backward so that "both all-to-all and PP
//! communication can be fully hidden", section 3.2.1); the exposed time is the larger of the
//! share not overlapped and what exceeds the compute, which no schedule can hide.
//!
//! Imbalance: the step waits for the rank whose experts received the most tokens, so the routed
//! experts' share of the GEMM time is multiplied by the hottest rank's load over the mean's (as
//! the serving step model does, [`crate::engine::moe::ExpertParallel`]).

use super::super::anatomy::Group;
use super::super::explain::Trace;
use super::super::moe::{AllToAll, all_to_all};
use super::super::network::Network;
use super::super::parallelism::link;
use super::TrainingInput;

/// Expert parallelism's settings for a training run; the numbers are data
/// (`data/training/moe.toml` for the defaults, the request for the rest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpertTraining {
    /// The hottest expert-parallel rank's routed tokens over the mean rank's, at least 1.
    pub hottest_rank_load: f64,
    /// Share of the all-to-all that runs under compute (0 to 1).
    pub all_to_all_overlap: f64,
    /// Bytes per element of the dispatch all-to-alls (2 in BF16, 1 in FP8); combines are 2.
    pub dispatch_bytes: f64,
    /// The network between nodes; `None` counts every expert rank as inside one node.
    pub network: Option<Network>,
}

impl ExpertTraining {
    /// Uniform routing, no overlap, 16-bit dispatch, no network.
    pub const NONE: ExpertTraining =
        ExpertTraining { hottest_rank_load: 1.0, all_to_all_overlap: 0.0, dispatch_bytes: 2.0, network: None };

    fn load(&self) -> f64 {
        if self.hottest_rank_load.is_finite() { self.hottest_rank_load.max(1.0) } else { 1.0 }
    }
}

/// What expert parallelism costs one step on one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpertCost {
    /// Expert-parallel ranks (1: no exchange).
    pub ranks: u32,
    /// Expert ranks one node holds.
    pub ranks_per_node: u32,
    /// Whether the exchange crosses the network between nodes.
    pub crosses_network: bool,
    /// Bytes one device sends in the step's all-to-alls, in all (hottest rank).
    pub bytes_per_step: f64,
    /// Of which to peers inside its node.
    pub intra_node_bytes: f64,
    /// Of which across the network.
    pub inter_node_bytes: f64,
    /// All-to-all time per step, before overlap, seconds.
    pub all_to_all_s: f64,
    /// Of which not hidden under compute, seconds.
    pub exposed_s: f64,
    /// The hottest rank's load used.
    pub hottest_rank_load: f64,
    /// Share of the step's hardware FLOPs in the routed experts' GEMMs.
    pub expert_flops_share: f64,
    /// Extra compute time the hottest rank takes, seconds.
    pub imbalance_s: f64,
}

impl ExpertCost {
    /// No expert parallelism.
    pub const NONE: ExpertCost = ExpertCost {
        ranks: 1,
        ranks_per_node: 1,
        crosses_network: false,
        bytes_per_step: 0.0,
        intra_node_bytes: 0.0,
        inter_node_bytes: 0.0,
        all_to_all_s: 0.0,
        exposed_s: 0.0,
        hottest_rank_load: 1.0,
        expert_flops_share: 0.0,
        imbalance_s: 0.0,
    };
}

/// The four all-to-alls of one MoE layer for one micro-batch on a rank: dispatch and combine
/// forward, and again backward. `elements` = the rank's tokens x experts per token x hidden x
/// the hottest rank's load; the dispatches move `dispatch_bytes` per element, the combines 2.
/// `fabric` and `network` (bandwidth, latency) as [`all_to_all`] takes them.
pub fn layer_all_to_alls(
    elements: f64,
    dispatch_bytes: f64,
    ranks: u32,
    in_node: u32,
    fabric: f64,
    latency: f64,
    network: Option<(f64, f64)>,
) -> [AllToAll; 4] {
    let one =
        |bytes_per_element: f64| all_to_all(elements * bytes_per_element, ranks, in_node, fabric, latency, network);
    let (dispatch, combine) = (one(dispatch_bytes), one(2.0));
    [dispatch, combine, dispatch, combine]
}

/// The step's expert-parallel cost. `compute_s` is the step's GEMM time on one device,
/// `hardware_per_token` its hardware FLOPs per token, `micro_batches` per pipeline.
pub(super) fn cost(
    input: &TrainingInput<'_>,
    compute_s: f64,
    hardware_per_token: f64,
    micro_batches: f64,
    trace: &mut Trace,
) -> ExpertCost {
    let (arch, par, ex) = (input.arch, input.parallelism, input.experts);
    let Some(moe) = arch.moe else { return ExpertCost::NONE };
    if par.expert <= 1 || moe.experts == 0 {
        return ExpertCost::NONE;
    }
    let load = ex.load();
    let pp = f64::from(par.pipeline);
    let node = input.device.interconnect.and_then(|ic| ic.node);
    let devices = par.expert.saturating_mul(par.tensor.max(1));
    let crosses = ex.network.is_some() && node.is_some_and(|n| devices > n);
    let ranks_per_node = node.map_or(par.expert, |n| (n / par.tensor.max(1)).clamp(1, par.expert));
    let fabric = link(input.device, devices.min(node.unwrap_or(u32::MAX)), None).bandwidth.0;
    let network = ex.network.filter(|_| crosses).map(|n| (n.bandwidth.0, n.latency.0));
    let tokens = input.sequence_length as f64 / f64::from(par.context) * input.micro_batch as f64;
    let top_k = moe.experts_per_token as f64;
    let hidden = arch.hidden as f64;
    let latency = input.profile.collective_latency.0;
    let four = layer_all_to_alls(
        tokens * top_k * hidden * load,
        ex.dispatch_bytes,
        par.expert,
        ranks_per_node,
        fabric,
        latency,
        network,
    );
    let per_stage = f64::from(arch.moe_layers()) / pp * micro_batches;
    let sum = |f: fn(&AllToAll) -> f64| four.iter().map(f).sum::<f64>() * per_stage;
    let (intra, inter) = (sum(|a| a.intra_node_bytes), sum(|a| a.inter_node_bytes));
    let all_to_all_s = trace.record(
        "time.expert_all_to_all",
        "4 all-to-alls per MoE layer per micro-batch (dispatch and combine, forward and backward) of micro-batch tokens x experts per token x hidden x bytes (dispatch: 1 in FP8, 2 in BF16; combine 2) x hottest rank load; uniform routing: (ranks in node - 1) / ranks of it over the device fabric, (ranks - ranks in node) / ranks over the network, the slower path bounding each, plus latencies; x MoE layers per stage x micro-batches",
        &[
            ("tokens_per_micro_batch", tokens),
            ("experts_per_token", top_k),
            ("hidden", hidden),
            ("dispatch_bytes", ex.dispatch_bytes),
            ("hottest_rank_load", load),
            ("expert_ranks", f64::from(par.expert)),
            ("ranks_per_node", f64::from(ranks_per_node)),
            ("fabric_bytes_per_s", fabric),
            ("network_bytes_per_s", network.map_or(0.0, |n| n.0)),
            ("moe_layers_per_stage", f64::from(arch.moe_layers()) / pp),
            ("micro_batches", micro_batches),
        ],
        four.iter().map(|a| a.seconds).sum::<f64>() * per_stage,
        "s",
    );
    let overlap = ex.all_to_all_overlap.clamp(0.0, 1.0);
    let exposed_s = trace.record(
        "time.expert_all_to_all_exposed",
        "max(all-to-all x (1 - overlap share), all-to-all - compute): the overlapped share runs under other micro-batches' compute, what exceeds the compute shows whatever the schedule",
        &[("all_to_all_s", all_to_all_s), ("overlap", overlap), ("compute_s", compute_s)],
        (all_to_all_s * (1.0 - overlap)).max(all_to_all_s - compute_s).max(0.0),
        "s",
    );
    // The routed experts' GEMMs: forward 2, backward 4 FLOPs per active expert parameter.
    let experts = input.anatomy.by_group(Group::Experts).as_f64();
    let active = experts / moe.experts as f64 * top_k;
    let share = if hardware_per_token > 0.0 { (6.0 * active / hardware_per_token).min(1.0) } else { 0.0 };
    let imbalance_s = trace.record(
        "time.expert_imbalance",
        "compute time x routed experts' share of hardware FLOPs (6 x active expert parameters / hardware FLOPs per token) x (hottest rank load - 1): the step waits for the most loaded expert rank",
        &[("compute_s", compute_s), ("expert_flops_share", share), ("hottest_rank_load", load)],
        compute_s * share * (load - 1.0),
        "s",
    );
    ExpertCost {
        ranks: par.expert,
        ranks_per_node,
        crosses_network: crosses,
        bytes_per_step: intra + inter,
        intra_node_bytes: intra,
        inter_node_bytes: inter,
        all_to_all_s,
        exposed_s,
        hottest_rank_load: load,
        expert_flops_share: share,
        imbalance_s,
    }
}
