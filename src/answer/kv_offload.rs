//! What KV tiers beyond device memory and prefix reuse do to a serving replay: the capacity of
//! each tier, the share of prefix hits each serves, the copy per hit, and the replay compared
//! with the same deployment without them (TTFT saved, preemptions, swaps, the largest
//! concurrency). Shared by `POST /v1/estimate/serving` and `hwcost estimate serving`.

use serde::Serialize;
use utoipa::ToSchema;

use super::finite;
use super::inference::ExplainBody;
use crate::engine::explain::Trace;
use crate::engine::inference::InferenceInput;
use crate::engine::serving::{self, ServingEstimate};
use crate::scenario::serving::ServingScenario;

/// Share of prefix hits each tier serves; they sum to 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierShares {
    /// Found in device memory (no copy).
    pub device: f64,
    /// Found in host memory (copied over the host link).
    pub host: f64,
    /// Found on disk (read, then copied).
    pub disk: f64,
    /// Not found anywhere: recomputed.
    pub miss: f64,
}

/// Prefix reuse across the KV tiers (`workload.prefix`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrefixCacheBody {
    /// Shared prefix tokens per request.
    pub tokens: u64,
    /// Distinct prefixes live at once.
    pub distinct: u64,
    /// Tokens of every distinct prefix together (`distinct` x `tokens`).
    pub working_set_tokens: f64,
    /// Share of requests whose prefix each tier serves: exclusive tiers, LRU over uniform
    /// reuse (a tier holding C of the W working-set tokens serves C / W, capped at what the
    /// faster tiers leave).
    pub hit_share: TierShares,
    /// Time to copy one host hit's prefix into device memory, ms (0 without a host tier); not
    /// overlapped with the request's own prefill, overlapped with other requests' steps.
    pub host_transfer_ms_per_hit: f64,
    /// Time to bring one disk hit's prefix into device memory, ms (0 without a disk tier).
    pub disk_transfer_ms_per_hit: f64,
    /// Mean TTFT of the replay without what `compared_with` names, less this replay's, ms
    /// (positive: this one is faster).
    pub ttft_saved_ms: f64,
    /// What the comparison leaves out: `kv_offload` (the same replay with device memory
    /// only) or `prefix_reuse` (no prefix found anywhere).
    pub compared_with: &'static str,
}

/// The same deployment replayed without the tiers beyond device memory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithoutTiers {
    /// Mean TTFT, ms.
    pub ttft_mean_ms: f64,
    /// 90th-percentile TTFT, ms.
    pub ttft_p90_ms: f64,
    /// Output tokens per second, all replicas.
    pub output_tokens_per_s: f64,
    /// Sequences preempted (all recomputed).
    pub preemptions: u64,
    /// Most sequences in one step.
    pub running_max: u64,
    /// Sequences device memory holds at the workload's mean context.
    pub largest_concurrency: u64,
}

/// KV tiers beyond device memory (`kv_offload`), per replica.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KvTiersBody {
    /// Host memory for KV per device, bytes (`kv_offload.host_gb` x 1e9).
    pub host_bytes: u64,
    /// Host link bandwidth as copies reach it, per device, one direction, GB/s.
    pub host_gb_per_s: f64,
    /// Disk for KV per device, bytes (null without a disk tier).
    pub disk_bytes: Option<u64>,
    /// Disk read rate per device, GB/s (null without a disk tier).
    pub disk_gb_per_s: Option<f64>,
    /// Tokens the host tier holds (also `kv_cache.host_capacity_tokens`).
    pub host_capacity_tokens: u64,
    /// Tokens the disk tier holds (also `kv_cache.disk_capacity_tokens`; 0 without one).
    pub disk_capacity_tokens: u64,
    /// Host tokens left for swapped sequences: the host capacity less the prefixes it holds.
    pub swap_capacity_tokens: u64,
    /// Whether preempted sequences swap to host memory rather than being recomputed.
    pub swap_preempted: bool,
    /// Preempted sequences swapped out and back instead of recomputed.
    pub swaps: u64,
    /// Copies into device memory (prefix hits from host or disk, swap-ins).
    pub loads: u64,
    /// Time the host link spent on them, ms.
    pub load_ms: f64,
    /// Sequences the deployment holds at the workload's mean context: in device memory, plus
    /// swapped to host memory to resume without recompute.
    pub largest_concurrency: u64,
    /// The same replay without the tiers.
    pub without: WithoutTiers,
}

/// The sections a replay with tiers or prefix reuse adds to a serving answer.
#[derive(Debug, Default)]
pub struct Report {
    /// `kv_cache.host_capacity_tokens`.
    pub host_capacity_tokens: Option<u64>,
    /// `kv_cache.disk_capacity_tokens`.
    pub disk_capacity_tokens: Option<u64>,
    /// `prefix_cache`.
    pub prefix_cache: Option<PrefixCacheBody>,
    /// `kv_offload`.
    pub kv_offload: Option<KvTiersBody>,
    /// The rules behind them.
    pub explain: Vec<ExplainBody>,
}

/// The report for `scenario` and its replay `e`; replays the comparison (nothing when the
/// scenario has neither tiers nor a described prefix, or when it does not fit).
pub fn report(scenario: &ServingScenario, e: &ServingEstimate) -> Report {
    let Some(tiers) = e.tiers.filter(|_| e.fits) else { return Report::default() };
    let input = scenario.inference.input();
    let offload = input.techniques.kv_offload;
    // The comparison: without the tiers beyond device memory, or (no tiers) without reuse.
    let mut workload = scenario.workload.clone();
    if offload.is_none() {
        workload.prefix = None;
        workload.prefix_cache_hit_rate = 0.0;
    }
    let plain = InferenceInput { techniques: input.techniques.with_kv_offload(None), explain: false, ..input };
    let base = serving::simulate(&plain, &workload);
    let mut trace = Trace::new(true);
    let mean_context = (scenario.workload.input_tokens.mean() + scenario.workload.output_tokens.mean()).max(1.0);
    let prefix_cache = tiers.prefix.zip(tiers.shares).map(|(p, s)| {
        let saved = trace.record(
            "serving.prefix_ttft_saved",
            "mean TTFT of the replay without the KV tiers beyond device memory (or, without tiers, without prefix reuse) - this replay's mean TTFT",
            &[("without_ttft_mean_s", base.ttft.mean), ("with_ttft_mean_s", e.ttft.mean)],
            base.ttft.mean - e.ttft.mean,
            "s",
        );
        PrefixCacheBody {
            tokens: p.tokens,
            distinct: p.distinct,
            working_set_tokens: finite(p.working_set_tokens()),
            hit_share: TierShares {
                device: finite(s.device),
                host: finite(s.host),
                disk: finite(s.disk),
                miss: finite(s.miss),
            },
            host_transfer_ms_per_hit: finite(tiers.host_transfer_s * 1e3),
            disk_transfer_ms_per_hit: finite(tiers.disk_transfer_s * 1e3),
            ttft_saved_ms: finite(saved * 1e3),
            compared_with: if offload.is_some() { "kv_offload" } else { "prefix_reuse" },
        }
    });
    let kv_offload = offload.map(|o| {
        let device = trace.record(
            "serving.largest_concurrency_device",
            "device KV capacity tokens / the workload's mean context (input + output): the sequences device memory holds at once",
            &[("device_tokens", tiers.capacity.device), ("mean_context_tokens", mean_context)],
            (tiers.capacity.device / mean_context).floor(),
            "sequences",
        );
        let held = trace.record(
            "serving.largest_concurrency_with_host",
            "(device KV capacity tokens + host tokens left for swapped sequences) / the workload's mean context: sequences running in device memory or swapped to host memory to resume without recompute",
            &[
                ("device_tokens", tiers.capacity.device),
                ("swap_capacity_tokens", if o.swap_preempted { tiers.swap_capacity_tokens } else { 0.0 }),
                ("mean_context_tokens", mean_context),
            ],
            ((tiers.capacity.device + if o.swap_preempted { tiers.swap_capacity_tokens } else { 0.0 }) / mean_context)
                .floor(),
            "sequences",
        );
        KvTiersBody {
            host_bytes: o.host.capacity.0.round().clamp(0.0, u64::MAX as f64) as u64,
            host_gb_per_s: finite(o.host.bandwidth.0 / 1e9),
            disk_bytes: o.disk.map(|d| d.capacity.0.round().clamp(0.0, u64::MAX as f64) as u64),
            disk_gb_per_s: o.disk.map(|d| finite(d.bandwidth.0 / 1e9)),
            host_capacity_tokens: tiers.capacity.host as u64,
            disk_capacity_tokens: tiers.capacity.disk as u64,
            swap_capacity_tokens: tiers.swap_capacity_tokens as u64,
            swap_preempted: o.swap_preempted,
            swaps: e.swaps,
            loads: tiers.loads,
            load_ms: finite(tiers.load_s * 1e3),
            largest_concurrency: held as u64,
            without: WithoutTiers {
                ttft_mean_ms: finite(base.ttft.mean * 1e3),
                ttft_p90_ms: finite(base.ttft.p90 * 1e3),
                output_tokens_per_s: finite(base.output_tokens_per_s),
                preemptions: base.preemptions,
                running_max: base.running_max,
                largest_concurrency: device as u64,
            },
        }
    });
    Report {
        host_capacity_tokens: offload.map(|_| tiers.capacity.host as u64),
        disk_capacity_tokens: offload.and_then(|o| o.disk).map(|_| tiers.capacity.disk as u64),
        prefix_cache,
        kv_offload,
        explain: trace.finish().1.into_iter().map(ExplainBody::from).collect(),
    }
}
