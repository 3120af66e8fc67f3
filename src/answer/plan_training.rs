//! `POST /v1/plan/training`: the fewest devices to finish a training run by a deadline, the
//! cheapest within a budget, or the fastest.
//!
//! The request is a training run (as for `POST /v1/estimate/training`) used as a template, and a
//! search over device kinds, device counts and tensor / pipeline degrees; data parallelism takes
//! the devices left over. Each candidate runs through the same parsing and engine as a single
//! estimate (so every layout rule applies: a layout the run cannot take is rejected as
//! `invalid_layout`), in parallel. Training spaces are small (hundreds to tens of thousands), so
//! this path keeps the full estimate per candidate rather than the allocation-free hot loop of
//! the inference planner.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::check::{self, CheckResponse};
use super::plan::{RejectionBody, device_filter, list};
use super::{Context, finite};
use crate::catalog::hardware::Kind;
use crate::engine::training;
use crate::plan::rules::{self, Observed, Rule};
use crate::scenario::layout::Degrees;
use crate::scenario::range::{self, Checks};
use crate::scenario::requirements::RequirementsBody;
use crate::scenario::resolve::{self, HardwareRef, ResolvedDevice};
use crate::scenario::training::{TrainingRequest, TrainingScenario, TrainingSpec};
use crate::scenario::{Assumptions, Error};

/// Most candidates one training plan evaluates.
const MAX_CANDIDATES: usize = 50_000;

/// Where to search.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingSearchBody {
    /// Device ids or aliases (default: the catalog's GPUs, TPUs and accelerators, narrowed by
    /// the filters below).
    pub hardware: Option<Vec<String>>,
    /// Only devices of this vendor.
    pub vendor: Option<String>,
    /// Only devices of this kind.
    pub kind: Option<Kind>,
    /// Only devices with at least this much memory, GiB.
    pub min_memory_gib: Option<f64>,
    /// Device counts (default 8, 16, 32, ..., 8192).
    pub devices: Option<Vec<u32>>,
    /// Tensor-parallel degrees (default 1, 2, 4, 8).
    pub tensor: Option<Vec<u32>>,
    /// Pipeline-parallel degrees (default 1, 2, 4, 8).
    pub pipeline: Option<Vec<u32>>,
}

crate::scenario::display_as_wire!(TrainingObjective);

/// What to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingObjective {
    /// Fewest devices (with `max_days`: the fewest that finish by the deadline).
    #[default]
    Devices,
    /// Cheapest run (with `max_usd`: the cheapest within the budget).
    Usd,
    /// Shortest wall-clock time.
    Days,
}

/// A training planning question.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "training": {"model": "llama-2-7b", "hardware": "nvidia-h100-sxm-80gb", "tokens": 2e12, "sequence_length": 4096,
                 "sharding": "zero1", "activation_checkpointing": "selective", "engine": "megatron"},
    "search": {"hardware": ["nvidia-h100-sxm-80gb", "nvidia-a100-sxm4-80gb"], "devices": [64, 128, 256, 512, 1024]},
    "requirements": {"max_days": 30},
    "objective": "devices",
    "limit": 3
}))]
pub struct TrainingPlanRequest {
    /// The run; its `hardware`, `devices` and parallel degrees are what the search varies.
    #[serde(deserialize_with = "crate::wire::object")]
    pub training: TrainingRequest,
    /// The search space.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub search: Option<TrainingSearchBody>,
    /// Limits (`max_days`, `max_usd`, `max_devices`, `memory_headroom_fraction`).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub requirements: Option<RequirementsBody>,
    /// What to rank by (default devices).
    pub objective: Option<TrainingObjective>,
    /// Ranked layouts to return, 1 to 100 (default 10).
    pub limit: Option<usize>,
}

/// One layout of the answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingConfigBody {
    /// Device id.
    pub hardware: String,
    /// Devices in all.
    pub devices: u64,
    /// Tensor-parallel degree.
    pub tensor: u32,
    /// Pipeline-parallel degree.
    pub pipeline: u32,
    /// Data-parallel ranks.
    pub data: u32,
    /// Wall-clock days.
    pub days: f64,
    /// Device-hours.
    pub gpu_hours: f64,
    /// USD for the run (null without a price).
    pub usd: Option<f64>,
    /// Model FLOPs utilisation.
    pub mfu: f64,
    /// Memory per device, bytes.
    pub memory_per_device_bytes: f64,
}

/// The training planner's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingPlanResponse {
    /// Layouts in the search space (before divisibility).
    pub search_space: u64,
    /// Layouts evaluated (device counts that the degrees divide).
    pub evaluated: u64,
    /// Layouts meeting every requirement.
    pub feasible: u64,
    /// The ranking objective.
    pub objective: TrainingObjective,
    /// The best layouts, best first.
    pub ranked: Vec<TrainingConfigBody>,
    /// The best layout of each device kind, best first.
    pub best_per_hardware: Vec<TrainingConfigBody>,
    /// Why the others were rejected.
    pub rejected: Vec<RejectionBody>,
    /// The best layout's full estimate and check (absent when none is feasible).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best: Option<Box<CheckResponse>>,
    /// The defaults the planner applied (the best layout's own are in `best`).
    pub assumptions: Vec<crate::scenario::Assumption>,
}

/// The devices to search: the listed ids, or the catalog's GPUs, TPUs and accelerators
/// narrowed by the filters.
fn devices(ctx: &Context, search: &TrainingSearchBody, checks: &mut Checks) -> Result<Vec<ResolvedDevice>, Error> {
    if let Some(ids) = &search.hardware {
        let ids = list(Some(ids), &[], "/search/hardware", 256)?;
        return ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                resolve::hardware(&ctx.catalog, &HardwareRef::Id(id.clone()), &format!("/search/hardware/{i}"))
            })
            .collect();
    }
    let mut filter = device_filter(search.vendor.as_ref(), search.kind, search.min_memory_gib, checks);
    if filter.kinds.is_empty() {
        filter.kinds = vec![Kind::Gpu, Kind::Tpu, Kind::Accelerator];
    }
    let devices: Vec<ResolvedDevice> = ctx.catalog.devices_matching(&filter).map(ResolvedDevice::from).collect();
    if devices.is_empty() {
        return Err(Error::unprocessable("/search", "no catalog device matches the filters"));
    }
    Ok(devices)
}

/// A layout's outcome: its row, and what the rules compare.
struct Evaluated {
    config: TrainingConfigBody,
    scenario: TrainingScenario,
}

fn key(c: &TrainingConfigBody, objective: TrainingObjective) -> (f64, f64, f64) {
    let devices = c.devices as f64;
    let usd = c.usd.unwrap_or(f64::MAX);
    match objective {
        TrainingObjective::Devices => (devices, c.days, usd),
        TrainingObjective::Usd => (usd, c.days, devices),
        TrainingObjective::Days => (c.days, usd, devices),
    }
}

fn order(a: &TrainingConfigBody, b: &TrainingConfigBody, objective: TrainingObjective) -> std::cmp::Ordering {
    let (ka, kb) = (key(a, objective), key(b, objective));
    ka.0.total_cmp(&kb.0)
        .then(ka.1.total_cmp(&kb.1))
        .then(ka.2.total_cmp(&kb.2))
        .then_with(|| (&a.hardware, a.tensor, a.pipeline).cmp(&(&b.hardware, b.tensor, b.pipeline)))
}

/// Runs a training planning request. The run is parsed once; each layout only places it on a
/// device ([`TrainingSpec::at`]) and runs the engine.
pub fn plan_training(ctx: &Context, request: &TrainingPlanRequest) -> Result<TrainingPlanResponse, Error> {
    let requirements = request.requirements.clone().unwrap_or_default().parse("/requirements")?;
    let search = request.search.clone().unwrap_or_default();
    let mut checks = Checks::default();
    let hardware = devices(ctx, &search, &mut checks)?;
    let mut degrees = |name: &str, default: &[u32], range: range::Range| -> Result<Vec<u32>, Error> {
        let field = match name {
            "devices" => search.devices.as_ref(),
            "tensor" => search.tensor.as_ref(),
            _ => search.pipeline.as_ref(),
        };
        let values = list(field, default, &format!("/search/{name}"), 32)?;
        Ok(values.iter().enumerate().map(|(i, &v)| checks.int32(format!("/search/{name}/{i}"), range, v)).collect())
    };
    let device_counts =
        degrees("devices", &[8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192], range::TRAINING_PLAN_DEVICES)?;
    let tensor = degrees("tensor", &[1, 2, 4, 8], range::DEGREE)?;
    let pipeline = degrees("pipeline", &[1, 2, 4, 8], range::DEGREE)?;
    let keep =
        checks.int("/limit", range::LIMIT, u64::try_from(request.limit.unwrap_or(10)).unwrap_or(u64::MAX)) as usize;
    checks.finish()?;
    let size = hardware.len() * device_counts.len() * tensor.len() * pipeline.len();
    if size > MAX_CANDIDATES {
        return Err(Error::unprocessable(
            "/search",
            format!(
                "the search space has {size} layouts; at most {MAX_CANDIDATES} per request: narrow the devices or degrees"
            ),
        ));
    }
    // The run must itself be valid apart from the layout the search replaces.
    let (spec, device) = TrainingSpec::parse(&ctx.catalog, &request.training, "/training")?;
    let base = Degrees { tensor: 1, pipeline: 1, data: None, devices: None, ..spec.degrees };
    spec.at(device, base)?;

    let objective = request.objective.unwrap_or_default();
    let mut layouts: Vec<(usize, u32, u32, u32)> = Vec::new();
    for h in 0..hardware.len() {
        for &d in &device_counts {
            for &t in &tensor {
                for &p in &pipeline {
                    // Data parallelism takes the devices the model-parallel group leaves.
                    if u64::from(d).is_multiple_of(u64::from(t) * u64::from(p)) {
                        layouts.push((h, d, t, p));
                    }
                }
            }
        }
    }
    let outcomes: Vec<Result<Evaluated, &'static str>> = layouts
        .par_iter()
        .map(|&(h, d, t, p)| {
            let data = d / (t * p);
            let placed = Degrees { tensor: t, pipeline: p, data: Some(data), devices: Some(u64::from(d)), ..base };
            let scenario = spec.at(hardware[h].clone(), placed).map_err(|_| "invalid_layout")?;
            let e = training::estimate(&scenario.input());
            let devices = scenario.layout.devices;
            let days = e.wall_clock.0 / 86_400.0;
            let observed = Observed {
                memory_bytes: e.memory.total.0,
                capacity_bytes: e.memory.capacity.0,
                devices,
                days: Some(days),
                total_usd: e.usd,
                usd_per_hour: scenario.usd_per_device_hour().map(|p| p * devices as f64),
                native_format: true,
                ..Observed::default()
            };
            rules::admits(&requirements, &observed).map_err(Rule::as_str)?;
            Ok(Evaluated {
                config: TrainingConfigBody {
                    hardware: scenario.device.id.clone(),
                    devices,
                    tensor: t,
                    pipeline: p,
                    data,
                    days: finite(days),
                    gpu_hours: finite(e.gpu_hours),
                    usd: e.usd.map(finite),
                    mfu: finite(e.mfu),
                    memory_per_device_bytes: finite(e.memory.total.0),
                },
                scenario,
            })
        })
        .collect();
    let mut rejected: std::collections::BTreeMap<&'static str, u64> = std::collections::BTreeMap::new();
    let mut feasible: Vec<Evaluated> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(e) => feasible.push(e),
            Err(reason) => *rejected.entry(reason).or_default() += 1,
        }
    }
    feasible.sort_by(|a, b| order(&a.config, &b.config, objective));
    let mut best_per_hardware: Vec<TrainingConfigBody> = Vec::new();
    for e in &feasible {
        if !best_per_hardware.iter().any(|c| c.hardware == e.config.hardware) {
            best_per_hardware.push(e.config.clone());
        }
    }
    let best = feasible.first().map(|e| Box::new(check::check_training(ctx, &e.scenario, &requirements)));
    let mut assumptions = Assumptions::default();
    if request.objective.is_none() {
        assumptions.push("objective", objective, "the fewest devices");
    }
    Ok(TrainingPlanResponse {
        search_space: size as u64,
        evaluated: layouts.len() as u64,
        feasible: feasible.len() as u64,
        objective,
        ranked: feasible.iter().take(keep).map(|e| e.config.clone()).collect(),
        best_per_hardware: best_per_hardware.into_iter().take(keep).collect(),
        rejected: rejected.into_iter().map(|(reason, count)| RejectionBody { reason, count }).collect(),
        best,
        assumptions: assumptions.0,
    })
}
