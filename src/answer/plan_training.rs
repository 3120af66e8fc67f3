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
use serde::Serialize;
use utoipa::ToSchema;

use super::check::{self, CheckResponse};
use super::plan::RejectionBody;
use super::{Context, finite};
use crate::engine::training;
use crate::plan::rules::{self, Observed, Rule};
use crate::scenario::Error;
use crate::scenario::layout::Degrees;
use crate::scenario::plan_training::{TrainingObjective, TrainingPlanRequest, TrainingPlanScenario};
use crate::scenario::training::TrainingScenario;

/// One layout of the answer, shaped as a training estimate is (`parallelism.tensor`,
/// `time.device_hours`, `cost.usd`, `utilization.mfu`, `memory.per_device.total_bytes`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingConfigBody {
    /// Device id.
    pub hardware: String,
    /// Devices in all.
    pub devices: u64,
    /// Tensor, pipeline and data-parallel degrees.
    pub parallelism: TrainingPlanParallelism,
    /// How long the run takes.
    pub time: TrainingPlanTime,
    /// What it costs.
    pub cost: TrainingPlanCost,
    /// How well it uses the devices.
    pub utilization: TrainingPlanUtilization,
    /// Memory on one device.
    pub memory: TrainingPlanMemory,
}

/// A training plan row's layout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingPlanParallelism {
    /// Tensor-parallel degree.
    pub tensor: u32,
    /// Pipeline-parallel degree.
    pub pipeline: u32,
    /// Data-parallel ranks.
    pub data: u32,
}

/// A training plan row's time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingPlanTime {
    /// Wall-clock days.
    pub wall_clock_days: f64,
    /// Device-hours.
    pub device_hours: f64,
}

/// A training plan row's cost.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingPlanCost {
    /// USD for the run (null without a price).
    pub usd: Option<f64>,
}

/// A training plan row's utilization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingPlanUtilization {
    /// Model FLOPs utilization.
    pub mfu: f64,
}

/// A training plan row's memory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingPlanMemory {
    /// One device.
    pub per_device: super::plan::PlanPerDevice,
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

/// A layout's outcome: its row, and what the rules compare.
struct Evaluated {
    config: TrainingConfigBody,
    scenario: TrainingScenario,
}

fn key(c: &TrainingConfigBody, objective: TrainingObjective) -> (f64, f64, f64) {
    let devices = c.devices as f64;
    let usd = c.cost.usd.unwrap_or(f64::MAX);
    let days = c.time.wall_clock_days;
    match objective {
        TrainingObjective::Devices => (devices, days, usd),
        TrainingObjective::Usd => (usd, days, devices),
        TrainingObjective::Days => (days, usd, devices),
    }
}

fn order(a: &TrainingConfigBody, b: &TrainingConfigBody, objective: TrainingObjective) -> std::cmp::Ordering {
    let (ka, kb) = (key(a, objective), key(b, objective));
    ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.total_cmp(&kb.2)).then_with(|| {
        (&a.hardware, a.parallelism.tensor, a.parallelism.pipeline).cmp(&(
            &b.hardware,
            b.parallelism.tensor,
            b.parallelism.pipeline,
        ))
    })
}

/// Runs a training planning request. The run is parsed once; each layout only places it on a
/// device ([`crate::scenario::training::TrainingSpec::at`]) and runs the engine.
pub fn plan_training(ctx: &Context, request: &TrainingPlanRequest) -> Result<TrainingPlanResponse, Error> {
    let TrainingPlanScenario {
        spec,
        base,
        hardware,
        device_counts,
        tensor,
        pipeline,
        keep,
        size,
        requirements,
        objective,
        assumptions,
    } = TrainingPlanScenario::parse(&ctx.catalog, request)?;
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
                    parallelism: TrainingPlanParallelism { tensor: t, pipeline: p, data },
                    time: TrainingPlanTime { wall_clock_days: finite(days), device_hours: finite(e.gpu_hours) },
                    cost: TrainingPlanCost { usd: e.usd.map(finite) },
                    utilization: TrainingPlanUtilization { mfu: finite(e.mfu) },
                    memory: TrainingPlanMemory {
                        per_device: super::plan::PlanPerDevice { total_bytes: finite(e.memory.total.0) },
                    },
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
