//! `POST /v1/estimate/training`: can this model be trained on these devices, how long will it
//! take, what will it cost. Field names follow the API contract (`../shared/DESIGN.md` section 3).

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error_band::ErrorBand;
use super::extract::Json;
use super::inference::{ExplainBody, WarningBody, finite};
use super::problem::{ApiError, FieldError, Problem};
use super::resolve::{self, HardwareRef, ModelRef};
use super::state::AppState;
use crate::catalog::Catalog;
use crate::engine::training::{
    self, Checkpointing, Method, Optimizer, Precision, Sharding, TrainingEstimate, TrainingInput, TrainingParallelism,
};

/// Training precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrecisionId {
    /// BF16 mixed precision.
    Bf16,
    /// FP16 mixed precision.
    Fp16,
    /// FP8 GEMMs (Transformer Engine), BF16 weights.
    Fp8,
    /// FP32.
    Fp32,
}

/// Optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerId {
    /// AdamW (two FP32 moments).
    Adamw,
    /// 8-bit AdamW.
    #[serde(rename = "adamw-8bit")]
    Adamw8bit,
    /// Adafactor.
    Adafactor,
    /// SGD with momentum (`sgd` is accepted too).
    #[serde(alias = "sgd")]
    SgdMomentum,
    /// Lion.
    Lion,
}

/// State sharding across data-parallel ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShardingId {
    /// Plain DDP.
    None,
    /// ZeRO-1 (optimizer states; Megatron's distributed optimizer).
    Zero1,
    /// ZeRO-2 (plus gradients).
    Zero2,
    /// ZeRO-3 (plus weights).
    Zero3,
    /// Same as zero3.
    Fsdp,
    /// FSDP hybrid shard.
    Hsdp,
}

/// Activation recomputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointingId {
    /// Keep everything.
    None,
    /// Recompute attention internals.
    Selective,
    /// Recompute whole layers.
    Full,
}

/// What is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodId {
    /// All parameters.
    Full,
    /// LoRA adapters on a frozen 16-bit base.
    Lora,
    /// LoRA on a frozen 4-bit base.
    Qlora,
}

/// Training engines with a profile in `data/engines/training.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrainingEngineId {
    /// No engine-specific knowledge.
    Generic,
    /// Megatron-LM, Megatron-Core, NeMo.
    Megatron,
    /// torchtitan.
    Torchtitan,
    /// PyTorch FSDP.
    Fsdp,
    /// DeepSpeed.
    Deepspeed,
    /// llm-foundry.
    LlmFoundry,
}

impl TrainingEngineId {
    /// Every engine; the catalog must define each.
    pub const ALL: [TrainingEngineId; 6] = [
        TrainingEngineId::Generic,
        TrainingEngineId::Megatron,
        TrainingEngineId::Torchtitan,
        TrainingEngineId::Fsdp,
        TrainingEngineId::Deepspeed,
        TrainingEngineId::LlmFoundry,
    ];

    /// Catalog id.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingEngineId::Generic => "generic",
            TrainingEngineId::Megatron => "megatron",
            TrainingEngineId::Torchtitan => "torchtitan",
            TrainingEngineId::Fsdp => "fsdp",
            TrainingEngineId::Deepspeed => "deepspeed",
            TrainingEngineId::LlmFoundry => "llm-foundry",
        }
    }
}

/// Parallel layout; each degree defaults to 1 except `data`, which defaults to the devices left.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingParallelismBody {
    /// Tensor parallel degree (divides the heads).
    #[schema(minimum = 1, maximum = 1024)]
    pub tensor: Option<u32>,
    /// Pipeline stages (at most the layers).
    #[schema(minimum = 1, maximum = 1024)]
    pub pipeline: Option<u32>,
    /// Data-parallel ranks.
    #[schema(minimum = 1, maximum = 1048576)]
    pub data: Option<u32>,
    /// Expert parallel degree (divides data and the experts).
    #[schema(minimum = 1, maximum = 1024)]
    pub expert: Option<u32>,
    /// Context parallel degree.
    #[schema(minimum = 1, maximum = 1024)]
    pub context: Option<u32>,
    /// Megatron sequence parallelism.
    pub sequence_parallel: Option<bool>,
}

/// Budgets for the "largest compute-optimal model" helper.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Device-hours available.
    #[schema(minimum = 0, maximum = 1.0e12)]
    pub gpu_hours: Option<f64>,
    /// Dollars available (uses the device price).
    #[schema(minimum = 0, maximum = 1.0e13)]
    pub usd: Option<f64>,
}

/// Price and calibration overrides.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingOverrides {
    /// Price of one device-hour, USD.
    #[schema(minimum = 0, maximum = 10000)]
    pub usd_per_device_hour: Option<f64>,
    /// Share of dense peak reached, 0.01 to 1.
    #[schema(minimum = 0.01, maximum = 1)]
    pub compute_efficiency: Option<f64>,
}

/// Total training tokens: a number, or "compute_optimal" (Chinchilla: 20 tokens per parameter).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TokensSpec {
    /// A count.
    Count(f64),
    /// 20 x parameters.
    Keyword(ComputeOptimal),
}

/// The keyword `compute_optimal`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeOptimal {
    /// Chinchilla-optimal.
    ComputeOptimal,
}

impl utoipa::PartialSchema for TokensSpec {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number).minimum(Some(1)).maximum(Some(1.0e16)))
            .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["compute_optimal"])))
            .description(Some("Training tokens (1 to 1e16), or \"compute_optimal\" for 20 tokens per parameter (Hoffmann et al. 2022)"))
            .into()
    }
}

impl ToSchema for TokensSpec {}

/// A training run to estimate.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "model": "llama-2-70b", "hardware": "nvidia-a100-sxm4-80gb", "devices": 2048, "tokens": 2.0e12,
    "sequence_length": 4096, "micro_batch_size": 1, "global_batch_tokens": 4194304, "precision": "bf16",
    "optimizer": "adamw", "sharding": "zero1", "parallelism": {"tensor": 8, "pipeline": 4, "sequence_parallel": true},
    "activation_checkpointing": "selective", "engine": "megatron"
}))]
pub struct TrainingRequest {
    /// Model id or inline config.json.
    #[schema(value_type = ModelRef)]
    pub model: serde_json::Value,
    /// Device id or inline record.
    #[schema(value_type = HardwareRef)]
    pub hardware: serde_json::Value,
    /// Devices in all (default: the product of the parallel degrees).
    #[schema(minimum = 1, maximum = 1048576)]
    pub devices: Option<u32>,
    /// Training tokens, or "compute_optimal" (default when neither tokens nor steps is given).
    pub tokens: Option<TokensSpec>,
    /// Optimizer steps (tokens = steps x global batch tokens).
    #[schema(minimum = 1, maximum = 100000000)]
    pub steps: Option<u64>,
    /// Sequence length (default 2048).
    #[schema(minimum = 1, maximum = 1048576)]
    pub sequence_length: Option<u64>,
    /// Sequences per micro-batch per data rank (default 1).
    #[schema(minimum = 1, maximum = 65536)]
    pub micro_batch_size: Option<u64>,
    /// Tokens per optimizer step, all ranks (default: the whole number of sequence x micro-batch x data-rank units closest below 4M tokens, at least one).
    #[schema(minimum = 1, maximum = 1.0e10)]
    pub global_batch_tokens: Option<u64>,
    /// Sequences per optimizer step, all ranks (alternative to `global_batch_tokens`).
    #[schema(minimum = 1, maximum = 100000000)]
    pub global_batch_sequences: Option<u64>,
    /// Precision (default bf16).
    pub precision: Option<PrecisionId>,
    /// Optimizer (default adamw).
    pub optimizer: Option<OptimizerId>,
    /// Sharding (default none).
    pub sharding: Option<ShardingId>,
    /// Ranks per HSDP shard group (default 8).
    #[schema(minimum = 1, maximum = 1048576)]
    pub hsdp_group: Option<u32>,
    /// Parallel layout.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub parallelism: Option<TrainingParallelismBody>,
    /// Recomputation (default none).
    pub activation_checkpointing: Option<CheckpointingId>,
    /// Full training or adapters (default full).
    pub method: Option<MethodId>,
    /// LoRA rank (default 16).
    #[schema(minimum = 1, maximum = 4096)]
    pub lora_rank: Option<u32>,
    /// Offload optimizer states and master weights to the CPU.
    pub cpu_offload: Option<bool>,
    /// Flash attention (default true).
    pub flash_attention: Option<bool>,
    /// Engine profile (default generic).
    pub engine: Option<TrainingEngineId>,
    /// A measured MFU (hwcost's definition, causal halving) to use instead of the rule, 0.01 to 1.
    #[schema(minimum = 0.01, maximum = 1)]
    pub measured_mfu: Option<f64>,
    /// Data-centre power usage effectiveness, 1 to 3 (default 1).
    #[schema(minimum = 1, maximum = 3)]
    pub pue: Option<f64>,
    /// Budget for the largest compute-optimal model helper.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub budget: Option<Budget>,
    /// Price and calibration overrides.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub overrides: Option<TrainingOverrides>,
}

/// Per-device training memory, bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingPerDevice {
    /// Weights.
    pub weights_bytes: f64,
    /// FP32 master weights.
    pub master_weights_bytes: f64,
    /// Gradients.
    pub gradients_bytes: f64,
    /// Optimizer states.
    pub optimizer_bytes: f64,
    /// Activations.
    pub activations_bytes: f64,
    /// Runtime and allocator overhead.
    pub overhead_bytes: f64,
    /// Sum.
    pub total_bytes: f64,
}

/// Memory verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingMemoryBody {
    /// One device.
    pub per_device: TrainingPerDevice,
    /// Usable memory per device.
    pub capacity_bytes: f64,
    /// Whether it fits.
    pub fits: bool,
    /// Largest micro-batch that fits.
    pub max_micro_batch_size: u64,
}

/// FLOPs.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlopsBody {
    /// Model FLOPs of the run (causal attention halved).
    pub model_flops: f64,
    /// Hardware FLOPs of the run (with recomputation).
    pub hardware_flops: f64,
    /// Model FLOPs per token, causal halving applied.
    pub model_flops_per_token: f64,
    /// Model FLOPs per token without causal halving.
    pub model_flops_per_token_no_causal_halving: f64,
    /// 6 x parameters per token.
    pub model_flops_per_token_6n: f64,
    /// Whether `model_flops` halves causal attention (always true).
    pub causal_halving_applied: bool,
}

/// Throughput.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingThroughput {
    /// Tokens per second per device.
    pub tokens_per_s_per_device: f64,
    /// Tokens per second, all devices.
    pub tokens_per_s: f64,
}

/// Utilisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Utilization {
    /// Model FLOPs utilisation (causal halving), against the dense peak of the compute type.
    pub mfu: f64,
    /// MFU without causal halving (as llm-foundry and NVIDIA's benchmarks report).
    pub mfu_no_causal_halving: f64,
    /// Hardware FLOPs utilisation (recomputation counted).
    pub hfu: f64,
    /// Share of step time in the pipeline bubble.
    pub pipeline_bubble_fraction: f64,
    /// Data type of the peak.
    pub compute_type: String,
}

/// Time.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeBody {
    /// One optimizer step, s.
    pub step_s: f64,
    /// Steps in the run.
    pub steps: f64,
    /// Wall-clock, s.
    pub wall_clock_s: f64,
    /// Wall-clock, days.
    pub wall_clock_days: f64,
    /// Device-hours.
    pub gpu_hours: f64,
    /// Exposed communication per step, s.
    pub communication_s: f64,
}

/// Cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingCost {
    /// USD for the run (null without a price).
    pub usd: Option<f64>,
    /// Price used per device-hour.
    pub usd_per_device_hour: Option<f64>,
}

/// Energy.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingEnergy {
    /// kWh including PUE (null without a power figure).
    pub kwh: Option<f64>,
    /// PUE used.
    pub pue: f64,
}

/// Scaling-law helpers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Helpers {
    /// Chinchilla compute-optimal tokens for this model: 20 x parameters (Hoffmann et al. 2022).
    pub compute_optimal_tokens: f64,
    /// Largest compute-optimal model (parameters) trainable within the budget at this layout's
    /// achieved FLOP/s per device: C = budget device-seconds x achieved FLOP/s, N = sqrt(C / 120).
    pub largest_model_parameters_within_budget: Option<f64>,
    /// The budget in device-hours used for that.
    pub budget_gpu_hours: Option<f64>,
}

/// A training estimate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingResponse {
    /// Model id.
    pub model: String,
    /// Device id.
    pub hardware: String,
    /// Devices.
    pub devices: u64,
    /// Layout used.
    pub parallelism: TrainingParallelismBody,
    /// Training tokens.
    pub tokens: f64,
    /// Sequence length.
    pub sequence_length: u64,
    /// Micro-batch.
    pub micro_batch_size: u64,
    /// Global batch tokens.
    pub global_batch_tokens: f64,
    /// Engine profile.
    pub engine: String,
    /// Memory.
    pub memory: TrainingMemoryBody,
    /// FLOPs.
    pub flops: FlopsBody,
    /// Throughput.
    pub throughput: TrainingThroughput,
    /// Utilisation.
    pub utilization: Utilization,
    /// Time.
    pub time: TimeBody,
    /// Cost.
    pub cost: TrainingCost,
    /// Energy.
    pub energy: TrainingEnergy,
    /// Helpers.
    pub helpers: Helpers,
    /// Caveats.
    pub warnings: Vec<WarningBody>,
    /// How each number was made.
    pub explain: Vec<ExplainBody>,
    /// Measured error of this kind of estimate.
    pub error_band: ErrorBand,
}

fn semantic(pointer: String, detail: String) -> ApiError {
    ApiError::Unprocessable { detail, pointer: Some(pointer) }
}

/// Parses, estimates and builds the response.
#[allow(clippy::too_many_lines)]
pub fn run(catalog: &Catalog, request: &TrainingRequest, prefix: &str) -> Result<TrainingResponse, ApiError> {
    let (model, device) = resolve::references(catalog, &request.model, &request.hardware, prefix)?;
    let arch = &model.architecture;

    let mut errors = Vec::new();
    let mut bounded = |name: &str, value: Option<u64>, default: u64, min: u64, max: u64| {
        let v = value.unwrap_or(default);
        if v < min || v > max {
            errors.push(FieldError::new(
                format!("{prefix}/{name}"),
                format!("must be an integer from {min} to {max}, got {v}"),
            ));
        }
        v.clamp(min, max)
    };
    let sequence_length = bounded("sequence_length", request.sequence_length, 2048, 1, 1_048_576);
    let micro = bounded("micro_batch_size", request.micro_batch_size, 1, 1, 65_536);
    let steps = request.steps.map(|s| bounded("steps", Some(s), 1, 1, 100_000_000));
    let lora_rank = bounded("lora_rank", request.lora_rank.map(u64::from), 16, 1, 4096) as u32;
    let hsdp_group = bounded("hsdp_group", request.hsdp_group.map(u64::from), 8, 1, 1_048_576) as u32;
    let p = request.parallelism.clone().unwrap_or_default();
    let tensor = bounded("parallelism/tensor", p.tensor.map(u64::from), 1, 1, 1024) as u32;
    let pipeline = bounded("parallelism/pipeline", p.pipeline.map(u64::from), 1, 1, 1024) as u32;
    let context = bounded("parallelism/context", p.context.map(u64::from), 1, 1, 1024) as u32;
    let expert = bounded("parallelism/expert", p.expert.map(u64::from), 1, 1, 1024) as u32;
    let devices_given = request.devices.map(|d| bounded("devices", Some(u64::from(d)), 1, 1, 1_048_576));
    let data_given = p.data.map(|d| bounded("parallelism/data", Some(u64::from(d)), 1, 1, 1_048_576));
    for (name, value, min, max) in [
        ("measured_mfu", request.measured_mfu, 0.01, 1.0),
        ("pue", request.pue, 1.0, 3.0),
        (
            "overrides/usd_per_device_hour",
            request.overrides.as_ref().and_then(|o| o.usd_per_device_hour),
            0.0,
            10_000.0,
        ),
        ("overrides/compute_efficiency", request.overrides.as_ref().and_then(|o| o.compute_efficiency), 0.01, 1.0),
        ("budget/gpu_hours", request.budget.as_ref().and_then(|b| b.gpu_hours), 0.0, 1e12),
        ("budget/usd", request.budget.as_ref().and_then(|b| b.usd), 0.0, 1e13),
    ] {
        if let Some(v) = value
            && !(v.is_finite() && v >= min && v <= max)
        {
            errors.push(FieldError::new(
                format!("{prefix}/{name}"),
                format!("must be a number from {min} to {max}, got {v}"),
            ));
        }
    }
    if let Some(TokensSpec::Count(t)) = request.tokens
        && !(t.is_finite() && (1.0..=1e16).contains(&t))
    {
        errors.push(FieldError::new(
            format!("{prefix}/tokens"),
            format!("must be a number from 1 to 1e16 or \"compute_optimal\", got {t}"),
        ));
    }
    if let Some(g) = request.global_batch_sequences
        && !(1..=100_000_000).contains(&g)
    {
        errors.push(FieldError::new(
            format!("{prefix}/global_batch_sequences"),
            format!("must be an integer from 1 to 100000000, got {g}"),
        ));
    }
    if let Some(g) = request.global_batch_tokens
        && !(1..=10_000_000_000).contains(&g)
    {
        errors.push(FieldError::new(
            format!("{prefix}/global_batch_tokens"),
            format!("must be an integer from 1 to 10000000000, got {g}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidRequest(errors));
    }

    // Layout: data ranks default to the devices left after tensor x pipeline x context.
    let model_parallel = u64::from(tensor) * u64::from(pipeline) * u64::from(context);
    let data = match (data_given, devices_given) {
        (Some(d), _) => d,
        (None, Some(devices)) => {
            if devices % model_parallel != 0 {
                return Err(semantic(
                    format!("{prefix}/devices"),
                    format!("devices ({devices}) must be a multiple of tensor x pipeline x context ({model_parallel})"),
                ));
            }
            devices / model_parallel
        }
        (None, None) => 1,
    };
    let devices = model_parallel * data;
    if devices_given.is_some_and(|d| d != devices) {
        return Err(semantic(
            format!("{prefix}/devices"),
            format!("devices must equal tensor x pipeline x context x data = {devices}"),
        ));
    }
    if devices > 1_048_576 {
        return Err(semantic(
            format!("{prefix}/parallelism"),
            format!("the layout needs {devices} devices; at most 1048576"),
        ));
    }
    let data = u32::try_from(data).unwrap_or(u32::MAX);
    if !arch.heads.is_multiple_of(u64::from(tensor)) {
        return Err(semantic(
            format!("{prefix}/parallelism/tensor"),
            format!("tensor parallel degree {tensor} must divide the {} attention heads", arch.heads),
        ));
    }
    if pipeline > arch.layers {
        return Err(semantic(
            format!("{prefix}/parallelism/pipeline"),
            format!("{pipeline} pipeline stages exceed the {} layers", arch.layers),
        ));
    }
    match arch.moe {
        None if expert > 1 => {
            return Err(semantic(
                format!("{prefix}/parallelism/expert"),
                "expert parallelism needs a mixture-of-experts model".into(),
            ));
        }
        Some(moe) if !moe.experts.is_multiple_of(u64::from(expert)) || !data.is_multiple_of(expert) => {
            return Err(semantic(
                format!("{prefix}/parallelism/expert"),
                format!("expert degree {expert} must divide the {} experts and the {data} data ranks", moe.experts),
            ));
        }
        _ => {}
    }
    let per_step_unit = sequence_length * micro * u64::from(data);
    if request.global_batch_tokens.is_some() && request.global_batch_sequences.is_some() {
        return Err(semantic(
            format!("{prefix}/global_batch_sequences"),
            "give global_batch_tokens or global_batch_sequences, not both".into(),
        ));
    }
    let global_batch_tokens = match request
        .global_batch_tokens
        .or(request.global_batch_sequences.map(|s| s.saturating_mul(sequence_length)))
    {
        Some(g) => {
            if g % per_step_unit != 0 {
                return Err(semantic(
                    format!("{prefix}/global_batch_tokens"),
                    format!(
                        "global_batch_tokens ({g}) must be a multiple of sequence_length x micro_batch_size x data ranks ({per_step_unit})"
                    ),
                ));
            }
            g
        }
        // About 4M tokens per step, in whole micro-batches: the order of magnitude recent
        // pre-training runs use.
        None => per_step_unit * (4_194_304 / per_step_unit).max(1),
    };
    #[allow(clippy::cast_precision_loss)]
    let (global, total_params) = (global_batch_tokens as f64, model.anatomy.total.as_f64());
    let compute_optimal = 20.0 * total_params;
    #[allow(clippy::cast_precision_loss)]
    let tokens = match (request.tokens, steps) {
        (Some(TokensSpec::Count(t)), _) => t,
        (None, Some(s)) => s as f64 * global,
        (Some(TokensSpec::Keyword(_)), _) | (None, None) => compute_optimal,
    };

    let engine_id = request.engine.unwrap_or(TrainingEngineId::Generic);
    let mut profile = catalog
        .training_profile(engine_id.as_str())
        .map(|e| e.profile.clone())
        .ok_or_else(|| ApiError::Internal(format!("training engine {} missing", engine_id.as_str())))?;
    if let Some(e) = request.overrides.as_ref().and_then(|o| o.compute_efficiency) {
        profile.compute_efficiency = e;
    }
    let price = request.overrides.as_ref().and_then(|o| o.usd_per_device_hour).or(device.usd_per_hour);
    let method = match request.method.unwrap_or(MethodId::Full) {
        MethodId::Full => Method::Full,
        MethodId::Lora => Method::Lora(lora_rank),
        MethodId::Qlora => Method::Qlora(lora_rank),
    };
    let pue = request.pue.unwrap_or(1.0);
    let input = TrainingInput {
        arch,
        anatomy: &model.anatomy,
        device: &device.device,
        parallelism: TrainingParallelism {
            tensor,
            pipeline,
            data,
            expert,
            context,
            sequence_parallel: p.sequence_parallel.unwrap_or(false),
        },
        tokens,
        sequence_length,
        micro_batch: micro,
        global_batch_tokens: global,
        precision: match request.precision.unwrap_or(PrecisionId::Bf16) {
            PrecisionId::Bf16 => Precision::Bf16,
            PrecisionId::Fp16 => Precision::Fp16,
            PrecisionId::Fp8 => Precision::Fp8,
            PrecisionId::Fp32 => Precision::Fp32,
        },
        optimizer: match request.optimizer.unwrap_or(OptimizerId::Adamw) {
            OptimizerId::Adamw => Optimizer::AdamW,
            OptimizerId::Adamw8bit => Optimizer::AdamW8bit,
            OptimizerId::Adafactor => Optimizer::Adafactor,
            OptimizerId::SgdMomentum => Optimizer::SgdMomentum,
            OptimizerId::Lion => Optimizer::Lion,
        },
        sharding: match request.sharding.unwrap_or(ShardingId::None) {
            ShardingId::None => Sharding::None,
            ShardingId::Zero1 => Sharding::Zero1,
            ShardingId::Zero2 => Sharding::Zero2,
            ShardingId::Zero3 | ShardingId::Fsdp => Sharding::Zero3,
            ShardingId::Hsdp => Sharding::Hsdp,
        },
        hsdp_group,
        checkpointing: match request.activation_checkpointing.unwrap_or(CheckpointingId::None) {
            CheckpointingId::None => Checkpointing::None,
            CheckpointingId::Selective => Checkpointing::Selective,
            CheckpointingId::Full => Checkpointing::Full,
        },
        method,
        cpu_offload: request.cpu_offload.unwrap_or(false),
        flash_attention: request.flash_attention.unwrap_or(true),
        profile: &profile,
        measured_mfu: request.measured_mfu,
        usd_per_device_hour: price,
        pue,
    };
    let e: TrainingEstimate = training::estimate(&input);

    let achieved = e.mfu * device.device.peak(e.compute_type).unwrap_or(0.0);
    let budget_hours = request
        .budget
        .as_ref()
        .and_then(|b| b.gpu_hours.or_else(|| b.usd.and_then(|usd| price.filter(|p| *p > 0.0).map(|p| usd / p))));
    let largest = budget_hours.map(|hours| finite((hours * 3600.0 * achieved / 120.0).sqrt()));
    let m = &e.memory;
    Ok(TrainingResponse {
        model: model.id.clone(),
        hardware: device.id.clone(),
        devices,
        parallelism: TrainingParallelismBody {
            tensor: Some(tensor),
            pipeline: Some(pipeline),
            data: Some(data),
            expert: Some(expert),
            context: Some(context),
            sequence_parallel: Some(input.parallelism.sequence_parallel),
        },
        tokens: finite(tokens),
        sequence_length,
        micro_batch_size: micro,
        global_batch_tokens: global,
        engine: engine_id.as_str().to_owned(),
        memory: TrainingMemoryBody {
            per_device: TrainingPerDevice {
                weights_bytes: finite(m.weights.0),
                master_weights_bytes: finite(m.master_weights.0),
                gradients_bytes: finite(m.gradients.0),
                optimizer_bytes: finite(m.optimizer.0),
                activations_bytes: finite(m.activations.0),
                overhead_bytes: finite(m.overhead.0),
                total_bytes: finite(m.total.0),
            },
            capacity_bytes: finite(m.capacity.0),
            fits: m.fits,
            max_micro_batch_size: m.max_micro_batch,
        },
        flops: FlopsBody {
            model_flops: finite(e.model_flops),
            hardware_flops: finite(e.hardware_flops),
            model_flops_per_token: finite(e.flops_per_token.0),
            model_flops_per_token_no_causal_halving: finite(e.flops_per_token.1),
            model_flops_per_token_6n: finite(e.flops_per_token.2),
            causal_halving_applied: true,
        },
        throughput: TrainingThroughput {
            tokens_per_s_per_device: finite(e.tokens_per_s_per_device),
            #[allow(clippy::cast_precision_loss)]
            tokens_per_s: finite(e.tokens_per_s_per_device * devices as f64),
        },
        utilization: Utilization {
            mfu: finite(e.mfu),
            mfu_no_causal_halving: finite(e.mfu_no_causal_halving),
            hfu: finite(e.hfu),
            pipeline_bubble_fraction: finite(e.bubble_fraction),
            compute_type: crate::engine::device::compute_name(e.compute_type).to_owned(),
        },
        time: TimeBody {
            step_s: finite(e.step_time.0),
            steps: finite(tokens / global),
            wall_clock_s: finite(e.wall_clock.0),
            wall_clock_days: finite(e.wall_clock.0 / 86_400.0),
            gpu_hours: finite(e.gpu_hours),
            communication_s: finite(e.communication_time.0),
        },
        cost: TrainingCost { usd: e.usd.map(finite), usd_per_device_hour: price },
        energy: TrainingEnergy { kwh: e.kwh.map(finite), pue },
        helpers: Helpers {
            compute_optimal_tokens: compute_optimal,
            largest_model_parameters_within_budget: largest,
            budget_gpu_hours: budget_hours,
        },
        warnings: e.warnings.into_iter().map(WarningBody::from).collect(),
        explain: e.explain.into_iter().map(ExplainBody::from).collect(),
        error_band: ErrorBand::unknown(),
    })
}

/// Estimates memory, FLOPs, time, GPU-hours, cost and energy of a training run, with the rule
/// behind every number.
#[utoipa::path(
    tag = "estimates",
    request_body = TrainingRequest,
    responses(
        (status = 200, description = "The estimate", body = TrainingResponse),
        (status = 400, description = "Malformed JSON, wrong type or out-of-range field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown model or hardware id", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Valid fields that describe an impossible run (layout not matching devices, batch not divisible, tensor degree not dividing the heads, ...)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/estimate/training")]
pub async fn estimate(
    state: web::Data<AppState>,
    Json(request): Json<TrainingRequest>,
) -> Result<web::Json<TrainingResponse>, ApiError> {
    run(&state.catalog, &request, "").map(|r| web::Json(with_band(r, &state)))
}

/// Fills the response's error band from the validation report.
pub fn with_band(mut response: TrainingResponse, state: &AppState) -> TrainingResponse {
    let class = state.catalog.device(&response.hardware).map_or("inline", |d| d.record.kind.as_str());
    response.error_band = ErrorBand::from_report(
        &state.validation,
        crate::validation::Side::Training,
        class,
        &[
            ("throughput.tokens_per_s_per_device", "throughput"),
            ("utilization.mfu", "mfu"),
            ("memory.per_device.total_bytes", "memory"),
            ("time.gpu_hours", "gpu_hours"),
            ("time.wall_clock_s", "time_to_train"),
        ],
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_training_engine_is_in_the_catalog() {
        let catalog = Catalog::embedded().unwrap();
        for id in TrainingEngineId::ALL {
            assert!(catalog.training_profile(id.as_str()).is_some(), "{}", id.as_str());
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
    }
}
