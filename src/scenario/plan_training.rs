//! A training planning request (`POST /v1/plan/training`), parsed once: the run as a
//! [`TrainingSpec`] (so each candidate layout only places it), the devices, counts and degrees
//! to search, the requirements and the objective.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::layout::Degrees;
use super::plan::{device_filter, list};
use super::range::{self, Checks};
use super::requirements::RequirementsBody;
use super::resolve::{self, HardwareRef, ResolvedDevice};
use super::training::{TrainingRequest, TrainingSpec};
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::catalog::hardware::Kind;
use crate::plan::rules::Requirements;

/// Most candidates one training plan evaluates.
pub const MAX_CANDIDATES: usize = 50_000;

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

display_as_wire!(TrainingObjective);

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

/// A training planning request, parsed.
#[derive(Debug, Clone)]
pub struct TrainingPlanScenario {
    /// The run, parsed once.
    pub spec: Arc<TrainingSpec>,
    /// The run's own degrees with tensor and pipeline reset (the search sets them).
    pub base: Degrees,
    /// Devices to search.
    pub hardware: Vec<ResolvedDevice>,
    /// Device counts to search.
    pub device_counts: Vec<u32>,
    /// Tensor degrees.
    pub tensor: Vec<u32>,
    /// Pipeline degrees.
    pub pipeline: Vec<u32>,
    /// Ranked layouts to return.
    pub keep: usize,
    /// Layouts in the space (before divisibility).
    pub size: usize,
    /// Limits.
    pub requirements: Requirements,
    /// What to rank by.
    pub objective: TrainingObjective,
    /// The defaults the planner applied.
    pub assumptions: Assumptions,
}

impl TrainingPlanScenario {
    /// Parses a training planning request; the run must be valid apart from its layout.
    pub fn parse(catalog: &Catalog, request: &TrainingPlanRequest) -> Result<Self, Error> {
        let requirements = request.requirements.clone().unwrap_or_default().parse("/requirements")?;
        let search = request.search.clone().unwrap_or_default();
        let mut checks = Checks::default();
        let hardware = devices(catalog, &search, &mut checks)?;
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
        let (spec, device) = TrainingSpec::parse(catalog, &request.training, "/training")?;
        let base = Degrees { tensor: 1, pipeline: 1, data: None, devices: None, ..spec.degrees };
        spec.at(device, base)?;
        let objective = request.objective.unwrap_or_default();
        let mut assumptions = Assumptions::default();
        if request.objective.is_none() {
            assumptions.push("objective", objective, "the fewest devices");
        }
        Ok(Self {
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
        })
    }
}

/// The devices to search: the listed ids, or the catalog's GPUs, TPUs and accelerators
/// narrowed by the filters.
fn devices(catalog: &Catalog, search: &TrainingSearchBody, checks: &mut Checks) -> Result<Vec<ResolvedDevice>, Error> {
    if let Some(ids) = &search.hardware {
        let ids = list(Some(ids), &[], "/search/hardware", 256)?;
        return ids
            .iter()
            .enumerate()
            .map(|(i, id)| resolve::hardware(catalog, &HardwareRef::Id(id.clone()), &format!("/search/hardware/{i}")))
            .collect();
    }
    let mut filter = device_filter(search.vendor.as_ref(), search.kind, search.min_memory_gib, checks);
    if filter.kinds.is_empty() {
        filter.kinds = vec![Kind::Gpu, Kind::Tpu, Kind::Accelerator];
    }
    let devices: Vec<ResolvedDevice> = catalog.devices_matching(&filter).map(ResolvedDevice::from).collect();
    if devices.is_empty() {
        return Err(Error::unprocessable("/search", "no catalog device matches the filters"));
    }
    Ok(devices)
}
