//! Which experts a batch touches, and what expert parallelism costs: the all-to-all dispatch
//! and combine across nodes and the wait for the most loaded rank.

use super::inference::InferenceInput;
use super::parallelism::Link;

/// Expected number of distinct experts used in one MoE layer when `tokens` tokens each pick
/// `k` of `experts` experts: `E x (1 - (1 - k/E)^T)`.
///
/// Assumes routing is uniform and independent across tokens (balanced routers are trained
/// towards uniform load; correlated tokens touch fewer experts, so this errs towards more
/// traffic). At batch 1 it is `k`; for large batches it approaches `E`.
pub fn expected_distinct_experts(experts: u64, k: u64, tokens: f64) -> f64 {
    let (e, k) = (experts.max(1) as f64, k.min(experts).max(1) as f64);
    let miss = (1.0 - k / e).powf(tokens.max(1.0));
    (e * (1.0 - miss)).clamp(k.min(e), e)
}

/// Expert parallelism at scale: how unevenly the router loads the expert-parallel ranks.
///
/// Every MoE layer waits for its slowest rank, the one whose experts received the most
/// tokens. `hottest_rank_load` is that rank's routed tokens over the mean rank's (1 = uniform
/// routing); its expert GEMMs and its share of the dispatch and combine scale by it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpertParallel {
    /// The hottest expert-parallel rank's routed tokens / the mean rank's, at least 1.
    pub hottest_rank_load: f64,
    /// Two-batch overlap (DeepSeek, SGLang TBO): each step splits its batch into two
    /// micro-batches so one's dispatch and combine run under the other's compute; see
    /// [`overlapped`].
    pub two_batch_overlap: bool,
}

impl Default for ExpertParallel {
    /// Uniform routing: every rank gets the mean; no two-batch overlap.
    fn default() -> Self {
        ExpertParallel { hottest_rank_load: 1.0, two_batch_overlap: false }
    }
}

/// A step under two-batch overlap: its compute (`compute_half`: the GEMMs and attention of one
/// half of the batch, each micro-batch's own smaller GEMMs at their own efficiency) runs twice,
/// and the expert all-to-alls of both halves (`all_to_all_half` each) run on the
/// communication stream beside it. Returns (compute, exposed all-to-all):
/// `2 x compute_half` and `max(0, 2 x all_to_all_half - 2 x compute_half)`: the exchange
/// hides under the other micro-batch's compute, only what exceeds it shows (an ideal
/// two-stage pipeline; the first micro-batch's lone compute and the last one's lone combine
/// are taken as hidden too, an optimistic bound).
pub fn overlapped(compute_half: f64, all_to_all_half: f64) -> (f64, f64) {
    let compute = 2.0 * compute_half.max(0.0);
    let exchange = 2.0 * all_to_all_half.max(0.0);
    (compute, (exchange - compute).max(0.0))
}

impl ExpertParallel {
    /// The load factor the step waits for (1 when not given sensibly).
    pub fn load(&self) -> f64 {
        if self.hottest_rank_load.is_finite() { self.hottest_rank_load.max(1.0) } else { 1.0 }
    }
}

/// One all-to-all (an expert dispatch or combine) over `ranks` expert-parallel ranks, each
/// rank sending `bytes` in all (its tokens' copies for every expert they are routed to).
///
/// Model: routing is uniform, so `1 / ranks` of a rank's traffic stays on the rank, the share
/// `(in_node - 1) / ranks` goes to peers inside its node over the device fabric and the share
/// `(ranks - in_node) / ranks` crosses the network (`in_node` = the ranks one node holds, at
/// most `ranks`). The two paths run at once, so the slower bounds the collective; each pays
/// its fixed latency (the fabric's collective latency, plus the network's one-way latency when
/// any traffic leaves the node). Without a network every peer counts as inside the node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllToAll {
    /// Bytes one rank sends to peers inside its node.
    pub intra_node_bytes: f64,
    /// Bytes one rank sends across the network.
    pub inter_node_bytes: f64,
    /// Time of the collective, seconds.
    pub seconds: f64,
}

/// The all-to-all's cost; see [`AllToAll`]. `fabric` is the device fabric's one-direction
/// bandwidth (bytes/s), `network` the network's bandwidth and latency per device.
pub fn all_to_all(
    bytes: f64,
    ranks: u32,
    in_node: u32,
    fabric: f64,
    fabric_latency: f64,
    network: Option<(f64, f64)>,
) -> AllToAll {
    if ranks <= 1 || bytes <= 0.0 {
        return AllToAll { intra_node_bytes: 0.0, inter_node_bytes: 0.0, seconds: 0.0 };
    }
    let n = f64::from(ranks);
    let local = match network {
        Some(_) => f64::from(in_node.clamp(1, ranks)),
        None => n,
    };
    let intra = bytes * (local - 1.0) / n;
    let inter = bytes * (n - local) / n;
    let time = |b: f64, bw: f64| if b > 0.0 && bw > 0.0 { b / bw } else { 0.0 };
    let (net_bw, net_latency) = network.unwrap_or((0.0, 0.0));
    let seconds =
        time(intra, fabric).max(time(inter, net_bw)) + fabric_latency + if inter > 0.0 { net_latency } else { 0.0 };
    AllToAll { intra_node_bytes: intra, inter_node_bytes: inter, seconds }
}

/// The expert-parallel exchange of a deployment: what one pass's dispatch and combine cost,
/// built once from the deployment (the step model and the static estimate share it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exchange {
    /// Expert-parallel ranks.
    pub ranks: u32,
    /// Expert ranks one node holds (each rank is `tensor` devices).
    pub ranks_per_node: u32,
    /// Whether the ranks span more than one node and a network joins them.
    pub crosses_network: bool,
    /// The hottest rank's load (1 without expert parallelism).
    pub load: f64,
    fabric: f64,
    fabric_latency: f64,
    network: Option<(f64, f64)>,
    moe_layers: f64,
    experts_per_token: f64,
    hidden: f64,
}

impl Exchange {
    /// The exchange of `input`'s deployment; `fabric` is the device fabric's link among the
    /// devices of one node (the caller applies the engine's PCIe collective efficiency).
    pub fn of(input: &InferenceInput<'_>, fabric: Link) -> Self {
        let (arch, par) = (input.arch, input.parallelism);
        let node = input.device.interconnect.and_then(|ic| ic.node);
        let devices = par.expert.saturating_mul(par.tensor.max(1));
        let crosses = input.network.is_some() && node.is_some_and(|n| devices > n);
        Exchange {
            ranks: par.expert.max(1),
            ranks_per_node: node.map_or(par.expert, |n| (n / par.tensor.max(1)).clamp(1, par.expert.max(1))),
            crosses_network: crosses,
            load: if par.expert > 1 { input.techniques.moe.load() } else { 1.0 },
            fabric: fabric.bandwidth.0,
            fabric_latency: input.profile.collective_latency.0,
            network: input.network.filter(|_| crosses).map(|n| (n.bandwidth.0, n.latency.0)),
            moe_layers: f64::from(arch.moe_layers()),
            experts_per_token: arch.moe.map_or(0.0, |m| m.experts_per_token as f64),
            hidden: arch.hidden as f64,
        }
    }

    /// One all-to-all for a pass of `rows` tokens over the whole replica: each rank sends its
    /// `rows / ranks` tokens' 16-bit hidden states to the experts each routes to, the hottest
    /// rank `load` x the mean.
    pub fn one(&self, rows: f64) -> AllToAll {
        if self.ranks <= 1 || self.experts_per_token <= 0.0 {
            return all_to_all(0.0, 1, 1, 0.0, 0.0, None);
        }
        let bytes = rows / f64::from(self.ranks) * self.experts_per_token * self.hidden * 2.0 * self.load;
        all_to_all(bytes, self.ranks, self.ranks_per_node, self.fabric, self.fabric_latency, self.network)
    }

    /// The same exchange for a model of `moe_layers` MoE layers on the same ranks (a drafter).
    pub fn with_moe_layers(&self, moe_layers: u32) -> Self {
        Exchange { moe_layers: f64::from(moe_layers), ..*self }
    }

    /// Dispatch and combine over every MoE layer for a pass of `rows` tokens, seconds.
    pub fn seconds(&self, rows: f64) -> f64 {
        if self.ranks <= 1 { 0.0 } else { 2.0 * self.moe_layers * self.one(rows).seconds }
    }
}

/// The device fabric the expert ranks of one node share (PCIe rate as the fabric gives it,
/// before any engine efficiency): the link among `expert x tensor` devices, at most a node's.
pub fn expert_fabric(input: &InferenceInput<'_>) -> Link {
    let par = input.parallelism;
    let node = input.device.interconnect.and_then(|ic| ic.node).unwrap_or(u32::MAX);
    super::parallelism::link(input.device, par.expert.saturating_mul(par.tensor.max(1)).min(node), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_touches_k_and_many_touch_all() {
        assert!((expected_distinct_experts(8, 2, 1.0) - 2.0).abs() < 1e-9);
        assert!((expected_distinct_experts(128, 8, 10_000.0) - 128.0).abs() < 1e-6);
        let mid = expected_distinct_experts(128, 8, 16.0);
        assert!(mid > 8.0 && mid < 128.0, "{mid}");
    }

    /// By hand: 8 MB per rank over 16 ranks, 8 per node, a 450 GB/s fabric with 5 us per
    /// collective, a 50 GB/s network with 3 us. Inside the node 7/16 of the bytes (3.5 MB, 7.78
    /// us), across it 8/16 (4 MB, 80 us): the network bounds it, 80 + 5 + 3 = 88 us. The same
    /// exchange among the 8 ranks of one node: 7/8 of the bytes over the fabric, 15.56 + 5 us.
    #[test]
    fn all_to_all_across_nodes_and_within_one_by_hand() {
        let across = all_to_all(8e6, 16, 8, 450e9, 5e-6, Some((50e9, 3e-6)));
        assert!((across.intra_node_bytes - 3.5e6).abs() < 1e-3);
        assert!((across.inter_node_bytes - 4e6).abs() < 1e-3);
        assert!((across.seconds - 88e-6).abs() < 1e-12, "{}", across.seconds);
        let within = all_to_all(8e6, 8, 8, 450e9, 5e-6, Some((50e9, 3e-6)));
        assert_eq!(within.inter_node_bytes, 0.0);
        assert!((within.seconds - (7e6 / 450e9 + 5e-6)).abs() < 1e-12, "{}", within.seconds);
        // No network named: every peer counts as inside the node.
        let flat = all_to_all(8e6, 16, 8, 450e9, 5e-6, None);
        assert!((flat.seconds - (7.5e6 / 450e9 + 5e-6)).abs() < 1e-12);
        // One rank exchanges nothing.
        assert_eq!(all_to_all(8e6, 1, 8, 450e9, 5e-6, None).seconds, 0.0);
    }

    #[test]
    fn the_load_is_at_least_one() {
        let with = |hottest_rank_load| ExpertParallel { hottest_rank_load, ..ExpertParallel::default() };
        assert_eq!(ExpertParallel::default().load(), 1.0);
        assert_eq!(with(0.5).load(), 1.0);
        assert_eq!(with(f64::NAN).load(), 1.0);
        assert_eq!(with(1.3).load(), 1.3);
    }

    /// By hand: halves of 10 ms compute and 8 ms of all-to-all: 20 ms of compute hides the
    /// 16 ms exchange entirely; halves of 3 ms compute and 8 ms exchange: 6 ms compute, 16 - 6
    /// = 10 ms exposed.
    #[test]
    fn two_batch_overlap_exposes_only_the_exchange_beyond_the_compute() {
        assert_eq!(overlapped(10e-3, 8e-3), (20e-3, 0.0));
        let (compute, exposed) = overlapped(3e-3, 8e-3);
        assert!((compute - 6e-3).abs() < 1e-15 && (exposed - 10e-3).abs() < 1e-15);
    }
}
