//! A disaggregated deployment's share of a serving answer (`disaggregation` of
//! `POST /v1/estimate/serving` and of the CLI's serving JSON): each pool's devices, layout,
//! the rate it carries, its utilisation and its share of the latency, the KV transfer between
//! them, and throughput per device the way published disaggregated results report it (output
//! tokens per second over every device of both pools). A check of a disaggregated plan reports
//! the same section for the replay it judged (`under_load.disaggregation` of `POST /v1/check`).

use serde::Serialize;
use utoipa::ToSchema;

use super::Context;
use super::finite;
use super::serving::{LatencyPercentiles, ServingResponse};
use crate::engine::serving::disaggregated::{self, DisaggregatedEstimate, PoolReplay};
use crate::scenario::disaggregation::DisaggregatedScenario;
use crate::scenario::inference::{InferenceScenario, ParallelismBody};
use crate::scenario::serving::ServingScenario;

/// One pool of a disaggregated replay.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolAnswer {
    /// Device id.
    pub hardware: String,
    /// Devices of the pool, all replicas.
    pub devices: u64,
    /// Parallel degrees of one replica (data = the pool's replicas).
    pub parallelism: ParallelismBody,
    /// Replicas of the pool.
    pub replicas: u64,
    /// Requests per second the pool finished, all replicas (prefill: prompts).
    pub requests_per_s: f64,
    /// Share of the replay during which a replica of the pool ran a step.
    pub utilization: f64,
    /// Mean time a request spends in this pool, ms: prefill, its queue and its prompt's steps;
    /// decode, the wait for a slot and the decode steps.
    pub latency_ms: f64,
    /// `input` (prefill: prompt tokens) or `output` (decode): what `tokens_per_s` counts.
    #[schema(example = "output")]
    pub tokens: &'static str,
    /// Tokens per second the pool processes, all replicas (prefill: prompt tokens; decode:
    /// output tokens).
    pub tokens_per_s: f64,
    /// The same per device of the pool.
    pub tokens_per_s_per_device: f64,
    /// KV-cache capacity of one replica, tokens.
    pub kv_cache_capacity_tokens: u64,
    /// Sequences preempted on the pool.
    pub preemptions: u64,
    /// The pool's load regime: `stable`, `saturated` or `overloaded`.
    pub regime: &'static str,
    /// USD per hour of the pool's devices (null when not priced).
    pub usd_per_hour: Option<f64>,
}

/// The KV cache's move from the prefill pool to the decode pool.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KvTransferBody {
    /// KV bytes per request (the whole model's KV bytes per token in the decode pool's KV
    /// format x prompt tokens), mean.
    pub bytes_per_request: f64,
    /// Transfer time per request: bytes / (lane bandwidth x lanes) + latency, ms.
    pub ms: LatencyPercentiles,
    /// The network crossed (a `GET /v1/networks` id), or null when both pools sit in one
    /// NVLink domain and the devices' fabric carries it.
    pub network: Option<String>,
    /// Whether the devices' own fabric carries it.
    pub on_fabric: bool,
    /// Bandwidth of one lane (one device's NIC or fabric port), one direction, GB/s.
    pub lane_gbytes_per_s: f64,
    /// Lanes at once: the fewer devices of one prefill replica and one decode replica.
    pub lanes: u32,
    /// Latency of one transfer, microseconds.
    pub latency_us: f64,
    /// Whether the transfer overlaps the prefill layer by layer: false, it starts when the
    /// prefill ends (an upper bound on its share of TTFT).
    pub layerwise_pipelining: bool,
}

/// A disaggregated replay's pools and the transfer between them; the answer's end-to-end
/// fields (`ttft_ms` includes prefill, transfer and the wait for a decode slot) describe the
/// pair.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisaggregationAnswer {
    /// The prefill pool; null with an unlimited prefill side (the request gave no
    /// `disaggregation.prefill`: a decode-only pool fed prefilled requests).
    pub prefill: Option<PoolAnswer>,
    /// The decode pool.
    pub decode: PoolAnswer,
    /// The KV transfer between them.
    pub kv_transfer: KvTransferBody,
    /// Devices of both pools.
    pub devices: u64,
    /// Prefill devices per decode device (the xPyD ratio; 0 with an unlimited prefill side).
    pub prefill_devices_per_decode_device: f64,
    /// Output tokens per second per device of both pools (as published disaggregated results
    /// report throughput).
    pub output_tokens_per_s_per_device: f64,
}

fn pool(s: &InferenceScenario, p: &PoolReplay, tokens: &'static str) -> PoolAnswer {
    PoolAnswer {
        hardware: s.device.id.clone(),
        devices: p.devices,
        parallelism: ParallelismBody {
            tensor: Some(s.parallelism.tensor),
            pipeline: Some(s.parallelism.pipeline),
            expert: Some(s.parallelism.expert),
            data: Some(s.parallelism.data),
        },
        replicas: p.replicas,
        requests_per_s: finite(p.requests_per_s),
        utilization: finite(p.utilization),
        latency_ms: finite(p.mean_latency_s * 1e3),
        tokens,
        tokens_per_s: finite(p.tokens_per_s),
        tokens_per_s_per_device: finite(p.tokens_per_s_per_device),
        kv_cache_capacity_tokens: p.kv_capacity_tokens,
        preemptions: p.preemptions,
        regime: p.regime.as_str(),
        usd_per_hour: p.usd_per_hour.map(finite),
    }
}

/// Devices of both pools (an unlimited prefill side counts none).
fn pool_devices(e: &DisaggregatedEstimate) -> u64 {
    e.prefill.as_ref().map_or(0, |p| p.devices) + e.decode.devices
}

impl DisaggregationAnswer {
    /// The pools' section of a disaggregated replay of `scenario`.
    pub fn new(scenario: &ServingScenario, e: &DisaggregatedEstimate) -> Option<Self> {
        scenario.disaggregation.as_ref().map(|d| Self::of(d, e))
    }

    /// The pools' section of a replay `e` of the pools `d` (a serving answer's, the one a check
    /// judged under load, or a plan row's).
    pub fn of(d: &DisaggregatedScenario, e: &DisaggregatedEstimate) -> Self {
        Self {
            prefill: d.prefill.as_ref().zip(e.prefill.as_ref()).map(|(s, p)| pool(s, p, "input")),
            decode: pool(&d.decode, &e.decode, "output"),
            kv_transfer: KvTransferBody {
                bytes_per_request: finite(e.kv_transfer_bytes_per_request),
                ms: e.kv_transfer_s.into(),
                network: (!e.link.on_fabric).then(|| d.network.as_ref().map(|n| n.id.clone())).flatten(),
                on_fabric: e.link.on_fabric,
                lane_gbytes_per_s: finite(e.link.bandwidth_bytes_per_s / 1e9),
                lanes: e.link.lanes,
                latency_us: finite(e.link.latency_s * 1e6),
                layerwise_pipelining: false,
            },
            devices: pool_devices(e),
            prefill_devices_per_decode_device: finite(e.prefill_devices_per_decode_device),
            output_tokens_per_s_per_device: finite(e.output_tokens_per_s_per_device),
        }
    }
}

/// The serving answer of a disaggregated scenario: the end-to-end replay in the answer's
/// usual fields (the decode pool's device, layout and KV cache where one is named; `devices`
/// and per-device throughput over both pools) and the `disaggregation` section.
pub fn respond(ctx: &Context, scenario: &ServingScenario) -> Option<ServingResponse> {
    let d = scenario.disaggregation.as_ref()?;
    let e = disaggregated::simulate_with_slo(&d.pools(), &scenario.workload, scenario.slo.as_ref(), scenario.detail);
    let as_decode = ServingScenario { inference: d.decode.clone(), ..scenario.clone() };
    let mut answer = ServingResponse::from_estimate(ctx, &as_decode, e.serving.clone());
    answer.devices = pool_devices(&e);
    if let Some(t) = answer.throughput.as_mut() {
        t.output_tokens_per_s_per_device = finite(e.output_tokens_per_s_per_device);
    }
    answer.disaggregation = DisaggregationAnswer::new(scenario, &e);
    Some(answer)
}
