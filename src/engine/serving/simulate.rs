//! The replay: requests arrive, the scheduler fills steps, steps take time, latencies are read
//! off.
//!
//! Bookkeeping is per step in O(1) plus O(log n) per request event, so 1,000 requests of a
//! thousand output tokens replay in well under a millisecond:
//! - decoding sequences advance together, so one counter `decoded` (decode steps so far) gives
//!   every sequence's length, a heap keyed by the counter value at which each one finishes
//!   retires them, and the sum of their contexts grows by their count each step;
//! - a sequence needs a new KV block every `block` tokens, at a step counter fixed by its
//!   length when it joined, so blocks taken per step come from `block` buckets indexed by the
//!   counter modulo `block`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::step::{StepModel, StepShape, StepTime};
use super::workload::{Arrival, Arriving, Workload};
use crate::engine::architecture::Architecture;
use crate::engine::explain::{Explanation, Trace, Warning};
use crate::engine::inference::{self, Batch, InferenceInput};
use crate::engine::kv_cache;
use crate::engine::kv_offload::{self, Hit, HitShares, Prefix, TierTokens};
use crate::engine::parallelism::Parallelism;
use crate::engine::profile::Scheduler;
use crate::engine::speculative::{Assessment, SpeculativeStep};

/// Most steps one replay may take (about a third of a second); requests beyond it are
/// reported unfinished, with a warning.
pub const MAX_STEPS: u64 = 2_000_000;
/// Most steps of each replay in an SLO search (it replays about fifteen times).
pub const MAX_STEPS_IN_SEARCH: u64 = 200_000;

/// Mean and percentiles of a latency, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// Of unweighted samples (reordered in place). A percentile is the sample at rank
    /// `ceil(q n)`, found by selection rather than a sort: a replay's percentiles are taken on
    /// every step of a capacity search, and sorting them was a third of a plan's time.
    pub fn of(samples: &mut [f64]) -> Self {
        let n = samples.len();
        if n == 0 {
            return Self::default();
        }
        let mean = samples.iter().sum::<f64>() / n as f64;
        let mut at = |q: f64| {
            *samples.select_nth_unstable_by(((q * n as f64).ceil() as usize).clamp(1, n) - 1, f64::total_cmp).1
        };
        Self { mean, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
    }

    /// Of `(value, weight)` samples (sorted in place, unstably: equal values are
    /// interchangeable): the `q` percentile is the first value whose running weight reaches `q`
    /// of the total.
    pub fn weighted(samples: &mut [(f64, f64)]) -> Self {
        let total: f64 = samples.iter().map(|s| s.1).sum();
        if total <= 0.0 {
            return Self::default();
        }
        let mean = samples.iter().map(|s| s.0 * s.1).sum::<f64>() / total;
        samples.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let at = |q: f64| {
            let mut seen = 0.0;
            for &(v, w) in samples.iter() {
                seen += w;
                if seen >= q * total {
                    return v;
                }
            }
            samples.last().map_or(0.0, |s| s.0)
        };
        Self { mean, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
    }

    /// The named percentile (50, 90 or 99; anything else the mean).
    pub fn at(&self, percentile: u8) -> f64 {
        match percentile {
            50 => self.p50,
            90 => self.p90,
            99 => self.p99,
            _ => self.mean,
        }
    }
}

/// How loaded the replica was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// Requests rarely wait: the server keeps up with room to spare.
    Stable,
    /// Requests wait for a slot most of the time, but the queue does not grow without bound
    /// (offline runs and closed loops beyond capacity).
    Saturated,
    /// Requests arrive faster than they finish: the queue grows with the number of requests.
    Overloaded,
}

impl Regime {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Stable => "stable",
            Regime::Saturated => "saturated",
            Regime::Overloaded => "overloaded",
        }
    }
}

/// A latency target: this percentile at most this many seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SloTarget {
    /// Limit, seconds.
    pub max: f64,
    /// 50, 90 or 99; anything else (0) the mean.
    pub percentile: u8,
}

/// Latency targets; a metric without targets is not checked, one with several must meet each
/// (a check may bound the mean and the p99 of the same metric).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slo {
    /// Time to first token.
    pub ttft: Vec<SloTarget>,
    /// Time per output token.
    pub tpot: Vec<SloTarget>,
    /// End to end.
    pub e2e: Vec<SloTarget>,
}

impl Slo {
    /// Whether an estimate meets every target.
    pub fn met_by(&self, e: &ServingEstimate) -> bool {
        let ok = |targets: &[SloTarget], p: &Percentiles| targets.iter().all(|t| p.at(t.percentile) <= t.max);
        e.completed > 0 && ok(&self.ttft, &e.ttft) && ok(&self.tpot, &e.tpot) && ok(&self.e2e, &e.e2e)
    }

    /// Whether there is no target at all.
    pub fn is_empty(&self) -> bool {
        self.ttft.is_empty() && self.tpot.is_empty() && self.e2e.is_empty()
    }
}

/// What a replay records beyond its summary, when asked (nothing by default: the plain replay
/// and every search replay keep their speed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    /// The replay over time ([`Timeline`]).
    pub timeline: bool,
    /// Per-request latency histograms ([`Histograms`]).
    pub histograms: bool,
}

/// Most points of a [`Timeline`].
pub const TIMELINE_POINTS: usize = 200;

/// Bins of each latency [`Histogram`].
pub const HISTOGRAM_BINS: usize = 24;

/// The replay of one replica over time, in equal time buckets of `bucket_s` from the first
/// arrival; each point is the largest value any step (or idle wait) starting in its bucket
/// saw, so no peak is lost; buckets where nothing happened are left out. At most
/// [`TIMELINE_POINTS`] points: the bucket width doubles (neighbours merged by their maximum)
/// whenever the run outgrows them, so recording is O(1) per step in fixed memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// Width of a bucket, seconds.
    pub bucket_s: f64,
    /// Start of each point's bucket, seconds from the first arrival.
    pub t_s: Vec<f64>,
    /// KV-cache tokens held during the step (allocated blocks x block size: what the
    /// capacity bounds), the largest in the bucket.
    pub kv_used_tokens: Vec<u64>,
    /// Sequences in the step (prefill chunks and decodes), the largest in the bucket.
    pub running: Vec<u64>,
    /// Requests that had arrived and were not scheduled during the step (the queue), the
    /// largest in the bucket.
    pub waiting: Vec<u64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    kv_blocks: u64,
    running: u64,
    waiting: u64,
}

/// Records a [`Timeline`] into doubling time buckets.
#[derive(Debug)]
struct Recorder {
    width: f64,
    buckets: Vec<Option<Sample>>,
}

impl Recorder {
    /// The first bucket width: a tenth of a millisecond, below any step's time in practice.
    const FIRST_WIDTH_S: f64 = 1e-4;

    fn new() -> Self {
        Self { width: Self::FIRST_WIDTH_S, buckets: vec![None; TIMELINE_POINTS] }
    }

    fn record(&mut self, t: f64, sample: Sample) {
        let t = if t.is_finite() { t.max(0.0) } else { 0.0 };
        while t >= self.width * TIMELINE_POINTS as f64 {
            // Twice as wide: bucket i becomes the maximum of buckets 2i and 2i + 1.
            for i in 0..TIMELINE_POINTS {
                let pair = [2 * i, 2 * i + 1].map(|j| self.buckets.get(j).copied().flatten());
                self.buckets[i] = match pair {
                    [Some(a), Some(b)] => Some(max_of(a, b)),
                    [a, b] => a.or(b),
                };
            }
            self.width *= 2.0;
        }
        let i = ((t / self.width) as usize).min(TIMELINE_POINTS - 1);
        self.buckets[i] = Some(self.buckets[i].map_or(sample, |b| max_of(b, sample)));
    }

    fn finish(self, block: u64) -> Timeline {
        let mut timeline = Timeline { bucket_s: self.width, ..Timeline::default() };
        for (i, b) in self.buckets.iter().enumerate() {
            if let Some(b) = b {
                timeline.t_s.push(i as f64 * self.width);
                timeline.kv_used_tokens.push(b.kv_blocks.saturating_mul(block));
                timeline.running.push(b.running);
                timeline.waiting.push(b.waiting);
            }
        }
        timeline
    }
}

fn max_of(a: Sample, b: Sample) -> Sample {
    Sample {
        kv_blocks: a.kv_blocks.max(b.kv_blocks),
        running: a.running.max(b.running),
        waiting: a.waiting.max(b.waiting),
    }
}

/// A histogram on log-spaced bins: `counts[i]` samples in `[edges[i], edges[i + 1])` (the last
/// bin closed), seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `counts.len() + 1` bin edges, increasing; empty when there are no samples.
    pub edges: Vec<f64>,
    /// Samples per bin; they sum to the number of samples.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// `bins` log-spaced bins from the smallest to the largest sample (widened by 10% each way
    /// when they are equal). A sample that is not positive and finite counts in the first bin.
    pub fn log_spaced(samples: &[f64], bins: usize) -> Self {
        let bins = bins.max(1);
        if samples.is_empty() {
            return Self::default();
        }
        let positive = samples.iter().copied().filter(|x| x.is_finite() && *x > 0.0);
        let (mut lo, mut hi) = positive.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        if !lo.is_finite() {
            (lo, hi) = (1e-9, 1e-9);
        }
        if hi <= lo * (1.0 + 1e-9) {
            (lo, hi) = (lo / 1.1, hi * 1.1);
        }
        let span = (hi / lo).ln();
        let mut edges: Vec<f64> = (0..=bins).map(|i| lo * (span * i as f64 / bins as f64).exp()).collect();
        edges[0] = lo;
        edges[bins] = hi;
        let mut counts = vec![0u64; bins];
        for &x in samples {
            let i = if x.is_finite() && x > lo { ((x / lo).ln() / span * bins as f64) as usize } else { 0 };
            counts[i.min(bins - 1)] += 1;
        }
        Self { edges, counts }
    }
}

/// Per-request latency histograms of a replay (finished requests).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histograms {
    /// Time to first token; counts sum to the finished requests.
    pub ttft: Histogram,
    /// Time per output token; counts sum to the finished requests of more than one output
    /// token.
    pub tpot: Histogram,
    /// End to end; counts sum to the finished requests.
    pub e2e: Histogram,
}

/// The result of a replay (all replicas together where it says so).
#[derive(Debug, Clone, PartialEq)]
pub struct ServingEstimate {
    /// Replicas (data-parallel degree).
    pub replicas: u64,
    /// Requests simulated on the one replica.
    pub requests: u64,
    /// Of those, how many finished within the step limit.
    pub completed: u64,
    /// Output tokens per second, all replicas.
    pub output_tokens_per_s: f64,
    /// Prompt plus output tokens per second, all replicas.
    pub total_tokens_per_s: f64,
    /// Finished requests per second, all replicas.
    pub requests_per_s: f64,
    /// Requests per second offered (open-loop arrivals), all replicas; `None` offline and in a
    /// closed loop.
    pub offered_requests_per_s: Option<f64>,
    /// Time to first token (arrival to first token, queueing included).
    pub ttft: Percentiles,
    /// Time per output token after the first, per request.
    pub tpot: Percentiles,
    /// Gaps between consecutive tokens of a sequence, over all tokens.
    pub itl: Percentiles,
    /// Arrival to completion.
    pub e2e: Percentiles,
    /// Arrival to first scheduled step.
    pub queue: Percentiles,
    /// Requests in the system (waiting or running), time-weighted mean.
    pub concurrency_mean: f64,
    /// Most requests in the system at once.
    pub concurrency_max: u64,
    /// Sequences in a step, time-weighted mean.
    pub running_mean: f64,
    /// Most sequences in one step.
    pub running_max: u64,
    /// KV-cache capacity of the replica, tokens (what the engine reports at start-up).
    pub kv_capacity_tokens: u64,
    /// Most KV tokens held at once (blocks x block size).
    pub kv_peak_used_tokens: u64,
    /// The scheduler's sequence limit used (after any tuning).
    pub max_num_seqs: u64,
    /// The scheduler's token limit per step used.
    pub max_num_tokens: u64,
    /// Sequences preempted (and later recomputed, or swapped back) because KV blocks ran out.
    pub preemptions: u64,
    /// Of those, how many were swapped to host memory and back instead of recomputed.
    pub swaps: u64,
    /// KV tiers beyond device memory and prefix reuse, when the deployment or the workload
    /// has them.
    pub tiers: Option<Tiers>,
    /// Load regime.
    pub regime: Regime,
    /// Steps replayed.
    pub steps: u64,
    /// From the first arrival to the last completion, seconds.
    pub makespan: f64,
    /// Time spent per step component over the whole replay, seconds.
    pub time_by_component: StepTime,
    /// Whether one request fits the KV cache at all.
    pub fits: bool,
    /// Highest request rate (all replicas) that meets the SLO, when one was given.
    pub max_requests_per_s_within_slo: Option<f64>,
    /// The capacity search behind it, when an SLO was given.
    pub capacity: Option<super::capacity::Capacity>,
    /// USD per hour for all devices, if priced.
    pub usd_per_hour: Option<f64>,
    /// USD per million output tokens at the simulated throughput.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Energy per output token.
    pub joules_per_output_token: Option<f64>,
    /// Share of the run during which some arrived request waited for a slot.
    pub waiting_share: f64,
    /// The replay over time, when asked ([`Detail::timeline`]).
    pub timeline: Option<Timeline>,
    /// Latency histograms, when asked ([`Detail::histograms`]).
    pub histograms: Option<Histograms>,
    /// Caveats.
    pub warnings: Vec<Warning>,
    /// How the numbers were made.
    pub explain: Vec<Explanation>,
    /// What speculative decoding did at the replay's mean running batch (`None` without it).
    pub speculation: Option<Assessment>,
}

/// The KV tiers of a replay and how prefix reuse fell across them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tiers {
    /// KV bytes one device holds per token.
    pub kv_bytes_per_token: f64,
    /// Capacity of each tier, tokens (device: the engine's KV pool).
    pub capacity: TierTokens,
    /// The workload's shared prefixes, if it described them.
    pub prefix: Option<Prefix>,
    /// Share of prefix reuses each tier served (with a described prefix).
    pub shares: Option<HitShares>,
    /// Time to bring one host hit's prefix into device memory, seconds.
    pub host_transfer_s: f64,
    /// Time to bring one disk hit's prefix into device memory, seconds.
    pub disk_transfer_s: f64,
    /// Host tokens left for swapped sequences (the host capacity less the prefixes it holds).
    pub swap_capacity_tokens: f64,
    /// Copies into device memory during the replay (prefix hits and swap-ins).
    pub loads: u64,
    /// Time the host link spent on them, seconds.
    pub load_s: f64,
}

/// What the replay needs to know of reuse and tiers, per token.
#[derive(Debug, Clone, Copy, Default)]
struct Reuse {
    shares: Option<HitShares>,
    prefix_tokens: u64,
    host_s_per_token: f64,
    disk_s_per_token: f64,
    /// Seconds per token to swap a sequence back in, when preempted sequences swap.
    swap_s_per_token: Option<f64>,
    swap_capacity_tokens: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    Waiting,
    Prefilling,
    Decoding,
    Done,
}

#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: f64,
    ready: f64,
    input: u64,
    output: u64,
    /// Prompt tokens served from the prefix cache (not recomputed).
    cached: u64,
    /// Tokens to have in the KV cache before decoding (prompt, plus output after preemption).
    prompt: u64,
    /// Of `prompt`, how many are in the KV cache.
    computed: u64,
    generated: u64,
    blocks: u64,
    scheduled: f64,
    first_token: f64,
    finish: f64,
    /// Seconds of copy into device memory before its next chunk (prefix from host or disk,
    /// or its own KV swapped out), the copy of its prefix alone, and when the copy running now
    /// ends (NaN: none).
    load_s: f64,
    load_prefix_s: f64,
    loaded_at: f64,
    /// Tokens of its KV held in host memory after a swap-out.
    swapped: u64,
    /// Decode counter when it joined the decoding set, and its context then.
    joined: u64,
    context0: u64,
    epoch: u32,
    phase: Phase,
}

/// Limits the scheduler runs with: the engine's, or those trtllm-bench tunes from the dataset.
fn limits(s: &Scheduler, kv_tokens: f64, mean_input: f64, mean_output: f64, pp: u64) -> (u64, u64) {
    if !s.tuned_limits {
        let seqs = if s.seqs_per_micro_batch { s.max_num_seqs.saturating_mul(pp) } else { s.max_num_seqs };
        return (seqs.max(1), s.max_num_tokens.max(1));
    }
    // trtllm-bench's heuristic (tensorrt_llm/bench/build/tuning.py): the requests that fit the
    // KV cache at the dataset's mean lengths, at most 4096, per pipeline stage, rounded up.
    let fit = kv_tokens / (mean_input + mean_output).max(1.0);
    let raw = fit.min(4096.0) / pp.max(1) as f64;
    let round = |x: f64, step: f64| (x / step).ceil() * step;
    let bs = if raw < 256.0 {
        round(raw, 32.0).max(64.0)
    } else if raw < 1024.0 {
        round(raw, 128.0)
    } else {
        round(raw, 256.0)
    };
    let raw_tokens = (raw * (1.0 + mean_input / mean_output.max(1.0))).min(32768.0);
    let tokens = if raw_tokens < 4096.0 {
        round(raw_tokens, 256.0).max(2048.0)
    } else if raw_tokens < 8192.0 {
        round(raw_tokens, 512.0)
    } else {
        round(raw_tokens, 1024.0)
    };
    ((bs as u64).saturating_mul(pp.max(1)).max(1), (tokens as u64).max(1))
}

/// How many ranks' tokens one device's MoE layer runs in the engine's profiling pass: the
/// expert ranks (each an attention-data-parallel rank with its own sequences) where the engine
/// gathers their tokens before the experts; otherwise (a dense model, an all-to-all dispatch)
/// each device runs its own.
fn moe_gathered_ranks(arch: &Architecture, par: Parallelism, sched: &Scheduler) -> f64 {
    if sched.moe_gathers_dp_tokens && arch.moe.is_some() { f64::from(par.expert.max(1)) } else { 1.0 }
}

/// Per-replica share of a workload.
fn replica_workload(w: &Workload, replicas: u64) -> Workload {
    let r = replicas.max(1);
    let mut w = w.clone();
    w.requests = w.requests.div_ceil(r).max(1);
    w.arrival = match w.arrival {
        Arrival::Poisson { requests_per_s } => Arrival::Poisson { requests_per_s: requests_per_s / r as f64 },
        Arrival::Concurrency { clients } => Arrival::Concurrency { clients: clients.div_ceil(r).max(1) },
        other => other,
    };
    w
}

struct Replay {
    completed: u64,
    steps: u64,
    makespan: f64,
    start: f64,
    output_tokens: f64,
    total_tokens: f64,
    ttft: Vec<f64>,
    tpot: Vec<f64>,
    e2e: Vec<f64>,
    queue: Vec<f64>,
    itl: Vec<(f64, f64)>,
    concurrency_max: u64,
    in_system_time: f64,
    running_time: f64,
    running_max: u64,
    peak_blocks: u64,
    preemptions: u64,
    swaps: u64,
    loads: u64,
    load_time: f64,
    waiting_time: f64,
    time: StepTime,
    timeline: Option<Recorder>,
    /// Each request's first-token time, in the order of the arrivals given (NaN when it did
    /// not get one): what a disaggregated replay hands from the prefill pool to the decode pool.
    first_tokens: Vec<f64>,
}

/// Requests handed to a replay instead of the workload's own draw: a disaggregated deployment's
/// prefill pool replays the workload's requests with one output token each, its decode pool
/// replays them arriving with their prompt already in the KV cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Feed<'a> {
    /// The requests, in the order `ready` gives (arrival order when `ready` is `None`).
    pub arrivals: &'a [Arriving],
    /// When each request's prompt KV is in place, seconds, non-decreasing: each then arrives
    /// prefilled (its first token made elsewhere, its prompt in the KV cache) and joins the
    /// decoding sequences as soon as a slot and its blocks are free. `None`: requests arrive
    /// at `arrival_s` and are prefilled here.
    pub ready: Option<&'a [f64]>,
}

/// Replays one workload; `input` is the deployment (its batch and lengths are ignored).
pub fn simulate(input: &InferenceInput<'_>, workload: &Workload) -> ServingEstimate {
    simulate_bounded(input, workload, MAX_STEPS)
}

/// [`simulate`] with at most `max_steps` steps.
pub fn simulate_bounded(input: &InferenceInput<'_>, workload: &Workload, max_steps: u64) -> ServingEstimate {
    replay(input, workload, max_steps, Detail::default())
}

/// [`simulate`], recording the `detail` asked (a timeline, latency histograms).
pub fn simulate_detailed(input: &InferenceInput<'_>, workload: &Workload, detail: Detail) -> ServingEstimate {
    replay(input, workload, MAX_STEPS, detail)
}

fn replay(input: &InferenceInput<'_>, workload: &Workload, max_steps: u64, detail: Detail) -> ServingEstimate {
    replay_fed(input, workload, max_steps, detail, None).0
}

/// [`replay`] of the requests `feed` gives (else the workload's own draw); also returns each
/// request's first-token time (seconds, NaN when it got none), in the order of the arrivals.
pub(crate) fn replay_fed(
    input: &InferenceInput<'_>,
    workload: &Workload,
    max_steps: u64,
    detail: Detail,
    feed: Option<Feed<'_>>,
) -> (ServingEstimate, Vec<f64>) {
    let mut trace = Trace::new(input.explain);
    let profile = input.profile;
    let sched = profile.scheduler;
    let par = input.parallelism;
    let replicas = u64::from(par.data.max(1));
    let w = replica_workload(workload, replicas);
    let arch = input.arch;

    // KV capacity from the static memory breakdown of one sequence.
    let memory = inference::estimate(&InferenceInput { batch: Batch::Fixed(1), explain: false, ..*input }).memory;
    let per = memory.per_device;
    let device_memory = if input.device.unified_memory {
        input.device.memory.0 * profile.unified_memory_fraction
    } else {
        input.device.memory.0
    };
    let per_token = kv_cache::elements_per_token_per_layer_per_device(arch, par.tensor) * input.kv_cache.bits.0 / 8.0
        * f64::from(arch.layers)
        / f64::from(par.pipeline.max(1))
        // A drafter's own KV cache grows with the same tokens.
        + input.techniques.speculation.and_then(|s| s.drafter).map_or(0.0, |d| {
            d.kv_bytes_per_token_layer * f64::from(d.layers) / f64::from(par.tensor.max(1))
        });
    let kv_bytes = |activations: f64| {
        if sched.kv_fraction_of_free {
            (device_memory - per.weights.0 - per.overhead.0 - activations).max(0.0) * sched.kv_fraction
        } else {
            (device_memory * sched.kv_fraction - per.weights.0 - per.overhead.0 - activations).max(0.0)
        }
    };
    let kv_tokens = |bytes: f64| {
        if per_token > 0.0 { (bytes / per_token * f64::from(par.expert)).floor().min(1e12) } else { 0.0 }
    };
    // Attention data parallelism: each expert rank schedules its own sequences, up to the
    // engine's limits (TensorRT-LLM's max_batch_size and max_num_tokens apply per attention-DP
    // rank; so do vLLM's with data-parallel attention). trtllm-bench tunes its limits before
    // the engine starts, from the KV cache the weights leave.
    let (max_seqs, max_tokens) = limits(
        &sched,
        kv_tokens(kv_bytes(per.activations.0)),
        w.input_tokens.mean(),
        w.output_tokens.mean(),
        u64::from(par.pipeline),
    );
    // The engine sizes its KV cache after a profiling forward pass over its whole token budget
    // (TensorRT-LLM's PyTorch executor and vLLM both run one at max_num_tokens and give the KV
    // cache what is left after that pass's peak), so the activations it leaves room for are
    // those of max_num_tokens tokens on one device, not of one request's prompt. Engines whose
    // MoE layers gather every attention-data-parallel rank's tokens before the experts
    // (TensorRT-LLM 1.0's fused MoE: moe_max_num_tokens defaults to max_num_tokens x dp_size,
    // unchunked) hold max_num_tokens x ranks tokens of an MoE model's activations per device.
    let gathered_ranks = moe_gathered_ranks(arch, par, &sched);
    let activations = trace.record(
        "serving.profiled_activations",
        "max(the activations of one request, max_num_tokens x tokens gathered per MoE layer (the attention-data-parallel ranks for an MoE model, else 1) x activation bytes per token on one device): what the engine's profiling pass at its token budget keeps free of KV cache",
        &[
            ("max_num_tokens", max_tokens as f64),
            ("moe_gathered_ranks", gathered_ranks),
            ("activation_bytes_per_token", inference::activation_bytes_per_token(arch, par.tensor)),
        ],
        per.activations.0.max(max_tokens as f64 * gathered_ranks * inference::activation_bytes_per_token(arch, par.tensor)),
        "bytes",
    );
    let kv_bytes_per_device = kv_bytes(activations);
    let kv_capacity_tokens = trace.record(
        "serving.kv_capacity_tokens",
        "KV bytes per device (the engine's fraction of free memory after weights, profiled activations and runtime, or of device memory less those) / KV bytes per token on one device x expert ranks",
        &[("kv_bytes_per_device", kv_bytes_per_device), ("kv_bytes_per_token", per_token), ("kv_fraction", sched.kv_fraction)],
        kv_tokens(kv_bytes_per_device),
        "tokens",
    );
    let (tiers, reuse) = tiers(&mut trace, input, &w, per_token, kv_capacity_tokens);
    // Engines that keep only the window on sliding-window layers hold fewer token-layers per
    // token: the capacity stretches by the ratio at the workload's mean context.
    let mean_context = w.input_tokens.mean() + w.output_tokens.mean();
    let window_stretch = if sched.windowed_kv && arch.sliding_window.is_some() && mean_context > 0.0 {
        (f64::from(arch.layers) * mean_context / kv_cache::token_layers(arch, mean_context)).max(1.0)
    } else {
        1.0
    };
    let block = sched.kv_block_tokens.max(1);
    let total_blocks = (kv_capacity_tokens * window_stretch / block as f64).floor() as u64;
    let dp_ranks = u64::from(par.expert.max(1));
    let (max_seqs, max_tokens) = (max_seqs.saturating_mul(dp_ranks), max_tokens.saturating_mul(dp_ranks));
    trace.record(
        "serving.max_num_seqs",
        "the engine's sequence limit per step (per pipeline micro-batch where the engine says so), or trtllm-bench's: KV capacity / mean (input + output), at most 4096, per stage, rounded up; x expert ranks (each attention-data-parallel rank schedules its own batch)",
        &[("kv_capacity_tokens", kv_capacity_tokens), ("mean_input_tokens", w.input_tokens.mean()), ("mean_output_tokens", w.output_tokens.mean()), ("attention_data_parallel_ranks", dp_ranks as f64)],
        max_seqs as f64,
        "sequences",
    );

    let model = StepModel::new(input, sched.windowed_kv);
    let speculative = input.techniques.speculation.map(|s| SpeculativeStep::new(&model, s));
    let arrivals = feed.map_or_else(|| w.requests(), |f| f.arrivals.to_vec());
    let longest = arrivals.iter().map(|a| a.input_tokens + a.output_tokens).max().unwrap_or(0);
    let fits = longest.div_ceil(block) <= total_blocks && total_blocks > 0;
    if !fits {
        trace.warn("does-not-fit", || {
            format!(
                "a request of {longest} tokens needs more KV cache than the {kv_capacity_tokens:.0} tokens the engine can hold on this deployment; use more devices, a smaller format or shorter requests"
            )
        });
    }
    let replay = if fits {
        run(
            &model,
            speculative.as_ref(),
            &sched,
            &w,
            &arrivals,
            block,
            total_blocks,
            max_seqs,
            max_tokens,
            profile.request_overhead.0,
            max_steps,
            detail.timeline,
            feed.and_then(|f| f.ready),
            &reuse,
        )
    } else {
        None
    };
    let Some(mut r) = replay else {
        let (warnings, explain) = trace.finish();
        let none = vec![f64::NAN; arrivals.len()];
        let mut e =
            empty(replicas, arrivals.len() as u64, kv_capacity_tokens as u64, max_seqs, max_tokens, warnings, explain);
        e.tiers = tiers;
        return (e, none);
    };
    let first_tokens = std::mem::take(&mut r.first_tokens);
    if r.completed < arrivals.len() as u64 {
        trace.warn("simulation-truncated", || {
            format!(
                "the replay stopped after {} steps with {} of {} requests finished; the figures cover those",
                r.steps,
                r.completed,
                arrivals.len()
            )
        });
    }
    // No time passed (nothing ran, or a decode pool fed requests whose only token the prefill
    // pool made): no rate, rather than tokens over a vanishing span.
    let rate = |x: f64| if r.makespan > 0.0 { x / r.makespan * replicas as f64 } else { 0.0 };
    let span = r.makespan.max(1e-12);
    let output_tokens_per_s = trace.record(
        "serving.output_tokens_per_s",
        "replicas x output tokens of the finished requests / time from the first arrival to the last completion",
        &[("replicas", replicas as f64), ("output_tokens", r.output_tokens), ("makespan_s", r.makespan)],
        rate(r.output_tokens),
        "tokens/s",
    );
    let requests_per_s = rate(r.completed as f64);
    let offered = match &w.arrival {
        Arrival::Poisson { .. } | Arrival::Trace(_) if arrivals.len() > 1 => {
            let first = arrivals.first().map_or(0.0, |a| a.arrival_s);
            let last = arrivals.last().map_or(0.0, |a| a.arrival_s);
            (last > first).then(|| (arrivals.len() as f64 - 1.0) / (last - first) * replicas as f64)
        }
        _ => None,
    };
    let waiting_share = r.waiting_time / span;
    let histograms = detail.histograms.then(|| Histograms {
        ttft: Histogram::log_spaced(&r.ttft, HISTOGRAM_BINS),
        tpot: Histogram::log_spaced(&r.tpot, HISTOGRAM_BINS),
        e2e: Histogram::log_spaced(&r.e2e, HISTOGRAM_BINS),
    });
    let timeline = r.timeline.map(|t| t.finish(block));
    let (mut ttft, mut tpot, mut e2e, mut queue, mut itl) = (r.ttft, r.tpot, r.e2e, r.queue, r.itl);
    let (ttft, tpot, e2e, queue, itl) = (
        Percentiles::of(&mut ttft),
        Percentiles::of(&mut tpot),
        Percentiles::of(&mut e2e),
        Percentiles::of(&mut queue),
        Percentiles::weighted(&mut itl),
    );
    let steps = r.steps.max(1) as f64;
    trace.record(
        "serving.ttft",
        "per finished request: its first token's time - its arrival (the wait for a slot, then the steps until its prefill completes); the mean over finished requests",
        &[
            ("queue_mean_s", queue.mean),
            ("mean_step_s", r.time.total() / steps),
            ("ttft_p50_s", ttft.p50),
            ("ttft_p90_s", ttft.p90),
            ("ttft_p99_s", ttft.p99),
        ],
        ttft.mean,
        "s",
    );
    trace.record(
        "serving.tpot",
        "per finished request: (its last token's time - its first token's time) / (output tokens - 1), over the decode steps it shared with the other running sequences (each step: GEMMs + attention + collectives + overheads); the mean over finished requests",
        &[
            ("mean_running_sequences", r.running_time / span),
            ("gemm_s_per_step", r.time.gemm / steps),
            ("attention_s_per_step", r.time.attention / steps),
            ("communication_s_per_step", r.time.communication / steps),
            ("overhead_s_per_step", r.time.overhead / steps),
            ("tpot_p90_s", tpot.p90),
        ],
        tpot.mean,
        "s",
    );
    if par.expert > 1 {
        let x = model.exchange();
        trace.record(
            "moe.dispatch_combine",
            "per step: 2 all-to-alls (dispatch, combine) per MoE layer; each rank sends its tokens' 16-bit hidden states to the k experts each routes to, the hottest rank load x the mean; inside a node over the device fabric, the share (expert ranks - ranks per node) / expert ranks across the network, the slower path bounding each, plus each path's latency",
            &[
                ("expert_ranks", f64::from(x.ranks)),
                ("ranks_per_node", f64::from(x.ranks_per_node)),
                ("crosses_network", if x.crosses_network { 1.0 } else { 0.0 }),
                ("hottest_expert_load", x.load),
                ("steps", steps),
            ],
            r.time.expert_all_to_all / steps,
            "s",
        );
    }
    // Overloaded: the queue grows with the run (later requests wait much longer than earlier
    // ones) and completions fall behind arrivals.
    let overloaded = offered.is_some_and(|o| requests_per_s < 0.9 * o);
    let regime = if overloaded {
        Regime::Overloaded
    } else if matches!(w.arrival, Arrival::Offline) || waiting_share > 0.5 {
        Regime::Saturated
    } else {
        Regime::Stable
    };
    trace.record(
        "serving.waiting_share",
        "share of the run during which some arrived request waited for a slot (above 0.5: saturated)",
        &[("waiting_s", r.waiting_time), ("makespan_s", r.makespan)],
        waiting_share,
        "fraction",
    );
    if regime == Regime::Overloaded {
        trace.warn("overloaded", || {
            format!(
                "requests arrive at {:.3}/s but finish at {:.3}/s: the queue grows with the run, so latencies depend on how many requests are simulated",
                offered.unwrap_or(0.0),
                requests_per_s
            )
        });
    }
    if r.preemptions > r.swaps {
        trace.warn("preemptions", || {
            format!("{} sequences were preempted when KV blocks ran out and recomputed later", r.preemptions - r.swaps)
        });
    }
    if r.swaps > 0 {
        trace.record(
            "serving.kv_swaps",
            "preempted sequences whose KV was copied to host memory (while the host tier had room) and copied back before they resumed, instead of being recomputed",
            &[("preemptions", r.preemptions as f64), ("swap_capacity_tokens", reuse.swap_capacity_tokens as f64)],
            r.swaps as f64,
            "sequences",
        );
    }
    let tiers = tiers.map(|t| Tiers { loads: r.loads, load_s: r.load_time, ..t });

    let devices = par.devices() as f64;
    let usd_per_hour = input.usd_per_device_hour.map(|p| p * devices);
    let usd_per_million_output_tokens =
        usd_per_hour.filter(|_| output_tokens_per_s > 0.0).map(|usd| usd / (output_tokens_per_s * 3600.0) * 1e6);
    let busy = (r.time.total() / span).clamp(0.0, 1.0);
    let joules_per_output_token = input.device.tdp_w.filter(|_| output_tokens_per_s > 0.0).map(|tdp| {
        trace.record(
            "serving.joules_per_output_token",
            "devices x TDP x (idle share 0.3 + busy share x (power fraction - 0.3)) / output tokens per second",
            &[("devices", devices), ("tdp_w", tdp), ("busy_share", busy), ("power_fraction", profile.power_fraction)],
            devices * tdp * (0.3 + busy * (profile.power_fraction - 0.3).max(0.0)) / output_tokens_per_s,
            "J/token",
        )
    });
    // Speculation judged at the batch the replay ran (its time-weighted mean of sequences in a
    // step), at the workload's mean decode context, up to the scheduler's sequence limit.
    let speculation = speculative.as_ref().map(|spec| {
        let batch = (r.running_time / span).round().max(1.0) as u64;
        let context = w.input_tokens.mean() + w.output_tokens.mean() / 2.0;
        let assessment = spec.assess(&model, batch, context, max_seqs);
        inference::record_speculation(&mut trace, &spec.speculation, &assessment, batch, max_seqs);
        assessment
    });
    let (warnings, explain) = trace.finish();
    let estimate = ServingEstimate {
        replicas,
        requests: arrivals.len() as u64,
        completed: r.completed,
        output_tokens_per_s,
        total_tokens_per_s: rate(r.total_tokens),
        requests_per_s,
        offered_requests_per_s: offered,
        ttft,
        tpot,
        itl,
        e2e,
        queue,
        // The time-average of requests in the system is the sum of their times in it over the
        // span (exact: every arrival and completion lies inside it).
        concurrency_mean: e2e.mean * r.completed as f64 / span,
        concurrency_max: r.concurrency_max,
        running_mean: r.running_time / span,
        running_max: r.running_max,
        kv_capacity_tokens: kv_capacity_tokens as u64,
        kv_peak_used_tokens: r.peak_blocks.saturating_mul(block),
        max_num_seqs: max_seqs,
        max_num_tokens: max_tokens,
        preemptions: r.preemptions,
        swaps: r.swaps,
        tiers,
        regime,
        steps: r.steps,
        makespan: r.makespan,
        time_by_component: r.time,
        fits: true,
        max_requests_per_s_within_slo: None,
        capacity: None,
        usd_per_hour,
        usd_per_million_output_tokens,
        joules_per_output_token,
        warnings,
        explain,
        speculation,
        waiting_share: if waiting_share.is_finite() { waiting_share } else { 0.0 },
        timeline,
        histograms,
    };
    (estimate, first_tokens)
}

/// The tiers of a replay and what the replay needs of them: `None` and no reuse beyond
/// `prefix_cache_hit_rate` when the deployment has no tier beyond device memory and the
/// workload no described prefix.
fn tiers(
    trace: &mut Trace,
    input: &InferenceInput<'_>,
    w: &Workload,
    per_token: f64,
    device_tokens: f64,
) -> (Option<Tiers>, Reuse) {
    let offload = input.techniques.kv_offload;
    if offload.is_none() && w.prefix.is_none() {
        return (None, Reuse::default());
    }
    let expert = input.parallelism.expert;
    let host = offload.map_or(0.0, |o| {
        trace.record(
            "serving.kv_host_capacity_tokens",
            "host memory for KV per device / KV bytes per token on one device x expert ranks",
            &[
                ("host_bytes_per_device", o.host.capacity.0),
                ("kv_bytes_per_token", per_token),
                ("expert", f64::from(expert)),
            ],
            kv_offload::capacity_tokens(o.host.capacity, per_token, expert),
            "tokens",
        )
    });
    let disk = offload.and_then(|o| o.disk).map_or(0.0, |d| {
        trace.record(
            "serving.kv_disk_capacity_tokens",
            "disk for KV per device / KV bytes per token on one device x expert ranks",
            &[
                ("disk_bytes_per_device", d.capacity.0),
                ("kv_bytes_per_token", per_token),
                ("expert", f64::from(expert)),
            ],
            kv_offload::capacity_tokens(d.capacity, per_token, expert),
            "tokens",
        )
    });
    let capacity = TierTokens { device: device_tokens, host, disk };
    let mean_input = w.input_tokens.mean();
    let hit_tokens = |p: &Prefix| (p.tokens as f64).min((mean_input - 1.0).max(0.0));
    let host_s_per_token = offload.map_or(0.0, |o| o.host_load(1.0, per_token).0);
    let disk_s_per_token = offload.map_or(0.0, |o| o.disk_load(1.0, per_token).0);
    let shares = w.prefix.map(|p| {
        let working_set = p.working_set_tokens();
        let s = kv_offload::hit_shares(working_set, capacity);
        let inputs = [
            ("working_set_tokens", working_set),
            ("device_tokens", capacity.device),
            ("host_tokens", capacity.host),
            ("disk_tokens", capacity.disk),
        ];
        let rule = "exclusive tiers, LRU over uniform reuse of the distinct prefixes: the tiers up to this one hold min(1, their tokens / working set (distinct x prefix tokens)) of the prefixes; this tier serves what the faster ones leave";
        trace.record("serving.prefix_hit_share_device", rule, &inputs, s.device, "fraction");
        if offload.is_some() {
            trace.record("serving.prefix_hit_share_host", rule, &inputs, s.host, "fraction");
        }
        if disk > 0.0 {
            trace.record("serving.prefix_hit_share_disk", rule, &inputs, s.disk, "fraction");
        }
        s
    });
    let host_transfer_s = match (w.prefix, offload) {
        (Some(p), Some(o)) => trace.record(
            "serving.prefix_host_transfer_s",
            "prefix tokens of a hit x KV bytes per token on one device / host link bandwidth x copy efficiency (not overlapped with the request's own prefill; overlapped with the other requests' steps)",
            &[("tokens", hit_tokens(&p)), ("kv_bytes_per_token", per_token), ("host_bytes_per_s", o.host.bandwidth.0)],
            o.host_load(hit_tokens(&p), per_token).0,
            "s",
        ),
        _ => 0.0,
    };
    let disk_transfer_s = match (w.prefix, offload.and_then(|o| o.disk_bandwidth())) {
        (Some(p), Some(bw)) => trace.record(
            "serving.prefix_disk_transfer_s",
            "prefix tokens of a hit x KV bytes per token on one device / the slower of the disk's read rate and the host link (pipelined through host memory)",
            &[("tokens", hit_tokens(&p)), ("kv_bytes_per_token", per_token), ("bytes_per_s", bw.0)],
            kv_offload::transfer(hit_tokens(&p), per_token, bw).0,
            "s",
        ),
        _ => 0.0,
    };
    // Host memory the prefixes occupy is not free for swapped sequences.
    let prefixes_in_host = w.prefix.map_or(0.0, |p| (p.working_set_tokens() - device_tokens).clamp(0.0, host));
    let swap_capacity_tokens = (host - prefixes_in_host).max(0.0);
    let reuse = Reuse {
        shares,
        prefix_tokens: w.prefix.map_or(0, |p| p.tokens),
        host_s_per_token,
        disk_s_per_token,
        swap_s_per_token: offload.filter(|o| o.swap_preempted).map(|_| host_s_per_token),
        swap_capacity_tokens: swap_capacity_tokens.min(1e15) as u64,
    };
    let tiers = Tiers {
        kv_bytes_per_token: per_token,
        capacity,
        prefix: w.prefix,
        shares,
        host_transfer_s,
        disk_transfer_s,
        swap_capacity_tokens,
        loads: 0,
        load_s: 0.0,
    };
    (Some(tiers), reuse)
}

fn empty(
    replicas: u64,
    requests: u64,
    kv_capacity_tokens: u64,
    max_num_seqs: u64,
    max_num_tokens: u64,
    warnings: Vec<Warning>,
    explain: Vec<Explanation>,
) -> ServingEstimate {
    ServingEstimate {
        replicas,
        requests,
        completed: 0,
        output_tokens_per_s: 0.0,
        total_tokens_per_s: 0.0,
        requests_per_s: 0.0,
        offered_requests_per_s: None,
        ttft: Percentiles::default(),
        tpot: Percentiles::default(),
        itl: Percentiles::default(),
        e2e: Percentiles::default(),
        queue: Percentiles::default(),
        concurrency_mean: 0.0,
        concurrency_max: 0,
        running_mean: 0.0,
        running_max: 0,
        kv_capacity_tokens,
        kv_peak_used_tokens: 0,
        max_num_seqs,
        max_num_tokens,
        preemptions: 0,
        swaps: 0,
        tiers: None,
        regime: Regime::Overloaded,
        steps: 0,
        makespan: 0.0,
        time_by_component: StepTime::default(),
        fits: false,
        max_requests_per_s_within_slo: None,
        capacity: None,
        usd_per_hour: None,
        usd_per_million_output_tokens: None,
        joules_per_output_token: None,
        warnings,
        explain,
        speculation: None,
        waiting_share: 0.0,
        timeline: None,
        histograms: None,
    }
}

/// The replay proper. `None` only when nothing can ever be scheduled.
#[allow(clippy::too_many_arguments)]
fn run(
    model: &StepModel,
    speculative: Option<&SpeculativeStep>,
    sched: &Scheduler,
    w: &Workload,
    arrivals: &[Arriving],
    block: u64,
    total_blocks: u64,
    max_seqs: u64,
    max_tokens: u64,
    request_overhead: f64,
    max_steps: u64,
    timeline: bool,
    prefilled: Option<&[f64]>,
    reuse: &Reuse,
) -> Option<Replay> {
    let closed = match w.arrival {
        Arrival::Concurrency { clients } => Some(clients.max(1)),
        _ => None,
    };
    let hit = w.prefix_cache_hit_rate.clamp(0.0, 1.0);
    let mut reqs: Vec<Request> = arrivals
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (cached, load) = match reuse.shares {
                Some(shares) => {
                    let tokens = reuse.prefix_tokens.min(a.input_tokens.saturating_sub(1));
                    match kv_offload::tier_of(i as u64, &shares) {
                        Hit::Device => (tokens, 0.0),
                        Hit::Host => (tokens, tokens as f64 * reuse.host_s_per_token),
                        Hit::Disk => (tokens, tokens as f64 * reuse.disk_s_per_token),
                        Hit::Miss => (0, 0.0),
                    }
                }
                None => (((a.input_tokens as f64 * hit).floor() as u64).min(a.input_tokens.saturating_sub(1)), 0.0),
            };
            Request {
                arrival: a.arrival_s,
                ready: a.arrival_s + request_overhead,
                input: a.input_tokens,
                output: a.output_tokens.max(1),
                cached,
                prompt: a.input_tokens,
                computed: cached,
                load_s: load,
                load_prefix_s: load,
                loaded_at: f64::NAN,
                swapped: 0,
                generated: 0,
                blocks: 0,
                scheduled: f64::NAN,
                first_token: f64::NAN,
                finish: f64::NAN,
                joined: 0,
                context0: 0,
                epoch: 0,
                phase: Phase::Pending,
            }
        })
        .collect();
    if let Some(ready) = prefilled {
        // Prefilled elsewhere: the prompt is in the KV cache and the first token made.
        for (q, &t) in reqs.iter_mut().zip(ready) {
            q.ready = t;
            q.computed = q.prompt;
            q.generated = 1;
        }
    }
    let n = reqs.len();
    let mut released = match closed {
        Some(c) => (c as usize).min(n),
        None => n,
    };
    let blocks_for = |tokens: u64| tokens.div_ceil(block);
    // Speculation: each decode step yields `per_step` tokens per sequence (fractional
    // accounting): a sequence needs ceil(tokens / per_step) steps, its context grows by
    // `per_step` a step, and the KV blocks of the extra tokens are taken as they accrue.
    let per_step = speculative.map_or(1.0, |s| s.speculation.tokens_per_step()).max(1.0);
    let steps_for = |tokens: u64| if per_step > 1.0 { (tokens as f64 / per_step).ceil() as u64 } else { tokens };
    let token_context =
        |q: &Request, decoded: u64| q.context0 + (((decoded - q.joined) as f64) * per_step).floor() as u64;
    let mut joined_sum = 0u64; // sum of `joined` over decoding sequences
    let mut extra_kv = 0.0f64; // KV tokens written beyond one per step, not yet in blocks

    let mut now = 0.0f64;
    let mut next = 0usize; // next request (in arrival order) not yet in `waiting`
    let mut waiting: VecDeque<usize> = VecDeque::new();
    let mut prefilling: Vec<usize> = Vec::new();
    let mut order: Vec<(usize, u32)> = Vec::new(); // admission order, for LIFO preemption
    let mut heap: BinaryHeap<Reverse<(u64, usize, u32)>> = BinaryHeap::new();
    let mut buckets = vec![0u64; block as usize];
    let (mut decoding, mut context_sum, mut decoded) = (0u64, 0u64, 0u64);
    let mut free = total_blocks;
    // The host link: copies into device memory run one after another on it.
    let (mut link_free, mut swap_used) = (0.0f64, 0u64);
    let mut r = Replay {
        completed: 0,
        steps: 0,
        makespan: 0.0,
        start: reqs.iter().map(|q| q.arrival).reduce(f64::min).unwrap_or(0.0),
        output_tokens: 0.0,
        total_tokens: 0.0,
        ttft: Vec::with_capacity(n),
        tpot: Vec::with_capacity(n),
        e2e: Vec::with_capacity(n),
        queue: Vec::with_capacity(n),
        itl: Vec::new(),
        concurrency_max: 0,
        in_system_time: 0.0,
        running_time: 0.0,
        running_max: 0,
        peak_blocks: 0,
        preemptions: 0,
        swaps: 0,
        loads: 0,
        load_time: 0.0,
        waiting_time: 0.0,
        time: StepTime::default(),
        timeline: timeline.then(Recorder::new),
        first_tokens: Vec::new(),
    };
    while (r.completed as usize) < n && r.steps < max_steps {
        // Arrivals that are ready join the queue.
        while next < released && reqs[next].ready <= now {
            reqs[next].phase = Phase::Waiting;
            waiting.push_back(next);
            next += 1;
        }
        // Prefilled arrivals join the decoding sequences in order, as slots and blocks allow
        // (a preempted one is recomputed here like any other).
        while let Some(&head) = waiting.front() {
            let q = &reqs[head];
            if q.computed < q.prompt || decoding + prefilling.len() as u64 >= max_seqs {
                break;
            }
            let need = if sched.kv_reserve_full {
                blocks_for(q.prompt + q.output - q.generated)
            } else {
                blocks_for(q.prompt)
            };
            if need > free {
                break;
            }
            waiting.pop_front();
            free -= need;
            let q = &mut reqs[head];
            q.blocks = need;
            q.scheduled = now;
            q.first_token = now;
            r.output_tokens += 1.0;
            if q.generated >= q.output {
                free += q.blocks;
                finish(q, now, &mut r);
                continue;
            }
            q.epoch += 1;
            order.push((head, q.epoch));
            q.phase = Phase::Decoding;
            q.joined = decoded;
            q.context0 = q.prompt + 1;
            decoding += 1;
            context_sum += q.context0;
            joined_sum += q.joined;
            buckets[bucket(q.joined, q.context0, block)] += 1;
            heap.push(Reverse((decoded + steps_for(q.output - q.generated), head, q.epoch)));
        }
        let in_system = (next as u64).saturating_sub(r.completed);
        r.concurrency_max = r.concurrency_max.max(in_system);
        let running = decoding + prefilling.len() as u64;
        if running == 0 && waiting.is_empty() {
            if next < released {
                // Idle until the next arrival is ready.
                let t = reqs[next].ready.max(now);
                if let Some(timeline) = r.timeline.as_mut() {
                    let kv_blocks = total_blocks.saturating_sub(free);
                    timeline.record(now - r.start, Sample { kv_blocks, running: 0, waiting: 0 });
                }
                r.in_system_time += in_system as f64 * (t - now);
                now = t;
                continue;
            }
            r.first_tokens = reqs.iter().map(|q| q.first_token).collect();
            return (r.completed > 0).then_some(r);
        }

        // --- Decide the step ---------------------------------------------------------------
        let mut shape = StepShape::default();
        let mut budget = max_tokens;
        let mut seqs = running;
        // Decodes need a new block every `block` tokens; preempt the newest when none is free.
        let mut decode_now = decoding > 0;
        let admissible = |q: &Request, free: u64, budget: u64, seqs: u64, empty_step: bool| -> Option<u64> {
            if seqs >= max_seqs {
                return None;
            }
            let remaining = q.prompt - q.computed;
            let chunk = if sched.chunked_prefill {
                remaining.min(budget)
            } else if remaining <= budget || empty_step {
                remaining
            } else {
                return None;
            };
            if chunk == 0 {
                return None;
            }
            let need = if sched.kv_reserve_full {
                blocks_for(q.prompt + q.output - q.generated)
            } else {
                blocks_for(q.computed + chunk)
            };
            (need <= free).then_some(chunk)
        };
        if !sched.mixed_batches && decode_now {
            // Prefill first: when a waiting request can start, the step is all prefill.
            if let Some(&head) = waiting.front()
                && admissible(&reqs[head], free, budget, seqs, true).is_some()
            {
                decode_now = false;
            }
        }
        if decode_now && !sched.kv_reserve_full {
            loop {
                let need = buckets[(decoded % block) as usize];
                if need <= free {
                    break;
                }
                let Some(victim) = pop_newest(&mut order, &reqs) else { break };
                r.preemptions += 1;
                let q = &mut reqs[victim];
                // KV tokens it holds now (none usable while its own copy is still running), and
                // the tokens it decoded since it joined.
                let (mut kept, mut advanced) = (0, 0);
                if q.phase == Phase::Decoding {
                    let context = q.context0 + (decoded - q.joined);
                    decoding -= 1;
                    context_sum -= context;
                    joined_sum -= q.joined;
                    buckets[bucket(q.joined, q.context0, block)] -= 1;
                    // With speculation a step wrote `per_step` tokens: the KV held and the
                    // tokens made since joining are counted in tokens, not steps.
                    let held_context = token_context(q, decoded);
                    advanced = held_context - q.context0;
                    kept = held_context.saturating_sub(1);
                    free += held(q, held_context, &blocks_for, false);
                } else {
                    prefilling.retain(|&i| i != victim);
                    if q.loaded_at.is_nan() || q.loaded_at <= now {
                        kept = q.computed;
                    }
                    free += q.blocks;
                }
                let swap = reuse
                    .swap_s_per_token
                    .filter(|_| kept > 0 && swap_used.saturating_add(kept) <= reuse.swap_capacity_tokens);
                if let Some(s_per_token) = swap {
                    // Swapped out: its KV waits in host memory and is copied back before it
                    // resumes; the decodes it made are kept.
                    if q.phase == Phase::Decoding {
                        q.generated = (q.generated + advanced).min(q.output);
                        q.prompt = q.input + q.generated;
                    }
                    q.computed = kept.min(q.prompt.saturating_sub(1));
                    q.load_s = q.computed as f64 * s_per_token;
                    q.swapped = q.computed;
                    swap_used += q.computed;
                    r.swaps += 1;
                } else {
                    if q.phase == Phase::Decoding {
                        q.prompt = q.input + q.generated;
                    }
                    q.computed = q.cached.min(q.prompt);
                    q.load_s = q.load_prefix_s;
                }
                q.loaded_at = f64::NAN;
                q.blocks = 0;
                q.epoch += 1;
                q.phase = Phase::Waiting;
                waiting.push_front(victim);
            }
            seqs = decoding + prefilling.len() as u64;
            decode_now = decoding > 0;
        }
        if decode_now {
            shape.decode_sequences = decoding as f64;
            // Context in tokens: each step since joining wrote `per_step` tokens, not one.
            shape.decode_context_tokens =
                context_sum as f64 + (per_step - 1.0) * (decoding * decoded - joined_sum) as f64;
            budget = budget.saturating_sub(decoding);
        }
        // Prefill chunks: continuing prompts first, then new admissions in arrival order.
        let mut chunks: Vec<(usize, u64)> = Vec::new();
        let mut blocks_taken: Vec<u64> = Vec::new();
        if sched.mixed_batches || !decode_now {
            for &i in &prefilling {
                if budget == 0 {
                    break;
                }
                let q = &reqs[i];
                if q.loaded_at > now {
                    continue;
                }
                let chunk = (q.prompt - q.computed).min(budget);
                let need =
                    if sched.kv_reserve_full { 0 } else { blocks_for(q.computed + chunk).saturating_sub(q.blocks) };
                if need > free {
                    break;
                }
                free -= need;
                budget -= chunk;
                chunks.push((i, chunk));
                blocks_taken.push(need);
            }
            while let Some(&head) = waiting.front() {
                if budget == 0 {
                    break;
                }
                let empty_step = shape.decode_sequences == 0.0 && chunks.is_empty();
                let Some(chunk) = admissible(&reqs[head], free, budget, seqs, empty_step) else { break };
                if reqs[head].load_s > 0.0 {
                    // Its blocks are taken now and its KV copied in on the host link (after the
                    // copies before it); it computes once the copy ends.
                    let q = &reqs[head];
                    let need = if sched.kv_reserve_full {
                        blocks_for(q.prompt + q.output - q.generated)
                    } else {
                        blocks_for(q.computed)
                    };
                    if need > free {
                        break;
                    }
                    waiting.pop_front();
                    let q = &mut reqs[head];
                    free -= need;
                    q.blocks = need;
                    if q.scheduled.is_nan() {
                        q.scheduled = now;
                    }
                    q.loaded_at = link_free.max(now) + q.load_s;
                    link_free = q.loaded_at;
                    r.loads += 1;
                    r.load_time += q.load_s;
                    q.load_s = 0.0;
                    swap_used -= q.swapped.min(swap_used);
                    q.swapped = 0;
                    q.phase = Phase::Prefilling;
                    q.epoch += 1;
                    order.push((head, q.epoch));
                    prefilling.push(head);
                    seqs += 1;
                    continue;
                }
                waiting.pop_front();
                let q = &mut reqs[head];
                let need = if sched.kv_reserve_full {
                    blocks_for(q.prompt + q.output - q.generated)
                } else {
                    blocks_for(q.computed + chunk)
                };
                free -= need.min(free);
                q.blocks = need;
                if q.scheduled.is_nan() {
                    q.scheduled = now;
                }
                q.phase = Phase::Prefilling;
                q.epoch += 1;
                order.push((head, q.epoch));
                prefilling.push(head);
                seqs += 1;
                budget = budget.saturating_sub(chunk);
                chunks.push((head, chunk));
            }
        }
        for (&(i, _), &need) in chunks.iter().zip(&blocks_taken) {
            reqs[i].blocks += need;
        }
        for &(i, chunk) in &chunks {
            let q = &reqs[i];
            shape.prefill_tokens += chunk as f64;
            shape.largest_prefill_chunk = shape.largest_prefill_chunk.max(chunk as f64);
            shape.prefill_attention_pairs += chunk as f64 * (q.computed as f64 + chunk as f64 / 2.0);
            if q.computed + chunk >= q.prompt {
                shape.prefill_completions += 1.0;
            }
        }
        if shape.decode_sequences == 0.0 && chunks.is_empty() {
            // Nothing can run: wait for an arrival or a copy to end, or give up if none will come.
            let copied =
                prefilling.iter().map(|&i| reqs[i].loaded_at).filter(|&t| t > now).fold(f64::INFINITY, f64::min);
            let arrival = if next < released { reqs[next].ready.max(now) } else { f64::INFINITY };
            if arrival.min(copied).is_finite() {
                let t = arrival.min(copied);
                if let Some(timeline) = r.timeline.as_mut() {
                    let kv_blocks = total_blocks.saturating_sub(free);
                    timeline.record(now - r.start, Sample { kv_blocks, running: 0, waiting: waiting.len() as u64 });
                }
                r.in_system_time += in_system as f64 * (t - now);
                r.waiting_time += if waiting.is_empty() { 0.0 } else { t - now };
                now = t;
                continue;
            }
            r.first_tokens = reqs.iter().map(|q| q.first_token).collect();
            return (r.completed > 0).then_some(r);
        }

        // --- Run it -------------------------------------------------------------------------
        let t = match speculative {
            Some(spec) => spec.time(model, &shape),
            None => model.time(&shape),
        };
        let dt = t.total().max(1e-9);
        r.time.gemm += t.gemm;
        r.time.attention += t.attention;
        r.time.communication += t.communication;
        r.time.overhead += t.overhead;
        r.time.expert_all_to_all += t.expert_all_to_all;
        r.steps += 1;
        let in_step = shape.decode_sequences as u64 + chunks.len() as u64;
        r.running_time += in_step as f64 * dt;
        r.running_max = r.running_max.max(in_step);
        r.in_system_time += in_system as f64 * dt;
        if !waiting.is_empty() {
            r.waiting_time += dt;
        }
        let started = now;
        now += dt;
        r.total_tokens += shape.prefill_tokens + shape.decode_sequences * per_step;

        // Decodes take the blocks of the tokens they write; then the step holds its most blocks
        // (before finished requests give theirs back): the peak, and the timeline's sample.
        if decode_now && !sched.kv_reserve_full {
            free -= buckets[(decoded % block) as usize].min(free);
            if per_step > 1.0 {
                extra_kv += decoding as f64 * (per_step - 1.0);
                let blocks = (extra_kv / block as f64).floor();
                extra_kv -= blocks * block as f64;
                free -= (blocks as u64).min(free);
            }
        }
        let in_use = total_blocks.saturating_sub(free);
        r.peak_blocks = r.peak_blocks.max(in_use);
        if let Some(timeline) = r.timeline.as_mut() {
            timeline.record(
                started - r.start,
                Sample { kv_blocks: in_use, running: in_step, waiting: waiting.len() as u64 },
            );
        }

        // Decodes: every decoding sequence got a token.
        if decode_now {
            r.itl.push((dt / per_step, decoding as f64 * per_step));
            decoded += 1;
            context_sum += decoding;
            r.output_tokens += decoding as f64 * per_step;
            while let Some(&Reverse((at, i, epoch))) = heap.peek() {
                if at > decoded {
                    break;
                }
                heap.pop();
                if reqs[i].epoch != epoch || reqs[i].phase != Phase::Decoding {
                    continue;
                }
                let q = &mut reqs[i];
                let context = q.context0 + (decoded - q.joined);
                decoding -= 1;
                context_sum -= context;
                joined_sum -= q.joined;
                buckets[bucket(q.joined, q.context0, block)] -= 1;
                // The last step yielded fewer tokens than `per_step`: count exactly the output.
                let remaining = q.output - q.generated;
                r.output_tokens -= steps_for(remaining) as f64 * per_step - remaining as f64;
                q.generated = q.output;
                free += held(q, token_context(q, decoded), &blocks_for, sched.kv_reserve_full);
                finish(q, now, &mut r);
                if let Some(c) = closed {
                    release_next(&mut reqs, &mut released, now, request_overhead, c);
                }
            }
        }
        // Prefills: prompts advance; completed ones sample their first token and start decoding.
        for &(i, chunk) in &chunks {
            let q = &mut reqs[i];
            q.computed += chunk;
            if q.computed < q.prompt {
                continue;
            }
            prefilling.retain(|&j| j != i);
            if q.first_token.is_nan() {
                q.first_token = now;
            }
            q.generated += 1;
            r.output_tokens += 1.0;
            if q.generated >= q.output {
                free += q.blocks;
                finish(q, now, &mut r);
                if let Some(c) = closed {
                    release_next(&mut reqs, &mut released, now, request_overhead, c);
                }
                continue;
            }
            q.phase = Phase::Decoding;
            q.joined = decoded;
            q.context0 = q.prompt + 1;
            if !sched.kv_reserve_full {
                // Blocks held cover the prompt; decode steps take the rest through the buckets.
                q.blocks = blocks_for(q.prompt);
            }
            decoding += 1;
            context_sum += q.context0;
            joined_sum += q.joined;
            buckets[bucket(q.joined, q.context0, block)] += 1;
            heap.push(Reverse((decoded + steps_for(q.output - q.generated), i, q.epoch)));
        }
        // Block credits never exceed the pool (a decode that found no block to take and no
        // sequence to preempt ran over it; the engine would have refused it instead).
        free = free.min(total_blocks);
    }
    r.makespan = now - r.start;
    r.first_tokens = reqs.iter().map(|q| q.first_token).collect();
    Some(r)
}

/// The bucket of a sequence that joined decoding at counter `joined` with `context0` tokens of
/// context: it writes token `context0 - 1 + k` at counter `joined + k`, and needs a new block
/// when that index is a multiple of the block size.
fn bucket(joined: u64, context0: u64, block: u64) -> usize {
    let offset = (context0.saturating_sub(1)) % block;
    ((joined % block + block - offset) % block) as usize
}

/// KV blocks a finishing or preempted decoding sequence gives back: its reservation, or the
/// blocks of the `context - 1` tokens it has written.
fn held(q: &Request, context: u64, blocks_for: &impl Fn(u64) -> u64, reserved: bool) -> u64 {
    if reserved { q.blocks } else { blocks_for(context.saturating_sub(1)).max(q.blocks) }
}

fn pop_newest(order: &mut Vec<(usize, u32)>, reqs: &[Request]) -> Option<usize> {
    while let Some((i, epoch)) = order.pop() {
        let q = &reqs[i];
        if q.epoch == epoch && matches!(q.phase, Phase::Decoding | Phase::Prefilling) {
            return Some(i);
        }
    }
    None
}

fn finish(q: &mut Request, now: f64, r: &mut Replay) {
    q.phase = Phase::Done;
    q.finish = now;
    r.completed += 1;
    r.ttft.push(q.first_token - q.arrival);
    r.e2e.push(now - q.arrival);
    r.queue.push(q.scheduled - q.arrival);
    if q.output > 1 {
        r.tpot.push((now - q.first_token) / (q.output - 1) as f64);
    }
}

/// A closed loop: the client whose request finished sends the next one now.
fn release_next(reqs: &mut [Request], released: &mut usize, now: f64, overhead: f64, _clients: u64) {
    if *released < reqs.len() {
        let q = &mut reqs[*released];
        q.arrival = now;
        q.ready = now + overhead;
        *released += 1;
    }
}

/// [`simulate`] (with the `detail` asked), plus the highest Poisson rate at which the
/// deployment is stable and meets `slo` ([`super::capacity::capacity`], the one definition
/// every door reads).
///
/// Whether a Poisson rate overloads the deployment is judged the one way the capacity judges
/// it, so that the two never contradict each other: a rate at or below the capacity found is
/// not overloaded; above it, a rate is overloaded when it exceeds the stable share of the
/// saturated throughput, or when the capacity search's own probe at that rate (its request
/// count and seed) finishes requests more slowly than they arrive. The replay of the request's
/// own count does not decide it: its throughput counts the final drain (the last requests in
/// service after arrivals stop), a share of the run that grows as the run shortens, so a short
/// replay of a stable rate reads as overloaded (then a `short-replay` warning says so).
pub fn simulate_with_slo(
    input: &InferenceInput<'_>,
    workload: &Workload,
    slo: Option<&Slo>,
    detail: Detail,
) -> ServingEstimate {
    use super::capacity::{self, STABLE_SHARE};
    let mut estimate = simulate_detailed(input, workload, detail);
    let found = slo.map(|slo| capacity::capacity(input, workload, Some(slo)));
    if let Arrival::Poisson { requests_per_s } = workload.arrival
        && estimate.fits
    {
        let saturated = found.map_or_else(|| capacity::saturated(input, workload), |c| c.offline_requests_per_s);
        let replicas = estimate.replicas.max(1);
        let probe_requests = capacity::probe_requests(workload.output_tokens.mean()).saturating_mul(replicas);
        let within = found.is_some_and(|c| requests_per_s <= c.requests_per_s);
        let above_saturated = requests_per_s > saturated * STABLE_SHARE;
        let own = estimate.regime == Regime::Overloaded;
        let probe = (!within && !above_saturated).then(|| {
            if workload.requests == probe_requests {
                (own, estimate.requests_per_s)
            } else {
                let quiet = InferenceInput { explain: false, ..*input };
                let replay = capacity::replay_at(&quiet, workload, Some(requests_per_s));
                (replay.regime == Regime::Overloaded, replay.requests_per_s)
            }
        });
        let probe_grows = probe.is_some_and(|p| p.0);
        let served = estimate.requests_per_s;
        let replayed = estimate.requests.saturating_mul(replicas);
        if !within && (above_saturated || probe_grows) {
            estimate.regime = Regime::Overloaded;
            if !own {
                estimate.warnings.push(Warning {
                    code: "overloaded",
                    message: if above_saturated {
                        format!(
                            "requests arrive at {requests_per_s:.3}/s, above {:.0}% of the {saturated:.3}/s this deployment serves saturated: the queue grows with the length of the run, whatever this replay of {replayed} requests shows",
                            STABLE_SHARE * 100.0,
                        )
                    } else {
                        format!(
                            "requests arrive at {requests_per_s:.3}/s but the capacity search's replay of {probe_requests} requests at this rate finishes them at {:.3}/s: the queue grows with the length of the run, whatever this replay of {replayed} requests shows",
                            probe.map_or(0.0, |p| p.1),
                        )
                    },
                });
            }
        } else if own {
            // A stable rate whose short replay ends in its drain: not overloaded, said so.
            estimate.regime = if estimate.waiting_share > 0.5 { Regime::Saturated } else { Regime::Stable };
            estimate.warnings.retain(|w| w.code != "overloaded");
            let why = match found {
                Some(c) if within => format!("at or below the capacity of {:.3}/s within the SLO", c.requests_per_s),
                _ => format!("stable on the capacity search's replay of {probe_requests} requests at this rate"),
            };
            estimate.warnings.push(Warning {
                code: "short-replay",
                message: format!(
                    "this replay of {replayed} requests finished them at {served:.3}/s against {requests_per_s:.3}/s offered because its last requests were still in service when arrivals stopped (a short run's drain, not a growing queue): the rate is {why}; replay more requests for a throughput closer to the rate offered"
                ),
            });
        }
    }
    let Some(capacity) = found else { return estimate };
    let mut trace = Trace::new(input.explain);
    trace.record(
        "serving.max_requests_per_s_within_slo",
        "the highest Poisson arrival rate (all replicas) at which a replay of probe_requests requests of the workload's lengths and seed is stable (finishes requests as fast as they arrive) and meets every SLO target, never above stable_share x the saturated request throughput (every request queued at time 0); found by geometric bisection, certified to hold at the rate and at 0.9 x and not at 1.2 x; bound_by_slo is 1 when a latency target limits it, 0 when the queue does",
        &[
            ("offline_requests_per_s", capacity.offline_requests_per_s),
            ("stable_share", STABLE_SHARE),
            ("probe_requests", capacity::probe_requests(workload.output_tokens.mean()) as f64 * estimate.replicas.max(1) as f64),
            ("bound_by_slo", if capacity.bound == capacity::Bound::Slo { 1.0 } else { 0.0 }),
        ],
        capacity.requests_per_s,
        "requests/s",
    );
    estimate.explain.extend(trace.finish().1);
    estimate.max_requests_per_s_within_slo = Some(capacity.requests_per_s);
    estimate.capacity = Some(capacity);
    if capacity.requests_per_s == 0.0 {
        estimate.warnings.push(Warning {
            code: "slo-unreachable",
            message: "no request rate meets the SLO on this deployment, not even an almost idle server".into(),
        });
    }
    estimate
}

#[cfg(test)]
mod percentile_tests {
    use proptest::prelude::*;

    use super::Percentiles;

    /// The definitions the selections must reproduce: sort, then read the rank (unweighted) or
    /// the first value whose running weight reaches the share (weighted).
    fn by_sorting(values: &[f64], weights: &[f64]) -> (Percentiles, Percentiles) {
        let mut plain = values.to_vec();
        plain.sort_by(f64::total_cmp);
        let n = plain.len();
        let rank = |q: f64| plain[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let unweighted = Percentiles { mean: 0.0, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99) };
        let mut pairs: Vec<(f64, f64)> = values.iter().copied().zip(weights.iter().copied()).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = pairs.iter().map(|p| p.1).sum();
        let at = |q: f64| {
            let mut seen = 0.0;
            pairs
                .iter()
                .find(|p| {
                    seen += p.1;
                    seen >= q * total
                })
                .map_or(pairs[pairs.len() - 1].0, |p| p.0)
        };
        (unweighted, Percentiles { mean: 0.0, p50: at(0.5), p90: at(0.9), p99: at(0.99) })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Integer weights keep every running sum exact, so the selections must agree with the
        /// sort exactly (values drawn from a few levels, as replays repeat step times).
        #[test]
        fn selection_matches_sorting(levels in prop::collection::vec((0u8..12, 1u8..9), 1..400)) {
            let values: Vec<f64> = levels.iter().map(|l| f64::from(l.0) * 0.25).collect();
            let weights: Vec<f64> = levels.iter().map(|l| f64::from(l.1)).collect();
            let (plain, weighted) = by_sorting(&values, &weights);
            let got = Percentiles::of(&mut values.clone());
            prop_assert_eq!((got.p50, got.p90, got.p99), (plain.p50, plain.p90, plain.p99));
            let mut pairs: Vec<(f64, f64)> = values.iter().copied().zip(weights.iter().copied()).collect();
            let got = Percentiles::weighted(&mut pairs);
            prop_assert_eq!((got.p50, got.p90, got.p99), (weighted.p50, weighted.p90, weighted.p99));
        }
    }
}

#[cfg(test)]
mod detail_tests {
    use super::{HISTOGRAM_BINS, Histogram, Recorder, Sample, TIMELINE_POINTS};

    #[test]
    fn a_histogram_covers_its_samples_on_log_bins() {
        let samples: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 1e-3).collect();
        let h = Histogram::log_spaced(&samples, HISTOGRAM_BINS);
        assert_eq!(h.counts.len(), HISTOGRAM_BINS);
        assert_eq!(h.edges.len(), HISTOGRAM_BINS + 1);
        assert_eq!(h.counts.iter().sum::<u64>(), 1000);
        assert_eq!((h.edges[0], h.edges[HISTOGRAM_BINS]), (1e-3, 1.0));
        // Log-spaced: every bin spans the same ratio (1000^(1/24)).
        let ratio = 1000f64.powf(1.0 / HISTOGRAM_BINS as f64);
        assert!(h.edges.windows(2).all(|w| (w[1] / w[0] - ratio).abs() < 1e-9), "{:?}", h.edges);
        // Each sample in the bin whose edges hold it (the last bin closed).
        for &x in &samples {
            let i = h.edges.windows(2).position(|w| x >= w[0] && x < w[1]).unwrap_or(HISTOGRAM_BINS - 1);
            assert!(h.counts[i] > 0, "{x}");
        }
        assert_eq!(h.counts[0], 1, "1 ms alone below 1000^(1/24) ms");
        // Equal samples: one widened range, every sample counted; none: no bins.
        let same = Histogram::log_spaced(&[0.5; 7], HISTOGRAM_BINS);
        assert_eq!(same.counts.iter().sum::<u64>(), 7);
        assert!(same.edges[0] < 0.5 && same.edges[HISTOGRAM_BINS] > 0.5);
        assert_eq!(Histogram::log_spaced(&[], HISTOGRAM_BINS), Histogram::default());
        let odd = Histogram::log_spaced(&[0.0, f64::NAN, 2.0, 3.0], HISTOGRAM_BINS);
        assert_eq!(odd.counts.iter().sum::<u64>(), 4);
        assert!(odd.edges.iter().all(|e| e.is_finite() && *e > 0.0));
    }

    #[test]
    fn a_timeline_keeps_each_buckets_peak_in_at_most_its_points() {
        let mut r = Recorder::new();
        // 10,000 steps of 1 ms; one spike of KV use and queue at step 4,321.
        for i in 0..10_000u64 {
            let spike = i == 4321;
            let sample =
                Sample { kv_blocks: if spike { 999 } else { i % 7 }, running: i % 5, waiting: u64::from(spike) * 50 };
            r.record(i as f64 * 1e-3, sample);
        }
        let t = r.finish(16);
        assert!(t.t_s.len() <= TIMELINE_POINTS && t.t_s.len() > TIMELINE_POINTS / 2, "{}", t.t_s.len());
        assert!(t.t_s.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(t.kv_used_tokens.iter().max(), Some(&(999 * 16)));
        assert_eq!(t.waiting.iter().max(), Some(&50));
        assert_eq!(t.running.iter().max(), Some(&4));
        // The spike sits in the bucket that holds its time.
        let at = t.kv_used_tokens.iter().position(|&k| k == 999 * 16).unwrap();
        assert!(t.t_s[at] <= 4.321 && 4.321 < t.t_s[at] + t.bucket_s);
        assert_eq!(t.kv_used_tokens.len(), t.running.len());
        assert_eq!(t.waiting.len(), t.t_s.len());
    }
}
