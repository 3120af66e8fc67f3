//! The deployment: what runs where. Inference and serving requests share these fields (model,
//! hardware, devices, parallelism, weights, KV cache, engine, overrides, cost) at the top level
//! of their bodies; they are declared once, in [`DeploymentBody`], and parsed once, by
//! [`Deployment::parse`]. A new deployment field is added here and nowhere else: each request
//! reads it (the wire type flattens this one), the OpenAPI document lists it inline in each
//! request's schema, and the CLI's one flag struct (`cli::DeploymentArgs`) sets it.
//!
//! Serde's `flatten` would lose the JSON pointer of an error inside a flattened field and does not
//! combine with `deny_unknown_fields`, so a request body is split by key instead
//! ([`crate::wire::split_object`]): the deployment's keys to [`DeploymentBody`], the rest to the
//! request's own fields; an unknown key is refused at its own pointer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::{RefOr, schema::Object};

use super::cost::{self, CostChoice, CostPlan};
use super::inference::{
    EngineId, EngineRef, FormatId, InferenceOverrides, ParallelismBody, apply_efficiencies, engine_profile, format,
};
use super::layout::{self, Degrees, ExpertRanks, Layout};
use super::range::{self, Checks};
use super::resolve::{self, HardwareRef, ModelRef, ResolvedDevice, ResolvedModel, ResolvedNetwork};
use super::speculative::{self, SpeculativeBody};
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::engine::format::Format;
use crate::engine::inference::{self, Batch, InferenceInput};
use crate::engine::parallelism::Parallelism;
use crate::engine::profile::{AutoSplit, EngineProfile};
use crate::engine::techniques::Techniques;
use crate::engine::units::BitsPerWeight;

/// The deployment's fields, at the top level of an inference or a serving request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentBody {
    /// Model id or inline config.json.
    #[schema(value_type = ModelRef)]
    pub model: serde_json::Value,
    /// Device id or inline record.
    #[schema(value_type = HardwareRef)]
    pub hardware: serde_json::Value,
    /// Number of devices (default: the product of the parallel degrees). Without
    /// `parallelism`, hwcost splits the model over them the way the engine would (see
    /// `assumptions`); devices beyond one replica are replicas that share the load.
    pub devices: Option<u32>,
    /// Parallel degrees.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub parallelism: Option<ParallelismBody>,
    /// Weight format (default bf16).
    pub weights: Option<FormatId>,
    /// KV-cache format (default: bf16, or fp8 when weights are fp8 or narrower floats).
    pub kv_cache: Option<FormatId>,
    /// Group size of `int4` weights (AWQ/GPTQ): one 16-bit scale per group, so 4 + 16 / group
    /// bits per weight (default 128).
    pub weights_group_size: Option<u32>,
    /// Engine profile (default generic), optionally with a release: `tensorrt-llm@1.0`.
    pub engine: Option<EngineRef>,
    /// A fitted engine profile (`POST /v1/calibrate`'s `profile`, or `hwcost calibrate --out`):
    /// constants over the catalog engine it names as `base`, which is then the request's engine.
    /// `overrides` still apply on top.
    pub engine_profile: Option<super::engine_profile::EngineProfileBody>,
    /// Calibration and price overrides.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub overrides: Option<InferenceOverrides>,
    /// How the devices are paid for: rented (a provider and term) or owned (purchase, power,
    /// hosting).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub cost: Option<CostChoice>,
    /// KV-cache tiers beyond device memory (host memory, optionally disk), per device.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub kv_offload: Option<super::kv_offload::KvOffloadBody>,
    /// The network between nodes (`GET /v1/networks`; default `infiniband-ndr`): what
    /// collectives cross once a replica spans more devices than one node joins
    /// (`interconnect.node_devices` of the hardware).
    #[schema(example = "infiniband-ndr")]
    pub network: Option<String>,
    /// Speculative decoding (default none): a drafter proposes tokens that the model verifies in
    /// one step; each answer's `speculation` says what it buys and at which batch it stops paying.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub speculative: Option<SpeculativeBody>,
    /// Mixture-of-experts serving at scale (MoE models only).
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub moe: Option<MoeBody>,
}

/// How a mixture-of-experts model runs over its expert ranks.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoeBody {
    /// The hottest expert-parallel rank's routed tokens over the mean rank's (1 = perfectly
    /// balanced routing; default 1): every MoE layer waits for that rank, whose expert GEMMs
    /// and dispatch/combine traffic scale by it. Applies with `parallelism.expert` above 1.
    #[schema(example = 1.3)]
    pub hottest_expert_load: Option<f64>,
    /// Two-batch overlap (DeepSeek's inference system, SGLang `--enable-two-batch-overlap`):
    /// each step splits its batch into two micro-batches so one's expert dispatch and combine
    /// run under the other's GEMMs and attention; the step pays its compute at half-batch
    /// GEMM efficiency twice and only the all-to-all time beyond it (default false). Applies
    /// with `parallelism.expert` above 1.
    #[schema(example = true)]
    pub two_batch_overlap: Option<bool>,
}

/// How the devices split the model: given by the request, or left to hwcost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutChoice {
    /// The request's degrees, checked against the layout rules.
    Given(Layout),
    /// `devices` (more than one) and no degree: the split is chosen once the workload is known
    /// (see `InferenceScenario::from_deployment`).
    Automatic {
        /// Devices in all.
        devices: u64,
    },
}

/// A parsed, validated deployment: resolved references, formats, the engine profile with its
/// overrides, the price, and the layout (or the devices to choose one for).
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Resolved model.
    pub model: ResolvedModel,
    /// Resolved device.
    pub device: ResolvedDevice,
    /// The layout, or the devices to choose one for.
    pub layout: LayoutChoice,
    /// Weight format.
    pub weights: Format,
    /// KV format.
    pub kv_cache: Format,
    /// Engine id (and release, if one was named).
    pub engine: EngineRef,
    /// Engine profile, overrides applied.
    pub profile: EngineProfile,
    /// How the devices are paid for, and the price of a device-hour.
    pub cost: CostPlan,
    /// Serving techniques (speculative decoding, expert parallelism's load, KV tiers).
    pub techniques: Techniques,
    /// The defaults the parser applied.
    pub assumptions: Assumptions,
    /// The request's pointer in its document.
    pub prefix: String,
    /// The network between nodes (the catalog's default when the request names none).
    pub network: Option<ResolvedNetwork>,
    /// Whether the request named the network (else it is the default, listed as an assumption
    /// where it matters).
    pub network_given: bool,
    /// The imbalance the request gave, if any (else the default, listed as an assumption where
    /// it matters).
    pub moe_given: Option<f64>,
    /// Whether the request said whether two-batch overlap runs (else off, listed as an
    /// assumption where it matters).
    pub two_batch_overlap_given: bool,
}

impl Deployment {
    /// Parses the deployment of a request; `prefix` is the pointer of the request in its
    /// document and `checks` holds the range checks of the request's own fields, so that every
    /// out-of-range value is reported together.
    pub fn parse(catalog: &Catalog, body: &DeploymentBody, prefix: &str, mut checks: Checks) -> Result<Self, Error> {
        let (model, device) = resolve::references(catalog, &body.model, &body.hardware, prefix)?;
        let network = resolve::network(catalog, body.network.as_deref(), &format!("{prefix}/network"))?;
        let mut assumed = Assumptions::default();
        let at = |field: &str| format!("{prefix}/{field}");

        let p = body.parallelism.clone().unwrap_or_default();
        let tensor = checks.int32(at("parallelism/tensor"), range::DEGREE, p.tensor.unwrap_or(1));
        let pipeline = checks.int32(at("parallelism/pipeline"), range::DEGREE, p.pipeline.unwrap_or(1));
        let expert = checks.int32(at("parallelism/expert"), range::DEGREE, p.expert.unwrap_or(1));
        let data = p.data.map(|d| checks.int32(at("parallelism/data"), range::REPLICAS, d));
        let devices = body.devices.map(|d| checks.int(at("devices"), range::INFERENCE_DEVICES, u64::from(d)));
        let group_size = body.weights_group_size.map(|g| checks.int32(at("weights_group_size"), range::GROUP_SIZE, g));
        let overrides = body.overrides.clone().unwrap_or_default();
        let compute_efficiency =
            checks.number(at("overrides/compute_efficiency"), range::SHARE, overrides.compute_efficiency);
        let memory_efficiency =
            checks.number(at("overrides/memory_efficiency"), range::SHARE, overrides.memory_efficiency);
        let memory_fraction =
            checks.number(at("overrides/memory_fraction"), range::FRACTION, overrides.memory_fraction);
        let hottest = checks.number(
            at("moe/hottest_expert_load"),
            range::HOTTEST_EXPERT_LOAD,
            body.moe.as_ref().and_then(|m| m.hottest_expert_load),
        );
        let price = checks.number(
            at("overrides/usd_per_device_hour"),
            range::USD_PER_DEVICE_HOUR,
            overrides.usd_per_device_hour,
        );
        let fitted = body.engine_profile.as_ref().map(|f| f.check(&mut checks, &at("engine_profile")));
        let speculative_checked =
            body.speculative.as_ref().map(|s| speculative::check(&mut checks, s, &at("speculative")));
        checks.finish()?;

        if body.moe.is_some() && model.architecture.moe.is_none() {
            return Err(Error::unprocessable(at("moe"), "moe applies to mixture-of-experts models only"));
        }
        let weights_id = assumed.or(body.weights, "weights", FormatId::Bf16, "the default weight format");
        let kv_id = assumed.or(
            body.kv_cache,
            "kv_cache",
            weights_id.default_kv_cache(),
            "fp8 with fp8 or narrower float weights, else the 16-bit format",
        );
        let engine = match (&body.engine_profile, &body.engine) {
            (Some(fitted), Some(engine)) => {
                // `vllm` and `vllm@0.10` are one profile when 0.10 is the latest.
                let named = engine_profile(catalog, engine, &at("engine"))?;
                let base = engine_profile(catalog, &fitted.base, &at("engine_profile/base"))?;
                if named.id != base.id {
                    return Err(Error::unprocessable(
                        at("engine_profile/base"),
                        format!("the profile was fitted over {}, but the request names engine {engine}", fitted.base),
                    ));
                }
                engine.clone()
            }
            (Some(fitted), None) => fitted.base.clone(),
            (None, engine) => {
                assumed.or(engine.clone(), "engine", EngineRef::from(EngineId::Generic), "the engine-neutral profile")
            }
        };
        let pointer =
            if body.engine.is_none() && body.engine_profile.is_some() { "engine_profile/base" } else { "engine" };
        let mut profile = engine_profile(catalog, &engine, &at(pointer))?;
        if let Some(fitted) = fitted {
            fitted.apply(&mut profile);
        }
        apply_efficiencies(&mut profile, compute_efficiency, memory_efficiency);
        if let Some(v) = memory_fraction {
            profile.memory_fraction = v;
            profile.unified_memory_fraction = v;
        }
        let cost = cost::resolve(
            &body.cost.clone().unwrap_or_default(),
            &cost::Context {
                pointer: at("cost"),
                legacy_price: price.map(|p| (p, at("overrides/usd_per_device_hour"))),
                pricing: &device.pricing,
                power_w: device.device.tdp_w.map(|w| w * profile.power_fraction),
                defaults: catalog.ownership(),
                pue: None,
                strict: true,
            },
            &mut assumed,
        )?;
        let mut weights = format(catalog, weights_id)?;
        match (weights_id, group_size) {
            (FormatId::Int4, group) => {
                let group = assumed.or(group, "weights_group_size", 128, "the usual AWQ/GPTQ group size");
                weights.bits = BitsPerWeight(4.0 + 16.0 / f64::from(group));
            }
            (_, Some(_)) => {
                return Err(Error::unprocessable(
                    at("weights_group_size"),
                    format!("a group size applies to int4 weights, not {}", weights_id.as_str()),
                ));
            }
            (_, None) => {}
        }
        // No degree given (no `parallelism`, or an empty one): with several devices, the split
        // is hwcost's to choose.
        let no_degrees = p.tensor.is_none() && p.pipeline.is_none() && p.expert.is_none() && p.data.is_none();
        let layout = match (no_degrees, devices) {
            (true, Some(n)) if n > 1 => LayoutChoice::Automatic { devices: n },
            _ => {
                let layout = layout::resolve(
                    &model.architecture,
                    Degrees { tensor, pipeline, expert, context: 1, data, devices },
                    ExpertRanks::Separate,
                    range::INFERENCE_DEVICES.max as u64,
                    prefix,
                )?;
                if devices.is_none() {
                    assumed.push(
                        "devices",
                        layout.devices,
                        "the product of the parallel degrees given (tensor x pipeline x expert x data; 1 each when not given)",
                    );
                }
                if p.data.is_none() && layout.data > 1 {
                    assumed.push(
                        "parallelism/data",
                        layout.data,
                        "the devices left after tensor x pipeline x expert serve as replicas",
                    );
                }
                LayoutChoice::Given(layout)
            }
        };
        let kv_cache = format(catalog, kv_id)?;
        let speculation = match (&body.speculative, speculative_checked) {
            (Some(s), Some(checked)) => Some(speculative::parse(
                catalog,
                s,
                checked,
                &model,
                (weights.bits.0, kv_cache.bits.0),
                &at("speculative"),
                &mut assumed,
            )?),
            _ => None,
        };
        let kv_offload = match &body.kv_offload {
            Some(o) => Some(super::kv_offload::parse(o, &device, &at("kv_offload"), &mut assumed)?),
            None => None,
        };
        Ok(Self {
            weights,
            kv_cache,
            techniques: Techniques {
                speculation,
                moe: crate::engine::moe::ExpertParallel {
                    hottest_rank_load: hottest.unwrap_or(super::moe_defaults::hottest_expert_load()),
                    two_batch_overlap: body.moe.as_ref().and_then(|m| m.two_batch_overlap).unwrap_or(false),
                },
                kv_offload,
            },
            model,
            device,
            layout,
            engine,
            profile,
            cost,
            assumptions: assumed,
            prefix: prefix.to_owned(),
            network,
            network_given: body.network.is_some(),
            moe_given: hottest,
            two_batch_overlap_given: body.moe.as_ref().is_some_and(|m| m.two_batch_overlap.is_some()),
        })
    }
}

/// Devices one node holds for the automatic layout's tensor-parallel groups (one NVLink or
/// Infinity Fabric domain of a common 8-GPU server).
const NODE_DEVICES: u32 = 8;

/// The per-device memory of one split, from the engine's own estimate.
#[derive(Debug, Clone, Copy)]
struct Trial {
    layout: Layout,
    total: f64,
    capacity: f64,
    fits: bool,
}

impl Deployment {
    /// The engine's memory verdict for one replica split `tensor x pipeline x expert` running
    /// this workload: the very accounting the estimate reports (`memory.per_device`), so the
    /// automatic layout fits exactly when its estimate says `memory.fits`. `None` when the layout
    /// rules refuse the split.
    fn trial(&self, degrees: (u32, u32, u32), devices: u64, work: (Batch, u64, u64)) -> Option<Trial> {
        let (tensor, pipeline, expert) = degrees;
        let layout = layout::resolve(
            &self.model.architecture,
            Degrees { tensor, pipeline, expert, context: 1, data: None, devices: Some(devices) },
            ExpertRanks::Separate,
            range::INFERENCE_DEVICES.max as u64,
            &self.prefix,
        )
        .ok()?;
        let (batch, input_tokens, output_tokens) = work;
        let estimate = inference::estimate(&InferenceInput {
            arch: &self.model.architecture,
            anatomy: &self.model.anatomy,
            device: &self.device.device,
            parallelism: Parallelism { tensor, pipeline, expert, data: 1 },
            weights: &self.weights,
            kv_cache: &self.kv_cache,
            batch,
            input_tokens,
            output_tokens,
            profile: &self.profile,
            usd_per_device_hour: None,
            explain: false,
            network: self.network.as_ref().map(|n| n.engine),
            techniques: self.techniques,
        });
        let m = estimate.memory;
        Some(Trial { layout, total: m.per_device.total.0, capacity: m.capacity.0, fits: m.fits })
    }

    /// The layout for `devices` and no parallel degrees, chosen for this workload (`batch`
    /// sequences of `input_tokens + output_tokens`): the fewest devices per replica that hold it,
    /// split the way the engine splits a model when not told ([`AutoSplit`]: whole layers for
    /// llama.cpp, tensor parallel within a node and pipeline across for vLLM, SGLang and
    /// TensorRT-LLM), the other devices replicas. When no such split fits but another split of
    /// the same devices does (tensor where the engine would pipeline, or experts), that one is
    /// used, so the automatic layout fits whenever any layout of these devices does. Fit is the
    /// estimate's own `memory.fits`. A workload no split of `devices` holds is a 422 at
    /// `/devices` naming how many devices would hold it. The choice and its reason are listed
    /// among the assumptions.
    pub fn choose_layout(
        &self,
        devices: u64,
        work: (Batch, u64, u64),
        assumed: &mut Assumptions,
    ) -> Result<Layout, Error> {
        let divisors = |n: u64| (1..=n).filter(move |d| n.is_multiple_of(*d));
        let heads = self.model.architecture.heads;
        let preferred = |shards: u64| -> Option<(u32, u32, u32)> {
            let shards = u32::try_from(shards).ok()?;
            match self.profile.auto_split {
                AutoSplit::Layers => Some((1, shards, 1)),
                AutoSplit::TensorThenPipeline => (1..=shards.min(NODE_DEVICES))
                    .rev()
                    .find(|t| shards.is_multiple_of(*t) && heads.is_multiple_of(u64::from(*t)))
                    .map(|t| (t, shards / t, 1)),
            }
        };
        let describe = |trial: &Trial| {
            let l = trial.layout;
            let mut text = format!("tensor {} x pipeline {}", l.tensor, l.pipeline);
            if l.expert > 1 {
                text.push_str(&format!(" x expert {}", l.expert));
            }
            text.push_str(&match l.data {
                1 => ", 1 replica".to_owned(),
                n => format!(", {n} replicas"),
            });
            format!("{text} ({:.1} of {:.1} GB per device)", trial.total / 1e9, trial.capacity / 1e9)
        };
        for shards in divisors(devices) {
            let Some(trial) = preferred(shards).and_then(|d| self.trial(d, devices, work)) else { continue };
            if trial.fits {
                assumed.push(
                    "parallelism",
                    describe(&trial),
                    match self.profile.auto_split {
                        AutoSplit::Layers => {
                            "no parallelism given: the engine splits a model by whole layers (pipeline stages), over the fewest devices per replica that hold the weights, KV cache and activations of this workload; the other devices are replicas"
                        }
                        AutoSplit::TensorThenPipeline => {
                            "no parallelism given: the engine splits a model tensor-parallel within a node (up to 8 devices) and in pipeline stages across nodes, over the fewest devices per replica that hold the weights, KV cache and activations of this workload; the other devices are replicas"
                        }
                    },
                );
                return Ok(trial.layout);
            }
        }
        // Any other split of these devices, fewest devices per replica first.
        let mut best: Option<Trial> = None;
        for shards in divisors(devices) {
            for tensor in divisors(shards) {
                for pipeline in divisors(shards / tensor) {
                    let expert = shards / tensor / pipeline;
                    let degrees = (u32::try_from(tensor), u32::try_from(pipeline), u32::try_from(expert));
                    let (Ok(t), Ok(p), Ok(e)) = degrees else { continue };
                    let Some(trial) = self.trial((t, p, e), devices, work) else { continue };
                    if trial.fits {
                        assumed.push(
                            "parallelism",
                            describe(&trial),
                            "no parallelism given: the engine's usual split does not hold this workload on these devices, this one does (the fewest devices per replica); the other devices are replicas",
                        );
                        return Ok(trial.layout);
                    }
                    if best.is_none_or(|b| trial.total < b.total) {
                        best = Some(trial);
                    }
                }
            }
        }
        let needed = self.devices_needed(work);
        let least = match &best {
            Some(b) => {
                format!("its best split needs {:.1} GB per device, {:.1} GB usable", b.total / 1e9, b.capacity / 1e9)
            }
            None => "the layout rules allow no split of them".to_owned(),
        };
        Err(Error::unprocessable(
            format!("{}/devices", self.prefix),
            match needed {
                Some((n, (t, p, e))) => format!(
                    "no split of {devices} of these devices holds the model with this batch and context ({least}); it needs at least {n} devices (e.g. tensor {t} x pipeline {p}{}); give more devices, a narrower weight format, a smaller batch or a shorter context",
                    if e > 1 { format!(" x expert {e}") } else { String::new() }
                ),
                None => format!(
                    "no split of {devices} of these devices holds the model with this batch and context ({least}), nor any split of up to {} devices; give a narrower weight format, a smaller batch or a shorter context",
                    range::INFERENCE_DEVICES.max
                ),
            },
        ))
    }

    /// The fewest devices one replica needs to hold this workload, with a split that does: for
    /// each tensor degree dividing the heads and expert degree dividing the experts, the fewest
    /// pipeline stages that fit (memory per device falls as stages are added, so a bisection
    /// finds them).
    fn devices_needed(&self, work: (Batch, u64, u64)) -> Option<(u64, (u32, u32, u32))> {
        let arch = &self.model.architecture;
        let max = range::INFERENCE_DEVICES.max as u64;
        let experts = arch.moe.map_or(1, |m| m.experts);
        let mut best: Option<(u64, (u32, u32, u32))> = None;
        let fits = |t: u32, p: u32, e: u32| {
            let n = u64::from(t) * u64::from(p) * u64::from(e);
            n <= max && self.trial((t, p, e), n, work).is_some_and(|trial| trial.fits)
        };
        for t in (1..=arch.heads.min(1024)).filter(|t| arch.heads.is_multiple_of(*t)) {
            for e in (1..=experts.min(1024)).filter(|e| experts.is_multiple_of(*e)) {
                let (Ok(t), Ok(e)) = (u32::try_from(t), u32::try_from(e)) else { continue };
                if !fits(t, arch.layers, e) {
                    continue;
                }
                let (mut lo, mut hi) = (1, arch.layers);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if fits(t, mid, e) { hi = mid } else { lo = mid + 1 }
                }
                let n = u64::from(t) * u64::from(lo) * u64::from(e);
                if best.is_none_or(|(b, _)| n < b) {
                    best = Some((n, (t, lo, e)));
                }
            }
        }
        best
    }
}

/// Reads a request made of the deployment's fields and its own (`Own`), one JSON object.
pub fn split<Own: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<(DeploymentBody, Own), String> {
    crate::wire::split_object(value)
}

/// The schema of a request: the deployment's properties and the request's own (`Own`), inline
/// in one object (no `allOf`, which some client generators handle badly), closed to other keys.
pub fn request_schema<Own: ToSchema>(description: &str, example: serde_json::Value) -> RefOr<Schema> {
    let object = |schema: RefOr<Schema>| match schema {
        RefOr::T(Schema::Object(object)) => object,
        _ => Object::new(),
    };
    let mut merged = object(<DeploymentBody as utoipa::PartialSchema>::schema());
    let own = object(<Own as utoipa::PartialSchema>::schema());
    merged.properties.extend(own.properties);
    merged.required.extend(own.required);
    merged.description = Some(description.to_owned());
    merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    #[allow(deprecated)]
    {
        merged.example = Some(example);
    }
    RefOr::T(Schema::Object(merged))
}

/// Implements the wire traits of a request made of [`DeploymentBody`] (field `deployment`) and
/// its own fields (the second field): reading by key ([`split`]), and a schema with both sets of
/// properties inline ([`request_schema`]).
macro_rules! deployment_request {
    ($request:ident, $own:ident, $field:ident, $description:literal, $example:expr) => {
        impl TryFrom<serde_json::Value> for $request {
            type Error = String;
            fn try_from(value: serde_json::Value) -> Result<Self, String> {
                let (deployment, $field) = $crate::scenario::deployment::split::<$own>(value)?;
                Ok(Self { deployment, $field })
            }
        }

        impl utoipa::PartialSchema for $request {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::scenario::deployment::request_schema::<$own>($description, $example)
            }
        }

        impl utoipa::ToSchema for $request {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$crate::scenario::deployment::DeploymentBody as utoipa::ToSchema>::schemas(schemas);
                <$own as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}
pub(crate) use deployment_request;

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;

    /// Each request reads the deployment's fields at the top level, refuses unknown ones at their
    /// pointer, and keeps errors inside a deployment field at that field's pointer.
    #[test]
    fn requests_read_the_deployment_at_the_top_level() {
        use crate::scenario::document::from_value;
        use crate::scenario::inference::InferenceRequest;
        use crate::scenario::serving::ServingRequest;
        let body = serde_json::json!({"model": "llama-3.1-8b", "hardware": "h100", "devices": 2,
            "parallelism": {"tensor": 2}, "engine": "vllm"});
        let inference: InferenceRequest = from_value(body.clone()).unwrap();
        let serving: ServingRequest = from_value(body).unwrap();
        assert_eq!(inference.deployment.devices, Some(2));
        assert_eq!(serving.deployment.parallelism.and_then(|p| p.tensor), Some(2));
        for (body, pointer) in [
            (serde_json::json!({"model": "m", "hardware": "h", "nope": 1}), "/nope"),
            (serde_json::json!({"model": "m", "hardware": "h", "parallelism": {"tensor": "x"}}), "/parallelism/tensor"),
            (serde_json::json!({"model": "m", "hardware": "h", "devices": -1}), "/devices"),
            (serde_json::json!({"hardware": "h"}), "/model"),
        ] {
            let error = from_value::<InferenceRequest>(body.clone()).unwrap_err();
            assert_eq!(error.field_errors()[0].pointer, pointer, "{body}");
            let error = from_value::<ServingRequest>(body.clone()).unwrap_err();
            assert_eq!(error.field_errors()[0].pointer, pointer, "{body}");
        }
        let error =
            from_value::<InferenceRequest>(serde_json::json!({"model": "m", "hardware": "h", "batch_size": "x"}))
                .unwrap_err();
        assert_eq!(error.field_errors()[0].pointer, "/batch_size");
        let error = from_value::<ServingRequest>(serde_json::json!({"model": "m", "hardware": "h", "batch_size": 1}))
            .unwrap_err();
        assert_eq!(error.field_errors()[0].pointer, "/batch_size");
    }

    fn parse(body: serde_json::Value) -> Result<crate::scenario::inference::InferenceScenario, super::Error> {
        let catalog = catalog();
        let request = crate::scenario::document::from_value(body)?;
        crate::scenario::inference::InferenceScenario::parse(catalog, &request, "")
    }

    fn catalog() -> &'static Catalog {
        static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        CATALOG.get_or_init(|| Catalog::embedded().unwrap())
    }

    fn fits(s: &crate::scenario::inference::InferenceScenario) -> (bool, f64, f64) {
        let m = crate::engine::inference::estimate(&crate::engine::inference::InferenceInput {
            explain: false,
            ..s.input()
        })
        .memory;
        (m.fits, m.per_device.total.0, m.capacity.0)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whenever some explicit tensor x pipeline split of the devices fits, the automatic
        /// layout fits too (and it is refused only when none does); when it fits, the device's
        /// total is within its capacity.
        #[test]
        fn the_automatic_layout_fits_whenever_a_split_does(
            model in 0usize..6,
            device in 0usize..4,
            devices in 1u32..=16,
            weights in 0usize..4,
            engine in 0usize..5,
            batch in 1u64..64,
            context in 0usize..3,
        ) {
            let model = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mixtral-8x7b", "deepseek-v2-lite", "qwen2.5-72b"][model];
            let hardware = ["nvidia-h100-sxm-80gb", "rtx-4090", "nvidia-a100-sxm4-40gb", "nvidia-l4"][device];
            let weights = ["bf16", "fp8", "q4_k_m", "int4"][weights];
            let engine = ["generic", "vllm", "llama.cpp", "tensorrt-llm", "sglang"][engine];
            let input_tokens = [512u64, 4096, 32_768][context];
            let body = serde_json::json!({"model": model, "hardware": hardware, "weights": weights, "engine": engine,
                "devices": devices, "batch_size": batch, "input_tokens": input_tokens, "output_tokens": 256});
            let some_split_fits = (1..=devices).filter(|t| devices.is_multiple_of(*t)).any(|t| {
                (1..=devices / t).filter(|p| (devices / t).is_multiple_of(*p)).any(|p| {
                    let mut explicit = body.clone();
                    explicit["parallelism"] = serde_json::json!({"tensor": t, "pipeline": p});
                    parse(explicit).is_ok_and(|s| fits(&s).0)
                })
            });
            match parse(body.clone()) {
                Ok(auto) => {
                    let (auto_fits, total, capacity) = fits(&auto);
                    proptest::prop_assert_eq!(auto.parallelism.devices(), u64::from(devices));
                    if some_split_fits {
                        proptest::prop_assert!(auto_fits, "{body}: {:?} does not fit", auto.parallelism);
                    }
                    if auto_fits {
                        proptest::prop_assert!(total <= capacity, "{body}: {total} > {capacity}");
                    }
                }
                Err(error) => {
                    proptest::prop_assert!(devices > 1, "{body}: {error}");
                    proptest::prop_assert!(!some_split_fits, "{body}: refused ({error}) though a split fits");
                    let pointer = error.field_errors().first().map(|f| f.pointer.clone());
                    proptest::prop_assert_eq!(pointer.as_deref(), Some("/devices"));
                }
            }
        }
    }
}
