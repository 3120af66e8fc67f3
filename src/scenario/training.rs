//! The training request (`POST /v1/estimate/training`, `hwcost estimate training`, a check's
//! `training`, a batch item, a validation point, the training planner's base run) and its one
//! parser.
//!
//! Parsing has two steps so that the training planner can vary the device and the layout
//! without parsing again: [`TrainingSpec::parse`] resolves the model, checks every range and
//! picks the enums and the engine profile; [`TrainingSpec::at`] places the run on a device and
//! a layout (layout rules, global batch, token policy, price). [`TrainingScenario::parse`] does
//! both for a request.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cost::{self, CostChoice, CostPlan};
use super::layout::{self, Degrees, ExpertRanks, Layout};
use super::range::{self, Checks};
use super::resolve::{self, HardwareRef, ModelRef, ResolvedDevice, ResolvedModel};
use super::{Assumptions, Error};
use crate::catalog::Catalog;
use crate::catalog::prices::OwnershipDefaults;
use crate::engine::training::{
    Checkpointing, ExpertTraining, Fp8Recipe, Fp8Training, LoraTargets, Loss, Method, Optimizer, PipelineSchedule,
    Precision, Recipe, Sharding, TrainingInput, TrainingParallelism, TrainingProfile, compute_optimal_tokens,
};

/// Bytes per hidden unit per token a fused norm kernel saves: its 16-bit input (the
/// per-row statistics are negligible).
const FUSED_NORM_BYTES_PER_HIDDEN: f64 = 2.0;

/// Training precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
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

/// How an FP8 run scales its tensors (read when `precision` is `fp8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Fp8RecipeId {
    /// One scale per tensor, delayed or current (Transformer Engine).
    PerTensor,
    /// 1 x 128 activation tiles and 128 x 128 weight blocks (DeepSeek-V3).
    Block,
}

/// Precision of the expert dispatch all-to-alls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DispatchPrecisionId {
    /// 2 bytes per element.
    Bf16,
    /// 1 byte per element (DeepSeek-V3; combines stay BF16).
    Fp8,
}

/// Expert parallelism in training: the load imbalance and the all-to-all.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hottest_expert_load": 1.109, "all_to_all_overlap": 1.0, "dispatch_precision": "fp8"}))]
pub struct TrainingMoeBody {
    /// The hottest expert-parallel rank's routed tokens over the mean rank's, 1 to 64 (default
    /// 1.109, measured with a load balancer; see data/serving/moe.toml); it scales the routed
    /// experts' GEMM time.
    pub hottest_expert_load: Option<f64>,
    /// Share of the expert all-to-all run under other micro-batches' compute, 0 to 1 (default 0,
    /// Megatron-Core's default; DeepSeek-V3's DualPipe: 1). What exceeds the compute shows anyway.
    pub all_to_all_overlap: Option<f64>,
    /// Precision of the dispatch all-to-alls forward and backward, `bf16` or `fp8` (default bf16;
    /// the combines are BF16).
    pub dispatch_precision: Option<DispatchPrecisionId>,
}

/// Optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerId {
    /// AdamW (two FP32 moments).
    Adamw,
    /// 8-bit AdamW (bitsandbytes).
    #[serde(rename = "adamw-8bit")]
    #[value(name = "adamw-8bit")]
    Adamw8bit,
    /// Paged 32-bit AdamW (bitsandbytes): states in unified memory, spilling to the host.
    PagedAdamw,
    /// Paged 8-bit AdamW (bitsandbytes).
    #[serde(rename = "paged-adamw-8bit")]
    #[value(name = "paged-adamw-8bit")]
    PagedAdamw8bit,
    /// Adafactor.
    Adafactor,
    /// SGD with momentum (`sgd` is accepted too).
    #[serde(alias = "sgd")]
    #[value(alias = "sgd")]
    SgdMomentum,
    /// Lion.
    Lion,
}

/// State sharding across data-parallel ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
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

/// Pipeline schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
pub enum PipelineScheduleId {
    /// One forward, one backward (PipeDream-Flush; Megatron's default): bubble (p - 1) / m of
    /// the ideal time, the first stage holds p micro-batches.
    #[serde(rename = "1f1b")]
    #[value(name = "1f1b")]
    OneFOneB,
    /// Interleaved 1F1B with `virtual_stages` model chunks per device (Narayanan et al. 2021):
    /// bubble / v, point-to-point traffic x v, the first stage holds p + (p - 1) / v micro-batches.
    #[serde(rename = "interleaved")]
    #[value(name = "interleaved")]
    Interleaved,
    /// Zero bubble ZB-H1 (Qi et al. 2024): weight gradients fill the bubble, a third of 1F1B's,
    /// with 1F1B's activation memory.
    #[serde(rename = "zero_bubble")]
    #[value(name = "zero_bubble")]
    ZeroBubble,
}

/// Activation recomputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
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
    /// torchtune's single-device and distributed fine-tuning recipes.
    Torchtune,
    /// LitGPT's `litgpt finetune`.
    Litgpt,
    /// Unsloth.
    Unsloth,
    /// Axolotl.
    Axolotl,
    /// Hugging Face Trainer with PEFT.
    HfTrainer,
    /// TRL's SFTTrainer.
    TrlSft,
    /// TRL's DPOTrainer.
    TrlDpo,
    /// TRL's GRPOTrainer.
    TrlGrpo,
    /// llm.c: GPT-2 pre-training in CUDA with hand-fused kernels.
    Llmc,
}

impl TrainingEngineId {
    /// Every engine; the catalog must define each.
    pub const ALL: [TrainingEngineId; 15] = [
        TrainingEngineId::Generic,
        TrainingEngineId::Megatron,
        TrainingEngineId::Torchtitan,
        TrainingEngineId::Fsdp,
        TrainingEngineId::Deepspeed,
        TrainingEngineId::LlmFoundry,
        TrainingEngineId::Torchtune,
        TrainingEngineId::Litgpt,
        TrainingEngineId::Unsloth,
        TrainingEngineId::Axolotl,
        TrainingEngineId::HfTrainer,
        TrainingEngineId::TrlSft,
        TrainingEngineId::TrlDpo,
        TrainingEngineId::TrlGrpo,
        TrainingEngineId::Llmc,
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
            TrainingEngineId::Torchtune => "torchtune",
            TrainingEngineId::Litgpt => "litgpt",
            TrainingEngineId::Unsloth => "unsloth",
            TrainingEngineId::Axolotl => "axolotl",
            TrainingEngineId::HfTrainer => "hf-trainer",
            TrainingEngineId::TrlSft => "trl-sft",
            TrainingEngineId::TrlDpo => "trl-dpo",
            TrainingEngineId::TrlGrpo => "trl-grpo",
            TrainingEngineId::Llmc => "llmc",
        }
    }
}

/// How the loss is computed from the output layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LossId {
    /// Output layer and cross entropy fused: logits never whole (Liger, cut cross entropy,
    /// Unsloth).
    Fused,
    /// 16-bit logits, FP32 loss over chunks (torchtune, LitGPT, Megatron).
    Chunked,
    /// FP32 logits and log-softmax materialised (Hugging Face models).
    Full,
}

/// A linear layer that can carry a LoRA adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LoraModuleId {
    /// Query projection.
    Q,
    /// Key projection.
    K,
    /// Value projection.
    V,
    /// Attention output projection.
    O,
    /// MLP gate projection.
    Gate,
    /// MLP up projection.
    Up,
    /// MLP down projection.
    Down,
    /// Every linear layer of the blocks.
    AllLinear,
}

impl LoraModuleId {
    /// Each single module, its engine set and its wire name.
    const MODULES: [(LoraModuleId, LoraTargets, &'static str); 7] = [
        (LoraModuleId::Q, LoraTargets::Q, "q"),
        (LoraModuleId::K, LoraTargets::K, "k"),
        (LoraModuleId::V, LoraTargets::V, "v"),
        (LoraModuleId::O, LoraTargets::O, "o"),
        (LoraModuleId::Gate, LoraTargets::GATE, "gate"),
        (LoraModuleId::Up, LoraTargets::UP, "up"),
        (LoraModuleId::Down, LoraTargets::DOWN, "down"),
    ];

    /// The engine's set for a list of modules.
    pub fn set(modules: &[LoraModuleId]) -> LoraTargets {
        modules.iter().fold(LoraTargets(0), |set, m| {
            let one = match m {
                LoraModuleId::AllLinear => LoraTargets::ALL_LINEAR,
                m => Self::MODULES.iter().find(|(id, ..)| id == m).map_or(LoraTargets(0), |(_, t, _)| *t),
            };
            set.with(one)
        })
    }

    /// The wire names of the modules in an engine set, in the layers' order.
    pub fn names(set: LoraTargets) -> Vec<String> {
        Self::MODULES.iter().filter(|(_, t, _)| set.contains(*t)).map(|(.., n)| (*n).to_owned()).collect()
    }
}

/// Parallel layout; each degree defaults to 1 except `data`, which defaults to the devices left.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingParallelismBody {
    /// Tensor parallel degree (divides the heads).
    pub tensor: Option<u32>,
    /// Pipeline stages (at most the layers).
    pub pipeline: Option<u32>,
    /// Data-parallel ranks.
    pub data: Option<u32>,
    /// Expert parallel degree (divides data and the experts).
    pub expert: Option<u32>,
    /// Context parallel degree.
    pub context: Option<u32>,
    /// Megatron sequence parallelism.
    pub sequence_parallel: Option<bool>,
    /// Context parallelism's causal load balance: true (the default, as Megatron-Core and
    /// torchtitan shard) cuts each sequence into 2 x context chunks and gives rank r chunks r and
    /// 2 x context - 1 - r, so every rank does the same attention work; false keeps contiguous
    /// shards, where the last rank does (2 x context - 1) / context times the average and the
    /// others wait for it. Only matters with `context` above 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_load_balanced: Option<bool>,
    /// Pipeline schedule: `1f1b` (the default), `interleaved` (with `virtual_stages`) or
    /// `zero_bubble` (ZB-H1); it sets the pipeline bubble, the activations the first stage holds
    /// in flight and the point-to-point traffic. Only matters with more than one stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<PipelineScheduleId>,
    /// Model chunks per device under the interleaved schedule (1 to 64, default 2; each chunk
    /// needs a layer, the embedding and the loss counting as one each, so pipeline x
    /// virtual_stages is at most layers + 2). Given alone it means `interleaved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_stages: Option<u32>,
}

/// Budgets for the "largest compute-optimal model" helper.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Device-hours available (`gpu_hours` is read too: v1 named it so).
    #[serde(alias = "gpu_hours")]
    pub device_hours: Option<f64>,
    /// Dollars available (uses the device price).
    pub usd: Option<f64>,
}

/// Price and calibration overrides.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingOverrides {
    /// Price of one device-hour, USD.
    pub usd_per_device_hour: Option<f64>,
    /// Share of dense peak reached, 0.01 to 1.
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
            .item(ObjectBuilder::new().schema_type(Type::Number).minimum(Some(range::TOKENS.min)).maximum(Some(range::TOKENS.max)))
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
    "optimizer": "adamw", "sharding": "zero1", "parallelism": {"tensor": 8, "pipeline": 4, "sequence_parallel": true, "schedule": "interleaved", "virtual_stages": 2},
    "activation_checkpointing": "selective", "engine": "megatron"
}))]
pub struct TrainingRequest {
    /// Model id or inline config.json (may be left out when `config` names the base model).
    #[serde(default)]
    #[schema(value_type = ModelRef)]
    pub model: serde_json::Value,
    /// Device id or inline record.
    #[schema(value_type = HardwareRef)]
    pub hardware: serde_json::Value,
    /// Devices in all (default: the product of the parallel degrees).
    pub devices: Option<u32>,
    /// Training tokens, or "compute_optimal" (default when neither tokens nor steps is given).
    pub tokens: Option<TokensSpec>,
    /// Optimizer steps (tokens = steps x global batch tokens).
    pub steps: Option<u64>,
    /// Sequence length (default 2048).
    pub sequence_length: Option<u64>,
    /// Sequences per micro-batch per data rank (default 1).
    pub micro_batch_size: Option<u64>,
    /// Tokens per optimizer step, all ranks (default: the whole number of sequence x micro-batch x data-rank units closest below 4M tokens, at least one).
    pub global_batch_tokens: Option<u64>,
    /// Sequences per optimizer step, all ranks (alternative to `global_batch_tokens`).
    pub global_batch_sequences: Option<u64>,
    /// Precision (default bf16).
    pub precision: Option<PrecisionId>,
    /// FP8 scaling recipe when `precision` is `fp8`: `per_tensor` (default) or `block`; it sets
    /// the GEMM efficiency and which tensors are stored in which precision (`fp8` in the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "block")]
    pub fp8_recipe: Option<Fp8RecipeId>,
    /// Expert parallelism: load imbalance, all-to-all overlap and dispatch precision (MoE models
    /// with `parallelism.expert` above 1).
    #[serde(default, deserialize_with = "crate::wire::optional_object", skip_serializing_if = "Option::is_none")]
    pub moe: Option<TrainingMoeBody>,
    /// The network between nodes that expert all-to-alls cross beyond a node (`GET
    /// /v1/networks`; default `infiniband-ndr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Optimizer (default adamw).
    pub optimizer: Option<OptimizerId>,
    /// Sharding (default none).
    pub sharding: Option<ShardingId>,
    /// Ranks per HSDP shard group (default 8).
    pub hsdp_group: Option<u32>,
    /// Parallel layout.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub parallelism: Option<TrainingParallelismBody>,
    /// Recomputation (default none).
    pub activation_checkpointing: Option<CheckpointingId>,
    /// Full training or adapters (default full).
    pub method: Option<MethodId>,
    /// LoRA rank (default 16).
    pub lora_rank: Option<u32>,
    /// Offload optimizer states and master weights to the CPU.
    pub cpu_offload: Option<bool>,
    /// Flash attention (default true).
    pub flash_attention: Option<bool>,
    /// Engine profile (default generic).
    pub engine: Option<TrainingEngineId>,
    /// A measured MFU (hwcost's definition, causal halving) to use instead of the rule, 0.01 to 1.
    pub measured_mfu: Option<f64>,
    /// The share of the run's wall-clock time that trained (goodput), 0.01 to 1 (default 1):
    /// what restarts after failures, checkpoint saves and reloads leave, as a run reports it
    /// (e.g. Llama 3: "higher than 90% effective training time"). Wall-clock time and
    /// device-hours are the training time divided by it.
    pub effective_time_share: Option<f64>,
    /// Data-centre power usage effectiveness, 1 to 3 (default 1).
    pub pue: Option<f64>,
    /// Budget for the largest compute-optimal model helper.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub budget: Option<Budget>,
    /// Price and calibration overrides.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub overrides: Option<TrainingOverrides>,
    /// How the devices are paid for: rented (a provider and term) or owned (purchase, power,
    /// hosting). Its `pue` defaults to the run's `pue`.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub cost: Option<CostChoice>,
    /// FP32 master weights beside the 16-bit ones (mixed precision); false trains in pure 16
    /// bit with 16-bit optimizer states (torchtune, LitGPT `bf16-true`). Default: the engine's
    /// recipe, else true.
    pub master_weights: Option<bool>,
    /// Step the optimizer inside backward, one parameter at a time, so only one gradient is
    /// alive (torchtune `optimizer_in_bwd`; needs no gradient accumulation).
    pub optimizer_in_backward: Option<bool>,
    /// Move saved activations to host memory until backward.
    pub activation_offloading: Option<bool>,
    /// How the loss is computed (default: the engine's recipe, else chunked).
    pub loss: Option<LossId>,
    /// Linear layers with LoRA adapters (default: the engine's recipe, else all linear layers).
    pub lora_targets: Option<Vec<LoraModuleId>>,
    /// LoRA on the output layer too.
    pub lora_on_output: Option<bool>,
    /// LoRA dropout probability, 0 to 1 (above 0 saves a dropped-out input per adapter).
    pub lora_dropout: Option<f64>,
    /// NF4 double quantisation of a QLoRA base (default true).
    pub double_quantization: Option<bool>,
    /// A frozen copy of the policy as reference model (DPO full fine-tuning; default: the
    /// engine's recipe).
    pub reference_model: Option<bool>,
    /// Share of step time spent generating completions (GRPO), 0 to 0.95.
    pub generation_share: Option<f64>,
    /// torch.compile: elementwise chains are fused, so norms save only their input (2 bytes
    /// per hidden unit) instead of their FP32 intermediates.
    pub compile: Option<bool>,
    /// A fine-tuning config file people already have (an Axolotl YAML, a torchtune recipe
    /// YAML, TRL or Trainer arguments JSON): its settings fill the fields this request leaves
    /// out, and its unknown keys are reported.
    #[serde(default, deserialize_with = "crate::wire::optional_object")]
    pub config: Option<ConfigFile>,
}

/// A framework's config file, as text.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Which framework wrote it (default: recognised from its keys).
    pub format: Option<crate::import::finetune::ConfigFormat>,
    /// The file's text (YAML or JSON).
    pub text: String,
}

display_as_wire!(
    PrecisionId,
    Fp8RecipeId,
    DispatchPrecisionId,
    OptimizerId,
    ShardingId,
    PipelineScheduleId,
    CheckpointingId,
    MethodId,
    TrainingEngineId,
    LossId,
    LoraModuleId
);

/// A training request with everything but its placement resolved: model, ranges, enums,
/// engine profile. [`TrainingSpec::at`] places it on a device and a layout.
#[derive(Debug, Clone)]
pub struct TrainingSpec {
    /// Resolved model.
    pub model: ResolvedModel,
    /// Pointer of the request in its document.
    prefix: String,
    /// Sequence length.
    sequence_length: u64,
    /// Sequences per micro-batch per data rank.
    micro_batch: u64,
    /// Steps, when the run is given in steps.
    steps: Option<u64>,
    /// Tokens, when given as a count.
    tokens: Option<f64>,
    /// Tokens per optimizer step, when given (sequences already multiplied out).
    global_batch_tokens: Option<u64>,
    /// Precision, optimizer, sharding, checkpointing, method.
    precision: Precision,
    optimizer: Optimizer,
    sharding: Sharding,
    hsdp_group: u32,
    checkpointing: Checkpointing,
    method: Method,
    cpu_offload: bool,
    flash_attention: bool,
    sequence_parallel: bool,
    /// Context parallelism's causal load balance (zigzag shards).
    context_load_balanced: bool,
    /// The scale-out network (the request's `network`, else the catalog's default): the
    /// context-parallel ring and expert all-to-alls beyond a node.
    scale_out: Option<crate::engine::network::Network>,
    /// Pipeline schedule.
    schedule: PipelineSchedule,
    /// The FP8 recipe (read when the precision is FP8).
    pub fp8: Fp8Training,
    /// Expert parallelism's settings (the network resolved).
    pub experts: ExpertTraining,
    /// The network's catalog id, when expert parallelism may cross nodes.
    pub network: Option<String>,
    /// Engine id and profile (overrides applied).
    pub engine: TrainingEngineId,
    profile: TrainingProfile,
    measured_mfu: Option<f64>,
    effective_time_share: f64,
    pue: f64,
    requested_price: Option<f64>,
    cost: CostChoice,
    ownership: OwnershipDefaults,
    budget_gpu_hours: Option<f64>,
    budget_usd: Option<f64>,
    /// Requested degrees (tensor, pipeline, expert, context as given or 1; data and devices as
    /// given).
    pub degrees: Degrees,
    /// The defaults applied so far.
    assumptions: Assumptions,
    /// What the framework's recipe keeps in memory.
    recipe: Recipe,
    /// The config file read, if any.
    config: Option<ConfigReport>,
    /// The placement fields the request or its config file gave (not the engine's defaults):
    /// the automatic layout never changes these.
    pub(super) given: Given,
}

/// Which placement fields a request gave itself (or through its config file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Given {
    /// `precision`.
    pub precision: bool,
    /// `sharding`.
    pub sharding: bool,
    /// Any parallel degree (`tensor`, `pipeline`, `data`, `expert`, `context`).
    pub parallelism: bool,
    /// `activation_checkpointing`.
    pub checkpointing: bool,
}

/// What a placement sets besides the degrees: the automatic layout's sharding and
/// recomputation (`None`: the request's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Choice {
    /// Sharding.
    pub sharding: Option<Sharding>,
    /// Recomputation.
    pub checkpointing: Option<Checkpointing>,
    /// For a fit search: a requested batch that no nearby multiple of the data ranks suits is
    /// taken as the nearest multiple rather than refused (the search judges memory; the
    /// layout it picks is placed again without this).
    pub any_batch: bool,
}

/// Replaces the assumption recorded for `field`, or records one.
pub(super) fn assume(assumed: &mut Assumptions, field: &str, value: impl ToString, reason: &'static str) {
    let value = value.to_string();
    match assumed.0.iter_mut().find(|a| a.field == field) {
        Some(a) => {
            a.value = value;
            a.reason = reason;
        }
        None => assumed.push(field, value, reason),
    }
}

/// The global batch closest to `requested` that is a whole number of `unit`s (sequence x
/// micro-batch x data ranks), when one is within a factor of two of it.
pub(super) fn rounded_batch(requested: u64, unit: u64) -> Option<u64> {
    let unit = unit.max(1);
    if requested.is_multiple_of(unit) {
        return Some(requested);
    }
    let below = requested / unit * unit;
    let above = below.saturating_add(unit);
    let nearest = if below > 0 && requested - below <= above - requested { below } else { above };
    (nearest <= requested.saturating_mul(2) && nearest.saturating_mul(2) >= requested).then_some(nearest)
}

/// About 4M tokens per step, in whole micro-batches of `unit` tokens (at least one): the order
/// of magnitude recent pre-training runs use.
fn default_batch(unit: u64) -> u64 {
    unit * (4_194_304 / unit.max(1)).max(1)
}

/// Why no batch near `requested` suits `data` ranks, naming the device counts whose data ranks
/// divide it (the layout's model-parallel group of `model_parallel` devices kept).
fn batch_problem(requested: u64, sequence_x_micro: u64, data: u64, model_parallel: u64, max_devices: u64) -> String {
    let unit = sequence_x_micro.saturating_mul(data);
    let head = format!(
        "global_batch_tokens ({requested}) must be a multiple of sequence_length x micro_batch_size x data ranks ({sequence_x_micro} x {data} = {unit}), and the nearest multiple is more than twice it"
    );
    if !requested.is_multiple_of(sequence_x_micro.max(1)) {
        return format!("{head}; give a batch that is a multiple of {unit} (or fewer devices)");
    }
    let units = requested / sequence_x_micro.max(1);
    let max_data = (max_devices / model_parallel.max(1)).max(1);
    let below = (1..=data.min(units)).rev().find(|d| units.is_multiple_of(*d));
    let above = (data..=units.min(max_data).min(data.saturating_mul(4))).find(|d| units.is_multiple_of(*d));
    let counts: Vec<String> =
        [below, above].into_iter().flatten().filter(|d| *d != data).map(|d| (d * model_parallel).to_string()).collect();
    match counts.as_slice() {
        [] => format!("{head}; give a batch that is a multiple of {unit}"),
        counts => format!("{head}; with this layout, {} devices take it in whole micro-batches", counts.join(" or ")),
    }
}

/// What was read from a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigReport {
    /// The framework.
    pub format: &'static str,
    /// The request fields it set, as `field=value`.
    pub applied: Vec<String>,
    /// Keys neither mapped nor known to be irrelevant.
    pub unknown_keys: Vec<String>,
    /// What could not be mapped, and what was inferred.
    pub notes: Vec<String>,
}

/// A request with its config file and its engine's recipe defaults filled in under its own
/// fields.
struct Layered {
    request: TrainingRequest,
    /// Fields the engine's defaults supplied, with their values as text.
    from_engine: Vec<(String, String)>,
    config: Option<ConfigReport>,
}

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The request's own fields, over the config file's, over the engine's recipe defaults.
fn layer(catalog: &Catalog, request: &TrainingRequest, prefix: &str) -> Result<Layered, Error> {
    use serde_json::Value;
    let at = |field: &str| format!("{prefix}/{field}");
    let own = match serde_json::to_value(request) {
        Ok(Value::Object(map)) => map.into_iter().filter(|(k, v)| !v.is_null() && k != "config").collect(),
        _ => serde_json::Map::new(),
    };
    let devices = request.devices.map_or(1, u64::from);
    let imported = request
        .config
        .as_ref()
        .map(|file| {
            crate::import::finetune::read(file.format, &file.text, devices)
                .map_err(|e| Error::unprocessable(at("config/text"), e))
        })
        .transpose()?;
    let engine = own
        .get("engine")
        .or_else(|| imported.as_ref().and_then(|i| i.fields.get("engine")))
        .and_then(Value::as_str)
        .unwrap_or("generic")
        .to_owned();
    let config_fields = imported.as_ref().map(|i| i.fields.clone()).unwrap_or_default();
    let defaults = catalog
        .training_profile(&engine)
        .map(|e| {
            let mut defaults = e.record.defaults.clone();
            let method = [&own, &config_fields, &defaults].iter().find_map(|m| m.get("method").and_then(Value::as_str));
            if method.unwrap_or("full") == "full" {
                defaults.extend(e.record.full_defaults.clone());
            }
            defaults
        })
        .unwrap_or_default();
    if imported.is_none() && defaults.is_empty() {
        return Ok(Layered { request: request.clone(), from_engine: Vec::new(), config: None });
    }
    let from_engine = defaults
        .iter()
        .filter(|(k, _)| !own.contains_key(*k) && !config_fields.contains_key(*k))
        .map(|(k, v)| (k.clone(), text_of(v)))
        .collect();
    // `hardware` is the request's alone (a config file names none), null included: the
    // reference resolver reports a missing one.
    let mut merged = defaults;
    merged.insert("hardware".to_owned(), request.hardware.clone());
    let applied = config_fields
        .iter()
        .filter(|(k, _)| !own.contains_key(*k))
        .map(|(k, v)| format!("{k}={}", text_of(v)))
        .collect();
    merged.extend(config_fields);
    merged.extend(own);
    let request: TrainingRequest = serde_path_to_error::deserialize(Value::Object(merged)).map_err(|e| {
        let detail = format!("{} (at {})", e.inner(), e.path());
        if imported.is_some() {
            Error::unprocessable(at("config/text"), format!("the config maps to an invalid request: {detail}"))
        } else {
            Error::Internal(format!("training engine {engine}'s defaults are not a valid request: {detail}"))
        }
    })?;
    let config = imported.map(|i| ConfigReport {
        format: i.format.as_str(),
        applied,
        unknown_keys: i.unknown_keys,
        notes: i.notes,
    });
    Ok(Layered { request, from_engine, config })
}

/// A parsed, placed training run: what the engine needs, owned, and what was assumed.
#[derive(Debug, Clone)]
pub struct TrainingScenario {
    /// Resolved device.
    pub device: ResolvedDevice,
    /// Layout.
    pub layout: Layout,
    /// Engine id.
    pub engine: TrainingEngineId,
    /// Training tokens.
    pub tokens: f64,
    /// Tokens per optimizer step.
    pub global_batch_tokens: f64,
    /// How the devices are paid for, and the price of a device-hour.
    pub cost: CostPlan,
    /// The defaults the parser applied.
    pub assumptions: Assumptions,
    /// Precision (the request's, or the device's default).
    pub precision: Precision,
    /// Sharding (the request's, or the automatic layout's).
    pub sharding: Sharding,
    /// Recomputation (the request's, or the automatic layout's).
    pub checkpointing: Checkpointing,
    spec: Arc<TrainingSpec>,
    usd_per_device_hour: Option<f64>,
    budget_device_hours: Option<f64>,
}

impl TrainingSpec {
    /// Resolves the model and checks everything but the placement.
    pub fn parse(
        catalog: &Catalog,
        request: &TrainingRequest,
        prefix: &str,
    ) -> Result<(Arc<Self>, ResolvedDevice), Error> {
        let at = |field: &str| format!("{prefix}/{field}");
        let layered = layer(catalog, request, prefix)?;
        let request = &layered.request;
        if request.model.is_null() {
            return Err(Error::field(at("model"), "give a model id or config.json, or a config file that names one"));
        }
        let (model, device) = resolve::references(catalog, &request.model, &request.hardware, prefix)?;
        let mut assumed = Assumptions::default();
        for (field, value) in &layered.from_engine {
            assumed.push(field.as_str(), value, "the engine's recipe default (see the engine's defaults_source)");
        }
        let mut checks = Checks::default();
        let sequence_length =
            checks.int(at("sequence_length"), range::SEQUENCE_LENGTH, request.sequence_length.unwrap_or(2048));
        let micro_batch = checks.int(at("micro_batch_size"), range::MICRO_BATCH, request.micro_batch_size.unwrap_or(1));
        if request.sequence_length.is_none() {
            assumed.push("sequence_length", sequence_length, "the default sequence length");
        }
        if request.micro_batch_size.is_none() {
            assumed.push("micro_batch_size", micro_batch, "one sequence per micro-batch unless a batch is given");
        }
        let steps = checks.opt_int(at("steps"), range::STEPS, request.steps);
        let lora_rank = checks.int32(at("lora_rank"), range::LORA_RANK, request.lora_rank.unwrap_or(16));
        let hsdp_group = checks.int32(at("hsdp_group"), range::RANKS, request.hsdp_group.unwrap_or(8));
        let p = request.parallelism.clone().unwrap_or_default();
        let tensor = checks.int32(at("parallelism/tensor"), range::DEGREE, p.tensor.unwrap_or(1));
        let pipeline = checks.int32(at("parallelism/pipeline"), range::DEGREE, p.pipeline.unwrap_or(1));
        let context = checks.int32(at("parallelism/context"), range::DEGREE, p.context.unwrap_or(1));
        let expert = checks.int32(at("parallelism/expert"), range::DEGREE, p.expert.unwrap_or(1));
        let virtual_stages =
            p.virtual_stages.map(|v| checks.int32(at("parallelism/virtual_stages"), range::VIRTUAL_STAGES, v));
        let schedule = match (p.schedule, virtual_stages) {
            (Some(PipelineScheduleId::Interleaved) | None, Some(v)) => PipelineSchedule::Interleaved(v),
            (Some(PipelineScheduleId::Interleaved), None) => {
                assumed.push("parallelism.virtual_stages", 2, "two model chunks per device when interleaved");
                PipelineSchedule::Interleaved(2)
            }
            (Some(PipelineScheduleId::OneFOneB) | None, None) => PipelineSchedule::OneFOneB,
            (Some(PipelineScheduleId::ZeroBubble), None) => PipelineSchedule::ZeroBubble,
            (Some(_), Some(_)) => {
                return Err(Error::field(
                    at("parallelism/virtual_stages"),
                    "virtual_stages applies to the interleaved schedule only",
                ));
            }
        };
        if let PipelineSchedule::Interleaved(v) = schedule
            && u64::from(v) * u64::from(pipeline) > u64::from(model.architecture.layers) + 2
        {
            return Err(Error::field(
                at("parallelism/virtual_stages"),
                format!(
                    "{v} model chunks on each of {pipeline} stages need {} layers (the embedding and the loss may count as one each), the model has {}",
                    u64::from(v) * u64::from(pipeline),
                    model.architecture.layers
                ),
            ));
        }
        let devices = checks.opt_int(at("devices"), range::TRAINING_DEVICES, request.devices.map(u64::from));
        let data = p.data.map(|d| checks.int32(at("parallelism/data"), range::RANKS, d));
        let measured_mfu = checks.number(at("measured_mfu"), range::SHARE, request.measured_mfu);
        let effective_time_share =
            checks.number(at("effective_time_share"), range::SHARE, request.effective_time_share).unwrap_or(1.0);
        let pue = checks.number(at("pue"), range::PUE, request.pue);
        let overrides = request.overrides.clone().unwrap_or_default();
        let requested_price = checks.number(
            at("overrides/usd_per_device_hour"),
            range::USD_PER_DEVICE_HOUR,
            overrides.usd_per_device_hour,
        );
        let compute_efficiency =
            checks.number(at("overrides/compute_efficiency"), range::SHARE, overrides.compute_efficiency);
        let budget = request.budget.clone().unwrap_or_default();
        let budget_gpu_hours = checks.number(at("budget/device_hours"), range::BUDGET_GPU_HOURS, budget.device_hours);
        let budget_usd = checks.number(at("budget/usd"), range::BUDGET_USD, budget.usd);
        let lora_dropout = checks.number(at("lora_dropout"), range::SHARE_OR_ZERO, request.lora_dropout);
        let generation_share = checks.number(at("generation_share"), range::GENERATION_SHARE, request.generation_share);
        let moe_body = request.moe.clone().unwrap_or_default();
        let hottest_expert_load =
            checks.number(at("moe/hottest_expert_load"), range::HOTTEST_EXPERT_LOAD, moe_body.hottest_expert_load);
        let all_to_all_overlap =
            checks.number(at("moe/all_to_all_overlap"), range::SHARE_OR_ZERO, moe_body.all_to_all_overlap);
        let tokens = match request.tokens {
            Some(TokensSpec::Count(t)) if range::TOKENS.contains(t) => Some(t),
            Some(TokensSpec::Count(t)) => {
                checks.push(at("tokens"), format!("{} or \"compute_optimal\"", range::TOKENS.detail(t)));
                None
            }
            _ => None,
        };
        let sequences =
            checks.opt_int(at("global_batch_sequences"), range::GLOBAL_BATCH_SEQUENCES, request.global_batch_sequences);
        let batch_tokens =
            checks.opt_int(at("global_batch_tokens"), range::GLOBAL_BATCH_TOKENS, request.global_batch_tokens);
        checks.finish()?;
        if batch_tokens.is_some() && sequences.is_some() {
            return Err(Error::unprocessable(
                at("global_batch_sequences"),
                "give global_batch_tokens or global_batch_sequences, not both",
            ));
        }

        let from_engine = |field: &str| layered.from_engine.iter().any(|(k, _)| k == field);
        let given = Given {
            precision: request.precision.is_some() && !from_engine("precision"),
            sharding: request.sharding.is_some() && !from_engine("sharding"),
            parallelism: request.parallelism.as_ref().is_some_and(|p| {
                p.tensor.is_some()
                    || p.pipeline.is_some()
                    || p.data.is_some()
                    || p.expert.is_some()
                    || p.context.is_some()
            }),
            checkpointing: request.activation_checkpointing.is_some() && !from_engine("activation_checkpointing"),
        };
        let engine = assumed.or(request.engine, "engine", TrainingEngineId::Generic, "the engine-neutral profile");
        let mut profile = catalog
            .training_profile(engine.as_str())
            .map(|e| e.profile.clone())
            .ok_or_else(|| Error::Internal(format!("training engine {} missing", engine.as_str())))?;
        if let Some(e) = compute_efficiency {
            // An override is the share on this device, whatever its architecture.
            profile.compute_efficiency = e;
            profile.compute_by_architecture.clear();
        }
        let precision = assumed.or(request.precision, "precision", PrecisionId::Bf16, "bf16 mixed precision");
        let optimizer = assumed.or(request.optimizer, "optimizer", OptimizerId::Adamw, "AdamW, the usual optimizer");
        let sharding = assumed.or(request.sharding, "sharding", ShardingId::None, "plain data parallelism");
        let checkpointing = assumed.or(
            request.activation_checkpointing,
            "activation_checkpointing",
            CheckpointingId::None,
            "every activation kept",
        );
        let fp8 = match (precision, request.fp8_recipe) {
            (PrecisionId::Fp8, recipe) => {
                let recipe = assumed.or(
                    recipe,
                    "fp8_recipe",
                    Fp8RecipeId::PerTensor,
                    "per-tensor scaling (Transformer Engine's default recipe)",
                );
                super::training_defaults::fp8_recipe(match recipe {
                    Fp8RecipeId::PerTensor => Fp8Recipe::PerTensor,
                    Fp8RecipeId::Block => Fp8Recipe::Block,
                })
            }
            (_, Some(_)) => {
                return Err(Error::unprocessable(at("fp8_recipe"), "fp8_recipe applies to precision \"fp8\" only"));
            }
            (_, None) => Fp8Training::UNSCALED,
        };
        // Expert parallelism: its defaults matter (and are listed) only where experts are split.
        let expert_parallel = expert > 1 && model.architecture.moe.is_some();
        let network = resolve::network(catalog, request.network.as_deref(), &at("network"))?;
        let experts = if expert_parallel {
            let hottest = assumed.or(
                hottest_expert_load,
                "moe.hottest_expert_load",
                super::moe_defaults::hottest_expert_load(),
                "the hottest expert rank's load measured with a load balancer (data/serving/moe.toml)",
            );
            let overlap = assumed.or(
                all_to_all_overlap,
                "moe.all_to_all_overlap",
                super::training_defaults::all_to_all_overlap(),
                "the expert all-to-all on the critical path, as Megatron-Core runs it by default (data/training/moe.toml)",
            );
            let dispatch = assumed.or(
                moe_body.dispatch_precision,
                "moe.dispatch_precision",
                DispatchPrecisionId::Bf16,
                "the expert dispatch in BF16",
            );
            if request.network.is_none()
                && let Some(n) = &network
            {
                assumed.push("network", &n.id, "the catalog's default network between nodes");
            }
            ExpertTraining {
                hottest_rank_load: hottest,
                all_to_all_overlap: overlap,
                dispatch_bytes: match dispatch {
                    DispatchPrecisionId::Bf16 => 2.0,
                    DispatchPrecisionId::Fp8 => 1.0,
                },
                network: network.as_ref().map(|n| n.engine),
            }
        } else {
            ExpertTraining::NONE
        };
        let scale_out = network.as_ref().map(|n| n.engine);
        let network = network.filter(|_| expert_parallel).map(|n| n.id);
        let method = assumed.or(request.method, "method", MethodId::Full, "all parameters trained");
        if request.lora_rank.is_none() && method != MethodId::Full {
            assumed.push("lora_rank", lora_rank, "the usual LoRA rank");
        }
        let pue = assumed.or(pue, "pue", 1.0, "energy of the devices alone, no data-centre overhead");
        let record = &catalog
            .training_profile(engine.as_str())
            .ok_or_else(|| Error::Internal(format!("training engine {} missing", engine.as_str())))?
            .record;
        let loss = assumed.or(request.loss, "loss", LossId::Chunked, "16-bit logits with a chunked FP32 loss");
        let targets = request.lora_targets.clone().unwrap_or_else(|| {
            if method != MethodId::Full {
                assumed.push("lora_targets", "all-linear", "adapters on every linear layer of the blocks");
            }
            vec![LoraModuleId::AllLinear]
        });
        let recipe = Recipe {
            master_weights: assumed.or(
                request.master_weights,
                "master_weights",
                true,
                "mixed precision keeps FP32 master weights",
            ),
            optimizer_in_backward: request.optimizer_in_backward.unwrap_or(false),
            activation_offloading: request.activation_offloading.unwrap_or(false),
            loss: match loss {
                LossId::Fused => Loss::Fused,
                LossId::Chunked => Loss::Chunked,
                LossId::Full => Loss::Full,
            },
            compiled: request.compile.unwrap_or(record.compiled),
            quantized_linear_saves_input: record.quantized_linear_saves_input,
            unties_embeddings: record.unties_embeddings,
            quantizes_output_layer: record.quantizes_output_layer,
            adapters_in_weight_dtype: record.adapters_in_weight_dtype,
            selective_op: record.selective_ac_op,
            lora_targets: LoraModuleId::set(&targets),
            lora_on_output: request.lora_on_output.unwrap_or(false),
            lora_dropout: lora_dropout.is_some_and(|p| p > 0.0),
            double_quantization: request.double_quantization.unwrap_or(true),
            unquantized_bytes: record.unquantized_bytes,
            norm_bytes_per_hidden: if request.compile.unwrap_or(record.compiled) {
                FUSED_NORM_BYTES_PER_HIDDEN.min(record.norm_bytes_per_hidden)
            } else {
                record.norm_bytes_per_hidden
            },
            reference_forward: record.reference_forward,
            reference_model: request.reference_model.unwrap_or(false),
            sequences_per_example: record.sequences_per_example,
            generation_share: generation_share.unwrap_or(0.0),
        };
        let spec = Self {
            model,
            prefix: prefix.to_owned(),
            sequence_length,
            micro_batch,
            steps,
            tokens,
            global_batch_tokens: batch_tokens.or(sequences.map(|s| s.saturating_mul(sequence_length))),
            precision: match precision {
                PrecisionId::Bf16 => Precision::Bf16,
                PrecisionId::Fp16 => Precision::Fp16,
                PrecisionId::Fp8 => Precision::Fp8,
                PrecisionId::Fp32 => Precision::Fp32,
            },
            optimizer: match optimizer {
                OptimizerId::Adamw => Optimizer::AdamW,
                OptimizerId::Adamw8bit => Optimizer::AdamW8bit,
                OptimizerId::PagedAdamw => Optimizer::PagedAdamW,
                OptimizerId::PagedAdamw8bit => Optimizer::PagedAdamW8bit,
                OptimizerId::Adafactor => Optimizer::Adafactor,
                OptimizerId::SgdMomentum => Optimizer::SgdMomentum,
                OptimizerId::Lion => Optimizer::Lion,
            },
            sharding: match sharding {
                ShardingId::None => Sharding::None,
                ShardingId::Zero1 => Sharding::Zero1,
                ShardingId::Zero2 => Sharding::Zero2,
                ShardingId::Zero3 | ShardingId::Fsdp => Sharding::Zero3,
                ShardingId::Hsdp => Sharding::Hsdp,
            },
            hsdp_group,
            checkpointing: match checkpointing {
                CheckpointingId::None => Checkpointing::None,
                CheckpointingId::Selective => Checkpointing::Selective,
                CheckpointingId::Full => Checkpointing::Full,
            },
            method: match method {
                MethodId::Full => Method::Full,
                MethodId::Lora => Method::Lora(lora_rank),
                MethodId::Qlora => Method::Qlora(lora_rank),
            },
            cpu_offload: request.cpu_offload.unwrap_or(false),
            flash_attention: request.flash_attention.unwrap_or(true),
            sequence_parallel: p.sequence_parallel.unwrap_or(false),
            context_load_balanced: p.context_load_balanced.unwrap_or(true),
            scale_out,
            schedule,
            fp8,
            experts,
            network,
            engine,
            profile,
            measured_mfu,
            effective_time_share,
            pue,
            requested_price,
            cost: request.cost.clone().unwrap_or_default(),
            ownership: catalog.ownership(),
            budget_gpu_hours,
            budget_usd,
            degrees: Degrees { tensor, pipeline, expert, context, data, devices },
            assumptions: assumed,
            recipe,
            config: layered.config,
            given,
        };
        Ok((Arc::new(spec), device))
    }

    /// Whether the layout is the automatic one's to choose: devices given (more than one), and
    /// the request leaves out its degrees or its sharding.
    pub fn automatic(&self) -> bool {
        self.degrees.devices.is_some_and(|n| n > 1) && !(self.given.parallelism && self.given.sharding)
    }

    /// The global batch at `data` ranks as a fit search takes it: the request's rounded to whole
    /// micro-batches on every rank (the nearest multiple even when far), else the default.
    pub(super) fn search_batch(&self, data: u32) -> f64 {
        let unit = self.sequence_length * self.micro_batch * u64::from(data);
        match self.global_batch_tokens {
            Some(g) => rounded_batch(g, unit).unwrap_or(unit * (g / unit.max(1)).max(1)) as f64,
            None => default_batch(unit) as f64,
        }
    }

    /// The request's sharding and recomputation, and which of them and of the degrees it gave.
    pub(super) fn placement(&self) -> (Sharding, Checkpointing, Given) {
        (self.sharding, self.checkpointing, self.given)
    }

    /// Places the run on `device` with `degrees`: the layout rules, the global batch, the token
    /// policy and the price.
    pub fn at(self: &Arc<Self>, device: ResolvedDevice, degrees: Degrees) -> Result<TrainingScenario, Error> {
        self.at_with(device, degrees, Choice::default())
    }

    /// The precision on `device`: the request's, else bf16 where the device has it, fp16 where
    /// it has no bf16, FP32 where it has neither (each recorded).
    fn precision_on(&self, device: &crate::engine::device::Device, assumed: &mut Assumptions) -> Precision {
        use crate::engine::device::ComputeType;
        if self.given.precision || self.precision != Precision::Bf16 || device.peak(ComputeType::Bf16).is_some() {
            return self.precision;
        }
        if device.peak(ComputeType::Fp16).is_some() {
            assume(
                assumed,
                "precision",
                "fp16",
                "the device has no bf16 (no dense bf16 peak in the catalog): fp16 mixed precision, with loss scaling",
            );
            Precision::Fp16
        } else if device.peak(ComputeType::Fp32).is_some() {
            assume(assumed, "precision", "fp32", "the device has neither bf16 nor fp16 peaks in the catalog: FP32");
            Precision::Fp32
        } else {
            self.precision
        }
    }

    /// As [`TrainingSpec::at`], with the sharding and recomputation of `choice` where it sets
    /// them.
    pub fn at_with(
        self: &Arc<Self>,
        device: ResolvedDevice,
        degrees: Degrees,
        choice: Choice,
    ) -> Result<TrainingScenario, Error> {
        let prefix = self.prefix.as_str();
        let at = |field: &str| format!("{prefix}/{field}");
        let mut assumed = self.assumptions.clone();
        let layout = layout::resolve(
            &self.model.architecture,
            degrees,
            ExpertRanks::WithinData,
            range::TRAINING_DEVICES.max as u64,
            prefix,
        )
        .map_err(|mut e| {
            // Name the device counts that do work with these degrees.
            let group = u64::from(degrees.tensor) * u64::from(degrees.pipeline) * u64::from(degrees.context);
            if let (layout::Rule::Devices, None, Some(n)) = (e.rule, degrees.data, degrees.devices) {
                let below = n / group.max(1) * group;
                let above = below + group;
                e.detail = match below {
                    0 => format!("{}; {above} devices work", e.detail),
                    _ => format!("{}; {below} or {above} devices work", e.detail),
                };
            }
            e
        })?;
        if degrees.data.is_none() && layout.data > 1 {
            assumed.push("parallelism/data", layout.data, "the devices left after tensor x pipeline x context");
        }
        let precision = self.precision_on(&device.device, &mut assumed);
        if precision == Precision::Fp8 && device.device.peak(crate::engine::device::ComputeType::Fp8).is_none() {
            return Err(Error::unprocessable(
                at("precision"),
                format!(
                    "{} has no FP8 tensor cores (no dense fp8 peak in the catalog): FP8 training needs Hopper, Ada, Blackwell, MI300 or newer; use bf16",
                    device.device.id
                ),
            ));
        }
        let per_step_unit = self.sequence_length * self.micro_batch * u64::from(layout.data);
        let global_batch_tokens = match self.global_batch_tokens {
            Some(g) => match rounded_batch(g, per_step_unit) {
                Some(r) if r == g => g,
                Some(r) => {
                    assumed.push(
                        "global_batch_tokens",
                        format!("{r} (asked {g})"),
                        "the nearest multiple of sequence_length x micro_batch_size x data ranks: a step takes whole micro-batches on every rank",
                    );
                    r
                }
                None if choice.any_batch => per_step_unit * (g / per_step_unit).max(1),
                None => {
                    let model_parallel = layout.devices / u64::from(layout.data.max(1));
                    return Err(Error::unprocessable(
                        at("global_batch_tokens"),
                        batch_problem(
                            g,
                            self.sequence_length * self.micro_batch,
                            u64::from(layout.data),
                            model_parallel,
                            range::TRAINING_DEVICES.max as u64,
                        ),
                    ));
                }
            },
            // About 4M tokens per step, in whole micro-batches: the order of magnitude recent
            // pre-training runs use.
            None => {
                let g = default_batch(per_step_unit);
                assumed.push("global_batch_tokens", g, "whole micro-batches closest below 4M tokens per step");
                g
            }
        };
        let global = global_batch_tokens as f64;
        let tokens = match (self.tokens, self.steps) {
            (Some(t), _) => t,
            (None, Some(s)) => s as f64 * global,
            (None, None) => {
                let t = compute_optimal_tokens(self.model.anatomy.total.as_f64());
                assumed.push("tokens", "compute_optimal", "20 tokens per parameter (Hoffmann et al. 2022)");
                t
            }
        };
        let at = |field: &str| format!("{}/{field}", self.prefix);
        let cost = cost::resolve(
            &self.cost,
            &cost::Context {
                pointer: at("cost"),
                legacy_price: self.requested_price.map(|p| (p, at("overrides/usd_per_device_hour"))),
                pricing: &device.pricing,
                // The whole system's draw per device (device, host, network), as `energy.kwh`.
                power_w: crate::engine::training::system_w(&device.device, &self.profile),
                defaults: self.ownership,
                pue: Some(self.pue),
                strict: true,
            },
            &mut assumed,
        )?;
        let usd_per_device_hour = cost.usd_per_device_hour();
        let budget_device_hours = self.budget_gpu_hours.or_else(|| {
            let usd = self.budget_usd?;
            usd_per_device_hour.filter(|p| *p > 0.0).map(|p| usd / p)
        });
        Ok(TrainingScenario {
            device,
            layout,
            precision,
            sharding: choice.sharding.unwrap_or(self.sharding),
            checkpointing: choice.checkpointing.unwrap_or(self.checkpointing),
            engine: self.engine,
            tokens,
            global_batch_tokens: global,
            cost,
            assumptions: assumed,
            spec: Arc::clone(self),
            usd_per_device_hour,
            budget_device_hours,
        })
    }
}

impl TrainingScenario {
    /// Parses and places a request; `prefix` is the pointer of the request in its document.
    pub fn parse(catalog: &Catalog, request: &TrainingRequest, prefix: &str) -> Result<Self, Error> {
        let (spec, device) = TrainingSpec::parse(catalog, request, prefix)?;
        if spec.automatic() { super::training_layout::place(&spec, device) } else { spec.at(device, spec.degrees) }
    }

    /// The model.
    pub fn model(&self) -> &ResolvedModel {
        &self.spec.model
    }

    /// Price per device-hour used.
    pub fn usd_per_device_hour(&self) -> Option<f64> {
        self.usd_per_device_hour
    }

    /// Device-hours of the budget, when one is given (a USD budget needs a price).
    pub fn budget_device_hours(&self) -> Option<f64> {
        self.budget_device_hours
    }

    /// Sequence length.
    pub fn sequence_length(&self) -> u64 {
        self.spec.sequence_length
    }

    /// Sequences per micro-batch.
    pub fn micro_batch(&self) -> u64 {
        self.spec.micro_batch
    }

    /// The engine profile, overrides applied.
    pub fn profile(&self) -> &TrainingProfile {
        &self.spec.profile
    }

    /// Power usage effectiveness.
    pub fn pue(&self) -> f64 {
        self.spec.pue
    }

    /// The config file read, if any.
    pub fn config(&self) -> Option<&ConfigReport> {
        self.spec.config.as_ref()
    }

    /// The network expert all-to-alls cross beyond a node (expert-parallel MoE runs only).
    pub fn network(&self) -> Option<&str> {
        self.spec.network.as_deref().filter(|_| self.layout.expert > 1)
    }

    /// The engine input borrowing from this.
    pub fn input(&self) -> TrainingInput<'_> {
        let s = &self.spec;
        TrainingInput {
            arch: &self.spec.model.architecture,
            anatomy: &self.spec.model.anatomy,
            device: &self.device.device,
            parallelism: TrainingParallelism {
                tensor: self.layout.tensor,
                pipeline: self.layout.pipeline,
                data: self.layout.data,
                expert: self.layout.expert,
                context: self.layout.context,
                sequence_parallel: s.sequence_parallel,
                context_load_balanced: s.context_load_balanced,
                schedule: s.schedule,
            },
            tokens: self.tokens,
            sequence_length: s.sequence_length,
            micro_batch: s.micro_batch,
            global_batch_tokens: self.global_batch_tokens,
            precision: self.precision,
            optimizer: s.optimizer,
            sharding: self.sharding,
            hsdp_group: s.hsdp_group,
            checkpointing: self.checkpointing,
            method: s.method,
            cpu_offload: s.cpu_offload,
            flash_attention: s.flash_attention,
            profile: &s.profile,
            compute_efficiency: s.profile.compute_efficiency_on(&self.device.architecture),
            attention_efficiency: s.profile.attention_efficiency_on(&self.device.architecture),
            recipe: s.recipe,
            measured_mfu: s.measured_mfu,
            effective_time_share: s.effective_time_share,
            usd_per_device_hour: self.usd_per_device_hour,
            pue: s.pue,
            budget_device_hours: self.budget_device_hours,
            experts: if self.layout.expert > 1 { s.experts } else { ExpertTraining::NONE },
            fp8: if self.precision == Precision::Fp8 { s.fp8 } else { Fp8Training::UNSCALED },
            network: s.scale_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    fn same_names<T: ValueEnum + Serialize>() {
        for v in T::value_variants() {
            assert_eq!(serde_json::to_value(v).unwrap(), v.to_possible_value().unwrap().get_name());
        }
    }

    #[test]
    fn cli_names_are_the_wire_names() {
        same_names::<PrecisionId>();
        same_names::<OptimizerId>();
        same_names::<ShardingId>();
        same_names::<CheckpointingId>();
        same_names::<MethodId>();
        same_names::<TrainingEngineId>();
    }

    #[test]
    fn an_engine_with_defaults_and_a_null_device_is_a_client_error() {
        let catalog = Catalog::embedded().unwrap();
        for engine in TrainingEngineId::ALL {
            let request: TrainingRequest =
                serde_json::from_value(serde_json::json!({"model": "llama-2-7b", "hardware": null, "engine": engine}))
                    .unwrap();
            let e = TrainingScenario::parse(&catalog, &request, "").unwrap_err();
            assert!(!matches!(e, Error::Internal(_)), "{}: {e:?}", engine.as_str());
        }
    }

    #[test]
    fn every_training_engine_is_in_the_catalog() {
        let catalog = Catalog::embedded().unwrap();
        for id in TrainingEngineId::ALL {
            assert!(catalog.training_profile(id.as_str()).is_some(), "{}", id.as_str());
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
    }
}
