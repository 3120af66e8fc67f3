//! The inference request (`POST /v1/estimate/inference`, `hwcost estimate inference`, a check's
//! `inference`, a batch item, a validation point) and its one parser.
//!
//! [`InferenceScenario::parse`] resolves the model and device, applies and lists defaults,
//! checks ranges ([`range`]) and the layout ([`super::layout`]), and returns what the engine needs,
//! owned. Field names follow the API contract (`DESIGN.md` section 3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cost::CostPlan;
use super::deployment::{Deployment, DeploymentBody, LayoutChoice, deployment_request};
use super::range::{self, Checks};
use super::resolve::{ResolvedDevice, ResolvedModel, ResolvedNetwork};
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::engine::format::Format;
use crate::engine::inference::{Batch, InferenceInput};
use crate::engine::parallelism::Parallelism;
use crate::engine::profile::EngineProfile;
use crate::engine::techniques::Techniques;

/// Weight and KV-cache formats (bits per element in `data/formats.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum FormatId {
    /// 32-bit float.
    Fp32,
    /// bfloat16.
    Bf16,
    /// IEEE half.
    Fp16,
    /// 8-bit float (E4M3).
    Fp8,
    /// 8-bit integer (W8A8).
    Int8,
    /// 4-bit integer, group size 128 (AWQ/GPTQ), weight-only.
    Int4,
    /// NVIDIA FP4 with FP8 scales per 16.
    Nvfp4,
    /// OCP MXFP4.
    Mxfp4,
    /// llama.cpp Q4_0.
    #[value(name = "q4_0")]
    Q4_0,
    /// llama.cpp Q8_0.
    #[value(name = "q8_0")]
    Q8_0,
    /// llama.cpp Q6_K.
    #[value(name = "q6_k")]
    Q6K,
    /// llama.cpp Q5_K_M.
    #[value(name = "q5_k_m")]
    Q5KM,
    /// llama.cpp Q4_K_M.
    #[value(name = "q4_k_m")]
    Q4KM,
}

impl FormatId {
    /// Every format; the catalog must define each one.
    pub const ALL: [FormatId; 13] = [
        FormatId::Fp32,
        FormatId::Bf16,
        FormatId::Fp16,
        FormatId::Fp8,
        FormatId::Int8,
        FormatId::Int4,
        FormatId::Nvfp4,
        FormatId::Mxfp4,
        FormatId::Q4_0,
        FormatId::Q8_0,
        FormatId::Q6K,
        FormatId::Q5KM,
        FormatId::Q4KM,
    ];

    /// The KV-cache format used with these weights unless one is asked for: FP8 with FP8 or
    /// narrower float weights (engines that run those keep an FP8 cache), else 16-bit.
    pub fn default_kv_cache(self) -> FormatId {
        match self {
            FormatId::Fp8 | FormatId::Nvfp4 | FormatId::Mxfp4 => FormatId::Fp8,
            FormatId::Fp16 => FormatId::Fp16,
            _ => FormatId::Bf16,
        }
    }

    /// The catalog id.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatId::Fp32 => "fp32",
            FormatId::Bf16 => "bf16",
            FormatId::Fp16 => "fp16",
            FormatId::Fp8 => "fp8",
            FormatId::Int8 => "int8",
            FormatId::Int4 => "int4",
            FormatId::Nvfp4 => "nvfp4",
            FormatId::Mxfp4 => "mxfp4",
            FormatId::Q4_0 => "q4_0",
            FormatId::Q8_0 => "q8_0",
            FormatId::Q6K => "q6_k",
            FormatId::Q5KM => "q5_k_m",
            FormatId::Q4KM => "q4_k_m",
        }
    }
}

/// Serving engines with an efficiency profile in `data/engines/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
pub enum EngineId {
    /// No engine-specific knowledge.
    #[serde(rename = "generic")]
    #[value(name = "generic")]
    Generic,
    /// NVIDIA TensorRT-LLM.
    #[serde(rename = "tensorrt-llm")]
    #[value(name = "tensorrt-llm")]
    TensorrtLlm,
    /// vLLM.
    #[serde(rename = "vllm")]
    #[value(name = "vllm")]
    Vllm,
    /// SGLang.
    #[serde(rename = "sglang")]
    #[value(name = "sglang")]
    Sglang,
    /// llama.cpp.
    #[serde(rename = "llama.cpp")]
    #[value(name = "llama.cpp")]
    LlamaCpp,
    /// Hugging Face transformers.
    #[serde(rename = "transformers")]
    #[value(name = "transformers")]
    Transformers,
}

impl EngineId {
    /// Every engine; the catalog must define each one.
    pub const ALL: [EngineId; 6] = [
        EngineId::Generic,
        EngineId::TensorrtLlm,
        EngineId::Vllm,
        EngineId::Sglang,
        EngineId::LlamaCpp,
        EngineId::Transformers,
    ];

    /// The catalog id.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineId::Generic => "generic",
            EngineId::TensorrtLlm => "tensorrt-llm",
            EngineId::Vllm => "vllm",
            EngineId::Sglang => "sglang",
            EngineId::LlamaCpp => "llama.cpp",
            EngineId::Transformers => "transformers",
        }
    }
}

/// An engine and optionally one of its releases: `tensorrt-llm`, `tensorrt-llm@1.0`, `vllm@v0`.
/// The plain id means the engine's latest release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineRef {
    /// The engine.
    pub id: EngineId,
    /// The release, if one was named.
    pub release: Option<String>,
}

impl From<EngineId> for EngineRef {
    fn from(id: EngineId) -> Self {
        Self { id, release: None }
    }
}

impl std::str::FromStr for EngineRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, release) = match s.split_once('@') {
            Some((name, release)) => (name, Some(release.to_owned())),
            None => (s, None),
        };
        // Ids are case-insensitive on input (`vLLM`), canonical on output.
        let id = EngineId::ALL.into_iter().find(|e| e.as_str().eq_ignore_ascii_case(name)).ok_or_else(|| {
            let known: Vec<&str> = EngineId::ALL.iter().map(|e| e.as_str()).collect();
            format!("unknown engine {name:?}; expected one of {}, optionally with @release", known.join(", "))
        })?;
        if release.as_deref().is_some_and(|r| r.is_empty() || r.len() > 32) {
            return Err("a release after '@' must be 1 to 32 characters".into());
        }
        Ok(Self { id, release })
    }
}

impl std::fmt::Display for EngineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.release {
            Some(r) => write!(f, "{}@{r}", self.id.as_str()),
            None => f.write_str(self.id.as_str()),
        }
    }
}

impl Serialize for EngineRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EngineRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for EngineRef {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^(generic|tensorrt-llm|vllm|sglang|llama\\.cpp|transformers)(@[^@]{1,32})?$"))
            .examples(["tensorrt-llm", "tensorrt-llm@1.0", "vllm@v0"])
            .description(Some(
                "Engine profile: generic, tensorrt-llm, vllm, sglang, llama.cpp or transformers, optionally with a release (tensorrt-llm@0.14, tensorrt-llm@1.0, vllm@v0, vllm@v1); the plain id means the latest release",
            ))
            .into()
    }
}

impl ToSchema for EngineRef {}

/// How devices split the model; each degree defaults to 1. `devices` must equal the product.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParallelismBody {
    /// Tensor parallel degree; must divide the attention heads (kv heads are replicated when
    /// fewer than this).
    #[schema(example = 8)]
    pub tensor: Option<u32>,
    /// Pipeline stages; at most the number of layers.
    pub pipeline: Option<u32>,
    /// Expert parallel degree (MoE only); must divide the number of experts. Each expert rank
    /// (a group of `tensor` devices) holds `experts / expert` routed experts and its own
    /// sequences and KV cache: attention and the dense layers run data-parallel across the
    /// ranks (attention data parallelism, TensorRT-LLM's `enable_attention_dp`, vLLM's and
    /// SGLang's DP attention), their weights replicated on each rank, tensor-parallel within it.
    pub expert: Option<u32>,
    /// Independent replicas (default: the devices left by the other degrees).
    pub data: Option<u32>,
}

/// Concurrent sequences per replica, or `"max"` for the largest that fits.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(untagged)]
pub enum BatchSize {
    /// A fixed count.
    Count(u64),
    /// The largest that fits (capped by the engine's scheduler limit).
    Max(MaxKeyword),
}

impl utoipa::PartialSchema for BatchSize {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(range::BATCH_SIZE.min))
                    .maximum(Some(range::BATCH_SIZE.max)),
            )
            .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["max"])))
            .description(Some(format!(
                "Concurrent sequences per replica ({} to {}), or \"max\" for the largest that fits",
                range::BATCH_SIZE.min,
                range::BATCH_SIZE.max
            )))
            .into()
    }
}

impl ToSchema for BatchSize {}

/// The keyword `max`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxKeyword {
    /// Largest batch that fits.
    Max,
}

/// Replace calibration constants or the price for this request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InferenceOverrides {
    /// Large-GEMM fraction of peak, 0.01 to 1.
    pub compute_efficiency: Option<f64>,
    /// Fraction of peak memory bandwidth, 0.01 to 1.
    pub memory_efficiency: Option<f64>,
    /// Share of device memory the engine may use, above 0 and at most 1.
    pub memory_fraction: Option<f64>,
    /// Price of one device-hour, USD [0 to 10000] (the same as `cost.usd_per_device_hour`).
    pub usd_per_device_hour: Option<f64>,
}

/// An inference workload to estimate: a deployment ([`DeploymentBody`], its fields at the top
/// level of the body) and the batch and lengths it runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "serde_json::Value")]
pub struct InferenceRequest {
    /// What runs where.
    #[serde(flatten)]
    pub deployment: DeploymentBody,
    /// The batch and the lengths.
    #[serde(flatten)]
    pub run: InferenceRun,
}

/// The fields of an inference request beside its deployment's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InferenceRun {
    /// Concurrent sequences per replica (default 1), or "max".
    pub batch_size: Option<BatchSize>,
    /// Prompt tokens per sequence (default 1024).
    pub input_tokens: Option<u64>,
    /// Generated tokens per sequence (default 256).
    pub output_tokens: Option<u64>,
}

deployment_request!(
    InferenceRequest,
    InferenceRun,
    run,
    "An inference workload to estimate.",
    serde_json::json!({
        "model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4,
        "parallelism": {"tensor": 4}, "weights": "fp8", "kv_cache": "fp8", "batch_size": 32,
        "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"
    })
);

display_as_wire!(FormatId, EngineId);

/// A parsed, validated inference request: what the engine needs, owned, and what was assumed.
#[derive(Debug, Clone)]
pub struct InferenceScenario {
    /// Resolved model.
    pub model: ResolvedModel,
    /// Resolved device.
    pub device: ResolvedDevice,
    /// Parallel degrees.
    pub parallelism: Parallelism,
    /// Weight format.
    pub weights: Format,
    /// KV format.
    pub kv_cache: Format,
    /// Batch.
    pub batch: Batch,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
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
    /// The network between nodes.
    pub network: Option<ResolvedNetwork>,
}

impl InferenceScenario {
    /// The engine input borrowing from this, with explanations.
    pub fn input(&self) -> InferenceInput<'_> {
        InferenceInput {
            arch: &self.model.architecture,
            anatomy: &self.model.anatomy,
            device: &self.device.device,
            parallelism: self.parallelism,
            weights: &self.weights,
            kv_cache: &self.kv_cache,
            batch: self.batch,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            profile: &self.profile,
            usd_per_device_hour: self.cost.usd_per_device_hour(),
            explain: true,
            network: self.network.as_ref().map(|n| n.engine),
            techniques: self.techniques,
        }
    }

    /// Parses a request; `prefix` is the pointer of the request in its document (`""`, or
    /// `/items/3/inference` in a batch).
    pub fn parse(catalog: &Catalog, request: &InferenceRequest, prefix: &str) -> Result<Self, Error> {
        let at = |field: &str| format!("{prefix}/{field}");
        let run = &request.run;
        let mut checks = Checks::default();
        let input_tokens = checks.int(at("input_tokens"), range::INPUT_TOKENS, run.input_tokens.unwrap_or(1024));
        let output_tokens = checks.int(at("output_tokens"), range::OUTPUT_TOKENS, run.output_tokens.unwrap_or(256));
        let batch = match run.batch_size {
            None => Batch::Fixed(1),
            Some(BatchSize::Max(_)) => Batch::Max,
            Some(BatchSize::Count(n)) => Batch::Fixed(checks.int(at("batch_size"), range::BATCH_SIZE, n)),
        };
        let deployment = Deployment::parse(catalog, &request.deployment, prefix, checks)?;

        if input_tokens + output_tokens == 0 {
            return Err(Error::unprocessable(at("output_tokens"), "input_tokens and output_tokens cannot both be 0"));
        }
        let mut assumed = Assumptions::default();
        if run.input_tokens.is_none() {
            assumed.push("input_tokens", input_tokens, "the default prompt length");
        }
        if run.output_tokens.is_none() {
            assumed.push("output_tokens", output_tokens, "the default output length");
        }
        if run.batch_size.is_none() {
            assumed.push("batch_size", 1, "one sequence at a time unless a batch is given");
        }
        Self::from_deployment(deployment, batch, input_tokens, output_tokens, assumed)
    }

    /// The scenario of a parsed deployment running `batch` sequences of these lengths; `assumed`
    /// holds what the caller already assumed (listed first). A layout left to hwcost is chosen
    /// here, where the workload that must fit is known.
    pub fn from_deployment(
        deployment: Deployment,
        batch: Batch,
        input_tokens: u64,
        output_tokens: u64,
        mut assumed: Assumptions,
    ) -> Result<Self, Error> {
        assumed.0.extend(deployment.assumptions.0.iter().cloned());
        let layout = match deployment.layout {
            LayoutChoice::Given(layout) => layout,
            LayoutChoice::Automatic { devices } => {
                let layout = deployment.choose_layout(devices, (batch, input_tokens, output_tokens), &mut assumed)?;
                if layout.data > 1 {
                    assumed.push(
                        "parallelism/data",
                        layout.data,
                        "the devices left after tensor x pipeline x expert serve as replicas",
                    );
                }
                layout
            }
        };
        let replica = u64::from(layout.tensor) * u64::from(layout.pipeline) * u64::from(layout.expert);
        if let (Some(net), Some(node)) =
            (&deployment.network, deployment.device.device.interconnect.and_then(|ic| ic.node))
            && replica > u64::from(node)
            && !deployment.network_given
        {
            assumed.push(
                "network",
                net.id.as_str(),
                "the default network between nodes: a replica spans more devices than one node joins",
            );
        }
        if layout.expert > 1 && deployment.moe_given.is_none() {
            assumed.push(
                "moe/hottest_expert_load",
                deployment.techniques.moe.hottest_rank_load,
                "the hottest expert rank's load over the mean measured with an expert load balancer (EPLB; TensorRT-LLM, DeepSeek R1 EP32: 1.109; without EPLB 2.564, data/serving/moe.toml); give moe.hottest_expert_load (1 = uniform routing)",
            );
        }
        if layout.expert > 1 && !deployment.two_batch_overlap_given {
            assumed.push(
                "moe/two_batch_overlap",
                false,
                "no two-batch overlap: the expert all-to-alls add to the step (give moe.two_batch_overlap: true for DeepSeek/SGLang TBO)",
            );
        }
        let Deployment { model, device, weights, kv_cache, engine, profile, cost, network, techniques, .. } =
            deployment;
        Ok(Self {
            weights,
            kv_cache,
            model,
            device,
            parallelism: Parallelism {
                tensor: layout.tensor,
                pipeline: layout.pipeline,
                expert: layout.expert,
                data: layout.data,
            },
            batch,
            input_tokens,
            output_tokens,
            engine,
            profile,
            cost,
            techniques,
            assumptions: assumed,
            network,
        })
    }
}

/// The profile of an engine reference: the release's, or the latest for a plain id.
pub fn engine_profile(catalog: &Catalog, engine: &EngineRef, pointer: &str) -> Result<EngineProfile, Error> {
    if let Some(e) = catalog.engine(&engine.to_string()) {
        return Ok(e.profile.clone());
    }
    if engine.release.is_none() {
        return Err(Error::Internal(format!("engine {engine} missing from the catalog")));
    }
    let prefix = format!("{}@", engine.id.as_str());
    let known: Vec<&str> =
        catalog.engines().iter().map(|e| e.record.id.as_str()).filter(|id| id.starts_with(&prefix)).collect();
    Err(Error::unprocessable(
        pointer.to_owned(),
        if known.is_empty() {
            format!("{} has no release profiles; use the plain id", engine.id.as_str())
        } else {
            format!("unknown release {engine}; known: {}", known.join(", "))
        },
    ))
}

/// Replaces a profile's efficiencies, for every device kind: what `overrides` and calibration
/// mean by "this engine reaches this share of peak".
pub fn apply_efficiencies(profile: &mut EngineProfile, compute: Option<f64>, memory: Option<f64>) {
    if let Some(v) = compute {
        profile.compute_efficiency = v;
        profile.kind_adjustments.iter_mut().for_each(|k| k.compute_efficiency = v);
    }
    if let Some(v) = memory {
        profile.memory_efficiency = v;
        profile.kind_adjustments.iter_mut().for_each(|k| k.memory_efficiency = v);
    }
}

/// A catalog format by wire id.
pub fn format(catalog: &Catalog, id: FormatId) -> Result<Format, Error> {
    catalog
        .format(id.as_str())
        .map(|f| f.to_engine())
        .ok_or_else(|| Error::Internal(format!("format {} missing from the catalog", id.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_names_are_the_wire_names() {
        use clap::ValueEnum;
        for id in FormatId::ALL {
            assert_eq!(id.to_possible_value().unwrap().get_name(), id.as_str());
        }
        for id in EngineId::ALL {
            assert_eq!(id.to_possible_value().unwrap().get_name(), id.as_str());
        }
    }

    #[test]
    fn every_format_and_engine_id_is_in_the_catalog() {
        let catalog = Catalog::embedded().unwrap();
        for id in FormatId::ALL {
            assert!(catalog.format(id.as_str()).is_some(), "format {} missing from data/formats.toml", id.as_str());
            let wire = serde_json::to_value(id).unwrap();
            assert_eq!(wire, id.as_str());
        }
        for id in EngineId::ALL {
            assert!(catalog.engine(id.as_str()).is_some(), "engine {} missing from data/engines", id.as_str());
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
    }

    /// Found by fuzzing (tests/fuzz, inference_request): an efficiency of 5e-324 passed the
    /// old "above 0" check and the estimate came out infinite (end-to-end time `inf`, sent
    /// as 1.8e308 ms). Efficiencies now start at 0.01, as training's override and calibration do.
    #[test]
    fn a_vanishing_efficiency_is_refused() {
        let catalog = Catalog::embedded().unwrap();
        for field in ["compute_efficiency", "memory_efficiency"] {
            let request: InferenceRequest = serde_json::from_value(serde_json::json!({
                "model": "mixtral-8x7b", "hardware": "nvidia-a100-sxm4-80gb", "weights": "fp8",
                "parallelism": {"expert": 2}, "devices": 2, "overrides": {field: 5e-324}
            }))
            .unwrap();
            let Err(Error::InvalidRequest(errors)) = InferenceScenario::parse(&catalog, &request, "") else {
                panic!("{field} = 5e-324 accepted");
            };
            assert_eq!(errors[0].pointer, format!("/overrides/{field}"));
        }
        let request: InferenceRequest = serde_json::from_value(serde_json::json!({
            "model": "mixtral-8x7b", "hardware": "nvidia-a100-sxm4-80gb", "weights": "fp8",
            "parallelism": {"expert": 2}, "devices": 2,
            "overrides": {"compute_efficiency": 0.01, "memory_efficiency": 0.01}
        }))
        .unwrap();
        let scenario = InferenceScenario::parse(&catalog, &request, "").unwrap();
        let e = crate::engine::inference::estimate(&scenario.input());
        assert!(e.e2e.0.is_finite() && e.ttft.0.is_finite() && e.tpot.0.is_finite(), "{e:?}");
    }
}
