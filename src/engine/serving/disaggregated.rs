//! Disaggregated prefill and decode (DistServe, Splitwise, Mooncake, NVIDIA Dynamo, llm-d,
//! SGLang PD): a prefill pool runs prompts only, each request's KV cache then moves over the
//! link between the pools, and a decode pool generates the rest.
//!
//! The replay is two replays of [`mod@super::simulate`]'s one scheduler, chained per request:
//!
//! 1. The prefill pool replays the workload's requests with one output token each (each request
//!    ends when its prefill makes its first token), batched by the engine's token budget.
//! 2. Each request's KV cache (the whole model's KV bytes per token, in the decode pool's KV
//!    format, x its prompt tokens) crosses the link: `bytes / (bandwidth x lanes) + latency`,
//!    sent once the prefill ends (layer-wise pipelining, which hides part of it behind the
//!    prefill, is not modelled: the transfer time is an upper bound).
//! 3. The decode pool replays the same requests arriving at their prefill's end plus the
//!    transfer, prefilled: the prompt is in the KV cache and the first token made, so each
//!    joins the decoding sequences as soon as a slot and its KV blocks are free. Its first
//!    token reaches the client then: TTFT = prefill queue + prefill + transfer + the wait for
//!    a decode slot.
//!
//! Replicas: each pool replays one replica with its share of the load (as the plain replay
//! does); a decode replica's requests take the prefill latencies the prefill replica measured
//! for the same requests of the workload's draw (same seed, same lengths), each at its own
//! pool's share of the rate.
//!
//! The capacity of the pair is [`super::capacity::search`] with this replay as the judge and
//! the lower of the two pools' saturated request throughputs as the ceiling: whichever pool
//! saturates first bounds it.

use super::capacity::{self, Capacity, STABLE_SHARE};
use super::simulate::{Detail, Feed, MAX_STEPS, MAX_STEPS_IN_SEARCH, Percentiles, Regime, ServingEstimate, Slo};
use super::workload::{Arrival, Arriving, Lengths, Workload};
use crate::engine::explain::{Trace, Warning};
use crate::engine::inference::InferenceInput;
use crate::engine::kv_cache;
use crate::engine::network::Network;

/// The link the KV cache crosses between the pools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KvLink {
    /// Bandwidth of one lane (one device's NIC, or its fabric port), one direction, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// Lanes used at once: each rank of a prefill replica sends its shard of the KV cache over
    /// its own NIC, so the fewer ranks of the two replicas bound the lanes.
    pub lanes: u32,
    /// Latency of one transfer, seconds.
    pub latency_s: f64,
    /// Whether the transfer stays on the devices' own fabric (both pools inside one NVLink
    /// domain) rather than crossing the network.
    pub on_fabric: bool,
}

impl KvLink {
    /// Seconds to move `bytes`: bytes / (bandwidth x lanes) + latency.
    pub fn transfer_s(&self, bytes: f64) -> f64 {
        let bw = self.bandwidth_bytes_per_s * f64::from(self.lanes.max(1));
        if bw > 0.0 { bytes / bw + self.latency_s } else { self.latency_s }
    }
}

/// The link between a prefill and a decode pool: the devices' own fabric when both pools are
/// the same device and all their devices fit in one fabric domain (`interconnect.node`:
/// 8 on an HGX board, 72 in a GB200 NVL72 rack), with no latency worth a step (a fabric copy
/// starts in microseconds); else `network` (per device, its latency). Lanes: the fewer devices
/// of one prefill replica and one decode replica. With an unlimited prefill side (`prefill`
/// `None`) the prompts come from outside the decode pool's node: over `network`, lanes the
/// devices of one decode replica.
pub fn kv_link(prefill: Option<&InferenceInput<'_>>, decode: &InferenceInput<'_>, network: Option<&Network>) -> KvLink {
    let replica = |i: &InferenceInput<'_>| i.parallelism.devices() / u64::from(i.parallelism.data.max(1));
    let lanes =
        prefill.map_or(replica(decode), |p| replica(p).min(replica(decode))).clamp(1, u64::from(u32::MAX)) as u32;
    let fabric = prefill.and_then(|prefill| {
        let all = prefill.parallelism.devices() + decode.parallelism.devices();
        prefill.device.interconnect.filter(|ic| {
            !ic.pcie && prefill.device.id == decode.device.id && ic.node.is_some_and(|n| all <= u64::from(n))
        })
    });
    match (fabric, network) {
        (Some(ic), _) => {
            KvLink { bandwidth_bytes_per_s: ic.bidirectional_bytes_per_s / 2.0, lanes, latency_s: 0.0, on_fabric: true }
        }
        (None, Some(net)) => {
            KvLink { bandwidth_bytes_per_s: net.bandwidth.0, lanes, latency_s: net.latency.0, on_fabric: false }
        }
        (None, None) => {
            let link = crate::engine::parallelism::link(prefill.unwrap_or(decode).device, 1, None);
            KvLink { bandwidth_bytes_per_s: link.bandwidth.0, lanes, latency_s: 0.0, on_fabric: false }
        }
    }
}

/// KV-cache bytes of one token of context, the whole model (all layers, all heads), in the
/// decode pool's KV format: what moves per prompt token.
pub fn kv_bytes_per_token(decode: &InferenceInput<'_>) -> f64 {
    kv_cache::elements_per_token_per_layer_per_device(decode.arch, 1) * decode.kv_cache.bits.0 / 8.0
        * f64::from(decode.arch.layers)
}

/// A disaggregated deployment: the two pools (each with its own device, layout and replicas
/// in `parallelism.data`) and the link between them.
#[derive(Debug, Clone, Copy)]
pub struct Pools<'a> {
    /// The prefill pool; `None` for an unlimited prefill side (a decode-only pool, as published
    /// decode measurements run it): every request reaches the decode pool prefilled at its
    /// arrival plus its KV transfer, with no prefill queue or prefill time.
    pub prefill: Option<InferenceInput<'a>>,
    /// The decode pool.
    pub decode: InferenceInput<'a>,
    /// The link the KV cache crosses.
    pub link: KvLink,
}

impl Pools<'_> {
    /// Devices of both pools (an unlimited prefill side counts none).
    pub fn devices(&self) -> u64 {
        self.prefill.map_or(0, |p| p.parallelism.devices()) + self.decode.parallelism.devices()
    }
}

/// One pool's share of a disaggregated replay.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolReplay {
    /// Replicas of the pool.
    pub replicas: u64,
    /// Devices of the pool (all replicas).
    pub devices: u64,
    /// Requests per second the pool finished, all replicas (prefill: prompts; decode:
    /// requests).
    pub requests_per_s: f64,
    /// Share of the replay during which a replica ran a step (busy time / makespan).
    pub utilization: f64,
    /// Mean seconds a request spends in this pool: prefill, its queue and its prompt's steps;
    /// decode, the wait for a slot and the decode steps.
    pub mean_latency_s: f64,
    /// Prompt tokens per second (prefill) or output tokens per second (decode), all replicas.
    pub tokens_per_s: f64,
    /// The same per device of the pool.
    pub tokens_per_s_per_device: f64,
    /// KV-cache capacity of one replica, tokens.
    pub kv_capacity_tokens: u64,
    /// Most sequences in one step.
    pub running_max: u64,
    /// Sequences preempted.
    pub preemptions: u64,
    /// The pool's load regime.
    pub regime: Regime,
    /// USD per hour of the pool's devices, if priced.
    pub usd_per_hour: Option<f64>,
}

/// A disaggregated replay: the end-to-end figures (as a plain replay reports them) and each
/// pool's share.
#[derive(Debug, Clone, PartialEq)]
pub struct DisaggregatedEstimate {
    /// End to end: arrival at the prefill pool to the last token from the decode pool.
    pub serving: ServingEstimate,
    /// The prefill pool; `None` with an unlimited prefill side.
    pub prefill: Option<PoolReplay>,
    /// The decode pool.
    pub decode: PoolReplay,
    /// The link.
    pub link: KvLink,
    /// KV bytes moved per request, mean.
    pub kv_transfer_bytes_per_request: f64,
    /// KV transfer time per request.
    pub kv_transfer_s: Percentiles,
    /// Output tokens per second per device of both pools (how published disaggregated results
    /// report throughput).
    pub output_tokens_per_s_per_device: f64,
    /// Prefill devices per decode device (0 with an unlimited prefill side).
    pub prefill_devices_per_decode_device: f64,
}

fn per_replica(w: &Workload, replicas: u64, requests: u64) -> Workload {
    let r = replicas.max(1) as f64;
    let arrival = match w.arrival {
        Arrival::Poisson { requests_per_s } => Arrival::Poisson { requests_per_s: requests_per_s / r },
        // A closed loop cannot span two replays: its clients are replayed as if all queued.
        Arrival::Concurrency { .. } => Arrival::Offline,
        ref other => other.clone(),
    };
    Workload { arrival, requests, ..w.clone() }
}

/// Replicas of a pool (its `parallelism.data`).
fn replicas(input: &InferenceInput<'_>) -> u64 {
    u64::from(input.parallelism.data.max(1))
}

/// Requests one replica of `replicas` replays: a trace's own requests, else its share of the
/// workload's.
fn requests_per_replica(workload: &Workload, replicas: u64) -> u64 {
    if matches!(workload.arrival, Arrival::Trace(_)) {
        workload.requests().len() as u64
    } else {
        workload.requests.div_ceil(replicas).max(1)
    }
}

/// A replay's request throughput when every request fitted and finished, else 0.
fn finished_rate(e: &ServingEstimate) -> f64 {
    if e.fits && e.completed == e.requests { e.requests_per_s } else { 0.0 }
}

/// The prefill pool's replay: `requests` of `workload` on one replica of `replicas`, each
/// ending with its first token (one output token each). Returns the replay, each request's
/// first-token time and the arrivals replayed.
fn prefill_replay(
    input: &InferenceInput<'_>,
    workload: &Workload,
    requests: u64,
    max_steps: u64,
) -> (ServingEstimate, Vec<f64>, Vec<Arriving>) {
    let w = per_replica(workload, replicas(input), requests);
    let arrivals: Vec<Arriving> = w.requests().into_iter().map(|a| Arriving { output_tokens: 1, ..a }).collect();
    let prompts_only = Workload { output_tokens: Lengths::Fixed(1), ..w };
    let (e, first_tokens) = super::simulate::replay_fed(
        &InferenceInput { explain: false, ..*input },
        &prompts_only,
        max_steps,
        Detail::default(),
        Some(Feed { arrivals: &arrivals, ready: None }),
    );
    (e, first_tokens, arrivals)
}

/// The decode pool's replay of one replica's `workload` (its arrival times and lengths), each
/// request in `arrivals` joining prefilled at its `ready` time.
fn decode_replay(
    input: &InferenceInput<'_>,
    workload: &Workload,
    arrivals: &[Arriving],
    ready: &[f64],
    max_steps: u64,
    detail: Detail,
) -> ServingEstimate {
    super::simulate::replay_fed(input, workload, max_steps, detail, Some(Feed { arrivals, ready: Some(ready) })).0
}

fn pool_replay(e: &ServingEstimate, input: &InferenceInput<'_>, tokens_per_s: f64, mean_latency_s: f64) -> PoolReplay {
    let devices = input.parallelism.devices();
    PoolReplay {
        replicas: e.replicas,
        devices,
        requests_per_s: e.requests_per_s,
        utilization: if e.makespan > 0.0 { (e.time_by_component.total() / e.makespan).clamp(0.0, 1.0) } else { 0.0 },
        mean_latency_s,
        tokens_per_s,
        tokens_per_s_per_device: tokens_per_s / devices.max(1) as f64,
        kv_capacity_tokens: e.kv_capacity_tokens,
        running_max: e.running_max,
        preemptions: e.preemptions,
        regime: e.regime,
        usd_per_hour: e.usd_per_hour,
    }
}

/// Replays `workload` on the disaggregated `pools`.
pub fn simulate(pools: &Pools<'_>, workload: &Workload) -> DisaggregatedEstimate {
    replay(pools, workload, MAX_STEPS, Detail::default())
}

/// The prefill side's share of the decode pool's feed: per decode request (in the decode
/// replica's arrival order) its prefill latency, `None` where its prefill never ended.
/// Unlimited prefill: 0 for every request.
fn prefill_latencies(prefill: Option<&(ServingEstimate, Vec<f64>, Vec<Arriving>)>, n: usize) -> Vec<Option<f64>> {
    match prefill {
        None => vec![Some(0.0); n],
        Some((_, first_tokens, arrivals)) => (0..n)
            .map(|j| {
                let done = first_tokens.get(j).copied().filter(|t| t.is_finite())?;
                Some((done - arrivals[j].arrival_s).max(0.0))
            })
            .collect(),
    }
}

/// The end-to-end figures of the pair, from the decode replay's (whose clock runs from each
/// request's arrival) and the prefill replay's: fit, queue, cost and energy of both pools, and
/// the regime judged on the rate offered.
fn end_to_end(
    serving: &mut ServingEstimate,
    prefill: Option<&ServingEstimate>,
    workload: &Workload,
    requests: u64,
    mean_input: f64,
) {
    serving.requests = requests;
    serving.offered_requests_per_s = match workload.arrival {
        Arrival::Poisson { requests_per_s } => Some(requests_per_s),
        _ => None,
    };
    serving.total_tokens_per_s = serving.output_tokens_per_s + serving.requests_per_s * mean_input;
    if let Some(prefill) = prefill {
        serving.fits = serving.fits && prefill.fits;
        serving.queue = prefill.queue;
        serving.usd_per_hour = match (prefill.usd_per_hour, serving.usd_per_hour) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        serving.joules_per_output_token = match (prefill.joules_per_output_token, serving.joules_per_output_token) {
            (Some(p), Some(d)) if serving.output_tokens_per_s > 0.0 => {
                Some((p * prefill.output_tokens_per_s + d * serving.output_tokens_per_s) / serving.output_tokens_per_s)
            }
            _ => None,
        };
    }
    serving.usd_per_million_output_tokens = serving
        .usd_per_hour
        .filter(|_| serving.output_tokens_per_s > 0.0)
        .map(|usd| usd / (serving.output_tokens_per_s * 3600.0) * 1e6);
    // The regime of the pair, judged on the rate offered (the decode replay's own arrivals are
    // reordered by readiness, so its own reading is not used).
    let prefill_rate = prefill.map_or(f64::INFINITY, |p| p.requests_per_s);
    let overloaded =
        serving.offered_requests_per_s.is_some_and(|o| prefill_rate < 0.9 * o || serving.requests_per_s < 0.9 * o);
    serving.warnings.retain(|w| w.code != "overloaded");
    let prefill_waits = prefill.is_some_and(|p| p.waiting_share > 0.5);
    serving.regime = if overloaded {
        let message = match prefill {
            Some(p) => format!(
                "requests arrive at {:.3}/s but the prefill pool finishes them at {:.3}/s and the decode pool at {:.3}/s: the queue grows with the run",
                serving.offered_requests_per_s.unwrap_or(0.0),
                p.requests_per_s,
                serving.requests_per_s
            ),
            None => format!(
                "requests arrive at {:.3}/s but the decode pool finishes them at {:.3}/s: the queue grows with the run",
                serving.offered_requests_per_s.unwrap_or(0.0),
                serving.requests_per_s
            ),
        };
        serving.warnings.push(Warning { code: "overloaded", message });
        Regime::Overloaded
    } else if serving.offered_requests_per_s.is_none() || serving.waiting_share > 0.5 || prefill_waits {
        Regime::Saturated
    } else {
        Regime::Stable
    };
    let Some(prefill) = prefill else { return };
    for w in prefill.warnings.iter().filter(|w| w.code != "overloaded") {
        serving.warnings.push(Warning { code: w.code, message: format!("prefill pool: {}", w.message) });
    }
    if !prefill.fits {
        serving.warnings.push(Warning {
            code: "does-not-fit",
            message: "prefill pool: a prompt needs more KV cache than one prefill replica holds".into(),
        });
    }
}

/// [`simulate`] with at most `max_steps` steps per pool and the `detail` asked of the decode
/// pool's replay (whose clock is the end-to-end one).
pub fn replay(pools: &Pools<'_>, workload: &Workload, max_steps: u64, detail: Detail) -> DisaggregatedEstimate {
    let d_in = &pools.decode;
    let mut trace = Trace::new(d_in.explain);
    let n_d = requests_per_replica(workload, replicas(d_in));
    // The same draw (seed, lengths) at each pool's share of the rate.
    let decode_w = per_replica(workload, replicas(d_in), n_d);
    let decode_arrivals = decode_w.requests();
    let prefill = pools.prefill.as_ref().map(|p_in| {
        let n_p = if matches!(workload.arrival, Arrival::Trace(_)) {
            n_d
        } else {
            requests_per_replica(workload, replicas(p_in)).max(n_d)
        };
        prefill_replay(p_in, workload, n_p, max_steps)
    });

    // Each decode request: its prefill latency (the same request of the prefill replay), then
    // the transfer of its prompt's KV cache.
    let per_token = kv_bytes_per_token(d_in);
    let latencies = prefill_latencies(prefill.as_ref(), decode_arrivals.len());
    let mut fed: Vec<(f64, Arriving)> = Vec::with_capacity(decode_arrivals.len());
    let (mut prefill_s, mut transfer_s, mut bytes) = (Vec::new(), Vec::new(), 0.0);
    for (a, latency) in decode_arrivals.iter().zip(latencies) {
        let Some(latency) = latency else { continue };
        let b = per_token * a.input_tokens as f64;
        let t = pools.link.transfer_s(b);
        bytes += b;
        prefill_s.push(latency);
        transfer_s.push(t);
        fed.push((a.arrival_s + latency + t, *a));
    }
    fed.sort_by(|x, y| x.0.total_cmp(&y.0));
    let ready: Vec<f64> = fed.iter().map(|f| f.0).collect();
    let arrivals: Vec<Arriving> = fed.iter().map(|f| f.1).collect();
    let mut serving = decode_replay(d_in, &decode_w, &arrivals, &ready, max_steps, detail);

    let moved = prefill_s.len().max(1) as f64;
    let mean_prefill = prefill_s.iter().sum::<f64>() / moved;
    let transfer = Percentiles::of(&mut transfer_s);
    let kv_per_request = bytes / moved;
    let mean_input = decode_arrivals.iter().map(|a| a.input_tokens as f64).sum::<f64>() / n_d.max(1) as f64;
    end_to_end(&mut serving, prefill.as_ref().map(|p| &p.0), workload, n_d, mean_input);

    let mean_e2e = serving.e2e.mean;
    let decode_latency = (mean_e2e - mean_prefill - transfer.mean).max(0.0);
    let prefill_pool = prefill
        .as_ref()
        .zip(pools.prefill.as_ref())
        .map(|((p, _, _), p_in)| pool_replay(p, p_in, p.requests_per_s * mean_input, mean_prefill));
    let decode_pool = pool_replay(&serving, d_in, serving.output_tokens_per_s, decode_latency);
    let all_devices = pools.devices() as f64;
    let per_device = serving.output_tokens_per_s / all_devices.max(1.0);
    let prefill_devices = prefill_pool.as_ref().map_or(0, |p| p.devices);
    let ratio = prefill_devices as f64 / decode_pool.devices.max(1) as f64;

    trace.record(
        "serving.disaggregated.kv_transfer_bytes_per_request",
        "KV bytes per token of the whole model (KV elements per token per layer x layers x the decode pool's KV bits / 8) x prompt tokens; the mean over requests",
        &[("kv_bytes_per_token", per_token), ("mean_input_tokens", mean_input)],
        kv_per_request,
        "bytes",
    );
    trace.record(
        "serving.disaggregated.kv_transfer_s",
        "per request: its KV bytes / (lane bandwidth x lanes) + latency, sent after its prefill ends (layer-wise pipelining not modelled); lanes are the fewer devices of one prefill and one decode replica (an unlimited prefill side: one decode replica's); on_fabric is 1 when both pools sit in one NVLink domain (latency 0), 0 over the network",
        &[
            ("lane_bandwidth_bytes_per_s", pools.link.bandwidth_bytes_per_s),
            ("lanes", f64::from(pools.link.lanes)),
            ("latency_s", pools.link.latency_s),
            ("on_fabric", if pools.link.on_fabric { 1.0 } else { 0.0 }),
            ("transfer_p90_s", transfer.p90),
        ],
        transfer.mean,
        "s",
    );
    match &prefill_pool {
        Some(p) => trace.record(
            "serving.disaggregated.prefill_latency_s",
            "prefill pool: per request, its first token's time - its arrival in a replay of the prompts alone (one output token each) at the pool's share of the rate; the mean",
            &[
                ("prefill_replicas", p.replicas as f64),
                ("prefill_requests_per_s", p.requests_per_s),
                ("prefill_utilization", p.utilization),
            ],
            mean_prefill,
            "s",
        ),
        None => trace.record(
            "serving.disaggregated.prefill_latency_s",
            "unlimited prefill side (no prefill pool given): every request reaches the decode pool prefilled at its arrival plus its KV transfer, with no prefill queue or prefill time",
            &[],
            0.0,
            "s",
        ),
    };
    trace.record(
        "serving.disaggregated.decode_latency_s",
        "decode pool: mean end-to-end latency - mean prefill latency - mean KV transfer (the wait for a decode slot and the decode steps); TTFT = prefill + transfer + the wait for a decode slot",
        &[
            ("e2e_mean_s", mean_e2e),
            ("prefill_mean_s", mean_prefill),
            ("transfer_mean_s", transfer.mean),
            ("decode_utilization", decode_pool.utilization),
        ],
        decode_latency,
        "s",
    );
    trace.record(
        "serving.disaggregated.output_tokens_per_s_per_device",
        "output tokens per second (all decode replicas) / devices of both pools (an unlimited prefill side counts none)",
        &[
            ("output_tokens_per_s", serving.output_tokens_per_s),
            ("prefill_devices", prefill_devices as f64),
            ("decode_devices", decode_pool.devices as f64),
        ],
        per_device,
        "tokens/s/device",
    );
    let (_, explain) = trace.finish();
    serving.explain.extend(explain);
    DisaggregatedEstimate {
        serving,
        prefill: prefill_pool,
        decode: decode_pool,
        link: pools.link,
        kv_transfer_bytes_per_request: kv_per_request,
        kv_transfer_s: transfer,
        output_tokens_per_s_per_device: per_device,
        prefill_devices_per_decode_device: ratio,
    }
}

/// The saturated request throughput of the pair, all replicas: the lower of the prefill pool's
/// (every prompt queued at time 0) and the decode pool's (every request arriving prefilled at
/// time 0; the decode pool's alone with an unlimited prefill side). 0 when either cannot finish
/// its probe.
pub fn saturated(pools: &Pools<'_>, workload: &Workload) -> f64 {
    let quiet = quiet(pools);
    let probe = capacity::probe(workload, replicas(&quiet.decode), Some(1.0));
    let offline = Workload { arrival: Arrival::Offline, ..probe };
    // Prefill: one replica's prompts, all queued.
    let prefill_rate = quiet.prefill.as_ref().map_or(f64::INFINITY, |p| {
        finished_rate(&prefill_replay(p, &offline, requests_per_replica(&offline, replicas(p)), MAX_STEPS_IN_SEARCH).0)
    });
    // Decode: one replica's requests, all prefilled at time 0.
    let rd = replicas(&quiet.decode);
    let dw = per_replica(&offline, rd, requests_per_replica(&offline, rd));
    let da = dw.requests();
    let ready = vec![0.0; da.len()];
    let d = decode_replay(&quiet.decode, &dw, &da, &ready, MAX_STEPS_IN_SEARCH, Detail::default());
    prefill_rate.min(finished_rate(&d))
}

fn quiet<'a>(pools: &Pools<'a>) -> Pools<'a> {
    Pools {
        prefill: pools.prefill.map(|p| InferenceInput { explain: false, ..p }),
        decode: InferenceInput { explain: false, ..pools.decode },
        link: pools.link,
    }
}

/// The replay of the pair under [`capacity::probe`] at `requests_per_s` (all replicas).
pub fn replay_at(pools: &Pools<'_>, workload: &Workload, requests_per_s: Option<f64>) -> DisaggregatedEstimate {
    let probe = capacity::probe(workload, replicas(&pools.decode), requests_per_s);
    replay(&quiet(pools), &probe, MAX_STEPS_IN_SEARCH, Detail::default())
}

/// Whether the pair holds at `requests_per_s` ([`capacity::holds`] on the end-to-end replay,
/// below the stable share of `saturated`).
pub fn judge(
    pools: &Pools<'_>,
    workload: &Workload,
    slo: Option<&Slo>,
    requests_per_s: f64,
    saturated: f64,
) -> (bool, DisaggregatedEstimate) {
    let replay = replay_at(pools, workload, Some(requests_per_s));
    let ok =
        requests_per_s > 0.0 && requests_per_s <= saturated * STABLE_SHARE && capacity::holds(&replay.serving, slo);
    (ok, replay)
}

/// The highest Poisson rate the pair holds within `slo`: [`capacity::search`] with the pair's
/// replay, under the lower of the two pools' saturated throughputs.
pub fn capacity(pools: &Pools<'_>, workload: &Workload, slo: Option<&Slo>) -> Capacity {
    let saturated = saturated(pools, workload);
    capacity::search(saturated, slo.is_some(), |rate, with_slo| {
        judge(pools, workload, if with_slo { slo } else { None }, rate, saturated).0
    })
}

/// [`replay`] of the request's own workload (with `detail`), plus the capacity within `slo`
/// when one is given, recorded like a plain replay's.
pub fn simulate_with_slo(
    pools: &Pools<'_>,
    workload: &Workload,
    slo: Option<&Slo>,
    detail: Detail,
) -> DisaggregatedEstimate {
    let mut estimate = replay(pools, workload, MAX_STEPS, detail);
    let Some(slo) = slo else { return estimate };
    let found = capacity(pools, workload, Some(slo));
    if let Arrival::Poisson { requests_per_s } = workload.arrival
        && requests_per_s > found.offline_requests_per_s * STABLE_SHARE
        && estimate.serving.fits
    {
        estimate.serving.regime = Regime::Overloaded;
    }
    let mut trace = Trace::new(pools.decode.explain);
    trace.record(
        "serving.max_requests_per_s_within_slo",
        "the highest Poisson arrival rate at which the disaggregated replay (prefill pool, KV transfer, decode pool) of probe_requests requests is stable and meets every SLO target, never above stable_share x the lower of the two pools' saturated request throughputs (whichever pool saturates first bounds it); geometric bisection, certified at 0.9 x and 1.2 x",
        &[
            ("offline_requests_per_s", found.offline_requests_per_s),
            ("stable_share", STABLE_SHARE),
            ("bound_by_slo", if found.bound == capacity::Bound::Slo { 1.0 } else { 0.0 }),
        ],
        found.requests_per_s,
        "requests/s",
    );
    estimate.serving.explain.extend(trace.finish().1);
    estimate.serving.max_requests_per_s_within_slo = Some(found.requests_per_s);
    estimate.serving.capacity = Some(found);
    if found.requests_per_s == 0.0 {
        estimate.serving.warnings.push(Warning {
            code: "slo-unreachable",
            message: "no request rate meets the SLO on this disaggregated deployment, not even an almost idle one"
                .into(),
        });
    }
    estimate
}
