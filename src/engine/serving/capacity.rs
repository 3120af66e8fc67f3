//! Capacity: the one definition of how much load a deployment carries.
//!
//! Every door that asks "how many requests per second can this serve?" or "does it hold at the
//! forecast rate?" reads this module: `max_requests_per_s_within_slo` of a serving answer, the
//! request-rate and latency rules of a check, and the planner's feasibility and replica count.
//! It owns three things and nothing else:
//!
//! - [`probe`]: the workload a load is judged on: the workload's lengths, prefix-cache share and
//!   seed, Poisson arrivals at the rate asked, and a bounded number of requests per replica.
//! - [`holds`]: whether a replay at a rate is acceptable: every request fits and finishes, the
//!   queue does not grow with the run, and every SLO target is met.
//! - [`capacity`]: the highest Poisson rate that holds, never above the saturated (offline)
//!   request throughput times [`STABLE_SHARE`].
//!
//! Why the offline throughput bounds stability: under continuous batching a replica serves
//! fastest when its batch is full, which is what an offline run measures. An arrival rate above
//! it is unstable whatever a short probe shows (the queue simply has not built up yet within a
//! few hundred requests), so the bound is applied before any replay is judged. Below it the
//! replay's own regime and latencies decide.
//!
//! The search is a geometric bisection, then a certification: the capacity `c` it returns
//! holds at `c` and at `0.9 c`, and does not hold at `1.2 c`, on the same probe (a replay is
//! deterministic in its seed, but latency is not strictly monotone in the rate, so a bisection
//! alone cannot promise both).

use super::simulate::{MAX_STEPS_IN_SEARCH, Regime, ServingEstimate, Slo, simulate_bounded};
use super::workload::{Arrival, Workload};
use crate::engine::inference::InferenceInput;

/// Share of the saturated (offline) request throughput above which an arrival rate counts as
/// unstable. Not a calibration: the definition keeps a 5% margin because a finite offline
/// replay (ramp-up and drain included) measures the saturated rate to within a few percent, and
/// a queue at 100% utilisation grows without bound.
pub const STABLE_SHARE: f64 = 0.95;

/// Most requests per replica in a probe: enough for a p99.
pub const PROBE_REQUESTS: u64 = 500;

/// Output tokens per replica a probe may generate in all, so long outputs take fewer requests:
/// an almost idle server decodes one sequence per step, and the probe must still finish within
/// [`MAX_STEPS_IN_SEARCH`] steps.
const PROBE_OUTPUT_TOKENS: f64 = 2e5;

/// Lowest rate tried, as a share of the offline throughput.
const LOWEST_SHARE: f64 = 1e-3;

/// Bisection steps (a ratio of 1000 narrowed to under 0.2%).
const BISECTION_STEPS: u32 = 12;

/// Certification rounds after the bisection.
const CERTIFICATION_ROUNDS: u32 = 4;

/// What limits a capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The queue: above this rate it grows with the run (or the rate nears the offline
    /// throughput).
    Stability,
    /// A latency target of the SLO.
    Slo,
    /// Nothing holds, not even an almost idle server (a request does not fit, or the SLO is
    /// out of reach at any load).
    Unreachable,
}

impl Bound {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Stability => "stability",
            Bound::Slo => "slo",
            Bound::Unreachable => "unreachable",
        }
    }
}

/// The load a deployment carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// Highest Poisson arrival rate, all replicas, at which the deployment is stable and meets
    /// every SLO target; 0 when none does.
    pub requests_per_s: f64,
    /// Saturated request throughput, all replicas (every request queued at time 0).
    pub offline_requests_per_s: f64,
    /// What limits it.
    pub bound: Bound,
}

/// Requests per replica a probe replays for a workload whose outputs average `mean_output`
/// tokens.
pub fn probe_requests(mean_output: f64) -> u64 {
    (PROBE_OUTPUT_TOKENS / mean_output.max(1.0)).clamp(50.0, PROBE_REQUESTS as f64) as u64
}

/// The workload a load is judged on: `workload`'s lengths, prefix-cache share and seed, with
/// Poisson arrivals at `requests_per_s` (all replicas), or one request alone when `None` (an
/// unloaded server), and [`probe_requests`] requests per replica.
pub fn probe(workload: &Workload, replicas: u64, requests_per_s: Option<f64>) -> Workload {
    let replicas = replicas.max(1);
    match requests_per_s {
        Some(rate) => Workload {
            arrival: Arrival::Poisson { requests_per_s: rate },
            requests: probe_requests(workload.output_tokens.mean()).saturating_mul(replicas),
            ..workload.clone()
        },
        None => Workload { arrival: Arrival::Offline, requests: 1, ..workload.clone() },
    }
}

/// The replay of `input` under [`probe`] at `requests_per_s` (bounded like every search replay).
pub fn replay_at(input: &InferenceInput<'_>, workload: &Workload, requests_per_s: Option<f64>) -> ServingEstimate {
    let replicas = u64::from(input.parallelism.data.max(1));
    simulate_bounded(input, &probe(workload, replicas, requests_per_s), MAX_STEPS_IN_SEARCH)
}

/// Whether a replay is an acceptable way to run: every request fits and finishes, the queue
/// does not grow with the run, and every target of `slo` is met.
pub fn holds(replay: &ServingEstimate, slo: Option<&Slo>) -> bool {
    replay.fits
        && replay.completed > 0
        && replay.completed == replay.requests
        && replay.regime != Regime::Overloaded
        && slo.is_none_or(|s| s.met_by(replay))
}

/// The saturated request throughput, all replicas: the probe's requests all queued at time 0
/// (0 when a request does not fit or the replay cannot finish).
pub fn saturated(input: &InferenceInput<'_>, workload: &Workload) -> f64 {
    let quiet = InferenceInput { explain: false, ..*input };
    let replicas = u64::from(input.parallelism.data.max(1));
    let offline_workload = Workload { arrival: Arrival::Offline, ..probe(workload, replicas, Some(1.0)) };
    let offline = simulate_bounded(&quiet, &offline_workload, MAX_STEPS_IN_SEARCH);
    if offline.fits && offline.completed == offline.requests { offline.requests_per_s } else { 0.0 }
}

impl Capacity {
    /// The capacity of `replicas` replicas of this one: each takes `1 / replicas` of the load
    /// (as the replay splits it), so every rate scales.
    pub fn scaled(self, replicas: u64) -> Self {
        let r = replicas.max(1) as f64;
        Self {
            requests_per_s: self.requests_per_s * r,
            offline_requests_per_s: self.offline_requests_per_s * r,
            ..self
        }
    }
}

/// The highest Poisson rate at which `input` holds (see [`holds`]) on `workload`'s lengths,
/// never above [`STABLE_SHARE`] of the offline request throughput. With several replicas, one
/// replica's capacity times the replicas (the replay gives each an equal share of the load).
pub fn capacity(input: &InferenceInput<'_>, workload: &Workload, slo: Option<&Slo>) -> Capacity {
    let replicas = input.parallelism.data.max(1);
    if replicas > 1 {
        let one = InferenceInput {
            parallelism: crate::engine::parallelism::Parallelism { data: 1, ..input.parallelism },
            ..*input
        };
        return capacity(&one, workload, slo).scaled(u64::from(replicas));
    }
    let quiet = InferenceInput { explain: false, ..*input };
    let saturated = saturated(&quiet, workload);
    search(saturated, slo.is_some(), |rate, with_slo| {
        judge(&quiet, workload, if with_slo { slo } else { None }, rate, saturated).0
    })
}

/// The search behind [`capacity`], for any deployment whose saturated request throughput is
/// `saturated` and whose judgement at a rate is `ok(rate, with_slo)` (the SLO's targets
/// counted or not): a disaggregated pair uses it with its own replay.
pub fn search(saturated: f64, slo_given: bool, ok: impl Fn(f64, bool) -> bool) -> Capacity {
    let ceiling = saturated * STABLE_SHARE;
    let ok_slo = |rate: f64| ok(rate, true);
    let unreachable = Capacity { requests_per_s: 0.0, offline_requests_per_s: saturated, bound: Bound::Unreachable };
    let lowest = ceiling * LOWEST_SHARE;
    if !ceiling.is_finite() || ceiling <= 0.0 || !ok_slo(lowest) {
        return unreachable;
    }
    let bisect = |mut lo: f64, mut hi: f64| {
        for _ in 0..BISECTION_STEPS {
            if hi <= lo * 1.001 {
                break;
            }
            let mid = (lo * hi).sqrt();
            if ok_slo(mid) { lo = mid } else { hi = mid }
        }
        lo
    };
    let mut best = if ok_slo(ceiling) { ceiling } else { bisect(lowest, ceiling) };
    // Certification: holds at 0.9 x and not at 1.2 x on the same probe, or search again.
    for _ in 0..CERTIFICATION_ROUNDS {
        if !ok_slo(0.9 * best) {
            if 0.9 * best <= lowest {
                return unreachable;
            }
            best = bisect(lowest, 0.9 * best);
        } else if best * 1.2 <= ceiling && ok_slo(1.2 * best) {
            let above = 1.2 * best;
            best = if ok_slo(ceiling) { ceiling } else { bisect(above, ceiling) };
        } else {
            break;
        }
    }
    let bound = if slo_given && best < ceiling * 0.999 {
        // Below the ceiling something other than the offline bound failed: a latency target,
        // or the replay's own queue growth (reported as stability when there is no SLO).
        if ok(best * 1.2, false) { Bound::Slo } else { Bound::Stability }
    } else {
        Bound::Stability
    };
    Capacity { requests_per_s: best, offline_requests_per_s: saturated, bound }
}

/// Whether `input` holds at `requests_per_s` (all replicas) on `workload`'s lengths: the test
/// [`capacity`] searches with, for a given rate. Returns the replay it judged.
pub fn judge(
    input: &InferenceInput<'_>,
    workload: &Workload,
    slo: Option<&Slo>,
    requests_per_s: f64,
    offline_requests_per_s: f64,
) -> (bool, ServingEstimate) {
    let quiet = InferenceInput { explain: false, ..*input };
    let replay = replay_at(&quiet, workload, Some(requests_per_s));
    let ok = requests_per_s > 0.0 && requests_per_s <= offline_requests_per_s * STABLE_SHARE && holds(&replay, slo);
    (ok, replay)
}

/// The engine's profile with `max_num_seqs` concurrent sequences per replica as its scheduler's
/// limit: what a deployment's batch size means under continuous batching (the limit as given,
/// not tuned from the dataset, not per pipeline micro-batch). `None` keeps the engine's own.
pub fn with_sequence_limit(
    profile: &crate::engine::profile::EngineProfile,
    max_num_seqs: Option<u64>,
) -> crate::engine::profile::EngineProfile {
    let mut profile = profile.clone();
    if let Some(seqs) = max_num_seqs {
        profile.scheduler.max_num_seqs = seqs.max(1);
        profile.scheduler.seqs_per_micro_batch = false;
        profile.scheduler.tuned_limits = false;
    }
    profile
}

/// A workload of fixed lengths (no prefix cache, seed 0): what a check or a plan describes.
pub fn fixed_lengths(input_tokens: u64, output_tokens: u64) -> Workload {
    use super::workload::Lengths;
    Workload {
        arrival: Arrival::Offline,
        input_tokens: Lengths::Fixed(input_tokens),
        output_tokens: Lengths::Fixed(output_tokens.max(1)),
        requests: 1,
        prefix_cache_hit_rate: 0.0,
        prefix: None,
        seed: 0,
    }
}

/// A deployment judged under a load: its capacity and the replay at the rate asked.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The capacity within the SLO.
    pub capacity: Capacity,
    /// The replay at the rate asked, or of one request alone when no rate was given.
    pub replay: ServingEstimate,
    /// Whether the deployment holds at that rate (stable, every target met); with no rate,
    /// whether the one request meets the SLO.
    pub holds: bool,
}

/// The one judgement of a deployment under load that the check and the planner share:
/// [`capacity`] within `slo`, and [`judge`] at `requests_per_s` (all replicas).
pub fn assess(
    input: &InferenceInput<'_>,
    workload: &Workload,
    slo: Option<&Slo>,
    requests_per_s: Option<f64>,
) -> Assessment {
    assess_with(input, workload, slo, requests_per_s, capacity(input, workload, slo))
}

/// [`assess`] with the capacity already found (one replica's [`capacity`], scaled to
/// `input`'s replicas): the planner searches it once per configuration, then tries replica
/// counts.
pub fn assess_with(
    input: &InferenceInput<'_>,
    workload: &Workload,
    slo: Option<&Slo>,
    requests_per_s: Option<f64>,
    capacity: Capacity,
) -> Assessment {
    let (holds_at_rate, replay) = match requests_per_s {
        Some(rate) => judge(input, workload, slo, rate, capacity.offline_requests_per_s),
        None => {
            let quiet = InferenceInput { explain: false, ..*input };
            let replay = replay_at(&quiet, workload, None);
            (holds(&replay, slo), replay)
        }
    };
    Assessment { capacity, replay, holds: holds_at_rate }
}
