//! `POST /v1/estimate/inference`: memory, FLOPs, latency, throughput, cost and energy of serving
//! a model on devices, every number explained.
//!
//! Field names follow the API contract (`../shared/DESIGN.md` section 3). Parsing happens here:
//! the request becomes an [`InferenceInput`] (ranges and cross-field rules checked, ids
//! resolved) and the engine, which cannot fail, does the rest.

use std::collections::BTreeMap;

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error_band::ErrorBand;
use super::extract::Json;
use super::problem::{ApiError, Problem};
use super::resolve::{self, HardwareRef, ModelRef};
use super::state::AppState;
use crate::catalog::Catalog;
use crate::engine::device::compute_name;
use crate::engine::explain::{Explanation, Warning};
use crate::engine::format::Format;
use crate::engine::inference::{self, Batch, Bound, InferenceEstimate, InferenceInput, Phase};
use crate::engine::parallelism::Parallelism;
use crate::engine::profile::EngineProfile;

/// Weight and KV-cache formats (bits per element in `data/formats.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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
    Q4_0,
    /// llama.cpp Q8_0.
    Q8_0,
    /// llama.cpp Q6_K.
    Q6K,
    /// llama.cpp Q5_K_M.
    Q5KM,
    /// llama.cpp Q4_K_M.
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

    /// The catalog id.
    /// The KV-cache format used with these weights unless one is asked for: FP8 with FP8 or
    /// narrower float weights (engines that run those keep an FP8 cache), else 16-bit.
    pub fn default_kv_cache(self) -> FormatId {
        match self {
            FormatId::Fp8 | FormatId::Nvfp4 | FormatId::Mxfp4 => FormatId::Fp8,
            FormatId::Fp16 => FormatId::Fp16,
            _ => FormatId::Bf16,
        }
    }

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum EngineId {
    /// No engine-specific knowledge.
    #[serde(rename = "generic")]
    Generic,
    /// NVIDIA TensorRT-LLM.
    #[serde(rename = "tensorrt-llm")]
    TensorrtLlm,
    /// vLLM.
    #[serde(rename = "vllm")]
    Vllm,
    /// SGLang.
    #[serde(rename = "sglang")]
    Sglang,
    /// llama.cpp.
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// Hugging Face transformers.
    #[serde(rename = "transformers")]
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

/// How devices split the model; each degree defaults to 1. `devices` must equal the product.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParallelismBody {
    /// Tensor parallel degree; must divide the attention heads (kv heads are replicated when
    /// fewer than this).
    #[schema(minimum = 1, maximum = 1024, example = 8)]
    pub tensor: Option<u32>,
    /// Pipeline stages; at most the number of layers.
    #[schema(minimum = 1, maximum = 1024)]
    pub pipeline: Option<u32>,
    /// Expert parallel degree (MoE only); must divide the number of experts.
    #[schema(minimum = 1, maximum = 1024)]
    pub expert: Option<u32>,
    /// Independent replicas (default: the devices left by the other degrees).
    #[schema(minimum = 1, maximum = 65536)]
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
            .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(1_000_000)))
            .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["max"])))
            .description(Some("Concurrent sequences per replica (1 to 1000000), or \"max\" for the largest that fits"))
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
    #[schema(minimum = 0.01, maximum = 1)]
    pub compute_efficiency: Option<f64>,
    /// Fraction of peak memory bandwidth, 0.01 to 1.
    #[schema(minimum = 0.01, maximum = 1)]
    pub memory_efficiency: Option<f64>,
    /// Share of device memory the engine may use, 0.01 to 1.
    #[schema(minimum = 0.01, maximum = 1)]
    pub memory_fraction: Option<f64>,
    /// Price of one device-hour, USD [0 to 10000].
    #[schema(minimum = 0, maximum = 10000)]
    pub usd_per_device_hour: Option<f64>,
}

/// An inference workload to estimate.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "model": "llama-3.1-70b", "hardware": "nvidia-h100-sxm-80gb", "devices": 4,
    "parallelism": {"tensor": 4}, "weights": "fp8", "kv_cache": "fp8", "batch_size": 32,
    "input_tokens": 2048, "output_tokens": 256, "engine": "tensorrt-llm"
}))]
pub struct InferenceRequest {
    /// Model id or inline config.json.
    #[schema(value_type = ModelRef)]
    pub model: serde_json::Value,
    /// Device id or inline record.
    #[schema(value_type = HardwareRef)]
    pub hardware: serde_json::Value,
    /// Number of devices (default: the product of the parallel degrees).
    #[schema(minimum = 1, maximum = 65536)]
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
    #[schema(minimum = 16, maximum = 4096)]
    pub weights_group_size: Option<u32>,
    /// Concurrent sequences per replica (default 1), or "max".
    pub batch_size: Option<BatchSize>,
    /// Prompt tokens per sequence (default 1024).
    #[schema(minimum = 0, maximum = 16777216)]
    pub input_tokens: Option<u64>,
    /// Generated tokens per sequence (default 256).
    #[schema(minimum = 0, maximum = 1048576)]
    pub output_tokens: Option<u64>,
    /// Engine profile (default generic).
    pub engine: Option<EngineId>,
    /// Calibration and price overrides.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub overrides: Option<InferenceOverrides>,
}

/// A parsed, validated request: what the engine needs, owned.
#[derive(Debug, Clone)]
pub struct ParsedInference {
    /// Resolved model.
    pub model: resolve::ResolvedModel,
    /// Resolved device.
    pub device: resolve::ResolvedDevice,
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
    /// Engine profile, overrides applied.
    pub profile: EngineProfile,
    /// Price per device-hour.
    pub usd_per_device_hour: Option<f64>,
}

impl ParsedInference {
    /// The engine input borrowing from this.
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
            usd_per_device_hour: self.usd_per_device_hour,
            explain: true,
        }
    }
}

fn format(catalog: &Catalog, id: FormatId) -> Result<Format, ApiError> {
    catalog
        .format(id.as_str())
        .map(|f| f.to_engine())
        .ok_or_else(|| ApiError::Internal(format!("format {} missing from the catalog", id.as_str())))
}

fn semantic(pointer: &str, detail: String) -> ApiError {
    ApiError::Unprocessable { detail, pointer: Some(pointer.to_owned()) }
}

/// Parses a request body into engine inputs; `prefix` is the pointer of the request (for batch
/// items).
pub fn parse(catalog: &Catalog, request: &InferenceRequest, prefix: &str) -> Result<ParsedInference, ApiError> {
    let (model, device) = resolve::references(catalog, &request.model, &request.hardware, prefix)?;
    let arch = &model.architecture;

    let p = request.parallelism.clone().unwrap_or_default();
    let mut range_errors = Vec::new();
    let mut degree = |name: &str, value: Option<u32>, max: u32| {
        let v = value.unwrap_or(1);
        if v == 0 || v > max {
            range_errors.push(super::problem::FieldError::new(
                format!("{prefix}/parallelism/{name}"),
                format!("must be an integer from 1 to {max}, got {v}"),
            ));
        }
        v.clamp(1, max)
    };
    let mut parallelism = Parallelism {
        tensor: degree("tensor", p.tensor, 1024),
        pipeline: degree("pipeline", p.pipeline, 1024),
        expert: degree("expert", p.expert, 1024),
        data: degree("data", p.data, 65536),
    };
    if let Some(d) = request.devices
        && (d == 0 || d > 65536)
    {
        range_errors.push(super::problem::FieldError::new(
            format!("{prefix}/devices"),
            format!("must be an integer from 1 to 65536, got {d}"),
        ));
    }
    let group_size = request.weights_group_size.unwrap_or(128);
    if !(16..=4096).contains(&group_size) {
        range_errors.push(super::problem::FieldError::new(
            format!("{prefix}/weights_group_size"),
            format!("must be an integer from 16 to 4096, got {group_size}"),
        ));
    }
    let input_tokens = request.input_tokens.unwrap_or(1024);
    if input_tokens > 16_777_216 {
        range_errors.push(super::problem::FieldError::new(
            format!("{prefix}/input_tokens"),
            format!("must be an integer from 0 to 16777216, got {input_tokens}"),
        ));
    }
    let output_tokens = request.output_tokens.unwrap_or(256);
    if output_tokens > 1_048_576 {
        range_errors.push(super::problem::FieldError::new(
            format!("{prefix}/output_tokens"),
            format!("must be an integer from 0 to 1048576, got {output_tokens}"),
        ));
    }
    let batch = match request.batch_size {
        None => Batch::Fixed(1),
        Some(BatchSize::Max(_)) => Batch::Max,
        Some(BatchSize::Count(n)) => {
            if n == 0 || n > 1_000_000 {
                range_errors.push(super::problem::FieldError::new(
                    format!("{prefix}/batch_size"),
                    format!("must be an integer from 1 to 1000000 or \"max\", got {n}"),
                ));
            }
            Batch::Fixed(n.clamp(1, 1_000_000))
        }
    };
    let overrides = request.overrides.clone().unwrap_or_default();
    for (name, value, min_exclusive, max) in [
        ("compute_efficiency", overrides.compute_efficiency, true, 1.0),
        ("memory_efficiency", overrides.memory_efficiency, true, 1.0),
        ("memory_fraction", overrides.memory_fraction, true, 1.0),
        ("usd_per_device_hour", overrides.usd_per_device_hour, false, 10_000.0),
    ] {
        if let Some(v) = value {
            let low_ok = if min_exclusive { v > 0.0 } else { v >= 0.0 };
            if !(v.is_finite() && low_ok && v <= max) {
                let range =
                    if min_exclusive { format!("above 0 and at most {max}") } else { format!("from 0 to {max}") };
                range_errors.push(super::problem::FieldError::new(
                    format!("{prefix}/overrides/{name}"),
                    format!("must be a number {range}, got {v}"),
                ));
            }
        }
    }
    if !range_errors.is_empty() {
        return Err(ApiError::InvalidRequest(range_errors));
    }

    // Replicas default to the devices left over by tensor x pipeline x expert.
    let model_parallel = parallelism.devices();
    if p.data.is_none()
        && let Some(d) = request.devices
        && d > 0
        && u64::from(d).is_multiple_of(model_parallel)
    {
        parallelism.data = u32::try_from(u64::from(d) / model_parallel).unwrap_or(1);
    }
    // Cross-field rules: valid JSON of the right shape that describes an impossible deployment.
    let product = parallelism.devices();
    let devices = u64::from(request.devices.unwrap_or(0));
    if devices != 0 && devices != product {
        return Err(semantic(
            &format!("{prefix}/devices"),
            format!(
                "devices ({devices}) must equal tensor x pipeline x expert x data ({} x {} x {} x {} = {product})",
                parallelism.tensor, parallelism.pipeline, parallelism.expert, parallelism.data
            ),
        ));
    }
    if product > 65536 {
        return Err(semantic(
            &format!("{prefix}/parallelism"),
            format!("the parallel degrees multiply to {product} devices; at most 65536"),
        ));
    }
    if !arch.heads.is_multiple_of(u64::from(parallelism.tensor)) {
        return Err(semantic(
            &format!("{prefix}/parallelism/tensor"),
            format!("tensor parallel degree {} must divide the {} attention heads", parallelism.tensor, arch.heads),
        ));
    }
    if parallelism.pipeline > arch.layers {
        return Err(semantic(
            &format!("{prefix}/parallelism/pipeline"),
            format!("{} pipeline stages exceed the {} layers", parallelism.pipeline, arch.layers),
        ));
    }
    match arch.moe {
        None if parallelism.expert > 1 => {
            return Err(semantic(
                &format!("{prefix}/parallelism/expert"),
                "expert parallelism needs a mixture-of-experts model".into(),
            ));
        }
        Some(moe) if !moe.experts.is_multiple_of(u64::from(parallelism.expert)) => {
            return Err(semantic(
                &format!("{prefix}/parallelism/expert"),
                format!("expert parallel degree {} must divide the {} experts", parallelism.expert, moe.experts),
            ));
        }
        _ => {}
    }
    if input_tokens + output_tokens == 0 {
        return Err(semantic(
            &format!("{prefix}/output_tokens"),
            "input_tokens and output_tokens cannot both be 0".into(),
        ));
    }

    let weights_id = request.weights.unwrap_or(FormatId::Bf16);
    let kv_id = request.kv_cache.unwrap_or_else(|| weights_id.default_kv_cache());
    let engine_id = request.engine.unwrap_or(EngineId::Generic);
    let mut profile = catalog
        .engine(engine_id.as_str())
        .map(|e| e.profile.clone())
        .ok_or_else(|| ApiError::Internal(format!("engine {} missing from the catalog", engine_id.as_str())))?;
    if let Some(v) = overrides.compute_efficiency {
        profile.compute_efficiency = v;
        profile.kind_adjustments.iter_mut().for_each(|k| k.compute_efficiency = v);
    }
    if let Some(v) = overrides.memory_efficiency {
        profile.memory_efficiency = v;
        profile.kind_adjustments.iter_mut().for_each(|k| k.memory_efficiency = v);
    }
    if let Some(v) = overrides.memory_fraction {
        profile.memory_fraction = v;
        profile.unified_memory_fraction = v;
    }
    let usd_per_device_hour = overrides.usd_per_device_hour.or(device.usd_per_hour);
    let mut weights = format(catalog, weights_id)?;
    if weights_id == FormatId::Int4 {
        weights.bits = crate::engine::units::BitsPerWeight(4.0 + 16.0 / f64::from(group_size));
    } else if request.weights_group_size.is_some() {
        return Err(semantic(
            &format!("{prefix}/weights_group_size"),
            format!("a group size applies to int4 weights, not {}", weights_id.as_str()),
        ));
    }
    Ok(ParsedInference {
        weights,
        kv_cache: format(catalog, kv_id)?,
        model,
        device,
        parallelism,
        batch,
        input_tokens,
        output_tokens,
        profile,
        usd_per_device_hour,
    })
}

/// Per-device memory, bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerDeviceMemory {
    /// Weights on one device.
    pub weights_bytes: f64,
    /// KV cache of its sequences at full context.
    pub kv_cache_bytes: f64,
    /// Activations and logits of the largest pass.
    pub activations_bytes: f64,
    /// Runtime overhead (context, workspaces).
    pub overhead_bytes: f64,
    /// Sum.
    pub total_bytes: f64,
}

/// Memory verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryBody {
    /// One device's breakdown.
    pub per_device: PerDeviceMemory,
    /// Memory the engine may use on one device.
    pub capacity_bytes: f64,
    /// Whether the total fits the capacity.
    pub fits: bool,
    /// Largest batch that fits at this context.
    pub max_batch_size: u64,
    /// Longest context (input + output) that fits at this batch.
    pub max_context_tokens: u64,
}

/// One phase's roofline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseBody {
    /// Wall time, ms.
    pub time_ms: f64,
    /// Arithmetic-only time, ms.
    pub compute_ms: f64,
    /// Memory-traffic-only time, ms.
    pub memory_ms: f64,
    /// Communication time, ms.
    pub communication_ms: f64,
    /// What limits it: compute, memory or communication.
    pub bound: &'static str,
    /// FLOPs per device.
    pub flops: f64,
    /// Bytes moved per device.
    pub bytes: f64,
}

/// FLOPs and the phases.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComputeBody {
    /// One token's forward pass at the mean decode context.
    pub forward_flops_per_token: f64,
    /// Prefill of one sequence.
    pub prefill_flops_per_sequence: f64,
    /// One decode step of the whole batch.
    pub decode_flops_per_step: f64,
    /// Data type the GEMMs run in.
    pub compute_type: &'static str,
    /// Prefill of the batch.
    pub prefill: PhaseBody,
    /// One decode step.
    pub decode: PhaseBody,
}

/// Latency, ms.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatencyBody {
    /// Time to first token.
    pub ttft_ms: f64,
    /// Time per output token.
    pub tpot_ms: f64,
    /// Whole request.
    pub e2e_ms: f64,
}

/// Throughput.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThroughputBody {
    /// Output tokens per second, all devices.
    pub output_tokens_per_s: f64,
    /// Output tokens per second one user sees.
    pub output_tokens_per_s_per_user: f64,
    /// Prompt tokens per second, all devices.
    pub prefill_tokens_per_s: f64,
}

/// Cost, USD (null when no price is known).
#[derive(Debug, Serialize, ToSchema)]
pub struct CostBody {
    /// All devices, per hour.
    pub usd_per_hour: Option<f64>,
    /// Per million output tokens at this throughput.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Per million input tokens at the prefill rate.
    pub usd_per_million_input_tokens: Option<f64>,
}

/// Energy (null when the device has no power figure).
#[derive(Debug, Serialize, ToSchema)]
pub struct EnergyBody {
    /// Joules per output token.
    pub joules_per_output_token: Option<f64>,
}

/// A caveat.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningBody {
    /// Stable code.
    #[schema(example = "does-not-fit")]
    pub code: &'static str,
    /// A sentence.
    pub message: String,
}

/// One rule of the estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainBody {
    /// Rule id.
    #[schema(example = "memory.weights")]
    pub rule: &'static str,
    /// The formula in words.
    pub formula: &'static str,
    /// Named inputs.
    pub inputs: BTreeMap<&'static str, f64>,
    /// Result.
    pub value: f64,
    /// Unit of the result.
    pub unit: &'static str,
}

/// An inference estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct InferenceResponse {
    /// Model id (`inline` for an inline config).
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Devices in all.
    pub devices: u64,
    /// Parallel degrees used.
    pub parallelism: ParallelismBody,
    /// Weight format.
    pub weights: String,
    /// KV-cache format.
    pub kv_cache: String,
    /// Engine profile.
    pub engine: String,
    /// Sequences per replica (resolves "max").
    pub batch_size: u64,
    /// Prompt tokens per sequence.
    pub input_tokens: u64,
    /// Generated tokens per sequence.
    pub output_tokens: u64,
    /// Memory.
    pub memory: MemoryBody,
    /// FLOPs and phases.
    pub compute: ComputeBody,
    /// Latency.
    pub latency: LatencyBody,
    /// Throughput.
    pub throughput: ThroughputBody,
    /// Cost.
    pub cost: CostBody,
    /// Energy.
    pub energy: EnergyBody,
    /// Caveats.
    pub warnings: Vec<WarningBody>,
    /// How each number was made.
    pub explain: Vec<ExplainBody>,
    /// Measured error of this kind of estimate.
    pub error_band: ErrorBand,
}

fn ms(s: crate::engine::units::Seconds) -> f64 {
    s.0 * 1e3
}

fn phase(p: &Phase) -> PhaseBody {
    PhaseBody {
        time_ms: finite(ms(p.time)),
        compute_ms: finite(ms(p.compute_time)),
        memory_ms: finite(ms(p.memory_time)),
        communication_ms: finite(ms(p.communication_time)),
        bound: match p.bound {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
            Bound::Communication => "communication",
        },
        flops: finite(p.flops.0),
        bytes: finite(p.bytes.0),
    }
}

/// Keeps the JSON valid: the engine never produces a non-finite number for validated input (the
/// property tests check it), but if one slipped through it would be sent as the largest finite
/// value of its sign rather than as `null` against a numeric schema.
pub fn finite(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(-f64::MAX, f64::MAX) }
}

impl From<Warning> for WarningBody {
    fn from(Warning { code, message }: Warning) -> Self {
        Self { code, message }
    }
}

impl From<Explanation> for ExplainBody {
    fn from(Explanation { rule, formula, inputs, value, unit }: Explanation) -> Self {
        Self {
            rule,
            formula,
            inputs: inputs.into_iter().map(|(k, v)| (k, finite(v))).collect(),
            value: finite(value),
            unit,
        }
    }
}

impl InferenceResponse {
    /// Builds the response for a parsed request and its estimate.
    pub fn new(parsed: &ParsedInference, result: InferenceEstimate, engine: &str) -> Self {
        let e = result;
        let m = &e.memory;
        Self {
            model: parsed.model.id.clone(),
            hardware: parsed.device.id.clone(),
            devices: parsed.parallelism.devices(),
            parallelism: ParallelismBody {
                tensor: Some(parsed.parallelism.tensor),
                pipeline: Some(parsed.parallelism.pipeline),
                expert: Some(parsed.parallelism.expert),
                data: Some(parsed.parallelism.data),
            },
            weights: parsed.weights.id.clone(),
            kv_cache: parsed.kv_cache.id.clone(),
            engine: engine.to_owned(),
            batch_size: e.batch_size,
            input_tokens: parsed.input_tokens,
            output_tokens: parsed.output_tokens,
            memory: MemoryBody {
                per_device: PerDeviceMemory {
                    weights_bytes: finite(m.per_device.weights.0),
                    kv_cache_bytes: finite(m.per_device.kv_cache.0),
                    activations_bytes: finite(m.per_device.activations.0),
                    overhead_bytes: finite(m.per_device.overhead.0),
                    total_bytes: finite(m.per_device.total.0),
                },
                capacity_bytes: finite(m.capacity.0),
                fits: m.fits,
                max_batch_size: m.max_batch_size,
                max_context_tokens: m.max_context_tokens,
            },
            compute: ComputeBody {
                forward_flops_per_token: finite(e.forward_flops_per_token.0),
                prefill_flops_per_sequence: finite(e.prefill_flops_per_sequence.0),
                decode_flops_per_step: finite(e.decode_flops_per_step.0),
                compute_type: compute_name(e.compute_type),
                prefill: phase(&e.prefill),
                decode: phase(&e.decode),
            },
            latency: LatencyBody {
                ttft_ms: finite(ms(e.ttft)),
                tpot_ms: finite(ms(e.tpot)),
                e2e_ms: finite(ms(e.e2e)),
            },
            throughput: ThroughputBody {
                output_tokens_per_s: finite(e.output_tokens_per_s),
                output_tokens_per_s_per_user: finite(e.output_tokens_per_s_per_user),
                prefill_tokens_per_s: finite(e.prefill_tokens_per_s),
            },
            cost: CostBody {
                usd_per_hour: e.usd_per_hour.map(finite),
                usd_per_million_output_tokens: e.usd_per_million_output_tokens.map(finite),
                usd_per_million_input_tokens: e.usd_per_million_input_tokens.map(finite),
            },
            energy: EnergyBody { joules_per_output_token: e.joules_per_output_token.map(finite) },
            warnings: e.warnings.into_iter().map(WarningBody::from).collect(),
            explain: e.explain.into_iter().map(ExplainBody::from).collect(),
            error_band: ErrorBand::unknown(),
        }
    }
}

/// Runs a request end to end: parse, estimate, respond.
pub fn run(catalog: &Catalog, request: &InferenceRequest, prefix: &str) -> Result<InferenceResponse, ApiError> {
    let parsed = parse(catalog, request, prefix)?;
    let result = inference::estimate(&parsed.input());
    let engine = request.engine.unwrap_or(EngineId::Generic).as_str();
    Ok(InferenceResponse::new(&parsed, result, engine))
}

/// Estimates memory, FLOPs, latency, throughput, cost and energy of serving a model, with the
/// rule behind every number.
#[utoipa::path(
    tag = "estimates",
    request_body = InferenceRequest,
    responses(
        (status = 200, description = "The estimate", body = InferenceResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid fields that describe an impossible deployment (devices not the product of the parallel degrees, tensor degree not dividing the heads, ...)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/inference")]
pub async fn estimate(
    state: web::Data<AppState>,
    Json(request): Json<InferenceRequest>,
) -> Result<web::Json<InferenceResponse>, ApiError> {
    run(&state.catalog, &request, "").map(|r| web::Json(with_band(r, &request, &state)))
}

/// Fills the response's error band from the validation report.
pub fn with_band(mut response: InferenceResponse, request: &InferenceRequest, state: &AppState) -> InferenceResponse {
    let class = state.catalog.device(&response.hardware).map_or("inline", |d| d.record.kind.as_str());
    let throughput_family = if matches!(request.batch_size, Some(BatchSize::Max(_))) {
        "output_throughput_total"
    } else {
        "output_throughput_per_gpu"
    };
    response.error_band = ErrorBand::from_report(
        &state.validation,
        crate::validation::Side::Inference,
        class,
        &[
            ("latency.tpot_ms", "decode_tokens_per_s_per_user"),
            ("latency.ttft_ms", "ttft_ms"),
            ("throughput.prefill_tokens_per_s", "prefill_tokens_per_s"),
            ("throughput.output_tokens_per_s", throughput_family),
        ],
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
