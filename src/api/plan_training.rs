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

use actix_web::{post, web};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::check::{self, CheckRequest, CheckResponse, RequirementsBody};
use super::extract::Json;
use super::inference::finite;
use super::plan::RejectionBody;
use super::problem::{ApiError, FieldError, Problem};
use super::state::AppState;
use super::training::{self, TrainingParallelismBody, TrainingRequest};
use crate::catalog::hardware::Kind;
use crate::plan::rules::{self, Observed, Rule};

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
    #[schema(minimum = 0, maximum = 1000000)]
    pub min_memory_gib: Option<f64>,
    /// Device counts (default 8, 16, 32, ..., 8192).
    pub devices: Option<Vec<u32>>,
    /// Tensor-parallel degrees (default 1, 2, 4, 8).
    pub tensor: Option<Vec<u32>>,
    /// Pipeline-parallel degrees (default 1, 2, 4, 8).
    pub pipeline: Option<Vec<u32>>,
}

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
    #[schema(minimum = 1, maximum = 100)]
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
}

fn values(list: Option<&Vec<u32>>, default: &[u32], pointer: &str, max: u32) -> Result<Vec<u32>, ApiError> {
    let list = list.map_or_else(|| default.to_vec(), Clone::clone);
    if list.is_empty() || list.len() > 32 {
        return Err(ApiError::field(pointer, "must list 1 to 32 values"));
    }
    let errors: Vec<FieldError> = list
        .iter()
        .enumerate()
        .filter(|(_, v)| **v == 0 || **v > max)
        .map(|(i, v)| FieldError::new(format!("{pointer}/{i}"), format!("must be an integer from 1 to {max}, got {v}")))
        .collect();
    if errors.is_empty() { Ok(list) } else { Err(ApiError::InvalidRequest(errors)) }
}

fn hardware_ids(state: &AppState, search: &TrainingSearchBody) -> Result<Vec<String>, ApiError> {
    let catalog = &state.catalog;
    if let Some(ids) = &search.hardware {
        if ids.is_empty() || ids.len() > 256 {
            return Err(ApiError::field("/search/hardware", "must list 1 to 256 device ids"));
        }
        return ids
            .iter()
            .map(|id| {
                catalog.device(id).map(|d| d.record.id.clone()).map_err(|suggestions| ApiError::UnknownId {
                    kind: "hardware",
                    id: id.chars().take(100).collect(),
                    suggestions,
                })
            })
            .collect();
    }
    if let Some(m) = search.min_memory_gib
        && !(m.is_finite() && (0.0..=1e6).contains(&m))
    {
        return Err(ApiError::field("/search/min_memory_gib", format!("must be a number from 0 to 1000000, got {m}")));
    }
    let vendor = search.vendor.as_ref().map(|v| v.to_ascii_lowercase());
    let ids: Vec<String> = catalog
        .devices()
        .iter()
        .map(|d| &d.record)
        .filter(|r| search.kind.map_or(matches!(r.kind, Kind::Gpu | Kind::Tpu | Kind::Accelerator), |k| r.kind == k))
        .filter(|r| vendor.as_ref().is_none_or(|v| r.vendor == *v))
        .filter(|r| search.min_memory_gib.is_none_or(|m| r.memory_gib >= m))
        .map(|r| r.id.clone())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::Unprocessable {
            detail: "no catalog device matches the filters".into(),
            pointer: Some("/search".into()),
        });
    }
    Ok(ids)
}

/// A layout's outcome: its row, and what the rules compare.
struct Evaluated {
    config: TrainingConfigBody,
    request: TrainingRequest,
}

fn key(c: &TrainingConfigBody, objective: TrainingObjective) -> (f64, f64, f64) {
    #[allow(clippy::cast_precision_loss)]
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

/// Runs a training planning request.
pub fn plan_training(state: &AppState, request: &TrainingPlanRequest) -> Result<TrainingPlanResponse, ApiError> {
    let requirements_body = request.requirements.clone().unwrap_or_default();
    let requirements = requirements_body.parse("/requirements")?;
    let search = request.search.clone().unwrap_or_default();
    let hardware = hardware_ids(state, &search)?;
    let devices = values(
        search.devices.as_ref(),
        &[8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
        "/search/devices",
        65_536,
    )?;
    let tensor = values(search.tensor.as_ref(), &[1, 2, 4, 8], "/search/tensor", 1024)?;
    let pipeline = values(search.pipeline.as_ref(), &[1, 2, 4, 8], "/search/pipeline", 1024)?;
    let keep = request.limit.unwrap_or(10);
    if !(1..=100).contains(&keep) {
        return Err(ApiError::field("/limit", format!("must be an integer from 1 to 100, got {keep}")));
    }
    let size = hardware.len() * devices.len() * tensor.len() * pipeline.len();
    if size > MAX_CANDIDATES {
        return Err(ApiError::Unprocessable {
            detail: format!(
                "the search space has {size} layouts; at most {MAX_CANDIDATES} per request: narrow the devices or degrees"
            ),
            pointer: Some("/search".into()),
        });
    }
    // The template must itself be a valid run (apart from the layout the search replaces).
    let mut template = request.training.clone();
    template.devices = None;
    template.parallelism = Some(TrainingParallelismBody {
        tensor: None,
        pipeline: None,
        data: None,
        ..request.training.parallelism.clone().unwrap_or_default()
    });
    training::run(&state.catalog, &template, "/training")?;

    let objective = request.objective.unwrap_or_default();
    let mut layouts: Vec<(usize, u32, u32, u32)> = Vec::new();
    for h in 0..hardware.len() {
        for &d in &devices {
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
            let mut candidate = template.clone();
            candidate.hardware = Value::String(hardware[h].clone());
            candidate.devices = Some(d);
            candidate.parallelism = Some(TrainingParallelismBody {
                tensor: Some(t),
                pipeline: Some(p),
                data: Some(data),
                ..template.parallelism.clone().unwrap_or_default()
            });
            let response = training::run(&state.catalog, &candidate, "").map_err(|_| "invalid_layout")?;
            #[allow(clippy::cast_precision_loss)]
            let observed = Observed {
                memory_bytes: response.memory.per_device.total_bytes,
                capacity_bytes: response.memory.capacity_bytes,
                devices: response.devices,
                days: Some(response.time.wall_clock_days),
                total_usd: response.cost.usd,
                usd_per_hour: response.cost.usd_per_device_hour.map(|p| p * response.devices as f64),
                native_format: true,
                ..Observed::default()
            };
            rules::admits(&requirements, &observed).map_err(Rule::as_str)?;
            Ok(Evaluated {
                config: TrainingConfigBody {
                    hardware: response.hardware.clone(),
                    devices: response.devices,
                    tensor: t,
                    pipeline: p,
                    data,
                    days: finite(response.time.wall_clock_days),
                    gpu_hours: finite(response.time.gpu_hours),
                    usd: response.cost.usd.map(finite),
                    mfu: finite(response.utilization.mfu),
                    memory_per_device_bytes: finite(response.memory.per_device.total_bytes),
                },
                request: candidate,
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
    let best = match feasible.first() {
        Some(e) => Some(Box::new(check::check(
            state,
            &CheckRequest { inference: None, training: Some(e.request.clone()), requirements: Some(requirements_body) },
        )?)),
        None => None,
    };
    Ok(TrainingPlanResponse {
        search_space: size as u64,
        evaluated: layouts.len() as u64,
        feasible: feasible.len() as u64,
        objective,
        ranked: feasible.iter().take(keep).map(|e| e.config.clone()).collect(),
        best_per_hardware: best_per_hardware.into_iter().take(keep).collect(),
        rejected: rejected.into_iter().map(|(reason, count)| RejectionBody { reason, count }).collect(),
        best,
    })
}

/// Searches device kinds, counts and layouts for a training run: the fewest devices to finish
/// by a deadline, the cheapest within a budget, or the fastest.
#[utoipa::path(
    tag = "decisions",
    request_body = TrainingPlanRequest,
    responses(
        (status = 200, description = "Ranked layouts, the best per device kind, rejections, the best one's estimate and check", body = TrainingPlanResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A template run hwcost cannot estimate, a search space above the cap, or filters that match no device", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/plan/training")]
pub async fn plan_training_handler(
    state: web::Data<AppState>,
    Json(request): Json<TrainingPlanRequest>,
) -> Result<web::Json<TrainingPlanResponse>, ApiError> {
    let state = state.into_inner();
    web::block(move || plan_training(&state, &request))
        .await
        .map_err(|e| ApiError::Internal(format!("planner task: {e}")))?
        .map(web::Json)
}
