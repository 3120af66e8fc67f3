//! A plan's disaggregated rows (`search.disaggregated`): the best colocated configurations
//! split into a prefill pool and a decode pool, sized xPyD.
//!
//! For each of the best few configurations (distinct model, device, format, engine, layout),
//! each pair of pool devices and each ratio of prefill to decode replicas (one pair per
//! ratio, at its smallest), the planner finds the unit's capacity within the requirements'
//! latency limits, repeats the unit until it reaches the target rate (a disaggregated replay
//! replays one replica of each pool at its share of the rate, so k units carry k times one
//! unit's rate), ranks the pairs by the objective, and judges the best with
//! [`check::check_disaggregated`], the call `POST /v1/check` makes for a deployment with
//! `disaggregation`: a row's verdict, latencies, capacity and pools are the check's and
//! `POST /v1/estimate/serving`'s for the same pools. A unit that misses the target once
//! repeated is given one more unit before it is dropped.

use rayon::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::{PlanCost, PlanLatency, PlanScenario};
use crate::answer::check;
use crate::answer::disaggregation::DisaggregationAnswer;
use crate::answer::{Context, finite};
use crate::engine::inference::Batch;
use crate::plan::rules::Requirements;
use crate::plan::search::{Candidate, Objective};
use crate::scenario::Error;
use crate::scenario::disaggregation::{DisaggregatedScenario, holds_one_request};
use crate::scenario::inference::InferenceScenario;
use crate::scenario::plan::{PoolDevice, PoolSearch};

/// Most disaggregated rows a plan lists (each is judged with a capacity search and a replay).
pub const MAX_ROWS: usize = 10;

/// Pairs judged beyond the rows listed, to take the places of those that break a rule.
const SPARE_JUDGED: usize = 4;

/// A disaggregated configuration of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolConfigBody {
    /// Model id.
    pub model: String,
    /// Weight format.
    pub weights: &'static str,
    /// KV-cache format.
    pub kv_cache: &'static str,
    /// Engine.
    pub engine: &'static str,
    /// The pools as published disaggregated results name them: `{x}P{y}D`, x prefill and y
    /// decode replicas (each replica the layout in `disaggregation.prefill.parallelism` and
    /// `disaggregation.decode.parallelism`).
    #[schema(example = "2P1D")]
    pub xpyd: String,
    /// Times the smallest unit of this ratio is repeated to reach the target rate.
    pub units: u64,
    /// Devices of both pools.
    pub devices: u64,
    /// What `POST /v1/check` says of these pools with the plan's requirements at the plan's
    /// rate: `pass`, or `at_risk`.
    pub verdict: &'static str,
    /// The highest Poisson rate both pools hold within the requirements' latency limits,
    /// requests/s (`max_requests_per_s_within_slo` of `POST /v1/estimate/serving` with this
    /// `disaggregation`).
    pub max_requests_per_s_within_slo: f64,
    /// Mean latencies of the replay at the plan's rate (of one request alone without a rate);
    /// TTFT includes the prefill, the KV transfer and the wait for a decode slot.
    pub latency: PlanLatency,
    /// Output tokens per second at capacity and the share the target uses.
    pub throughput: PoolThroughput,
    /// What both pools cost.
    pub cost: PlanCost,
    /// Each pool's devices, layout, the rate it carries in the replay, its utilization and
    /// tokens per second per device, and the KV transfer: the section
    /// `POST /v1/estimate/serving` answers for the same pools.
    pub disaggregation: DisaggregationAnswer,
}

/// A disaggregated row's throughput.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolThroughput {
    /// Output tokens per second at the capacity within the latency limits, both pools.
    pub output_tokens_per_s: f64,
    /// The same per device of both pools.
    pub output_tokens_per_s_per_device: f64,
    /// Share of that capacity the target rate uses (1 without a target).
    pub utilization: f64,
}

/// One pool pair tried: a base configuration's layout on two devices, at one ratio.
struct Trial {
    base: usize,
    prefill: InferenceScenario,
    decode: InferenceScenario,
    ratio: (u32, u32),
}

/// A trial sized to the target: its units and what they are expected to cost.
struct Sized {
    trial: usize,
    units: u64,
    unit_capacity: f64,
    usd_per_hour: Option<f64>,
}

/// A judged row and its ranking figures.
struct Judged {
    row: PoolConfigBody,
    key: f64,
}

/// What the pool search reports besides its rows.
#[derive(Debug, Default)]
pub struct PoolNotes {
    /// Pool pairs tried.
    pub tried: usize,
    /// Pairs one of whose pools cannot hold the weights and one request.
    pub unfit: usize,
    /// Pairs with no rate within the latency limits.
    pub unreachable: usize,
    /// Pairs needing more replicas than the plan allows.
    pub too_many_replicas: usize,
    /// Pairs judged and dropped because they still broke a rule at the target.
    pub broken: usize,
}

/// The planner's disaggregated rows, best first, at most `keep`.
pub fn rows(
    ctx: &Context,
    r: &PlanScenario,
    search: &PoolSearch,
    ranked: &[Candidate],
    scenario_of: &dyn Fn(&Candidate) -> Result<InferenceScenario, Error>,
) -> Result<(Vec<PoolConfigBody>, PoolNotes), Error> {
    let mut notes = PoolNotes::default();
    let bases = bases(r, ranked, search.configurations, scenario_of)?;
    let scenarios: Vec<&InferenceScenario> = bases.iter().map(|b| &b.scenario).collect();
    let longest = (r.workload.input_tokens, r.workload.output_tokens.max(1));
    let mut trials = Vec::new();
    for (b, base) in scenarios.iter().enumerate() {
        let own = [PoolDevice { device: base.device.clone(), cost: base.cost.clone() }];
        let prefill = if search.prefill_hardware.is_empty() { &own[..] } else { &search.prefill_hardware };
        let decode = if search.decode_hardware.is_empty() { &own[..] } else { &search.decode_hardware };
        for pd in prefill {
            for dd in decode {
                let (p, d) = (on(base, pd, 1), on(base, dd, 1));
                if !holds_one_request(&p, true, longest) || !holds_one_request(&d, false, longest) {
                    notes.unfit += search.ratios.len();
                    continue;
                }
                for &ratio in &search.ratios {
                    trials.push(Trial {
                        base: b,
                        prefill: on(base, pd, ratio.0),
                        decode: on(base, dd, ratio.1),
                        ratio,
                    });
                }
            }
        }
    }
    notes.tried = trials.len() + notes.unfit;
    let target = r.requirements.forecast_requests_per_s.or(r.workload.requests_per_s).filter(|t| *t > 0.0);
    let unit_requirements = Requirements { forecast_requests_per_s: None, min_requests_per_s: None, ..r.requirements };
    // One capacity search per trial, in parallel: the bulk of the work.
    let capacities: Vec<f64> = trials
        .par_iter()
        .map(|t| {
            let pools = pools(t, 1, search);
            check::assess_disaggregated(scenarios[t.base], &pools, &unit_requirements).0.capacity.requests_per_s
        })
        .collect();
    let mut sized = Vec::new();
    for (i, (t, &capacity)) in trials.iter().zip(&capacities).enumerate() {
        if capacity <= 0.0 || capacity.is_nan() {
            notes.unreachable += 1;
            continue;
        }
        let units = target.map_or(1, |rate| (rate / capacity).ceil().max(1.0) as u64);
        if units.saturating_mul(u64::from(t.ratio.0.max(t.ratio.1))) > r.limits.max_replicas {
            notes.too_many_replicas += 1;
            continue;
        }
        let usd_per_hour = pools(t, units, search).usd_per_hour();
        sized.push(Sized { trial: i, units, unit_capacity: capacity, usd_per_hour });
    }
    // The closed-form ranking: cost at the target (or at capacity), then devices.
    let output = r.workload.output_tokens.max(1) as f64;
    let served = |s: &Sized| target.unwrap_or(s.unit_capacity) * output;
    let devices = |s: &Sized| {
        let t = &trials[s.trial];
        s.units * (t.prefill.parallelism.devices() + t.decode.parallelism.devices())
    };
    let estimate = |s: &Sized| match r.objective.engine() {
        Objective::Devices => devices(s) as f64,
        Objective::UsdPerHour => s.usd_per_hour.unwrap_or(f64::INFINITY),
        _ => s.usd_per_hour.map_or(f64::INFINITY, |usd| usd / served(s)),
    };
    sized.sort_by(|a, b| estimate(a).total_cmp(&estimate(b)).then(devices(a).cmp(&devices(b))));
    // The best are judged as the check judges them; a unit short of the target once repeated
    // gets one more.
    let keep = r.limits.keep.min(MAX_ROWS);
    let requirements = Requirements {
        forecast_requests_per_s: r.requirements.forecast_requests_per_s.or(r.workload.requests_per_s),
        ..r.requirements
    };
    let judged: Vec<Option<Judged>> = sized
        .par_iter()
        .take(keep + SPARE_JUDGED)
        .map(|s| {
            let t = &trials[s.trial];
            let mut last = None;
            for units in [s.units, s.units + 1].into_iter().take(if target.is_some() { 2 } else { 1 }) {
                let j = judge(ctx, r, &bases[t.base], t, units, search, &requirements);
                let pass = j.row.verdict != "fail";
                last = Some(j);
                if pass {
                    break;
                }
            }
            last.filter(|j| j.row.verdict != "fail")
        })
        .collect();
    notes.broken = judged.iter().filter(|j| j.is_none()).count();
    let mut rows: Vec<Judged> = judged.into_iter().flatten().collect();
    rows.sort_by(|a, b| a.key.total_cmp(&b.key).then(a.row.devices.cmp(&b.row.devices)));
    Ok((rows.into_iter().take(keep).map(|j| j.row).collect(), notes))
}

/// A base configuration: a colocated row's scenario, one replica scheduling up to the
/// engine's own sequence limit, and its ids.
struct Base {
    scenario: InferenceScenario,
    weights: &'static str,
    kv_cache: &'static str,
    engine: &'static str,
}

/// The best distinct colocated rows (model, device, format, engine, layout, speculation).
fn bases(
    r: &PlanScenario,
    ranked: &[Candidate],
    count: usize,
    scenario_of: &dyn Fn(&Candidate) -> Result<InferenceScenario, Error>,
) -> Result<Vec<Base>, Error> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for c in ranked {
        let ch = &c.choice;
        let key = (ch.model, ch.hardware, ch.format, ch.engine, ch.tensor, ch.pipeline, ch.expert, ch.speculation);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let mut scenario = scenario_of(c)?;
        scenario.parallelism.data = 1;
        scenario.batch = Batch::Max;
        let (weights, kv_cache, _, _) = &r.formats[ch.format];
        out.push(Base {
            scenario,
            weights: weights.as_str(),
            kv_cache: kv_cache.as_str(),
            engine: r.engines[ch.engine].as_str(),
        });
        if out.len() == count {
            break;
        }
    }
    Ok(out)
}

/// `base`'s layout on `device`, `replicas` of it.
fn on(base: &InferenceScenario, device: &PoolDevice, replicas: u32) -> InferenceScenario {
    let mut s = base.clone();
    s.device = device.device.clone();
    s.cost = device.cost.clone();
    s.parallelism.data = replicas;
    s
}

/// The trial's pools with `units` units.
fn pools(t: &Trial, units: u64, search: &PoolSearch) -> DisaggregatedScenario {
    let scale = |s: &InferenceScenario, n: u32| {
        let mut s = s.clone();
        s.parallelism.data = u32::try_from(u64::from(n).saturating_mul(units)).unwrap_or(u32::MAX);
        s
    };
    DisaggregatedScenario {
        prefill: Some(scale(&t.prefill, t.ratio.0)),
        decode: scale(&t.decode, t.ratio.1),
        network: search.network.clone(),
    }
}

/// Judges a trial at `units` units with the check's call, and shapes its row.
fn judge(
    ctx: &Context,
    r: &PlanScenario,
    base: &Base,
    t: &Trial,
    units: u64,
    search: &PoolSearch,
    requirements: &Requirements,
) -> Judged {
    let pools = pools(t, units, search);
    let (checked, replay) = check::check_disaggregated(ctx, &base.scenario, &pools, requirements);
    let under = checked.under_load.as_ref();
    let capacity = under.map_or(0.0, |u| u.capacity_requests_per_s);
    let output = r.workload.output_tokens.max(1) as f64;
    let devices = pools.devices();
    let usd_per_hour = pools.usd_per_hour();
    let rate = requirements.load_rate();
    let served = match rate {
        Some(_) => replay.serving.output_tokens_per_s,
        None => capacity * output,
    };
    let usd_per_million = usd_per_hour.filter(|_| served > 0.0).map(|usd| usd / (served * 3600.0) * 1e6);
    let s = &replay.serving;
    let latency = PlanLatency {
        ttft_ms: finite(s.ttft.mean * 1e3),
        tpot_ms: finite(s.tpot.mean * 1e3),
        e2e_ms: finite(s.e2e.mean * 1e3),
    };
    let key = match r.objective.engine() {
        Objective::Latency => s.e2e.mean,
        Objective::Ttft => s.ttft.mean,
        Objective::Tpot => s.tpot.mean,
        Objective::Devices => devices as f64,
        Objective::UsdPerHour => usd_per_hour.unwrap_or(f64::INFINITY),
        _ => usd_per_million.unwrap_or(f64::INFINITY),
    };
    let row = PoolConfigBody {
        model: base.scenario.model.id.clone(),
        weights: base.weights,
        kv_cache: base.kv_cache,
        engine: base.engine,
        xpyd: format!("{}P{}D", u64::from(t.ratio.0) * units, u64::from(t.ratio.1) * units),
        units,
        devices,
        verdict: checked.verdict,
        max_requests_per_s_within_slo: finite(capacity),
        latency,
        throughput: PoolThroughput {
            output_tokens_per_s: finite(capacity * output),
            output_tokens_per_s_per_device: finite(capacity * output / devices.max(1) as f64),
            utilization: finite(rate.map_or(1.0, |rate| if capacity > 0.0 { rate / capacity } else { 0.0 })),
        },
        cost: PlanCost {
            usd_per_hour: usd_per_hour.map(finite),
            usd_per_million_output_tokens: usd_per_million.map(finite),
            basis: pools.decode.cost.basis.basis,
        },
        disaggregation: DisaggregationAnswer::of(&pools, &replay),
    };
    Judged { row, key }
}
