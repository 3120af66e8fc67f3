//! The serving estimate as the API answers it (`POST /v1/estimate/serving`) and the CLI prints
//! it (`hwcost estimate serving --json`): throughput, latency percentiles, concurrency, KV-cache
//! use, preemptions and the load regime from a continuous-batching replay, with the capacity
//! within an SLO when one is given. Field names are the contract in `DESIGN.md` section 3.

use serde::Serialize;
use utoipa::ToSchema;

use super::error_band::ErrorBand;
use super::inference::{ExplainBody, KvBytesPerToken, MemoryBody, WarningBody};
use super::kv_offload::{self, KvTiersBody, PrefixCacheBody};
use super::verdict::{self, NotRun};
use super::{Context, finite};
use crate::engine::cost::JOULES_PER_KWH;
use crate::engine::inference::{self, Batch, InferenceInput};
use crate::engine::serving::{self, Percentiles, ServingEstimate, capacity};
use crate::scenario::Assumption;
use crate::scenario::cost::CostBasis;
use crate::scenario::inference::ParallelismBody;
use crate::scenario::serving::ServingScenario;
use crate::validation::Side;

/// Mean and percentiles of a latency, ms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LatencyPercentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl From<Percentiles> for LatencyPercentiles {
    fn from(p: Percentiles) -> Self {
        let ms = |s: f64| finite(s * 1e3);
        Self { mean: ms(p.mean), p50: ms(p.p50), p90: ms(p.p90), p99: ms(p.p99) }
    }
}

/// Throughput, all replicas together.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingThroughput {
    /// Output tokens per second.
    pub output_tokens_per_s: f64,
    /// Output tokens per second per device.
    pub output_tokens_per_s_per_device: f64,
    /// Finished requests per second.
    pub requests_per_s: f64,
    /// Prompt and output tokens per second.
    pub total_tokens_per_s: f64,
    /// Requests per second offered by open-loop arrivals (null offline and in a closed loop).
    pub offered_requests_per_s: Option<f64>,
}

/// Requests in the system (queued or running) on one replica.
#[derive(Debug, Serialize, ToSchema)]
pub struct Concurrency {
    /// Time-weighted mean.
    pub mean: f64,
    /// Most at once.
    pub max: u64,
    /// Sequences in a step, time-weighted mean.
    pub running_mean: f64,
    /// Most sequences in one step.
    pub running_max: u64,
}

/// KV cache of one replica.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingKvCache {
    /// Tokens the engine can hold (what it logs at start-up).
    pub capacity_tokens: u64,
    /// Most tokens held at once.
    pub peak_used_tokens: u64,
    /// Tokens per block.
    pub block_tokens: u64,
    /// KV-cache bytes per token for the whole model: every layer, one copy (see
    /// `memory.kv_cache.bytes_per_token` of an inference estimate).
    pub bytes_per_token: f64,
    /// KV-cache bytes per token on one device (kv heads split over tensor ranks, an MLA latent
    /// on every rank, layers over pipeline stages).
    pub bytes_per_token_per_device: f64,
    /// Tokens the host-memory tier holds (`kv_offload.host_gb`); present with `kv_offload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_capacity_tokens: Option<u64>,
    /// Tokens the disk tier holds (`kv_offload.disk_gb`); present with a disk tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_capacity_tokens: Option<u64>,
}

/// The requests of the workload.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingWorkloadBody {
    /// Requests simulated, all replicas together (each replica replays an equal share).
    pub requests: u64,
    /// Requests each replica replays.
    pub requests_per_replica: u64,
    /// Requests per second the open-loop arrivals offer, all replicas, as asked (the Poisson
    /// rate; a trace's requests over its span), whether or not the deployment fits; null
    /// offline and in a closed loop. `throughput.offered_requests_per_s` is the rate the
    /// replay realised.
    pub offered_requests_per_s: Option<f64>,
}

/// The scheduler as run.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulerBody {
    /// Most sequences per step (after tuning).
    pub max_num_seqs: u64,
    /// Most tokens per step (after tuning).
    pub max_num_tokens: u64,
    /// Prompts split over steps.
    pub chunked_prefill: bool,
    /// Decodes and prefills share steps.
    pub mixed_batches: bool,
    /// Whole-request KV reservation at admission.
    pub kv_reserve_full: bool,
    /// Share of memory for the KV cache.
    pub kv_fraction: f64,
}

/// Where the replay's time went, ms summed over all steps.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeByComponent {
    /// GEMMs.
    pub gemm_ms: f64,
    /// Attention.
    pub attention_ms: f64,
    /// Collectives.
    pub communication_ms: f64,
    /// Fixed overheads.
    pub overhead_ms: f64,
}

/// Cost at the simulated throughput (null without a price).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingCost {
    /// All devices, per hour.
    pub usd_per_hour: Option<f64>,
    /// Per million output tokens at the simulated throughput.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Energy per million output tokens as money, at the basis' electricity price and PUE.
    pub energy_usd_per_million_output_tokens: Option<f64>,
    /// How the devices are paid for: rent or own, and every input of the device-hour price.
    pub basis: CostBasis,
}

/// A replay of a deployment under load.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingResponse {
    /// `fits`, or `does_not_fit` when one request of the workload cannot be held on this
    /// deployment (then `not_run` says why, and the throughput, latency, cost and energy
    /// sections are null).
    #[schema(example = "fits")]
    pub verdict: &'static str,
    /// Why the running sections are left out; null when it fits.
    #[schema(required = true)]
    pub not_run: Option<NotRun>,
    /// Model id.
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Devices in all.
    pub devices: u64,
    /// Parallel degrees (data = replicas sharing the load).
    pub parallelism: ParallelismBody,
    /// Weight format.
    pub weights: String,
    /// KV-cache format (`kv_cache` is the cache's use, as `DESIGN.md` pins it).
    pub kv_cache_format: String,
    /// Engine profile and release.
    pub engine: String,
    /// Requests simulated on one replica (`workload.requests` is the total).
    pub requests: u64,
    /// The requests of the workload, in all and per replica.
    pub workload: ServingWorkloadBody,
    /// Of those, finished.
    pub completed: u64,
    /// What one request of the workload's longest (input + output) needs on one device, alone
    /// (batch 1): the static memory breakdown, present whether or not it fits.
    pub memory: MemoryBody,
    /// Throughput (null when it does not fit).
    #[schema(required = true)]
    pub throughput: Option<ServingThroughput>,
    /// Arrival to first token, ms (null when it does not fit).
    #[schema(required = true)]
    pub ttft_ms: Option<LatencyPercentiles>,
    /// Per request, time per output token after the first, ms (null when it does not fit).
    #[schema(required = true)]
    pub tpot_ms: Option<LatencyPercentiles>,
    /// Gap between consecutive tokens, over all tokens, ms (null when it does not fit).
    #[schema(required = true)]
    pub itl_ms: Option<LatencyPercentiles>,
    /// Arrival to last token, ms (null when it does not fit).
    #[schema(required = true)]
    pub e2e_ms: Option<LatencyPercentiles>,
    /// Arrival to first scheduled step, ms (null when it does not fit).
    #[schema(required = true)]
    pub queue_ms: Option<LatencyPercentiles>,
    /// Requests in the system.
    pub concurrency: Concurrency,
    /// KV cache: capacity and peak use.
    pub kv_cache: ServingKvCache,
    /// Sequences preempted and recomputed.
    pub preemptions: u64,
    /// `stable`, `saturated` or `overloaded`.
    pub regime: &'static str,
    /// The capacity: the highest Poisson request rate (all replicas) at which the deployment
    /// is stable and meets every SLO target, never above the saturated (offline) request
    /// throughput; present when an SLO was given. The check's request-rate rule and the
    /// planner read the same function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests_per_s_within_slo: Option<f64>,
    /// How the capacity was found; present when an SLO was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacityBody>,
    /// Whether this replay meets the SLO at the rate asked, target by target; present when an
    /// SLO was given and the deployment fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_verdict: Option<SloVerdict>,
    /// Whether one request fits the KV cache.
    pub fits: bool,
    /// The scheduler as run.
    pub scheduler: SchedulerBody,
    /// Steps replayed.
    pub steps: u64,
    /// First arrival to last completion, ms.
    pub makespan_ms: f64,
    /// Where the time went.
    pub time_by_component: TimeByComponent,
    /// Expert parallelism (MoE with `parallelism.expert` above 1): the layout over expert
    /// ranks, the dispatch and combine per step, the imbalance used and the KV cache per rank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expert_parallel: Option<super::moe::ExpertParallelBody>,
    /// Cost (null when it does not fit).
    #[schema(required = true)]
    pub cost: Option<ServingCost>,
    /// Energy per output token, J (null without a power figure, or when it does not fit).
    pub joules_per_output_token: Option<f64>,
    /// Caveats; when it does not fit, the first is `does-not-fit`, saying `not_run.reason`.
    pub warnings: Vec<WarningBody>,
    /// How the numbers were made.
    pub explain: Vec<ExplainBody>,
    /// Defaults applied.
    pub assumptions: Vec<Assumption>,
    /// Measured error of the simulator on published serving measurements.
    pub error_band: ErrorBand,
    /// Speculative decoding at the replay's mean running batch: tokens per step, speedup,
    /// where it stops paying (present when the request's `speculative` asked for it; the
    /// replay's steps already advance each sequence by `tokens_per_step`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculation: Option<super::speculative::SpeculationBody>,
    /// The replay over time, present when `detail.timeline` asked for it and the deployment
    /// fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<ServingTimeline>,
    /// Latency histograms, present when `detail.histograms` asked for them and the deployment
    /// fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histograms: Option<ServingHistograms>,
    /// The pools of a disaggregated deployment, present when the request gave
    /// `disaggregation`: each pool's devices, layout, rate, utilisation and latency share, and
    /// the KV transfer between them (the end-to-end figures above describe the pair).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disaggregation: Option<super::disaggregation::DisaggregationAnswer>,
    /// Prefix reuse across the KV tiers: hit share per tier, copy per hit, TTFT saved; present
    /// when `workload.prefix` describes the reuse and the deployment fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_cache: Option<PrefixCacheBody>,
    /// The KV tiers beyond device memory as replayed, and the same replay without them;
    /// present with `kv_offload` when the deployment fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_offload: Option<KvTiersBody>,
}

/// The replay of one replica over time (`detail.timeline`): equal time buckets from the first
/// arrival, each point the largest value any step starting in its bucket saw (so peaks are
/// kept), buckets where nothing happened left out; at most 200 points. The arrays are parallel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingTimeline {
    /// Width of a time bucket, seconds.
    pub bucket_s: f64,
    /// Start of each point's bucket, seconds from the first arrival.
    pub t_s: Vec<f64>,
    /// KV-cache tokens held during the step (allocated blocks x block size, what
    /// `kv_cache.capacity_tokens` bounds); its largest value is `kv_cache.peak_used_tokens`.
    pub kv_cache_used_tokens: Vec<u64>,
    /// Sequences in the step (prefill chunks and decodes); its largest value is
    /// `concurrency.running_max`.
    pub running: Vec<u64>,
    /// Requests that had arrived and were not scheduled during the step (the queue depth).
    pub waiting: Vec<u64>,
}

/// A histogram on log-spaced bins, ms: `counts[i]` requests in `[edges_ms[i], edges_ms[i +
/// 1])`, the last bin closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatencyHistogram {
    /// Bin edges, one more than the bins, increasing (empty without samples).
    pub edges_ms: Vec<f64>,
    /// Requests per bin.
    pub counts: Vec<u64>,
}

impl From<serving::Histogram> for LatencyHistogram {
    fn from(h: serving::Histogram) -> Self {
        Self { edges_ms: h.edges.iter().map(|s| finite(s * 1e3)).collect(), counts: h.counts }
    }
}

/// Per-request latency histograms of the finished requests (`detail.histograms`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServingHistograms {
    /// Time to first token; counts sum to `completed`.
    pub ttft_ms: LatencyHistogram,
    /// Time per output token; counts sum to the finished requests of more than one output
    /// token.
    pub tpot_ms: LatencyHistogram,
    /// End to end; counts sum to `completed`.
    pub e2e_ms: LatencyHistogram,
}

/// One SLO target judged on this replay.
#[derive(Debug, Serialize, ToSchema)]
pub struct SloTargetVerdict {
    /// The latency: `ttft_ms`, `tpot_ms` or `e2e_ms` (the section of the answer it reads).
    pub metric: &'static str,
    /// The percentile held: 50, 90 or 99.
    pub percentile: u8,
    /// The target, ms.
    pub limit_ms: f64,
    /// This replay's value at that percentile, ms.
    pub value_ms: f64,
    /// Whether the value is within the target.
    pub met: bool,
}

/// Whether this replay, at the rate asked, meets the SLO: every target's percentile within its
/// limit, and the queue not growing (`regime` not `overloaded`). Present when an SLO is given
/// and the deployment fits.
#[derive(Debug, Serialize, ToSchema)]
pub struct SloVerdict {
    /// Every target met and not overloaded.
    pub met: bool,
    /// Whether the rate overloads the deployment (then the latencies grow with the run).
    pub overloaded: bool,
    /// Each target, in the order ttft, tpot, e2e.
    pub targets: Vec<SloTargetVerdict>,
}

impl SloVerdict {
    fn of(slo: &serving::Slo, e: &ServingEstimate) -> Self {
        let mut targets = Vec::new();
        for (metric, list, p) in
            [("ttft_ms", &slo.ttft, &e.ttft), ("tpot_ms", &slo.tpot, &e.tpot), ("e2e_ms", &slo.e2e, &e.e2e)]
        {
            for t in list {
                let value = p.at(t.percentile);
                targets.push(SloTargetVerdict {
                    metric,
                    percentile: t.percentile,
                    limit_ms: finite(t.max * 1e3),
                    value_ms: finite(value * 1e3),
                    met: value <= t.max,
                });
            }
        }
        let overloaded = e.regime == serving::Regime::Overloaded;
        Self { met: !overloaded && e.completed > 0 && targets.iter().all(|t| t.met), overloaded, targets }
    }
}

/// How a capacity was found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CapacityBody {
    /// The capacity, requests per second, all replicas (`max_requests_per_s_within_slo`).
    pub requests_per_s: f64,
    /// The saturated request throughput, all replicas: every request queued at time 0.
    pub offline_requests_per_s: f64,
    /// Share of the saturated throughput above which a rate counts as unstable.
    pub stable_share: f64,
    /// What limits the capacity: `stability` (the queue would grow), `slo` (a latency
    /// target) or `unreachable` (no rate holds).
    pub bound: &'static str,
}

/// The rate open-loop arrivals offer, as asked.
fn offered(arrival: &crate::engine::serving::workload::Arrival) -> Option<f64> {
    use crate::engine::serving::workload::Arrival;
    match arrival {
        Arrival::Poisson { requests_per_s } => Some(*requests_per_s),
        Arrival::Trace(requests) if requests.len() > 1 => {
            let (first, last) = requests
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r.arrival_s), hi.max(r.arrival_s)));
            (last > first).then(|| (requests.len() as f64 - 1.0) / (last - first))
        }
        _ => None,
    }
}

impl ServingResponse {
    /// Replays `scenario` (and searches the SLO capacity when it has one).
    pub fn new(ctx: &Context, scenario: &ServingScenario) -> Self {
        if let Some(answer) = super::disaggregation::respond(ctx, scenario) {
            return answer;
        }
        let e = serving::simulate_with_slo(
            &scenario.inference.input(),
            &scenario.workload,
            scenario.slo.as_ref(),
            scenario.detail,
        );
        let tiers = kv_offload::report(scenario, &e);
        let mut answer = Self::from_estimate(ctx, scenario, e);
        answer.kv_cache.host_capacity_tokens = tiers.host_capacity_tokens;
        answer.kv_cache.disk_capacity_tokens = tiers.disk_capacity_tokens;
        answer.prefix_cache = tiers.prefix_cache;
        answer.kv_offload = tiers.kv_offload;
        answer.explain.extend(tiers.explain);
        answer
    }

    /// The sections an answer that does not fit leaves out (serialized as null).
    pub const LEFT_OUT: [&'static str; 8] =
        ["throughput", "ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "queue_ms", "cost", "joules_per_output_token"];

    /// The answer for a scenario and its replay.
    pub fn from_estimate(ctx: &Context, scenario: &ServingScenario, e: ServingEstimate) -> Self {
        let s = &scenario.inference;
        let devices = s.parallelism.devices();
        let sched = &s.profile.scheduler;
        let class = ctx.catalog.device(&s.device.id).map_or("inline", |d| d.record.kind.as_str());
        let kv_per_token = KvBytesPerToken::of(s);
        // The longest request alone, as the static estimate sees it: what the deployment needs.
        let longest = scenario
            .workload
            .requests()
            .into_iter()
            .max_by_key(|a| a.input_tokens + a.output_tokens)
            .map_or((s.input_tokens, s.output_tokens), |a| (a.input_tokens, a.output_tokens));
        let alone = InferenceInput {
            batch: Batch::Fixed(1),
            input_tokens: longest.0,
            output_tokens: longest.1,
            explain: false,
            ..s.input()
        };
        let single = inference::estimate(&alone);
        let fits = e.fits;
        let not_run = (!fits).then(|| NotRun {
            reason: if single.memory.fits {
                // Held alone by the static estimate, but not by the engine's KV-cache share.
                format!(
                    "a request of {} tokens needs {:.1} GB of KV cache per device, more than the {} tokens the engine's cache holds on this deployment; use more devices, a narrower kv_cache format or shorter requests",
                    longest.0 + longest.1,
                    single.memory.per_device.kv_cache.0 / 1e9,
                    e.kv_capacity_tokens
                )
            } else {
                verdict::memory_reason(ctx, &alone, &single)
            },
            left_out: Self::LEFT_OUT.to_vec(),
        });
        let slo_verdict = scenario.slo.as_ref().filter(|_| fits).map(|slo| SloVerdict::of(slo, &e));
        let mut warnings: Vec<WarningBody> = e.warnings.into_iter().map(WarningBody::from).collect();
        if let Some(n) = &not_run {
            verdict::lead_with(&mut warnings, &n.reason);
        }
        let speculation = s
            .techniques
            .speculation
            .zip(e.speculation)
            .map(|(spec, a)| super::speculative::SpeculationBody::new(&spec, &a));
        Self {
            speculation,
            verdict: verdict::verdict(fits),
            not_run,
            memory: MemoryBody::new(&single.memory, s),
            model: s.model.id.clone(),
            hardware: s.device.id.clone(),
            devices,
            parallelism: ParallelismBody {
                tensor: Some(s.parallelism.tensor),
                pipeline: Some(s.parallelism.pipeline),
                expert: Some(s.parallelism.expert),
                data: Some(s.parallelism.data),
            },
            weights: s.weights.id.clone(),
            kv_cache_format: s.kv_cache.id.clone(),
            engine: s.engine.to_string(),
            requests: e.requests,
            workload: ServingWorkloadBody {
                requests: e.requests.saturating_mul(e.replicas.max(1)),
                requests_per_replica: e.requests,
                offered_requests_per_s: offered(&scenario.workload.arrival).map(finite),
            },
            completed: e.completed,
            throughput: fits.then(|| ServingThroughput {
                output_tokens_per_s: finite(e.output_tokens_per_s),
                output_tokens_per_s_per_device: finite(e.output_tokens_per_s / devices.max(1) as f64),
                requests_per_s: finite(e.requests_per_s),
                total_tokens_per_s: finite(e.total_tokens_per_s),
                offered_requests_per_s: e.offered_requests_per_s.map(finite),
            }),
            ttft_ms: fits.then(|| e.ttft.into()),
            tpot_ms: fits.then(|| e.tpot.into()),
            itl_ms: fits.then(|| e.itl.into()),
            e2e_ms: fits.then(|| e.e2e.into()),
            queue_ms: fits.then(|| e.queue.into()),
            concurrency: Concurrency {
                mean: finite(e.concurrency_mean),
                max: e.concurrency_max,
                running_mean: finite(e.running_mean),
                running_max: e.running_max,
            },
            kv_cache: ServingKvCache {
                capacity_tokens: e.kv_capacity_tokens,
                peak_used_tokens: e.kv_peak_used_tokens,
                block_tokens: sched.kv_block_tokens,
                bytes_per_token: kv_per_token.bytes_per_token,
                bytes_per_token_per_device: kv_per_token.bytes_per_token_per_device,
                host_capacity_tokens: None,
                disk_capacity_tokens: None,
            },
            preemptions: e.preemptions,
            regime: e.regime.as_str(),
            max_requests_per_s_within_slo: e.max_requests_per_s_within_slo.map(finite),
            capacity: e.capacity.map(|c| CapacityBody {
                requests_per_s: finite(c.requests_per_s),
                offline_requests_per_s: finite(c.offline_requests_per_s),
                stable_share: capacity::STABLE_SHARE,
                bound: c.bound.as_str(),
            }),
            slo_verdict,
            fits: e.fits,
            scheduler: SchedulerBody {
                max_num_seqs: e.max_num_seqs,
                max_num_tokens: e.max_num_tokens,
                chunked_prefill: sched.chunked_prefill,
                mixed_batches: sched.mixed_batches,
                kv_reserve_full: sched.kv_reserve_full,
                kv_fraction: sched.kv_fraction,
            },
            steps: e.steps,
            makespan_ms: finite(e.makespan * 1e3),
            expert_parallel: super::moe::ExpertParallelBody::of(
                s,
                e.time_by_component.expert_all_to_all / e.steps.max(1) as f64,
                Some((e.kv_capacity_tokens, e.max_num_seqs)),
            ),
            time_by_component: TimeByComponent {
                gemm_ms: finite(e.time_by_component.gemm * 1e3),
                attention_ms: finite(e.time_by_component.attention * 1e3),
                communication_ms: finite(e.time_by_component.communication * 1e3),
                overhead_ms: finite(e.time_by_component.overhead * 1e3),
            },
            cost: fits.then(|| ServingCost {
                usd_per_hour: e.usd_per_hour.map(finite),
                usd_per_million_output_tokens: e.usd_per_million_output_tokens.map(finite),
                energy_usd_per_million_output_tokens: e
                    .joules_per_output_token
                    .map(|j| finite(scenario.inference.cost.energy_usd(j * 1e6 / JOULES_PER_KWH))),
                basis: scenario.inference.cost.basis.clone(),
            }),
            joules_per_output_token: e.joules_per_output_token.filter(|_| fits).map(finite),
            warnings,
            explain: e.explain.into_iter().map(ExplainBody::from).collect(),
            assumptions: scenario.assumptions.0.clone(),
            timeline: e.timeline.filter(|_| fits).map(|t| ServingTimeline {
                bucket_s: finite(t.bucket_s),
                t_s: t.t_s.into_iter().map(finite).collect(),
                kv_cache_used_tokens: t.kv_used_tokens,
                running: t.running,
                waiting: t.waiting,
            }),
            histograms: e.histograms.filter(|_| fits).map(|h| ServingHistograms {
                ttft_ms: h.ttft.into(),
                tpot_ms: h.tpot.into(),
                e2e_ms: h.e2e.into(),
            }),
            disaggregation: None,
            prefix_cache: None,
            kv_offload: None,
            error_band: ErrorBand::from_report(
                &ctx.validation,
                Side::Inference,
                class,
                &[("throughput.output_tokens_per_s", "output_throughput_total"), ("ttft_ms.mean", "ttft_ms")],
            ),
        }
    }
}
